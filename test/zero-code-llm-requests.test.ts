import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TruthEvent } from '../src/types';
import { runNode, STEP_HELPER, writeScript } from './helpers/childProcess';
import { readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * The zero-code flag records the LLM API requests of clients no instrumentation sees (the Vercel
 * AI SDK's providers without telemetry, plain fetch) from Node's fetch diagnostics channels, and
 * leaves the requests of instrumented calls to their spans: the real `ai` 6 and `@ai-sdk/openai`,
 * `openai` and `@anthropic-ai/sdk` against the fake LLM server.
 */

const GEMINI_KEY = 'AIzaSyTESTKEY0123456789abcdefghij';

const APP = `
import { generateText, streamText } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { stage, llmCall } from 'agent-autopsy';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';

const server = await startFakeLlmServer();
const provider = createOpenAI({ baseURL: server.baseURL, apiKey: 'sk-test-0123456789abcdefghij' });
// LangChain's client sets its own user-agent: the client is still told by the SDK's other headers.
const openai = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test-0123456789abcdefghij', maxRetries: 0, defaultHeaders: { 'User-Agent': 'langchainjs-openai/1.0.0' } });
const anthropic = new Anthropic({ baseURL: server.anthropicBaseURL, apiKey: 'sk-ant-test-0123456789abcdef', maxRetries: 0 });
const post = (path, body) => fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
${STEP_HELPER}

await step('ai_chat', [], () => generateText({ model: provider.chat('gpt-4o'), prompt: 'hi' }));
await step('ai_responses', [], () => generateText({ model: provider('gpt-4o-mini'), prompt: 'hi' }));
await step('ai_stream', [], async () => { for await (const _ of streamText({ model: provider.chat('gpt-4o'), prompt: 'hi' }).textStream); });
await step('ai_retried', [{ kind: 'rate_limit', retryAfterMs: 10 }], () => generateText({ model: provider.chat('gpt-4o'), prompt: 'limited', maxRetries: 2 }));
await step('ai_401', ['auth'], () => generateText({ model: provider.chat('gpt-4o'), prompt: 'who', maxRetries: 0 }));
await step('ai_stream_cut', [{ kind: 'reset', midStream: true }], async () => {
  const result = streamText({ model: provider.chat('gpt-4o'), prompt: 'cut', maxRetries: 0, onError: () => {} });
  for await (const part of result.fullStream) if (part.type === 'error') throw part.error;
});
await step('ai_telemetry', [], () => generateText({ model: provider.chat('gpt-4o'), prompt: 'traced', experimental_telemetry: { isEnabled: true } }));
await step('openai', [], () => openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }));
await step('anthropic', [], () => anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }));
await step('fetch_in_stage', [], () => stage('research', async () => (await post('/v1/chat/completions', { model: 'gpt-4o', messages: [] })).text()));
await step('fetch_in_llmCall', [], () => llmCall({ model: 'wrapped' }, async () => (await post('/v1/chat/completions', { model: 'wrapped', messages: [] })).text()));
await step('gemini', ['not_found'], async () => (await post('/v1beta/models/gemini-2.0-flash:generateContent?key=${GEMINI_KEY}', {})).text());
await step('fetch_stream_stopped', [], async () => {
  const response = await post('/v1/chat/completions', { model: 'gpt-4o', stream: true, messages: [] });
  const reader = response.body.getReader();
  await reader.read();
  await reader.cancel();
});
// The app's own retry inside its llmCall(): the failed request is a failed attempt of the call.
await step('fetch_retried_in_llmCall', ['server_error'], () =>
  llmCall({ model: 'retried' }, async () => {
    for (;;) {
      const response = await post('/v1/chat/completions', { model: 'retried', messages: [] });
      await response.text();
      if (response.ok) return;
    }
  }),
);
await step('not_a_call', [], async () => (await fetch(server.url + '/v1/models')).text());
await server.close();
process.stdout.write(JSON.stringify(outcomes) + '\\n');
`;

const OUTCOMES = [
  ['ai_chat', 'ok'],
  ['ai_responses', 'ok'],
  ['ai_stream', 'ok'],
  ['ai_retried', 'ok'],
  ['ai_401', 'APICallError', null],
  ['ai_stream_cut', 'APICallError', null],
  ['ai_telemetry', 'ok'],
  ['openai', 'ok'],
  ['anthropic', 'ok'],
  ['fetch_in_stage', 'ok'],
  ['fetch_in_llmCall', 'ok'],
  ['gemini', 'ok'],
  ['fetch_stream_stopped', 'ok'],
  ['fetch_retried_in_llmCall', 'ok'],
  ['not_a_call', 'ok'],
];

async function runApp(env: Record<string, string> = {}) {
  const runDir = tempRunDir('autopsy-llm-requests-');
  const result = await runNode(writeScript(APP), { nodeArgs: ['--import', 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: runDir, NODE_OPTIONS: '', ...env }, timeoutMs: 60_000 });
  return { result, runDir };
}

/** Each llm call's end (or error), with what says where it came from. */
function callEnds(events: TruthEvent[]) {
  return events
    .filter((event) => event.type === 'llm_call_end' || event.type === 'llm_call_error')
    .map((event) => {
      const { span, operation, provider, model, stage, error, error_type, http_status, input_tokens } = event.data;
      return { type: event.type, span, operation, provider, model, stage, error, error_type, http_status, input_tokens };
    });
}

const request = (fields: Record<string, unknown> = {}) => ({
  type: 'llm_call_end',
  span: 'chat 127.0.0.1',
  operation: 'chat',
  provider: undefined,
  model: undefined,
  stage: undefined,
  error: undefined,
  error_type: undefined,
  http_status: undefined,
  input_tokens: undefined,
  ...fields,
});
const failed = (status: number, text: string) => ({ type: 'llm_call_error', error: `HTTP ${status} ${text}`, error_type: String(status), http_status: status });

describe('the zero-code flag and LLM API requests no instrumentation sees', () => {
  it('records each request of the AI SDK and plain fetch once, folds those inside a call into it, and leaves instrumented clients to their spans', async () => {
    const { result, runDir } = await runApp();
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(JSON.parse(result.stdout)).toEqual(OUTCOMES);
    const events = readTrackerDocument(runDir).events;
    expect(callEnds(events)).toEqual([
      request(), // ai_chat
      request(), // ai_responses (the Responses API)
      request(), // ai_stream: ended with its stream's last chunk
      request(failed(429, 'Too Many Requests')), // ai_retried: the SDK's first attempt…
      request(), // …and its retry, a request of its own
      request(failed(401, 'Unauthorized')),
      request({ type: 'llm_call_error', error: 'other side closed', error_type: 'SocketError' }),
      // With telemetry the AI SDK's own spans record the call, with its model and tokens.
      { type: 'llm_call_end', span: 'ai.generateText', operation: 'ai.generateText', provider: 'openai.chat', model: 'gpt-4o', stage: undefined, error: undefined, error_type: undefined, http_status: undefined, input_tokens: 2 },
      { type: 'llm_call_end', span: 'chat gpt-4o', operation: 'chat', provider: 'openai', model: 'gpt-4o', stage: undefined, error: undefined, error_type: undefined, http_status: undefined, input_tokens: 1 },
      { type: 'llm_call_end', span: 'anthropic.messages.create', operation: 'chat', provider: 'anthropic', model: 'claude-sonnet-4-6', stage: undefined, error: undefined, error_type: undefined, http_status: undefined, input_tokens: 1 },
      request({ stage: 'research' }),
      // Inside the app's llmCall() the request is folded into the call (which takes its operation).
      { type: 'llm_call_end', span: undefined, operation: 'chat', provider: undefined, model: 'wrapped', stage: undefined, error: undefined, error_type: undefined, http_status: undefined, input_tokens: undefined },
      request({ ...failed(404, 'Not Found'), span: 'generate_content gemini-2.0-flash', operation: 'generate_content', model: 'gemini-2.0-flash' }),
      request(), // a stream the app stopped reading is no failure
      { type: 'llm_call_end', span: undefined, operation: 'chat', provider: undefined, model: 'retried', stage: undefined, error: undefined, error_type: undefined, http_status: undefined, input_tokens: undefined },
    ]);
    const retried = events.find((event) => event.type === 'llm_call_end' && event.data.model === 'retried');
    expect([retried?.data.failed_attempts, retried?.data.last_attempt_error]).toEqual([1, 'HTTP 500 Internal Server Error']);
    // A key in the request's query is never recorded.
    const gemini = events.find((event) => event.type === 'llm_call_start' && event.data.operation === 'generate_content');
    expect(gemini?.data).toEqual({ operation: 'generate_content', model: 'gemini-2.0-flash', span: 'generate_content gemini-2.0-flash' });
    for (const file of readdirSync(join(runDir, 'Memory', 'logs'))) expect(readFileSync(join(runDir, 'Memory', 'logs', file), 'utf8')).not.toContain(GEMINI_KEY);
    const report = readReport(runDir);
    expect(report.llm_usage).toMatchObject({ calls: 15, errors: 4, retried_calls: 1, failed_attempts: 1 });
    expect(report.diagnoses.map((diagnosis) => diagnosis.id)).toEqual(['auth_failure', 'rate_limited', 'llm_server_error']);
  }, 60_000);

  it("AGENT_AUTOPSY_LLM_REQUESTS=false leaves them out; ANTHROPIC_OPEN_TELEMETRY=false has the Anthropic call recorded by the flag's own instrumentation, not from its request", async () => {
    const off = await runApp({ AGENT_AUTOPSY_LLM_REQUESTS: 'false' });
    expect([off.result.code, off.result.stderr]).toEqual([0, '']);
    expect(callEnds(readTrackerDocument(off.runDir).events).map((call) => call.span)).toEqual(['ai.generateText', 'chat gpt-4o', 'anthropic.messages.create', undefined, undefined]);

    const untraced = await runApp({ ANTHROPIC_OPEN_TELEMETRY: 'false' });
    expect([untraced.result.code, untraced.result.stderr]).toEqual([0, '']);
    const ends = callEnds(readTrackerDocument(untraced.runDir).events);
    expect(ends.length).toBe(15);
    // The SDK's tracing is off: the flag's instrumentation records the call, with its model and tokens.
    expect(ends[9]).toEqual({ type: 'llm_call_end', span: 'chat claude-sonnet-4-6', operation: 'chat', provider: 'anthropic', model: 'claude-sonnet-4-6', stage: undefined, error: undefined, error_type: undefined, http_status: undefined, input_tokens: 1 });
  }, 60_000);

  it('a request still open when the process is stopped is the call the hang waited on', async () => {
    const runDir = tempRunDir('autopsy-llm-requests-hang-');
    const app = writeScript(`
import { generateText } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer({ script: ['ok', 'timeout'] });
const provider = createOpenAI({ baseURL: server.baseURL, apiKey: 'sk-test-0123456789abcdefghij' });
await generateText({ model: provider.chat('gpt-4o'), prompt: 'first' });
const pending = generateText({ model: provider.chat('gpt-4o'), prompt: 'never answered' });
setTimeout(() => process.stdout.write('waiting\\n'), 200);
await pending;
`);
    const result = await runNode(app, {
      nodeArgs: ['--import', 'agent-autopsy/register'],
      env: { AGENT_AUTOPSY_DIR: runDir, NODE_OPTIONS: '' },
      timeoutMs: 60_000,
      onStdoutLine: (line, child) => {
        if (line === 'waiting') child.kill('SIGTERM');
      },
    });
    expect(result.signal).toBe('SIGTERM');
    const events = readTrackerDocument(runDir).events;
    const unfinished = events.find((event) => event.type === 'llm_call_unfinished');
    expect(unfinished?.data).toMatchObject({ operation: 'chat', span: 'chat 127.0.0.1', unfinished: true, stage: 'unknown' });
    const report = readReport(runDir);
    expect(report.llm_usage).toMatchObject({ calls: 1, errors: 0 });
    const hang = report.diagnoses[0];
    expect(hang.id).toBe('stage_hang');
    expect(hang.evidence.examples[0]).toMatch(/^Work outside every stage was still running when the process ended by a signal; still waiting on llm "chat 127\.0\.0\.1" \(open for \d+\.\d+ s\)$/);
  }, 60_000);

  it('init() records them only when asked: recordLlmRequests, or AGENT_AUTOPSY_LLM_REQUESTS=true', async () => {
    const app = (options: string) =>
      writeScript(`
import { generateText } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { init, shutdown } from 'agent-autopsy';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
init({ outputDir: process.argv[2], ${options} });
const server = await startFakeLlmServer();
const provider = createOpenAI({ baseURL: server.baseURL, apiKey: 'sk-test-0123456789abcdefghij' });
await generateText({ model: provider.chat('gpt-4o'), prompt: 'hi' });
await server.close();
await shutdown();
`);
    const calls = async (options: string, env: Record<string, string> = {}) => {
      const runDir = tempRunDir('autopsy-llm-requests-init-');
      const result = await runNode(app(options), { args: [runDir], env: { NODE_OPTIONS: '', ...env }, timeoutMs: 60_000 });
      expect([result.code, result.stderr]).toEqual([0, '']);
      return callEnds(readTrackerDocument(runDir).events).map((call) => call.span);
    };
    expect(await calls('')).toEqual([]);
    expect(await calls('recordLlmRequests: true')).toEqual(['chat 127.0.0.1']);
    expect(await calls('', { AGENT_AUTOPSY_LLM_REQUESTS: 'true' })).toEqual(['chat 127.0.0.1']);
    // The option wins over the variable, as for the other options.
    expect(await calls('recordLlmRequests: false', { AGENT_AUTOPSY_LLM_REQUESTS: 'true' })).toEqual([]);
  }, 60_000);
});
