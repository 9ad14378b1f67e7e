import { describe, expect, it } from 'vitest';
import { esmAndCommonJsApps, runNode, runZeroCode, STEP_HELPER, writeScript } from './helpers/childProcess';
import { llmCallEnds } from './helpers/llmEvents';
import { readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * The zero-code flag records the calls of `@google/generative-ai`, the earlier Gemini SDK that
 * LangChain's `@langchain/google-genai` runs on, as it records `@google/genai`'s: the real SDK
 * (0.24) against the fake server's Gemini routes, each method and each way a call ends, ESM and
 * CommonJS.
 */

const MODEL = 'gemini-1.5-flash';

/** The calls, shared by the ESM and CommonJS apps (`GoogleGenerativeAI` is the SDK's client, `server` the fake). */
const CALLS = `
const genAI = new GoogleGenerativeAI('AIzaSyFAKE-0123456789abcdefghijklmnopqrstu');
const model = genAI.getGenerativeModel({ model: '${MODEL}', generationConfig: { maxOutputTokens: 100, temperature: 0.2 } }, { baseUrl: server.url });
const embedder = genAI.getGenerativeModel({ model: 'text-embedding-004' }, { baseUrl: server.url });
const prompt = 'hello there';
${STEP_HELPER}

await step('generate', [], () => stage('research', () => model.generateContent(prompt)));
await step('stream', [], async () => {
  const result = await model.generateContentStream(prompt);
  for await (const _ of result.stream);
  await result.response;
});
// The aggregated response only: the SDK reads the stream for it.
await step('stream_response', [], async () => (await model.generateContentStream(prompt)).response);
await step('chat', [], () => model.startChat().sendMessage(prompt));
await step('chat_stream', [], async () => {
  for await (const _ of (await model.startChat().sendMessageStream(prompt)).stream);
});
await step('embed', [], () => embedder.embedContent('a'));
await step('batch_embed', [], () => embedder.batchEmbedContents({ requests: [{ content: { role: 'user', parts: [{ text: 'a' }] } }] }));
await step('rate_limited', ['rate_limit'], () => model.generateContent(prompt));
await step('denied', ['auth'], () => model.generateContent(prompt));
// The SDK yields an error the API sends inside the stream as a chunk, and never throws it.
await step('stream_error', [{ kind: 'overloaded', midStream: true }], async () => {
  const result = await model.generateContentStream(prompt);
  for await (const _ of result.stream);
});
await step('blocked', [{ body: { promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 3, totalTokenCount: 3 } } }], async () => (await model.generateContent(prompt)).response.text());
await step('aborted', [{ delayMs: 2000 }], () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  return model.generateContent(prompt, { signal: controller.signal });
});
await step('timeout', ['timeout'], () => model.generateContent(prompt, { timeout: 300 }));
await step('count_tokens', [], () => model.countTokens(prompt));
await server.close();
process.stdout.write(JSON.stringify(outcomes) + '\\n');
`;

/** The calls as an ESM app (`--import`) and as a CommonJS one (`--require`). */
const APPS = esmAndCommonJsApps('{ GoogleGenerativeAI }', '@google/generative-ai', `const { stage } = await import('agent-autopsy');\nconst server = await startFakeLlmServer();\n${CALLS}`);

const OUTCOMES = [
  ['generate', 'ok'],
  ['stream', 'ok'],
  ['stream_response', 'ok'],
  ['chat', 'ok'],
  ['chat_stream', 'ok'],
  ['embed', 'ok'],
  ['batch_embed', 'ok'],
  ['rate_limited', 'GoogleGenerativeAIFetchError', 429],
  ['denied', 'GoogleGenerativeAIFetchError', 400],
  ['stream_error', 'ok'],
  ['blocked', 'GoogleGenerativeAIResponseError', null],
  ['aborted', 'GoogleGenerativeAIAbortError', null],
  ['timeout', 'GoogleGenerativeAIAbortError', null],
  ['count_tokens', 'ok'],
];

const FIELDS = ['span', 'provider', 'model', 'stage', 'input_tokens', 'output_tokens', 'finish_reasons', 'error_type', 'http_status'];
const call = (fields: Record<string, unknown> = {}) => ({ type: 'llm_call_end', span: `generate_content ${MODEL}`, provider: 'gcp.gemini', model: MODEL, ...fields });
// 'hello there' is 3 tokens to the fake server, its reply 12.
const answered = (fields: Record<string, unknown> = {}) => call({ input_tokens: 3, output_tokens: 12, finish_reasons: ['stop'], ...fields });
const embedded = { type: 'llm_call_end', span: 'embeddings text-embedding-004', provider: 'gcp.gemini', model: 'text-embedding-004' };

const ENDS = [
  answered({ stage: 'research' }),
  answered(),
  answered(),
  answered(),
  answered(),
  embedded,
  embedded,
  call({ type: 'llm_call_error', error_type: 'GoogleGenerativeAIFetchError', http_status: 429 }),
  call({ type: 'llm_call_error', error_type: 'API_KEY_INVALID', http_status: 400 }),
  // Half the stream came before the error: the prompt's count is known.
  call({ type: 'llm_call_error', input_tokens: 3, error_type: 'UNAVAILABLE', http_status: 503 }),
  call({ type: 'llm_call_error', input_tokens: 3, error_type: 'BLOCKED_SAFETY' }),
  call(),
  call({ type: 'llm_call_error', error_type: 'TimeoutError' }),
];

function runApp(source: string, extension: '.mjs' | '.cjs', env: Record<string, string> = {}) {
  return runZeroCode(source, 'autopsy-generative-ai-', extension, { NODE_OPTIONS: '', ...env });
}

describe('the zero-code flag with @google/generative-ai (the earlier Gemini SDK)', () => {
  it.each(APPS)('%s: every request once, with model, tokens, finish reason, and the errors the SDK does not throw', async (_name, extension, source) => {
    const { result, runDir } = await runApp(source, extension);
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(JSON.parse(result.stdout)).toEqual(OUTCOMES);
    const events = readTrackerDocument(runDir).events;
    expect(llmCallEnds(events, FIELDS)).toEqual(ENDS);
    expect(events.filter((event) => event.type === 'llm_call_start')).toHaveLength(ENDS.length);
    // The streams the app read have their time to first chunk; the one it only awaited the response of has none.
    const streamed = events.filter((event) => event.type.startsWith('llm_call_') && event.type !== 'llm_call_start' && event.data.time_to_first_chunk !== undefined);
    expect(streamed).toHaveLength(3);
    const report = readReport(runDir);
    expect(report.llm_usage).toMatchObject({ calls: 13, errors: 5, errors_by_status: { '400': 1, '429': 1, '503': 1 } });
    expect(report.unfinished).toEqual([]);
    expect(report.diagnoses.map((diagnosis) => diagnosis.id)).toEqual(expect.arrayContaining(['auth_failure', 'llm_server_error', 'llm_timeout', 'rate_limited']));
  }, 60_000);

  it("records a chat turn's prompt with the session's history, and the reply, in parts with AGENT_AUTOPSY_CAPTURE_CONTENT=true", async () => {
    const app = `
import { GoogleGenerativeAI } from '@google/generative-ai';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer();
const model = new GoogleGenerativeAI('fake').getGenerativeModel({ model: '${MODEL}', systemInstruction: 'be brief' }, { baseUrl: server.url });
const chat = model.startChat({ history: [{ role: 'user', parts: [{ text: 'hi' }] }, { role: 'model', parts: [{ text: 'hello' }] }] });
await chat.sendMessage('hello there');
await server.close();
`;
    const { result, runDir } = await runApp(app, '.mjs', { AGENT_AUTOPSY_CAPTURE_CONTENT: 'true' });
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(llmCallEnds(readTrackerDocument(runDir).events, ['prompt', 'response'])).toEqual([
      {
        type: 'llm_call_end',
        prompt: JSON.stringify([
          { role: 'user', parts: [{ type: 'text', content: 'hi' }] },
          { role: 'assistant', parts: [{ type: 'text', content: 'hello' }] },
          { role: 'user', parts: [{ type: 'text', content: 'hello there' }] },
        ]),
        response: JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'Fake reply to: "be brief". The answer is 42.' }], finish_reason: 'stop' }]),
      },
    ]);
  }, 60_000);

  it("a stream cut off whose response the app ignores: a chat's is handled by its session (the app lives on), a model's ends the app with the unhandled rejection, as without the flag", async () => {
    const app = (call: string) => `
import { GoogleGenerativeAI } from '@google/generative-ai';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer({ script: [{ kind: 'reset', midStream: true }] });
const model = new GoogleGenerativeAI('fake').getGenerativeModel({ model: '${MODEL}' }, { baseUrl: server.url });
try {
  for await (const _ of (await ${call}).stream);
} catch (error) {
  process.stdout.write('caught ' + error.constructor.name + '\\n');
}
await new Promise((resolve) => setTimeout(resolve, 200));
process.stdout.write('still running\\n');
await server.close();
`;
    const chat = await runApp(app("model.startChat().sendMessageStream('hello there')"), '.mjs');
    expect([chat.result.code, chat.result.stdout]).toEqual([0, 'caught GoogleGenerativeAIError\nstill running\n']);
    const plain = await runNode(writeScript(app("model.generateContentStream('hello there')"), '.mjs'), { env: { NODE_OPTIONS: '' }, timeoutMs: 60_000 });
    const flagged = await runApp(app("model.generateContentStream('hello there')"), '.mjs');
    expect([plain.code, plain.stdout]).toEqual([1, 'caught GoogleGenerativeAIError\n']);
    expect([flagged.result.code, flagged.result.stdout]).toEqual([1, 'caught GoogleGenerativeAIError\n']);
    expect(llmCallEnds(readTrackerDocument(flagged.runDir).events, ['error_type'])).toEqual([{ type: 'llm_call_error', error_type: 'GoogleGenerativeAIError' }]);
  }, 60_000);

  it('required before agent-autopsy/register: said once, and its calls are recorded from their requests (no tokens)', async () => {
    const app = `
const { GoogleGenerativeAI } = require('@google/generative-ai');
require('agent-autopsy/register');
(async () => {
  const { startFakeLlmServer } = await import('../../examples/fake-llm-server.mjs');
  const server = await startFakeLlmServer();
  await new GoogleGenerativeAI('fake').getGenerativeModel({ model: '${MODEL}' }, { baseUrl: server.url }).generateContent('hello there');
  await server.close();
})();
`;
    const runDir = tempRunDir('autopsy-generative-ai-late-');
    const result = await runNode(writeScript(app, '.cjs'), { env: { AGENT_AUTOPSY_DIR: runDir, NODE_OPTIONS: '' }, timeoutMs: 60_000 });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      'agent-autopsy: agent-autopsy/register was required after @google/generative-ai was loaded: that client is not instrumented, so its LLM calls are recorded only from their HTTP requests, without tokens, and without the model where the request path does not name it; require agent-autopsy/register before @google/generative-ai, or start the app with node --require agent-autopsy/register app.cjs\n',
    );
    expect(llmCallEnds(readTrackerDocument(runDir).events, ['span', 'input_tokens'])).toEqual([{ type: 'llm_call_end', span: `generate_content ${MODEL}` }]);
  }, 60_000);
});
