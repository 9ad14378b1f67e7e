import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runNode, writeScript } from './helpers/childProcess';
import { readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * The flag beside OpenInference's openai instrumentation, which wraps `create` around the flag's
 * wrapper (it keeps it, unlike InstrumentationBase._wrap) with a span of its own: started bare, its
 * attributes set just after, ended when the request succeeds and never when it fails
 * (@arizeai/openinference-instrumentation-openai 4.2, checked against the real package). One
 * request is two llm spans; the flag's is the call.
 */
const APP = `
const { context, trace } = require('@opentelemetry/api');
const OpenAI = require('openai');
const Completions = OpenAI.OpenAI.Chat.Completions;
const flagged = Completions.prototype.create;
const tracer = trace.getTracer('@arizeai/openinference-instrumentation-openai');
// OpenInference's tracer hands out, and makes active, a wrapper of the SDK's span (OISpan) that masks attributes.
class OISpan {
  constructor(span) { this.span = span; }
  setAttributes(attributes) { this.span.setAttributes(attributes); return this; }
  setAttribute(key, value) { this.span.setAttribute(key, value); return this; }
  addEvent(...args) { this.span.addEvent(...args); return this; }
  setStatus(status) { this.span.setStatus(status); return this; }
  updateName(name) { this.span.updateName(name); return this; }
  end(time) { this.span.end(time); }
  isRecording() { return this.span.isRecording(); }
  recordException(...args) { this.span.recordException(...args); }
  spanContext() { return this.span.spanContext(); }
}
Completions.prototype.create = function create(...args) {
  const span = new OISpan(tracer.startSpan('OpenAI Chat Completions', { attributes: undefined }));
  span.setAttributes({ 'openinference.span.kind': 'LLM', 'llm.model_name': args[0].model, 'llm.system': 'openai' });
  const result = context.with(trace.setSpan(context.active(), span), () => flagged.apply(this, args));
  result.then(
    (reply) => {
      span.setAttributes({ 'llm.token_count.prompt': reply.usage.prompt_tokens, 'llm.token_count.completion': reply.usage.completion_tokens });
      span.end();
    },
    () => {},
  );
  return result;
};
// As shimmer marks a wrapper (OpenInference's @opentelemetry/instrumentation 0.46 _wrap, which keeps the flag's).
Object.defineProperties(Completions.prototype.create, { __original: { value: flagged }, __wrapped: { value: true } });
(async () => {
  const { startFakeLlmServer } = await import('../../examples/fake-llm-server.mjs');
  const server = await startFakeLlmServer({ script: [{ kind: 'ok' }, { kind: 'rate_limit' }] });
  const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test-0123456789abcdefghij', maxRetries: 0 });
  await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] });
  await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'again' }] }).catch(() => undefined);
  await server.close();
})();
`;

describe('the flag beside an instrumentation that wraps the openai client around it', () => {
  it('counts each request once, from the flag\'s span: the failure its span never ends for is recorded, nothing is left unfinished', async () => {
    const runDir = tempRunDir('autopsy-beside-openinference-');
    const result = await runNode(writeScript(APP, '.cjs'), { nodeArgs: ['--require', 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: runDir, NODE_OPTIONS: '' }, timeoutMs: 60_000 });
    expect([result.code, result.stderr]).toEqual([0, '']);
    const events = readTrackerDocument(runDir).events.filter((event) => event.type.startsWith('llm_call_'));
    expect(events.map((event) => [event.type, event.data.span, event.data.error_type ?? null])).toEqual([
      ['llm_call_start', 'chat gpt-4o', null],
      ['llm_call_end', 'chat gpt-4o', null],
      ['llm_call_start', 'chat gpt-4o', null],
      ['llm_call_error', 'chat gpt-4o', 'RateLimitError'],
    ]);
    const report = readReport(runDir);
    expect(report.llm_usage).toMatchObject({ calls: 2, errors: 1 });
    expect(report.unfinished).toEqual([]);
    expect(report.diagnoses.map((diagnosis) => diagnosis.id)).toEqual(['rate_limited']);
  }, 60_000);
});

/**
 * LangChain's instrumentations (@arizeai/openinference-instrumentation-langchain,
 * @traceloop/instrumentation-langchain) start a span per model call that they never make active:
 * the flag's span of the request is not inside it, and nothing links the two.
 */
const LANGCHAIN_APP = `
const { trace } = require('@opentelemetry/api');
const OpenAI = require('openai');
(async () => {
  const { startFakeLlmServer } = await import('../../examples/fake-llm-server.mjs');
  const server = await startFakeLlmServer();
  const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test-0123456789abcdefghij', maxRetries: 0 });
  const span = trace.getTracer('@arizeai/openinference-instrumentation-langchain').startSpan('ChatOpenAI', { attributes: { 'openinference.span.kind': 'LLM', 'llm.model_name': 'gpt-4o' } });
  const reply = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] });
  span.setAttributes({ 'llm.token_count.prompt': reply.usage.prompt_tokens, 'llm.token_count.completion': reply.usage.completion_tokens });
  span.end();
  await server.close();
})();
`;

describe('the flag beside a LangChain instrumentation', () => {
  it('says once that each call is recorded twice, and how to record it once', async () => {
    const runDir = tempRunDir('autopsy-beside-langchain-');
    const result = await runNode(writeScript(LANGCHAIN_APP, '.cjs'), { nodeArgs: ['--require', 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: runDir, NODE_OPTIONS: '' }, timeoutMs: 60_000 });
    expect(result.code).toBe(0);
    const said =
      "agent-autopsy: LLM calls are recorded twice in this run: each request by the zero-code flag (its openai or Anthropic instrumentation, or its record of LLM API requests) and each model call by @arizeai/openinference-instrumentation-langchain, whose spans are not linked to them; " +
      'beside a LangChain instrumentation, start agent-autopsy with init() instead of the flag (README, "Beside an existing OpenTelemetry setup")\n';
    expect(result.stderr).toBe(said);
    expect(readReport(runDir).llm_usage).toMatchObject({ calls: 2 });
    expect(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')).toContain('LLM calls are recorded twice in this run');
  }, 60_000);
});
