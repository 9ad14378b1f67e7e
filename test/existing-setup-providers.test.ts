import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TruthEvent } from '../src/types';
import { REPO_ROOT, runNode, writeScript } from './helpers/childProcess';
import { readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * Beside an app's own OpenTelemetry setup (NodeTracerProvider or NodeSDK, with its exporter and
 * instrumentations): the app keeps all of it, agent-autopsy adds its processor, and every span
 * reaches the app's exporter exactly once while the autopsy records the agent spans — whether the
 * app registers before init() or after it (then the app's provider takes over from ours).
 */

/** Collects diag warnings and errors (a duplicate registration would show here). */
const DIAG = `import { diag, DiagLogLevel, trace } from '@opentelemetry/api';
const problems = [];
diag.setLogger({ error: (...a) => problems.push(a.join(' ')), warn: (...a) => problems.push(a.join(' ')), info() {}, debug() {}, verbose() {} }, DiagLogLevel.WARN);
`;

/** The agent: our spans, the app's own spans (one in the GenAI convention), a span obtained early. */
const WORK = `
const app = trace.getTracer('app');
await stage('stage1', async () => {
  await task('work', async () => {
    await app.startActiveSpan('app.step', async (span) => span.end());
    const chat = app.startSpan('chat gpt-4o', { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o' } });
    chat.setAttribute('gen_ai.usage.input_tokens', 5);
    chat.end();
    await llmCall('answer', { model: 'gpt-4o-mini' }, async () => undefined);
    early.startSpan('early.lib').end();
  });
});
app.startSpan('app.after').end();
await shutdown();
// NodeSDK's resource has asynchronous attributes: its processors export once they are settled.
await flushApp();
const spans = exporter.getFinishedSpans().map((s) => ({ name: s.name, id: s.spanContext().spanId, parent: s.parentSpanContext?.spanId, scope: s.instrumentationScope.name }));
process.stdout.write(JSON.stringify({ spans, problems }) + '\\n');
`;

/** NodeSDK's shutdown() shuts its exporters down, and InMemorySpanExporter forgets its spans then: keep them. */
const KEEPING_EXPORTER = `const exporter = { spans: [], export(spans, done) { this.spans.push(...spans); done({ code: 0 }); }, async shutdown() {}, async forceFlush() {}, getFinishedSpans() { return this.spans; } };`;

const SETUPS = {
  'a NodeTracerProvider registered before init()': `${DIAG}
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { init, stage, task, llmCall, shutdown } from 'agent-autopsy';
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();
const flushApp = () => provider.forceFlush();
const early = trace.getTracer('early');
init();
if (trace.getTracerProvider().getDelegate() !== provider) throw new Error('the app provider was replaced');
${WORK}`,
  'a NodeSDK started before init()': `${DIAG}
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { init, stage, task, llmCall, shutdown } from 'agent-autopsy';
${KEEPING_EXPORTER}
const sdk = new NodeSDK({ serviceName: 'app-with-sdk', spanProcessors: [new SimpleSpanProcessor(exporter)], instrumentations: [] });
sdk.start();
const flushApp = () => sdk.shutdown();
const early = trace.getTracer('early');
init();
${WORK}`,
  'a NodeTracerProvider registered after init()': `${DIAG}
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { init, stage, task, llmCall, shutdown } from 'agent-autopsy';
init();
// A library takes its tracer before the app sets OpenTelemetry up: it follows the hand-over.
const early = trace.getTracer('early');
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();
const flushApp = () => provider.forceFlush();
${WORK}`,
  'a NodeSDK started after init()': `${DIAG}
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { init, stage, task, llmCall, shutdown } from 'agent-autopsy';
init();
const early = trace.getTracer('early');
${KEEPING_EXPORTER}
const sdk = new NodeSDK({ serviceName: 'app-with-sdk', spanProcessors: [new SimpleSpanProcessor(exporter)], instrumentations: [] });
sdk.start();
const flushApp = () => sdk.shutdown();
${WORK}`,
};

// No OTLP endpoint: the apps' NodeSDKs export to their in-process exporter only.
const ENV = { OTEL_EXPORTER_OTLP_ENDPOINT: undefined, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined, OTEL_SDK_DISABLED: undefined };

async function run(source: string, nodeArgs: string[] = [], env: Record<string, string> = {}, stderr = ''): Promise<{ output: { spans: Array<{ name: string; id: string; parent?: string; scope: string }>; problems: string[] }; events: TruthEvent[]; serviceName?: string }> {
  const script = writeScript(source);
  const runDir = tempRunDir('autopsy-existing-');
  const result = await runNode(script, { nodeArgs, env: { ...ENV, AGENT_AUTOPSY_DIR: runDir, ...env }, timeoutMs: 60_000 });
  expect(result.stderr).toBe(stderr);
  expect(result.code).toBe(0);
  return { output: JSON.parse(result.stdout), events: readTrackerDocument(runDir).events, serviceName: readReport(runDir).run.service_name };
}

describe.each(Object.entries(SETUPS))('%s', (_name, source) => {
  it("keeps the app's pipeline: every span reaches its exporter once, and the autopsy records the agent spans", async () => {
    const { output, events, serviceName } = await run(source);
    expect(output.problems).toEqual([]);
    // The report names the service the traces carry: NodeSDK's serviceName, else ours (a bare
    // provider has only OpenTelemetry's unknown_service placeholder).
    expect(serviceName).toBe(source.includes("serviceName: 'app-with-sdk'") ? 'app-with-sdk' : 'agent');
    const spans = output.spans;
    expect(spans.map((span) => span.name)).toEqual(['app.step', 'chat gpt-4o', 'answer', 'early.lib', 'task work', 'stage stage1', 'app.after']);
    expect(new Set(spans.map((span) => span.id)).size).toBe(spans.length);
    const id = (name: string) => spans.find((span) => span.name === name)!.id;
    for (const name of ['app.step', 'chat gpt-4o', 'answer', 'early.lib']) expect(spans.find((span) => span.name === name)!.parent).toBe(id('task work'));
    expect(spans.find((span) => span.name === 'task work')!.parent).toBe(id('stage stage1'));
    expect(spans.map((span) => span.scope)).toEqual(['app', 'app', 'agent-autopsy', 'early', 'agent-autopsy', 'agent-autopsy', 'app']);

    expect(events.map((event) => [event.type, event.data.stage, event.data.model])).toEqual([
      ['stage_start', 'stage1', undefined],
      ['task_start', 'stage1', undefined],
      ['llm_call_start', 'stage1', 'gpt-4o'],
      ['llm_call_end', 'stage1', 'gpt-4o'],
      ['llm_call_start', 'stage1', 'gpt-4o-mini'],
      ['llm_call_end', 'stage1', 'gpt-4o-mini'],
      ['task_end', 'stage1', undefined],
      ['stage_end', 'stage1', undefined],
    ]);
    expect(events[3].data.input_tokens).toBe(5);
  });
});

describe('zero code beside a NodeSDK with its own OpenAI instrumentation', () => {
  it("the app's instrumentation, exporter and service keep working; its llm spans are classified; that it replaced agent-autopsy's wrapper is said once", async () => {
    const source = `${DIAG}
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
${KEEPING_EXPORTER}
const sdk = new NodeSDK({ serviceName: 'app-with-sdk', spanProcessors: [new SimpleSpanProcessor(exporter)], instrumentations: [new OpenAIInstrumentation()] });
sdk.start();
const { default: OpenAI } = await import('openai');
const { startFakeLlmServer } = await import('../../examples/fake-llm-server.mjs');
const server = await startFakeLlmServer({ script: [{ kind: 'ok' }, { kind: 'rate_limit' }] });
const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test-0123456789abcdefghij', maxRetries: 0 });
await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'again' }] }).catch(() => undefined);
await server.close();
await sdk.shutdown();
const spans = exporter.getFinishedSpans().map((s) => ({ name: s.name, id: s.spanContext().spanId, scope: s.instrumentationScope.name, service: s.resource.attributes['service.name'] }));
process.stdout.write(JSON.stringify({ spans, problems }) + '\\n');
`;
    // InstrumentationBase lets one wrapper of a method live, here the app's: agent-autopsy says so, once.
    const replaced =
      "agent-autopsy: another instrumentation re-wrapped openai's chat.completions.create, embeddings.create, responses.create and removed agent-autopsy's own wrapper: those calls are recorded from its spans only, which may lack failures, retries and the time to first chunk (OpenLLMetry's and OpenInference's end no span whose request failed); disable that instrumentation's openai part to keep agent-autopsy's (README, \"Beside an existing OpenTelemetry setup\")\n";
    const { output, events } = await run(source, ['--import', 'agent-autopsy/register'], { OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' }, replaced);
    // The app's diag logger hears it too.
    expect(output.problems).toEqual([replaced.slice('agent-autopsy: '.length, -1)]);
    expect(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')).toContain(replaced.slice('agent-autopsy: '.length, replaced.indexOf(':', 'agent-autopsy: '.length)));
    // One span per call: the app's.
    expect(output.spans).toEqual([
      { name: 'chat gpt-4o', id: expect.any(String), scope: '@opentelemetry/instrumentation-openai', service: 'app-with-sdk' },
      { name: 'chat gpt-4o', id: expect.any(String), scope: '@opentelemetry/instrumentation-openai', service: 'app-with-sdk' },
    ]);
    expect(events.map((event) => [event.type, event.data.model, event.data.error_type, event.data.input_tokens])).toEqual([
      ['llm_call_start', 'gpt-4o', undefined, undefined],
      ['llm_call_end', 'gpt-4o', undefined, 1],
      ['llm_call_start', 'gpt-4o', undefined, undefined],
      ['llm_call_error', 'gpt-4o', 'RateLimitError', undefined],
    ]);
    expect(events.map((event) => event.span_id)).toEqual([output.spans[0].id, output.spans[0].id, output.spans[1].id, output.spans[1].id]);
  });
});

describe('an app that loads its own copy of @opentelemetry/api', () => {
  /**
   * The app's script with a copy of the repository's @opentelemetry/api (1.9.1) in its own
   * node_modules, stamped `version` (package.json and the VERSION the API checks registrations
   * with), as an app that depends on a newer API than agent-autopsy's SDK accepts gets it.
   */
  function appWithApiCopy(
    version: string,
    source = `const { trace } = require('@opentelemetry/api');
       trace.getTracer('app').startSpan('chat gpt-4o', { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o' } }).end();`,
  ): string {
    const script = writeScript(source, '.cjs');
    const copy = join(dirname(script), 'node_modules', '@opentelemetry', 'api');
    cpSync(join(REPO_ROOT, 'node_modules', '@opentelemetry', 'api'), copy, { recursive: true });
    for (const file of ['package.json', join('build', 'src', 'version.js')]) {
      const path = join(copy, file);
      writeFileSync(path, readFileSync(path, 'utf8').replace(/(["'])1\.9\.1\1/, (_match, quote: string) => `${quote}${version}${quote}`));
    }
    return script;
  }

  it('a newer copy, which cannot see the tracing agent-autopsy registered, is named on stderr with the fix; its spans are not recorded', async () => {
    const script = appWithApiCopy('1.10.0');
    const runDir = tempRunDir('autopsy-api-copy-');
    const result = await runNode(script, { nodeArgs: ['--require', 'agent-autopsy/register'], env: { ...ENV, AGENT_AUTOPSY_DIR: runDir } });
    expect(result.code).toBe(0);
    const copy = join(dirname(script), 'node_modules', '@opentelemetry', 'api');
    expect(result.stderr).toBe(
      `agent-autopsy: this app loads @opentelemetry/api 1.10.0 (${copy}), which does not see the tracing agent-autopsy registered with its @opentelemetry/api 1.9.1; ` +
        "spans made through 1.10.0 (the app's own tracers, @anthropic-ai/sdk, an OpenTelemetry SDK started after agent-autopsy) are not recorded. " +
        "Use one copy (npm install @opentelemetry/api@~1.9.0), or start the app's OpenTelemetry SDK before agent-autopsy\n",
    );
    // The limitation the line is about (OpenTelemetry's own rule): the app's span went to no
    // provider, so the process recorded nothing and left no run.
    expect(readdirSync(runDir)).toEqual([]);
  });

  it('another copy of the same version registers the tracer provider after the flag: no duplicate-registration error, its exporter gets the spans, and they are recorded', async () => {
    // A linked or folder install of agent-autopsy has its own copy of the API next to the app's.
    const script = appWithApiCopy(
      '1.9.1',
      `const api = require('@opentelemetry/api');
       const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
       const problems = [];
       const note = (message) => problems.push(String(message).split('\\n')[0]);
       api.diag.setLogger({ error: note, warn: note, info() {}, debug() {}, verbose() {} }, api.DiagLogLevel.WARN);
       const exporter = new InMemorySpanExporter();
       const registered = api.trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
       api.trace.getTracer('app').startSpan('chat gpt-4o', { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o' } }).end();
       process.stdout.write(JSON.stringify({ registered, problems, exported: exporter.getFinishedSpans().map((span) => span.name) }) + '\\n');`,
    );
    const runDir = tempRunDir('autopsy-api-copy-');
    const result = await runNode(script, { nodeArgs: ['--require', 'agent-autopsy/register'], env: { ...ENV, AGENT_AUTOPSY_DIR: runDir } });
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(JSON.parse(result.stdout)).toEqual({ registered: true, problems: [], exported: ['chat gpt-4o'] });
    expect(readTrackerDocument(runDir).events.map((event) => [event.type, event.data.model])).toEqual([
      ['llm_call_start', 'gpt-4o'],
      ['llm_call_end', 'gpt-4o'],
    ]);
  });

  it('another copy of the same version sees it: no warning, and its spans are recorded', async () => {
    const script = appWithApiCopy('1.9.1');
    const runDir = tempRunDir('autopsy-api-copy-');
    const result = await runNode(script, { nodeArgs: ['--require', 'agent-autopsy/register'], env: { ...ENV, AGENT_AUTOPSY_DIR: runDir } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(readTrackerDocument(runDir).events.map((event) => [event.type, event.data.model])).toEqual([
      ['llm_call_start', 'gpt-4o'],
      ['llm_call_end', 'gpt-4o'],
    ]);
  });
});

/**
 * A provider that takes no span processors, as Sentry 10's default SentryTracerProvider: its
 * tracer makes spans of its own, parented as Sentry's are, to the span in the context's slot. It
 * records each: [name, span id, parent span id].
 */
const OWN_SPANS_TRACER_PROVIDER = `
const started = [];
let made = 0;
class OwnSpansTracerProvider {
  getTracer() {
    return {
      startSpan(name, options, ctx) {
        const parent = trace.getSpan(ctx ?? context.active());
        const spanId = String(++made).padStart(16, 'a');
        started.push([name, spanId, parent?.spanContext().spanId ?? null]);
        return trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId, traceFlags: 1 });
      },
      startActiveSpan(name, ...rest) {
        const fn = rest[rest.length - 1];
        const span = this.startSpan(name, rest.length > 1 ? rest[0] : undefined);
        return context.with(trace.setSpan(context.active(), span), () => fn(span));
      },
    };
  }
}
`;

/**
 * agent-autopsy cannot join such a provider: the app's provider still becomes (or stays) the global one,
 * agent-autopsy records its own spans with its own provider, says once why the app's traces will
 * not have them, and keeps them from being the parents of the app's spans (which Sentry would drop).
 */
const OWN_SPANS_PROVIDER = `${DIAG}
import { context } from '@opentelemetry/api';
import { init, stage, task, llmCall, shutdown } from 'agent-autopsy';
${OWN_SPANS_TRACER_PROVIDER}
const provider = new OwnSpansTracerProvider();
const before = process.argv[2] === 'before';
const registered = [];
if (before) registered.push(trace.setGlobalTracerProvider(provider));
init();
if (!before) registered.push(trace.setGlobalTracerProvider(provider));
// The app's own context manager, registered after agent-autopsy's, replaces it.
if (process.argv[3] === 'app-context') {
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
  registered.push(context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
}
const global = trace.getTracerProvider().getDelegate() === provider;
const app = trace.getTracer('app');
const activeInside = [];
await app.startActiveSpan('app.work', async (work) => {
  await stage('stage1', async () => {
    activeInside.push(trace.getActiveSpan()?.spanContext().spanId);
    app.startSpan('app.span').end();
    await app.startActiveSpan('app.inner', async (inner) => {
      await task('step', async () => {
        activeInside.push(trace.getActiveSpan()?.spanContext().spanId);
        await llmCall('answer', { model: 'gpt-4o-mini' }, async () => app.startSpan('app.request').end());
      });
      inner.end();
    });
  });
  work.end();
});
await stage('stage2', async () => app.startSpan('app.alone').end());
await shutdown();
process.stdout.write(JSON.stringify({ registered, global, started, activeInside, problems }) + '\\n');
`;

describe("a provider that takes no span processors (Sentry 10's default SentryTracerProvider)", () => {
  const warning =
    "agent-autopsy: the app's OpenTelemetry tracer provider (OwnSpansTracerProvider) is not one agent-autopsy can add its span processor to, so it records its spans with a provider of its own beside it: they are in the autopsy but not in the app's traces, and the spans the app starts inside agent-autopsy's stage(), task() or llmCall() keep the app's own spans as their parents. A provider built on @opentelemetry/sdk-trace-base (NodeSDK, NodeTracerProvider, BasicTracerProvider) is joined instead";
  // With OTEL_SDK_DISABLED=true agent-autopsy joins no provider by choice (and says nothing), but
  // tracing that does not read the variable (Sentry's) is there all the same.
  it.for([
    ['before', false, ''],
    ['after', false, ''],
    ['before', true, ''],
    ['after', true, ''],
    ['after', true, 'app-context'],
  ] as const)("registered %s init() (OTEL_SDK_DISABLED: %s) %s: it is the global provider; the app's spans keep the app's parents; agent-autopsy's nest among themselves", async ([when, disabled, appContext]) => {
    const runDir = tempRunDir('autopsy-own-spans-');
    const env = { ...ENV, AGENT_AUTOPSY_DIR: runDir, ...(disabled ? { OTEL_SDK_DISABLED: 'true' } : {}) };
    const result = await runNode(writeScript(OWN_SPANS_PROVIDER), { args: [when, appContext], env, timeoutMs: 60_000 });
    expect(result).toMatchObject({ code: 0, stderr: disabled ? '' : `${warning}\n` });
    // Registered after agent-autopsy's, it was refused as a duplicate, and the app's tracing was off.
    // Each app span's parent is the app's span around it, never agent-autopsy's stage, task or call.
    expect(JSON.parse(result.stdout)).toEqual({
      registered: appContext ? [true, true] : [true],
      global: true,
      started: [
        ['app.work', 'aaaaaaaaaaaaaaa1', null],
        ['app.span', 'aaaaaaaaaaaaaaa2', 'aaaaaaaaaaaaaaa1'],
        ['app.inner', 'aaaaaaaaaaaaaaa3', 'aaaaaaaaaaaaaaa1'],
        ['app.request', 'aaaaaaaaaaaaaaa4', 'aaaaaaaaaaaaaaa3'],
        ['app.alone', 'aaaaaaaaaaaaaaa5', null],
      ],
      activeInside: ['aaaaaaaaaaaaaaa1', 'aaaaaaaaaaaaaaa3'],
      problems: disabled ? [] : [warning],
    });
    const events = readTrackerDocument(runDir).events;
    const spanOf = (type: string) => events.find((event) => event.type === type)?.span_id;
    // The task inside the app's span inside the stage is the stage's; the first stage is a child of the app's span, in its trace.
    expect(events.map((event) => [event.type, event.data.stage, event.trace_id, event.parent_span_id])).toEqual([
      ['stage_start', 'stage1', '0af7651916cd43dd8448eb211c80319c', 'aaaaaaaaaaaaaaa1'],
      ['task_start', 'stage1', '0af7651916cd43dd8448eb211c80319c', spanOf('stage_start')],
      ['llm_call_start', 'stage1', '0af7651916cd43dd8448eb211c80319c', spanOf('task_start')],
      ['llm_call_end', 'stage1', '0af7651916cd43dd8448eb211c80319c', spanOf('task_start')],
      ['task_end', 'stage1', '0af7651916cd43dd8448eb211c80319c', spanOf('stage_start')],
      ['stage_end', 'stage1', '0af7651916cd43dd8448eb211c80319c', 'aaaaaaaaaaaaaaa1'],
      ['stage_start', 'stage2', expect.not.stringMatching(/^0af7651916cd43dd8448eb211c80319c$/), undefined],
      ['stage_end', 'stage2', expect.not.stringMatching(/^0af7651916cd43dd8448eb211c80319c$/), undefined],
    ]);
  });

  /**
   * The flag's openai instrumentation puts its span in the context around the request: the app's
   * own fetch instrumentation (Sentry's is one) still parents its span to the app's span.
   */
  const FLAG_APP = `${DIAG}
import { context } from '@opentelemetry/api';
import OpenAI from 'openai';
import { stage } from 'agent-autopsy';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
${OWN_SPANS_TRACER_PROVIDER}
const registered = trace.setGlobalTracerProvider(new OwnSpansTracerProvider());
const app = trace.getTracer('app');
const server = await startFakeLlmServer();
const tracedFetch = (url, init) => {
  const span = app.startSpan('app.fetch');
  return fetch(url, init).finally(() => span.end());
};
const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test-0123456789abcdefghij', maxRetries: 0, fetch: tracedFetch });
await app.startActiveSpan('app.work', async (work) => {
  await stage('answer', () => client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }));
  work.end();
});
await server.close();
process.stdout.write(JSON.stringify({ registered, started, problems }) + '\\n');
`;
  it("under the flag, a span the app starts inside the openai request keeps the app's parent; the call is in the stage", async () => {
    const runDir = tempRunDir('autopsy-own-spans-flag-');
    const result = await runNode(writeScript(FLAG_APP), { nodeArgs: ['--import', 'agent-autopsy/register'], env: { ...ENV, AGENT_AUTOPSY_DIR: runDir }, timeoutMs: 60_000 });
    expect(result).toMatchObject({ code: 0, stderr: `${warning}\n` });
    expect(JSON.parse(result.stdout)).toEqual({
      registered: true,
      started: [
        ['app.work', 'aaaaaaaaaaaaaaa1', null],
        ['app.fetch', 'aaaaaaaaaaaaaaa2', 'aaaaaaaaaaaaaaa1'],
      ],
      problems: [warning],
    });
    const events = readTrackerDocument(runDir).events;
    const stageSpan = events.find((event) => event.type === 'stage_start')?.span_id;
    expect(events.map((event) => [event.type, event.data.stage, event.data.model, event.parent_span_id])).toEqual([
      ['stage_start', 'answer', undefined, 'aaaaaaaaaaaaaaa1'],
      ['llm_call_start', 'answer', 'gpt-4o', stageSpan],
      ['llm_call_end', 'answer', 'gpt-4o', stageSpan],
      ['stage_end', 'answer', undefined, 'aaaaaaaaaaaaaaa1'],
    ]);
  });

  /**
   * @anthropic-ai/sdk traces itself through the global API, so its spans would be the app's
   * provider's alone and its calls missing from the autopsy: both providers record them.
   */
  const ANTHROPIC_APP = `${DIAG}
import { context } from '@opentelemetry/api';
import Anthropic from '@anthropic-ai/sdk';
import { init, stage, shutdown } from 'agent-autopsy';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
${OWN_SPANS_TRACER_PROVIDER}
const before = process.argv[2] === 'before';
if (before) trace.setGlobalTracerProvider(new OwnSpansTracerProvider());
init();
if (!before) trace.setGlobalTracerProvider(new OwnSpansTracerProvider());
const server = await startFakeLlmServer({ script: ['ok', 'auth', 'ok'] });
const anthropic = new Anthropic({ baseURL: server.anthropicBaseURL, apiKey: 'sk-ant-test-0123456789abcdef', maxRetries: 0 });
const ask = (extra = {}) => anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], ...extra });
await trace.getTracer('app').startActiveSpan('app.work', async (work) => {
  await stage('answer', async () => {
    await ask();
    await ask().catch(() => undefined);
    for await (const _ of await ask({ stream: true }));
  });
  work.end();
});
await server.close();
await shutdown();
process.stdout.write(JSON.stringify({ started: started.map(([name, , parent]) => [name, parent]) }) + '\\n');
`;
  it.for(['before', 'after'])("registered %s init(): @anthropic-ai/sdk's calls reach both the app's tracing and the autopsy", async (when) => {
    const runDir = tempRunDir('autopsy-own-spans-anthropic-');
    const result = await runNode(writeScript(ANTHROPIC_APP), { args: [when], env: { ...ENV, AGENT_AUTOPSY_DIR: runDir }, timeoutMs: 60_000 });
    expect(result).toMatchObject({ code: 0, stderr: `${warning}\n` });
    // The app's spans are as without agent-autopsy: the SDK's three calls under the app's span.
    expect(JSON.parse(result.stdout)).toEqual({
      started: [
        ['app.work', null],
        ['anthropic.messages.create', 'aaaaaaaaaaaaaaa1'],
        ['anthropic.messages.create', 'aaaaaaaaaaaaaaa1'],
        ['anthropic.messages.create', 'aaaaaaaaaaaaaaa1'],
      ],
    });
    const events = readTrackerDocument(runDir).events;
    const stageSpan = events.find((event) => event.type === 'stage_start')?.span_id;
    expect(
      events.map((event) => {
        const { stage, model, input_tokens, http_status, error_type, time_to_first_chunk } = event.data;
        return [event.type, stage, model, input_tokens, http_status, error_type, typeof time_to_first_chunk, event.type === 'stage_start' || event.type === 'stage_end' ? 'app' : event.parent_span_id === stageSpan];
      }),
    ).toEqual([
      ['stage_start', 'answer', undefined, undefined, undefined, undefined, 'undefined', 'app'],
      ['llm_call_start', 'answer', 'claude-sonnet-4-6', undefined, undefined, undefined, 'undefined', true],
      ['llm_call_end', 'answer', 'claude-sonnet-4-6', 1, undefined, undefined, 'undefined', true],
      ['llm_call_start', 'answer', 'claude-sonnet-4-6', undefined, undefined, undefined, 'undefined', true],
      ['llm_call_error', 'answer', 'claude-sonnet-4-6', undefined, 401, 'authentication_error', 'undefined', true],
      ['llm_call_start', 'answer', 'claude-sonnet-4-6', undefined, undefined, undefined, 'undefined', true],
      ['llm_call_end', 'answer', 'claude-sonnet-4-6', 1, undefined, undefined, 'number', true],
      ['stage_end', 'answer', undefined, undefined, undefined, undefined, 'undefined', 'app'],
    ]);
  });

  /** The GenAI tracers that go through the global API (the AI SDK's, OpenInference's …), by scope. */
  const SCOPES_APP = `${DIAG}
import { context } from '@opentelemetry/api';
import { init, stage, shutdown } from 'agent-autopsy';
${OWN_SPANS_TRACER_PROVIDER}
trace.setGlobalTracerProvider(new OwnSpansTracerProvider());
init();
const attributes = { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai' };
await stage('answer', async () => {
  for (const scope of process.argv.slice(2)) trace.getTracer(scope).startActiveSpan('chat gpt-4o', { attributes }, (span) => span.end());
});
await shutdown();
process.stdout.write(JSON.stringify({ started: started.map(([name]) => name) }) + '\\n');
`;
  it.for([
    ['ai', 1],
    ['gen_ai', 1],
    ['com.anthropic.sdk.typescript.bedrock', 1],
    ['@arizeai/openinference-instrumentation-openai', 1],
    ['@traceloop/instrumentation-openai', 1],
    ['an-http-instrumentation', 0],
    ['gen_ai-helpers', 0],
  ] as const)("a span of scope %s reaches the app's provider, and the autopsy has %i llm call", async ([scope, calls]) => {
    const runDir = tempRunDir('autopsy-own-spans-scopes-');
    const result = await runNode(writeScript(SCOPES_APP), { args: [scope], env: { ...ENV, AGENT_AUTOPSY_DIR: runDir }, timeoutMs: 60_000 });
    expect(result).toMatchObject({ code: 0, stdout: `${JSON.stringify({ started: ['chat gpt-4o'] })}\n` });
    const ends = readTrackerDocument(runDir).events.filter((event) => event.type === 'llm_call_end');
    expect(ends.map((event) => [event.data.stage, event.data.model])).toEqual(Array.from({ length: calls }, () => ['answer', 'gpt-4o']));
  });
});

