import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runNode, STEP_HELPER, writeScript } from './helpers/childProcess';
import { llmCallEnds } from './helpers/llmEvents';
import { logPath, readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * The zero-code flag records the LLM API requests of clients on `node:http` (axios here; also
 * node-fetch and the SDKs built on it) from Node's http diagnostics channels, as it does fetch's:
 * the real axios against the fake LLM server, each way a call ends.
 */

const KEY = 'sk-test-0123456789abcdefghij';

const APP = `
import axios from 'axios';
import { stage, llmCall } from 'agent-autopsy';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';

const server = await startFakeLlmServer();
const chat = (body, config) => axios.post(server.baseURL + '/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], ...body }, { headers: { authorization: 'Bearer ${KEY}' }, ...config });
${STEP_HELPER}

await step('chat', [], () => chat());
await step('in_stage', [], () => stage('research', () => chat()));
await step('rate_limited', ['rate_limit'], () => chat());
await step('timeout', [{ delayMs: 2000 }], () => chat({}, { timeout: 100 }));
await step('stream', [], async () => {
  const response = await chat({ stream: true }, { responseType: 'stream' });
  for await (const _ of response.data);
});
await step('stream_cut', [{ kind: 'reset', midStream: true }], async () => {
  const response = await chat({ stream: true }, { responseType: 'stream' });
  for await (const _ of response.data);
});
await step('stream_stopped', [], async () => {
  const response = await chat({ stream: true }, { responseType: 'stream' });
  for await (const _ of response.data) break;
});
await step('in_llmCall', [], () => llmCall({ model: 'wrapped' }, () => chat()));
await step('not_a_call', [], () => axios.get(server.baseURL + '/models'));
await server.close();
process.stdout.write(JSON.stringify(outcomes) + '\\n');
`;

const FIELDS = ['span', 'operation', 'provider', 'model', 'stage', 'error', 'error_type', 'http_status'];

/** A call recorded from its request: named by operation and host, without model or provider (the host is no provider's). */
const request = (fields: Record<string, unknown> = {}) => ({ type: 'llm_call_end', span: 'chat 127.0.0.1', operation: 'chat', ...fields });

describe('the zero-code flag and LLM API requests on node:http', () => {
  it("records each axios request as a call: answered, failed by status, timed out, cut mid-stream; a stream the app stops is no failure; inside llmCall() it is the call's", async () => {
    const runDir = tempRunDir('autopsy-node-http-');
    const result = await runNode(writeScript(APP), { nodeArgs: ['--import', 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: runDir, NODE_OPTIONS: '' }, timeoutMs: 60_000 });
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(JSON.parse(result.stdout)).toEqual([
      ['chat', 'ok'],
      ['in_stage', 'ok'],
      ['rate_limited', 'AxiosError', 429],
      ['timeout', 'AxiosError', null],
      ['stream', 'ok'],
      ['stream_cut', 'Error', null],
      ['stream_stopped', 'ok'],
      ['in_llmCall', 'ok'],
      ['not_a_call', 'ok'],
    ]);
    const events = readTrackerDocument(runDir).events;
    expect(llmCallEnds(events, FIELDS)).toEqual([
      request(),
      request({ stage: 'research' }),
      request({ type: 'llm_call_error', error: 'HTTP 429 Too Many Requests', error_type: '429', http_status: 429 }),
      // axios's own error, as it destroys the request.
      request({ type: 'llm_call_error', error: 'timeout of 100ms exceeded', error_type: 'ECONNABORTED' }),
      request(), // ended with the stream's last chunk
      request({ type: 'llm_call_error', error: 'aborted', error_type: 'ECONNRESET' }),
      request(),
      // Inside the app's llmCall() the request is folded into the call (which takes its operation).
      { type: 'llm_call_end', operation: 'chat', model: 'wrapped' },
    ]);
    expect(events.filter((event) => event.type === 'llm_call_start')).toHaveLength(8);
    const report = readReport(runDir);
    // Every answered call: the request shows no tokens, and the app's llmCall() set none.
    expect(report.llm_usage).toMatchObject({ calls: 8, errors: 3, calls_without_tokens: 5 });
    expect(report.unfinished).toEqual([]);
    expect(readFileSync(logPath(runDir, 'execution_tracker.json'), 'utf8')).not.toContain(KEY);
  }, 60_000);

  it('AGENT_AUTOPSY_LLM_REQUESTS=false leaves them out', async () => {
    const runDir = tempRunDir('autopsy-node-http-off-');
    const result = await runNode(writeScript(APP), { nodeArgs: ['--import', 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: runDir, NODE_OPTIONS: '', AGENT_AUTOPSY_LLM_REQUESTS: 'false' }, timeoutMs: 60_000 });
    expect([result.code, result.stderr]).toEqual([0, '']);
    // The app's own call only, without the operation its request would have given it.
    expect(llmCallEnds(readTrackerDocument(runDir).events, FIELDS)).toEqual([{ type: 'llm_call_end', model: 'wrapped' }]);
  }, 60_000);
});
