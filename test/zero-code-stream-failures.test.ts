import { expect, it } from 'vitest';
import type { TruthEvent } from '../src/types';
import { runZeroCode } from './helpers/childProcess';
import { llmCallEnds } from './helpers/llmEvents';
import { readReport, readTrackerDocument } from './helpers/runFiles';

/**
 * Streams that do not run to their end, with the real clients under `--import agent-autopsy/register`:
 * the app stops reading, or the server drops the connection after half the events. The call's end
 * event then states no finish reason: the model never said why it stopped (a Responses stream's
 * `response.created` says `in_progress`, which is not a finish reason). A failure after the 200
 * response (@anthropic-ai/sdk's own span keeps `http.response.status_code` 200) states no HTTP
 * status: a 200 is not the status of the error, and errors_by_status must not count it. A
 * connection dropped mid-stream is diagnosed (llm_server_error) from the cause of undici's error.
 */

const APP = `
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer();
const openai = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test-0123456789abcdefghij', maxRetries: 0 });
const anthropic = new Anthropic({ baseURL: server.anthropicBaseURL, apiKey: 'sk-ant-test-0123456789abcdef', maxRetries: 0 });
const outcomes = [];
async function step(name, rules, fn) {
  server.script(rules);
  try {
    outcomes.push([name, await fn()]);
  } catch (error) {
    outcomes.push([name, error.constructor.name, error.status ?? null]);
  }
}
const drain = async (stream, stopAfter = Infinity) => { let n = 0; for await (const _ of stream) if (++n >= stopAfter) break; return n; };
const responses = (input) => openai.responses.create({ model: 'gpt-4o-mini', input, stream: true });
const messages = (content) => anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 200, messages: [{ role: 'user', content }], stream: true });
await step('responses_break', [], async () => drain(await responses('stop early'), 3));
await step('responses_reset', [{ kind: 'reset', midStream: true }], async () => drain(await responses('cut off')));
await step('chat_reset', [{ kind: 'reset', midStream: true }], async () => drain(await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'cut off' }], stream: true })));
await step('messages_reset', [{ kind: 'reset', midStream: true }], async () => drain(await messages('cut off')));
await server.close();
process.stdout.write(JSON.stringify(outcomes) + '\\n');
`;

const FIELDS = ['model', 'provider', 'finish_reasons', 'error_type', 'http_status'];

const ends = (events: TruthEvent[]) => llmCallEnds(events, FIELDS);


it('records streams cut short without a finish reason, and a failure after a 200 without HTTP status', async () => {
  const { result, runDir } = await runZeroCode(APP, 'autopsy-zero-code-streams-');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual([
    ['responses_break', 3],
    ['responses_reset', 'TypeError', null],
    ['chat_reset', 'TypeError', null],
    ['messages_reset', 'TypeError', null],
  ]);

  const events = readTrackerDocument(runDir).events;
  expect(ends(events)).toEqual([
    { type: 'llm_call_end', model: 'gpt-4o-mini', provider: 'openai' },
    { type: 'llm_call_error', model: 'gpt-4o-mini', provider: 'openai', error_type: 'TypeError' },
    { type: 'llm_call_error', model: 'gpt-4o', provider: 'openai', error_type: 'TypeError' },
    // @anthropic-ai/sdk's own span: the stream failed after its 200 response.
    { type: 'llm_call_error', model: 'claude-sonnet-4-6', provider: 'anthropic', error_type: 'client_error' },
  ]);
  const report = readReport(runDir);
  expect(report.unfinished).toEqual([]);
  expect(report.llm_usage.calls).toBe(4);
  expect(report.llm_usage.errors).toBe(3);
  expect(report.llm_usage.errors_by_type).toEqual({ TypeError: 2, client_error: 1 });
  expect(report.llm_usage.errors_by_status).toEqual({});
  // undici's "terminated" names the dropped connection only in its cause: the error keeps it, so
  // the diagnosis finds it (@anthropic-ai/sdk's own span records only "client_error").
  const dropped = events.filter((event) => event.type === 'llm_call_error' && event.data.error_type === 'TypeError').map((event) => event.data.error);
  expect(dropped).toEqual(['terminated (cause: UND_ERR_SOCKET: other side closed)', 'terminated (cause: UND_ERR_SOCKET: other side closed)']);
  expect(report.diagnoses.map((diagnosis) => [diagnosis.id, diagnosis.evidence.count])).toEqual([['llm_server_error', 2]]);
});

it('diagnoses a rate limit the server reports inside a stream (openai raises it as a bare APIError)', async () => {
  const app = `
import OpenAI from 'openai';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer({ script: [{ kind: 'rate_limit', midStream: true }] });
const openai = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test-0123456789abcdefghij', maxRetries: 0 });
try {
  for await (const _ of await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'limited' }], stream: true }));
} catch (error) {
  process.stdout.write(JSON.stringify([error.constructor.name, error.status ?? null]) + '\\n');
}
await server.close();
`;
  const { result, runDir } = await runZeroCode(app, 'autopsy-zero-code-streams-');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual(['APIError', null]);
  const report = readReport(runDir);
  expect(report.llm_usage.errors_by_type).toEqual({ APIError: 1 });
  expect(report.diagnoses.map((diagnosis) => [diagnosis.id, diagnosis.evidence.count])).toEqual([['rate_limited', 1]]);
});
