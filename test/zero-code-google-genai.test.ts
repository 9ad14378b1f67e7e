import { describe, expect, it } from 'vitest';
import { esmAndCommonJsApps, runNode, runZeroCode, STEP_HELPER, writeScript } from './helpers/childProcess';
import { llmCallEnds } from './helpers/llmEvents';
import { readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * The zero-code flag records the calls of the Google Gen AI SDK (`@google/genai`, Gemini) with
 * their model, tokens and finish reasons, which its requests alone do not show: the real SDK
 * against the fake server's Gemini routes, each method and each way a call ends, ESM and CommonJS;
 * the Interactions API, which the flag records from its requests.
 */

const MODEL = 'gemini-2.5-flash';

/** The calls, shared by the ESM and CommonJS apps (`GoogleGenAI` is the SDK's client, `server` the fake). */
const CALLS = `
const ai = new GoogleGenAI({ apiKey: 'AIzaSyFAKE-0123456789abcdefghijklmnopqrstu', httpOptions: { baseUrl: server.url } });
const model = '${MODEL}';
const contents = 'hello there';
const read = async (stream) => { for await (const _ of stream); };
${STEP_HELPER}

await step('generate', [], () => stage('research', () => ai.models.generateContent({ model, contents, config: { maxOutputTokens: 100, temperature: 0.2 } })));
await step('stream', [], async () => read(await ai.models.generateContentStream({ model: 'models/' + model, contents })));
await step('embed', [], () => ai.models.embedContent({ model: 'text-embedding-004', contents: ['a', 'b'] }));
await step('chat', [], () => ai.chats.create({ model }).sendMessage({ message: contents }));
await step('rate_limited', ['rate_limit'], () => ai.models.generateContent({ model, contents }));
// Retries only when asked for: each attempt goes through httpOptions.fetch, and is counted.
const retrying = new GoogleGenAI({ apiKey: 'AIzaSyFAKE-0123456789abcdefghijklmnopqrstu', httpOptions: { baseUrl: server.url, retryOptions: { attempts: 3, initialDelay: 0.01, maxDelay: 0.01, jitter: 0 } } });
await step('retried', ['rate_limit'], () => retrying.models.generateContent({ model, contents }));
await step('retried_out', ['rate_limit', 'rate_limit', 'rate_limit'], () => retrying.models.generateContent({ model, contents }));
await step('denied', ['auth'], () => ai.models.generateContent({ model, contents }));
await step('too_long', [{ kind: 'context_length', limit: 2 }], () => ai.models.generateContent({ model, contents }));
await step('stream_error', [{ kind: 'overloaded', midStream: true }], async () => read(await ai.models.generateContentStream({ model, contents })));
await step('stream_stopped', [], async () => {
  for await (const _ of await ai.models.generateContentStream({ model, contents })) break;
});
await step('blocked', [{ body: { promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 3, totalTokenCount: 3 } } }], async () => {
  if ((await ai.models.generateContent({ model, contents })).text !== undefined) throw new Error('a blocked prompt has no text');
});
await step('aborted', [{ delayMs: 2000 }], () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  return ai.models.generateContent({ model, contents, config: { abortSignal: controller.signal } });
});
await step('timeout', ['timeout'], () => ai.models.generateContent({ model, contents, config: { httpOptions: { timeout: 300 } } }));
await step('reset', ['reset'], () => ai.models.generateContent({ model, contents }));
await step('vertex', [], () => new GoogleGenAI({ vertexai: true, apiKey: 'fake-vertex-key', httpOptions: { baseUrl: server.url } }).models.generateContent({ model, contents }));
// The Interactions API: recorded from its requests (the model is in their bodies).
await step('interaction', [], () => ai.interactions.create({ model, input: contents }));
await step('interaction_stream', [], async () => read(await ai.interactions.create({ model, input: contents, stream: true })));
await step('interaction_limited', ['rate_limit'], () => ai.interactions.create({ model, input: contents }, { retries: { strategy: 'none' } }));
await step('count_tokens', [], () => ai.models.countTokens({ model, contents }));
await server.close();
process.stdout.write(JSON.stringify(outcomes) + '\\n');
`;

/** The calls as an ESM app (`--import`) and as a CommonJS one (`--require`). */
const APPS = esmAndCommonJsApps('{ GoogleGenAI }', '@google/genai', `const { stage } = await import('agent-autopsy');\nconst server = await startFakeLlmServer();\n${CALLS}`);

const OUTCOMES = [
  ['generate', 'ok'],
  ['stream', 'ok'],
  ['embed', 'ok'],
  ['chat', 'ok'],
  ['rate_limited', 'ApiError', 429],
  ['retried', 'ok'],
  ['retried_out', 'ApiError', 429],
  ['denied', 'ApiError', 400],
  ['too_long', 'ApiError', 400],
  ['stream_error', 'ApiError', 503],
  ['stream_stopped', 'ok'],
  ['blocked', 'ok'],
  ['aborted', 'DOMException', null],
  ['timeout', 'DOMException', null],
  ['reset', 'TypeError', null],
  ['vertex', 'ok'],
  ['interaction', 'ok'],
  ['interaction_stream', 'ok'],
  ['interaction_limited', 'RateLimitError', 429],
  ['count_tokens', 'ok'],
];

const FIELDS = ['span', 'provider', 'model', 'stage', 'input_tokens', 'output_tokens', 'response_model', 'finish_reasons', 'failed_attempts', 'error', 'error_type', 'http_status'];
const call = (fields: Record<string, unknown> = {}) => ({ type: 'llm_call_end', span: `generate_content ${MODEL}`, provider: 'gcp.gemini', model: MODEL, ...fields });
// 'hello there' is 3 tokens to the fake server, its reply 12.
const answered = (fields: Record<string, unknown> = {}) => call({ input_tokens: 3, output_tokens: 12, response_model: MODEL, finish_reasons: ['stop'], ...fields });
const googleError = (code: number, status: string, message: string, details?: unknown[]) => JSON.stringify({ error: { code, message, status, ...(details ? { details } : {}) } });

const QUOTA = googleError(429, 'RESOURCE_EXHAUSTED', 'You exceeded your current quota, please check your plan and billing details.', [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1s' }]);

const ENDS = [
  answered({ stage: 'research' }),
  // `models/…` as the SDK accepts it, named as the API names the model.
  answered(),
  { type: 'llm_call_end', span: 'embeddings text-embedding-004', provider: 'gcp.gemini', model: 'text-embedding-004' },
  answered(),
  call({ type: 'llm_call_error', error: QUOTA, error_type: 'RESOURCE_EXHAUSTED', http_status: 429 }),
  answered({ failed_attempts: 1 }),
  call({ type: 'llm_call_error', failed_attempts: 2, error: QUOTA, error_type: 'RESOURCE_EXHAUSTED', http_status: 429 }),
  // Gemini refuses a key with a 400: the reason its error gives names it.
  call({
    type: 'llm_call_error',
    error: googleError(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
      { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } },
    ]),
    error_type: 'API_KEY_INVALID',
    http_status: 400,
  }),
  call({ type: 'llm_call_error', error: googleError(400, 'INVALID_ARGUMENT', 'The input token count (3) exceeds the maximum number of tokens allowed (2).'), error_type: 'INVALID_ARGUMENT', http_status: 400 }),
  // An error in the stream, after its headers' 200, as the SDK raises it.
  call({ type: 'llm_call_error', error: `got status: UNAVAILABLE. ${googleError(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.')}`, error_type: 'UNAVAILABLE', http_status: 503 }),
  // Stopped after its first chunk, which has the prompt's count only.
  call({ input_tokens: 3, response_model: MODEL }),
  call({ type: 'llm_call_error', input_tokens: 3, error: 'the API blocked the prompt (SAFETY): no candidate came back', error_type: 'BLOCKED_SAFETY' }),
  // An aborted call is no failure; the client's timeout, which aborts it the same way, is one.
  call(),
  call({ type: 'llm_call_error', error: "no answer within the client's timeout (300 ms): This operation was aborted", error_type: 'TimeoutError' }),
  call({ type: 'llm_call_error', error: 'fetch failed (cause: UND_ERR_SOCKET: other side closed)', error_type: 'TypeError' }),
  answered({ provider: 'gcp.vertex_ai' }),
  { type: 'llm_call_end', span: 'chat 127.0.0.1', provider: 'gcp.gemini' },
  { type: 'llm_call_end', span: 'chat 127.0.0.1', provider: 'gcp.gemini' },
  { type: 'llm_call_error', span: 'chat 127.0.0.1', provider: 'gcp.gemini', error: 'HTTP 429 Too Many Requests', error_type: '429', http_status: 429 },
];

function runApp(source: string, extension: '.mjs' | '.cjs', env: Record<string, string> = {}) {
  return runZeroCode(source, 'autopsy-genai-', extension, { NODE_OPTIONS: '', ...env });
}

describe('the zero-code flag with the Google Gen AI SDK', () => {
  it.each(APPS)('%s: every request once, with model, tokens, finish reason and the error Google names', async (_name, extension, source) => {
    const { result, runDir } = await runApp(source, extension);
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(JSON.parse(result.stdout)).toEqual(OUTCOMES);
    const events = readTrackerDocument(runDir).events;
    // Each call once: its requests are left to its span (those of the Interactions API are recorded as requests), countTokens is no call.
    expect(llmCallEnds(events, FIELDS)).toEqual(ENDS);
    expect(events.filter((event) => event.type === 'llm_call_start')).toHaveLength(ENDS.length);
    // The streams' time to their first text.
    const streamed = events.filter((event) => event.type.startsWith('llm_call_') && event.type !== 'llm_call_start' && event.data.time_to_first_chunk !== undefined);
    expect(streamed).toHaveLength(3);
    expect(events.find((event) => event.type === 'llm_call_end')?.data.operation).toBe('generate_content');
    const report = readReport(runDir);
    expect(report.llm_usage).toMatchObject({ calls: 19, errors: 9, retried_calls: 2, failed_attempts: 3, errors_by_status: { '400': 2, '429': 3, '503': 1 } });
    expect(report.unfinished).toEqual([]);
    // Each failure's cause, from Google's error (a refused key's 400 included).
    expect(report.diagnoses.map((diagnosis) => diagnosis.id)).toEqual(expect.arrayContaining(['auth_failure', 'context_length_exceeded', 'llm_server_error', 'llm_timeout', 'rate_limited']));
  }, 60_000);

  it('records prompts and replies in parts with AGENT_AUTOPSY_CAPTURE_CONTENT=true: function calls and responses, thinking, an image by its type only', async () => {
    const app = `
import { GoogleGenAI } from '@google/genai';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer();
const ai = new GoogleGenAI({ apiKey: 'fake', httpOptions: { baseUrl: server.url } });
const history = [
  { role: 'user', parts: [{ text: 'what is in it?' }, { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgoAAAANSUhEUg==' } }] },
  { role: 'model', parts: [{ functionCall: { id: 'call-1', name: 'lookup', args: { q: 'png' } } }] },
  { role: 'user', parts: [{ functionResponse: { id: 'call-1', name: 'lookup', response: { answer: 42 } } }] },
];
server.script([{ body: {
  candidates: [{ content: { role: 'model', parts: [{ text: 'Let me look.', thought: true }, { functionCall: { id: 'call-2', name: 'lookup', args: { q: 'more' } } }] }, finishReason: 'STOP', index: 0 }],
  usageMetadata: { promptTokenCount: 9, cachedContentTokenCount: 2, candidatesTokenCount: 4, thoughtsTokenCount: 6, totalTokenCount: 19 },
  modelVersion: '${MODEL}-001',
} }]);
await ai.models.generateContent({ model: '${MODEL}', contents: history, config: { systemInstruction: 'be brief' } });
for await (const _ of await ai.models.generateContentStream({ model: '${MODEL}', contents: 'hello there' }));
await server.close();
`;
    const { result, runDir } = await runApp(app, '.mjs', { AGENT_AUTOPSY_CAPTURE_CONTENT: 'true' });
    expect([result.code, result.stderr]).toEqual([0, '']);
    const ends = llmCallEnds(readTrackerDocument(runDir).events, ['prompt', 'response', 'input_tokens', 'output_tokens', 'cache_read_input_tokens', 'response_model']);
    expect(ends[0]).toEqual({
      type: 'llm_call_end',
      prompt: JSON.stringify([
        { role: 'user', parts: [{ type: 'text', content: 'what is in it?' }, { type: 'blob', mime_type: 'image/png', modality: 'image' }] },
        { role: 'assistant', parts: [{ type: 'tool_call', id: 'call-1', name: 'lookup', arguments: { q: 'png' } }] },
        { role: 'tool', parts: [{ type: 'tool_call_response', id: 'call-1', response: { answer: 42 } }] },
      ]),
      response: JSON.stringify([{ role: 'assistant', parts: [{ type: 'reasoning', content: 'Let me look.' }, { type: 'tool_call', id: 'call-2', name: 'lookup', arguments: { q: 'more' } }], finish_reason: 'stop' }]),
      // The prompt's count has the cached tokens; the output's, the thinking.
      input_tokens: 9,
      output_tokens: 10,
      cache_read_input_tokens: 2,
      response_model: `${MODEL}-001`,
    });
    // A stream's reply, its chunks' text joined.
    expect(ends[1]).toMatchObject({
      prompt: JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'hello there' }] }]),
      response: JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'Fake reply to: "hello there". The answer is 42.' }], finish_reason: 'stop' }]),
    });
  }, 60_000);

  it("inside another instrumentation's span of the same call (OpenLLMetry's wraps generateContent): each call once, the flag's span is the call", async () => {
    // As @traceloop/instrumentation-google-generativeai 0.27 wraps a client's generateContent (it hooks 1.x only).
    const app = `
import { context, trace, SpanStatusCode } from '@opentelemetry/api';
import { GoogleGenAI } from '@google/genai';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer({ script: ['ok', 'rate_limit'] });
const ai = new GoogleGenAI({ apiKey: 'fake', httpOptions: { baseUrl: server.url } });
const original = ai.models.generateContent;
const tracer = trace.getTracer('@traceloop/instrumentation-google-generativeai');
ai.models.generateContent = (params) => {
  const span = tracer.startSpan('generate_content ${MODEL}', { attributes: { 'gen_ai.provider.name': 'gcp.gen_ai', 'gen_ai.operation.name': 'generate_content', 'gen_ai.request.model': '${MODEL}' } });
  return context.with(trace.setSpan(context.active(), span), () => original(params)).then(
    (result) => (span.setAttributes({ 'gen_ai.usage.input_tokens': 3 }), span.end(), result),
    (error) => (span.setStatus({ code: SpanStatusCode.ERROR, message: error.message }), span.end(), Promise.reject(error)),
  );
};
await ai.models.generateContent({ model: '${MODEL}', contents: 'hello there' });
await ai.models.generateContent({ model: '${MODEL}', contents: 'hello there' }).catch(() => {});
await server.close();
`;
    const { result, runDir } = await runApp(app, '.mjs');
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(llmCallEnds(readTrackerDocument(runDir).events, ['provider', 'output_tokens', 'error_type'])).toEqual([
      { type: 'llm_call_end', provider: 'gcp.gemini', output_tokens: 12 },
      { type: 'llm_call_error', provider: 'gcp.gemini', error_type: 'RESOURCE_EXHAUSTED' },
    ]);
  }, 60_000);

  it('required before agent-autopsy/register: said once (with the other clients loaded first, in one list), and its calls are recorded from their requests (no tokens)', async () => {
    const app = `
const { GoogleGenAI } = require('@google/genai');
require('agent-autopsy/register');
(async () => {
  const { startFakeLlmServer } = await import('../../examples/fake-llm-server.mjs');
  const server = await startFakeLlmServer();
  await new GoogleGenAI({ apiKey: 'fake', httpOptions: { baseUrl: server.url } }).models.generateContent({ model: '${MODEL}', contents: 'hello there' });
  await server.close();
})();
`;
    const runDir = tempRunDir('autopsy-genai-late-');
    const result = await runNode(writeScript(app, '.cjs'), { env: { AGENT_AUTOPSY_DIR: runDir, NODE_OPTIONS: '' }, timeoutMs: 60_000 });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      'agent-autopsy: agent-autopsy/register was required after @google/genai was loaded: that client is not instrumented, so its LLM calls are recorded only from their HTTP requests, without tokens, and without the model where the request path does not name it; require agent-autopsy/register before @google/genai, or start the app with node --require agent-autopsy/register app.cjs\n',
    );
    expect(llmCallEnds(readTrackerDocument(runDir).events, ['span', 'model', 'input_tokens'])).toEqual([{ type: 'llm_call_end', span: `generate_content ${MODEL}`, model: MODEL }]);
    // With the others: one warning names them all.
    const three = writeScript(`require('openai');\nrequire('@anthropic-ai/sdk');\nrequire('@google/genai');\nrequire('agent-autopsy/register');\n`, '.cjs');
    const all = await runNode(three, { env: { AGENT_AUTOPSY_DIR: tempRunDir('autopsy-genai-late-'), NODE_OPTIONS: '', ANTHROPIC_OPEN_TELEMETRY: 'false' }, timeoutMs: 60_000 });
    expect([all.code, all.stderr]).toEqual([
      0,
      'agent-autopsy: agent-autopsy/register was required after openai, @anthropic-ai/sdk and @google/genai were loaded: those clients are not instrumented, so their LLM calls are recorded only from their HTTP requests, without tokens, and without the model where the request path does not name it; require agent-autopsy/register before openai, @anthropic-ai/sdk and @google/genai, or start the app with node --require agent-autopsy/register app.cjs\n',
    ]);
  }, 60_000);
});
