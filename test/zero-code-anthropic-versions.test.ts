import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TruthEvent } from '../src/types';
import { REPO_ROOT, runNode, STEP_HELPER } from './helpers/childProcess';
import { llmCallEnds } from './helpers/llmEvents';
import { startOtlpReceiver } from './helpers/otlpReceiver';
import { logPath, readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * @anthropic-ai/sdk under the zero-code flag, whichever version: 1.x traces its calls itself, and
 * agent-autopsy's own instrumentation traces the versions before (0.39, with node-fetch and the
 * older client layout; 0.133, on fetch) and the 1.x clients whose tracing is off
 * (ANTHROPIC_OPEN_TELEMETRY=false, as Sentry 11 sets it). Every one must give the same events as
 * 1.x's own spans: model, tokens with the cache's, finish reason, time to first chunk, retries,
 * the error envelope's type and status, a call the app aborted as no failure. Each version is
 * installed as an npm alias and copied into the app's node_modules as `@anthropic-ai/sdk`: the
 * instrumentation hooks the module by name.
 */

const KEY = 'sk-ant-test-0123456789abcdef';

const CALLS = `
const server = await startFakeLlmServer();
const anthropic = new Anthropic({ baseURL: server.anthropicBaseURL, apiKey: '${KEY}', maxRetries: 0 });
const retrying = new Anthropic({ baseURL: server.anthropicBaseURL, apiKey: '${KEY}', maxRetries: 1 });
${STEP_HELPER}
const drain = async (stream, stopAfter = Infinity) => { let n = 0; for await (const _ of stream) if (++n >= stopAfter) break; };
const message = (content, extra = {}, options) => anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 200, messages: [{ role: 'user', content }], ...extra }, options);
await step('messages', [], () => message('hello claude', { system: 'Be brief.', temperature: 0.5 }));
await step('messages_stream', [], async () => drain(await message('hello claude stream', { stream: true })));
await step('messages_stream_helper', [], () => anthropic.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 200, messages: [{ role: 'user', content: 'hello helper' }] }).finalMessage());
await step('beta_messages', [], () => anthropic.beta.messages.create({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hello beta' }] }));
await step('messages_retried', [{ kind: 'rate_limit', retryAfterMs: 10 }, 'ok'], () => retrying.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 200, messages: [{ role: 'user', content: 'retried' }] }));
await step('messages_529', ['overloaded'], () => message('busy'));
await step('messages_401', ['auth'], () => message('who am i'));
await step('messages_stream_429', ['rate_limit'], async () => drain(await message('limited stream', { stream: true })));
await step('messages_timeout', ['timeout'], () => message('slow', {}, { timeout: 300 }));
await step('messages_stream_break', [], async () => drain(await message('stop early', { stream: true }), 2));
await step('messages_aborted', ['timeout'], () => message('aborted', {}, { signal: AbortSignal.timeout(200) }));
// The app's own llmCall() around the call: one call, with the SDK's tokens and retries.
await step('llm_call_wrapped', [{ kind: 'rate_limit', retryAfterMs: 10 }, 'ok'], () => llmCall({ model: 'wrapped' }, () => retrying.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 200, messages: [{ role: 'user', content: 'wrapped' }] })));
await server.close();
process.stdout.write(JSON.stringify(outcomes.map(([name, outcome]) => [name, outcome === 'ok' ? 'ok' : 'failed'])) + '\\n');
`;

const claude = { model: 'claude-sonnet-4-6', provider: 'anthropic', operation: 'chat' };
const answered = (fields: Record<string, unknown>) => ({ type: 'llm_call_end', ...claude, response_model: claude.model, finish_reasons: ['end_turn'], cache_read_input_tokens: 0, cache_creation_input_tokens: 0, ...fields });
const failed = (fields: Record<string, unknown>) => ({ type: 'llm_call_error', ...claude, ...fields });

/** The end (or error) of every call, as 1.x's own spans give it. */
const ENDS = [
  answered({ input_tokens: 6, output_tokens: 12, tokens_used: 18 }),
  answered({ input_tokens: 5, output_tokens: 14, tokens_used: 19, time_to_first_chunk: 'number' }),
  answered({ input_tokens: 3, output_tokens: 12, tokens_used: 15, time_to_first_chunk: 'number' }),
  answered({ model: 'claude-haiku-4-5', response_model: 'claude-haiku-4-5', input_tokens: 3, output_tokens: 12, tokens_used: 15 }),
  answered({ input_tokens: 2, output_tokens: 11, tokens_used: 13, failed_attempts: 1 }),
  failed({ error_type: 'overloaded_error', http_status: 529 }),
  failed({ error_type: 'authentication_error', http_status: 401 }),
  failed({ error_type: 'rate_limit_error', http_status: 429 }),
  failed({ error_type: 'client_timeout_error' }),
  // The app stopped reading after message_start and the first block's start: no output, no finish.
  { type: 'llm_call_end', ...claude, response_model: claude.model, input_tokens: 3, tokens_used: 3, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
  // Aborted by the app: no failure, as 1.x's spans have it.
  { type: 'llm_call_end', ...claude },
  answered({ model: 'wrapped', input_tokens: 2, output_tokens: 11, tokens_used: 13, failed_attempts: 1 }),
];

const OUTCOMES = [
  ['messages', 'ok'],
  ['messages_stream', 'ok'],
  ['messages_stream_helper', 'ok'],
  ['beta_messages', 'ok'],
  ['messages_retried', 'ok'],
  ['messages_529', 'failed'],
  ['messages_401', 'failed'],
  ['messages_stream_429', 'failed'],
  ['messages_timeout', 'failed'],
  ['messages_stream_break', 'ok'],
  ['messages_aborted', 'failed'],
  ['llm_call_wrapped', 'ok'],
];

const FIELDS = ['model', 'provider', 'operation', 'input_tokens', 'output_tokens', 'tokens_used', 'finish_reasons', 'error_type', 'http_status', 'failed_attempts', 'time_to_first_chunk', 'response_model', 'cache_read_input_tokens', 'cache_creation_input_tokens'];

/** The ends, with the time to first chunk as its type (its value is the machine's). */
function ends(events: TruthEvent[]): Array<Record<string, unknown>> {
  return llmCallEnds(events, FIELDS).map((end) => ('time_to_first_chunk' in end ? { ...end, time_to_first_chunk: typeof end.time_to_first_chunk } : end));
}

const REWRAPPED = `
const { trace } = require('@opentelemetry/api');
const { InstrumentationBase, InstrumentationNodeModuleDefinition } = require('@opentelemetry/instrumentation');
class AppAnthropicInstrumentation extends InstrumentationBase {
  constructor() { super('app-anthropic', '1.0.0', {}); }
  init() {
    return [new InstrumentationNodeModuleDefinition('@anthropic-ai/sdk', ['*'], (module) => {
      const Anthropic = module.default ?? module;
      this._wrap(Anthropic.Messages.prototype, 'create', (original) => function (body, options) {
        const span = trace.getTracer('app-anthropic').startSpan('anthropic.chat', { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.system': 'anthropic', 'gen_ai.request.model': body.model } });
        const result = original.call(this, body, options);
        result.then(() => span.end(), () => span.end());
        return result;
      });
      return module;
    })];
  }
}
new AppAnthropicInstrumentation();
const sdk = require('@anthropic-ai/sdk');
const Anthropic = sdk.default ?? sdk;
(async () => {
  const { startFakeLlmServer } = await import('../../../examples/fake-llm-server.mjs');
  const server = await startFakeLlmServer();
  const anthropic = new Anthropic({ baseURL: server.anthropicBaseURL, apiKey: '${KEY}', maxRetries: 0 });
  await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] });
  await server.close();
})();
`;

/** A tool turn: the model's tool call, and the app's result with text and an image. */
const TOOL_TURN = `
import Anthropic from '@anthropic-ai/sdk';
import { startFakeLlmServer } from '../../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer();
const anthropic = new Anthropic({ baseURL: server.anthropicBaseURL, apiKey: '${KEY}', maxRetries: 0 });
await anthropic.messages.create({
  model: 'claude-sonnet-4-6',
  max_tokens: 200,
  system: [{ type: 'text', text: 'Use the tools.' }],
  messages: [
    { role: 'user', content: 'What is on the screen?' },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'screenshot', input: { region: 'all' } }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'a terminal' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgoAAAANSUhEUg' } }] }] },
  ],
});
await server.close();
`;

/** Two clients of one SDK: one made with its tracing off, one with it on. */
const PER_CLIENT = `
import Anthropic from '@anthropic-ai/sdk';
import { startFakeLlmServer } from '../../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer();
const untraced = new Anthropic({ baseURL: server.anthropicBaseURL, apiKey: '${KEY}', openTelemetry: false });
const traced = new Anthropic({ baseURL: server.anthropicBaseURL, apiKey: '${KEY}' });
await untraced.messages.create({ model: 'claude-untraced', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] });
await traced.messages.create({ model: 'claude-traced', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] });
await server.close();
`;

const LATE = `
const sdk = require('@anthropic-ai/sdk');
require('agent-autopsy/register');
const Anthropic = sdk.default ?? sdk;
(async () => {
  const { startFakeLlmServer } = await import('../../../examples/fake-llm-server.mjs');
  const server = await startFakeLlmServer();
  const client = new Anthropic({ baseURL: server.anthropicBaseURL, apiKey: '${KEY}', maxRetries: 0 });
  await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 20, messages: [{ role: 'user', content: 'late' }] });
  await server.close();
})();
`;

/** Where each version is installed (an npm alias of the repository's devDependencies). */
const VERSIONS = { '0.39': 'anthropic-sdk-v0-39', '0.133': 'anthropic-sdk-v0', '1.x': join('@anthropic-ai', 'sdk') } as const;
const appDirs: Record<string, string> = {};

beforeAll(() => {
  const root = tempRunDir('.tmp-', join(REPO_ROOT, 'test'));
  for (const [version, installed] of Object.entries(VERSIONS)) {
    const dir = join(root, version);
    mkdirSync(join(dir, 'node_modules', '@anthropic-ai'), { recursive: true });
    cpSync(join(REPO_ROOT, 'node_modules', installed), join(dir, 'node_modules', '@anthropic-ai', 'sdk'), { recursive: true });
    writeFileSync(join(dir, 'app.mjs'), `import Anthropic from '@anthropic-ai/sdk';\nimport { llmCall } from 'agent-autopsy';\nimport { startFakeLlmServer } from '../../../examples/fake-llm-server.mjs';\n${CALLS}`);
    writeFileSync(join(dir, 'app.cjs'), `const sdk = require('@anthropic-ai/sdk');\nconst { llmCall } = require('agent-autopsy');\nconst Anthropic = sdk.default ?? sdk;\n(async () => {\nconst { startFakeLlmServer } = await import('../../../examples/fake-llm-server.mjs');\n${CALLS}\n})();\n`);
    // The flag required after the SDK: the mistake the "required after" warning is about; one call.
    writeFileSync(join(dir, 'late.cjs'), LATE);
    // An instrumentation of the app's own that wraps messages.create after the flag did (with
    // InstrumentationBase._wrap, as OpenLLMetry's do), and makes a GenAI span for each call.
    writeFileSync(join(dir, 'rewrapped.cjs'), REWRAPPED);
    writeFileSync(join(dir, 'tools.mjs'), TOOL_TURN);
    writeFileSync(join(dir, 'per-client.mjs'), PER_CLIENT);
    appDirs[version] = dir;
  }
});

async function runApp(version: keyof typeof VERSIONS, app: 'app.mjs' | 'app.cjs', env: Record<string, string> = {}) {
  const runDir = tempRunDir('autopsy-anthropic-versions-');
  const flag = app === 'app.mjs' ? '--import' : '--require';
  const result = await runNode(join(appDirs[version], app), { cwd: appDirs[version], nodeArgs: [flag, 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: runDir, NODE_OPTIONS: '', ...env }, timeoutMs: 60_000 });
  return { result, runDir };
}

describe('the zero-code flag with @anthropic-ai/sdk', () => {
  // The scope of the call spans, as they are exported: the flag's instrumentation, or the SDK's own.
  it.each([
    ['0.39', 'app.cjs', {}, 'agent-autopsy/anthropic'],
    ['0.39', 'app.mjs', {}, 'agent-autopsy/anthropic'],
    ['0.133', 'app.mjs', {}, 'agent-autopsy/anthropic'],
    ['0.133', 'app.cjs', {}, 'agent-autopsy/anthropic'],
    ['1.x', 'app.mjs', { ANTHROPIC_OPEN_TELEMETRY: 'false' }, 'agent-autopsy/anthropic'],
    ['1.x', 'app.mjs', {}, 'com.anthropic.sdk.typescript'],
  ] as const)('%s (%s, %o): every call as 1.x records it, once', async (version, app, env, scope) => {
    const receiver = await startOtlpReceiver();
    const { result, runDir } = await runApp(version, app, { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_TIMEOUT: '20000' }).finally(() => receiver.close());
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(JSON.parse(result.stdout)).toEqual(OUTCOMES);
    const events = readTrackerDocument(runDir).events;
    expect(ends(events)).toEqual(ENDS);
    // One start per call: no second record from the HTTP request.
    expect(events.filter((event) => event.type === 'llm_call_start')).toHaveLength(ENDS.length);
    const report = readReport(runDir);
    expect(report.llm_usage).toMatchObject({ calls: 12, errors: 4, retried_calls: 2, failed_attempts: 2, errors_by_status: { '401': 1, '429': 1, '529': 1 } });
    expect(report.unfinished).toEqual([]);
    expect(readFileSync(logPath(runDir, 'execution_tracker.json'), 'utf8')).not.toContain(KEY);
    // Every request's span, and the app's llmCall() (agent-autopsy's own scope) that one is folded into.
    const scopes: Record<string, number> = {};
    for (const span of receiver.spans) if (span.attributes['gen_ai.operation.name'] === 'chat') scopes[span.scope.name] = (scopes[span.scope.name] ?? 0) + 1;
    expect(scopes).toEqual({ [scope]: ENDS.length, 'agent-autopsy': 1 });
  });

  it('records prompts and replies in the parts 1.x writes, with AGENT_AUTOPSY_CAPTURE_CONTENT=true', async () => {
    const { result, runDir } = await runApp('0.133', 'app.mjs', { AGENT_AUTOPSY_CAPTURE_CONTENT: 'true' });
    expect(result.code).toBe(0);
    const content = readTrackerDocument(runDir)
      .events.filter((event) => event.type === 'llm_call_end' || event.type === 'llm_call_error')
      .map((event) => [event.data.prompt, event.data.response]);
    const user = (text: string) => JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: text }] }]);
    const reply = (text: string) => JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: text }] }]);
    expect(content[0]).toEqual([user('hello claude'), reply('Fake reply to: "Be brief.". The answer is 42.')]);
    // A streamed reply, gathered from its deltas.
    expect(content[1]).toEqual([user('hello claude stream'), reply('Fake reply to: "hello claude stream". The answer is 42.')]);
    expect(content[3]).toEqual([user('hello beta'), reply('Fake reply to: "hello beta". The answer is 42.')]);
    expect(content[5]).toEqual([user('busy'), undefined]);
    // A stream stopped before its first delta: the prompt, and no reply.
    expect(content[9]).toEqual([user('stop early'), undefined]);
  });

  it.each([
    ['0.39', {}, true],
    ['0.133', {}, true],
    ['1.x', {}, false],
    // Its own tracing off (as Sentry 11 turns it off): recorded from its requests only, as 0.x.
    ['1.x', { ANTHROPIC_OPEN_TELEMETRY: 'false' }, true],
  ] as const)('%s (%o) required before agent-autopsy/register: warned about when it does not trace itself (%s), and its call recorded as the warning says', async (version, env, warned) => {
    const runDir = tempRunDir('autopsy-anthropic-late-');
    const result = await runNode(join(appDirs[version], 'late.cjs'), { cwd: appDirs[version], env: { AGENT_AUTOPSY_DIR: runDir, NODE_OPTIONS: '', ...env }, timeoutMs: 60_000 });
    expect(result.code).toBe(0);
    // From its request (0.39 sends it through node-fetch, on node:http; 0.133 through fetch), or by the SDK itself.
    expect(readTrackerDocument(runDir).events.filter((event) => event.type === 'llm_call_end').map((event) => [event.data.span, event.data.provider, event.data.model])).toEqual([
      warned ? ['chat 127.0.0.1', 'anthropic', undefined] : ['anthropic.messages.create', 'anthropic', 'claude-sonnet-4-6'],
    ]);
    expect(result.stderr).toBe(
      warned
        ? 'agent-autopsy: agent-autopsy/register was required after @anthropic-ai/sdk was loaded: that client is not instrumented, so its LLM calls are recorded only from their HTTP requests, without tokens, and without the model where the request path does not name it; require agent-autopsy/register before @anthropic-ai/sdk, or start the app with node --require agent-autopsy/register app.cjs\n'
        : '',
    );
  });

  it("another instrumentation that re-wraps messages.create after the flag: its spans record the calls, and that it replaced agent-autopsy's wrapper is said once", async () => {
    const runDir = tempRunDir('autopsy-anthropic-rewrapped-');
    const result = await runNode(join(appDirs['0.133'], 'rewrapped.cjs'), { cwd: appDirs['0.133'], nodeArgs: ['--require', 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: runDir, NODE_OPTIONS: '' }, timeoutMs: 60_000 });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      "agent-autopsy: another instrumentation re-wrapped @anthropic-ai/sdk's messages.create and removed agent-autopsy's own wrapper: those calls are recorded from its spans only, which may lack failures, retries and the time to first chunk; disable that instrumentation's Anthropic part to keep agent-autopsy's (README, \"Beside an existing OpenTelemetry setup\")\n",
    );
    expect(readTrackerDocument(runDir).events.filter((event) => event.type.startsWith('llm_call_')).map((event) => [event.type, event.data.span, event.data.model])).toEqual([
      ['llm_call_start', 'anthropic.chat', 'claude-sonnet-4-6'],
      ['llm_call_end', 'anthropic.chat', 'claude-sonnet-4-6'],
    ]);
  });

  it('records a tool turn in parts, with an image in a tool result by its type only, with AGENT_AUTOPSY_CAPTURE_CONTENT=true', async () => {
    const runDir = tempRunDir('autopsy-anthropic-tools-');
    const result = await runNode(join(appDirs['0.133'], 'tools.mjs'), { cwd: appDirs['0.133'], nodeArgs: ['--import', 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: runDir, NODE_OPTIONS: '', AGENT_AUTOPSY_CAPTURE_CONTENT: 'true' }, timeoutMs: 60_000 });
    expect([result.code, result.stderr]).toEqual([0, '']);
    const end = readTrackerDocument(runDir).events.find((event) => event.type === 'llm_call_end');
    expect(JSON.parse(String(end?.data.prompt))).toEqual([
      { role: 'user', parts: [{ type: 'text', content: 'What is on the screen?' }] },
      { role: 'assistant', parts: [{ type: 'tool_call', id: 'toolu_1', name: 'screenshot', arguments: { region: 'all' } }] },
      { role: 'user', parts: [{ type: 'tool_call_response', id: 'toolu_1', response: [{ type: 'text', text: 'a terminal' }, { type: 'image' }] }] },
    ]);
    expect(readFileSync(logPath(runDir, 'execution_tracker.json'), 'utf8')).not.toContain('iVBORw0KGgo');
  });

  it('1.x: a client made with openTelemetry: false is recorded by the flag, the others by the SDK, each call once', async () => {
    const receiver = await startOtlpReceiver();
    const runDir = tempRunDir('autopsy-anthropic-per-client-');
    const result = await runNode(join(appDirs['1.x'], 'per-client.mjs'), {
      cwd: appDirs['1.x'],
      nodeArgs: ['--import', 'agent-autopsy/register'],
      env: { AGENT_AUTOPSY_DIR: runDir, NODE_OPTIONS: '', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_TIMEOUT: '20000' },
      timeoutMs: 60_000,
    }).finally(() => receiver.close());
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(llmCallEnds(readTrackerDocument(runDir).events, ['model', 'input_tokens', 'output_tokens'])).toEqual([
      { type: 'llm_call_end', model: 'claude-untraced', input_tokens: 1, output_tokens: 10 },
      { type: 'llm_call_end', model: 'claude-traced', input_tokens: 1, output_tokens: 10 },
    ]);
    const calls = receiver.spans.filter((span) => span.attributes['gen_ai.operation.name'] === 'chat');
    expect(calls.map((span) => [span.attributes['gen_ai.request.model'], span.scope.name])).toEqual([
      ['claude-untraced', 'agent-autopsy/anthropic'],
      ['claude-traced', 'com.anthropic.sdk.typescript'],
    ]);
  });
});
