import { context, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { beforeAll, describe, expect, it } from 'vitest';
import { init, llmCall, shutdown, stage } from '../src/index';
import { classifySpan } from '../src/spanMapping';
import type { TruthEvent } from '../src/types';
import { readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * Spans made by other instrumentations inside our stages become seed events: OpenLLMetry
 * (`traceloop.span.kind`), OpenInference (`openinference.span.kind`) and the GenAI conventions
 * (`gen_ai.operation.name`), with the right data.stage. An instrumentation's llm span inside the
 * app's own llmCall() is folded into it: one llm_call_* pair, with the usage merged in.
 */

const runDir = tempRunDir('autopsy-classification-');
const other = () => trace.getTracer('other-instrumentation');
let events: TruthEvent[] = [];

/** Runs `fn` inside a span of another instrumentation, ended with `status` and `late` attributes. */
async function foreign(name: string, attributes: Attributes, fn: () => unknown = () => undefined, end: { late?: Attributes; error?: string } = {}): Promise<void> {
  const span: Span = other().startSpan(name, { attributes });
  await context.with(trace.setSpan(context.active(), span), async () => fn());
  if (end.late) span.setAttributes(end.late);
  if (end.error) span.setStatus({ code: SpanStatusCode.ERROR, message: end.error });
  span.end();
}

function summary(event: TruthEvent): Record<string, unknown> {
  const { duration: _duration, ...data } = event.data;
  return { type: event.type, ...data };
}

beforeAll(async () => {
  init({ outputDir: runDir, handleExit: false, reportFormats: [] });
  await stage('analysis', async () => {
    // OpenLLMetry: a workflow is a stage of its own, its tasks and tools belong to it.
    await foreign('research.workflow', { 'traceloop.span.kind': 'workflow', 'traceloop.entity.name': 'research' }, async () => {
      await foreign('fetch.task', { 'traceloop.span.kind': 'task', 'traceloop.entity.name': 'fetch_papers' });
      await foreign('search.tool', { 'traceloop.span.kind': 'tool', 'traceloop.entity.name': 'web_search' });
    });
    // OpenInference.
    await foreign('rag.chain', { 'openinference.span.kind': 'CHAIN' }, async () => {
      await foreign('ChatCompletion', { 'openinference.span.kind': 'LLM', 'llm.model_name': 'gpt-4o-mini', 'llm.provider': 'openai', 'llm.token_count.prompt': 30, 'llm.token_count.completion': 9 });
      await foreign('embed', { 'openinference.span.kind': 'EMBEDDING', 'llm.model_name': 'text-embedding-3-small' });
    });
    // GenAI conventions (the OTel OpenAI instrumentation, @ai-sdk/otel …; the AI SDK's own telemetry: test/ai-sdk-spans.test.ts).
    await foreign('invoke_agent planner', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'planner' }, async () => {
      await foreign('execute_tool search', { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search' });
      await foreign('chat claude-sonnet-4-6', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'claude-sonnet-4-6', 'gen_ai.provider.name': 'anthropic' }, undefined, {
        late: { 'gen_ai.usage.input_tokens': 50, 'gen_ai.usage.output_tokens': 5, 'anthropic.message.stop_reason': 'end_turn' },
      });
    });
    await foreign('chat gpt-4o', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.system': 'openai' }, undefined, {
      late: { 'error.type': 'InternalServerError', 'http.response.status_code': 503 },
      error: '503 The engine is currently overloaded',
    });
    // Conventions that only show once the span ends are classified then.
    await foreign('legacy completion', {}, undefined, { late: { 'llm.request.type': 'completion', 'gen_ai.request.model': 'davinci' } });
    // A span made by hand with agent-autopsy's own attributes (not through task()): its task is `autopsy.task`.
    await foreign('hand-made span', { 'autopsy.kind': 'task', 'autopsy.task': 'hand_made' });
    // A span no convention claims is not an event.
    await foreign('GET /health', { 'http.request.method': 'GET' });
  });

  await stage('folding', async () => {
    // The instrumentation's span inside the app's llmCall(): one pair, its usage merged in.
    await llmCall({ model: 'gpt-4o', provider: 'openai' }, async () => {
      await foreign('chat gpt-4o', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-2024-08-06' }, undefined, {
        late: { 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 20, 'gen_ai.response.model': 'gpt-4o-2024-08-06', 'gen_ai.response.finish_reasons': ['stop'] },
      });
    });
    // Usage the app reports itself wins; a failed attempt before the success is counted.
    await llmCall({ model: 'gpt-4o' }, async (call) => {
      await foreign('chat gpt-4o', { 'gen_ai.operation.name': 'chat' }, undefined, { late: { 'error.type': 'RateLimitError', 'http.response.status_code': 429 }, error: '429 slow down' });
      await foreign('chat gpt-4o', { 'gen_ai.operation.name': 'chat' }, undefined, { late: { 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 20 } });
      call.setUsage({ inputTokens: 7, outputTokens: 3 });
    });
    // The call fails: one llm_call_error, with the HTTP status the nested span saw.
    await llmCall({ model: 'claude-sonnet-4-6' }, async () => {
      await foreign('anthropic.messages.create', { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'anthropic' }, undefined, {
        late: { 'error.type': 'overloaded_error', 'http.response.status_code': 529 },
        error: 'overloaded',
      });
      throw new Error('gave up after overload');
    }).catch(() => undefined);
    // A stream read after llmCall() returned: the call waits for the nested span (test/llm-call-stream.test.ts).
    let late: Span | undefined;
    await llmCall({ model: 'gpt-4o' }, async () => {
      late = other().startSpan('chat gpt-4o', { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o' } });
    });
    late!.setAttribute('gen_ai.usage.output_tokens', 11);
    late!.end();
    await Promise.resolve();
  });
  await shutdown();
  events = readTrackerDocument(runDir).events;
});


describe('a GenAI operation the conventions do not list', () => {
  it('is an LLM call, unless the span states its kind in another convention too (OpenLLMetry\'s LangChain chains say operation "workflow")', () => {
    expect(classifySpan({ 'gen_ai.operation.name': 'workflow', 'gen_ai.provider.name': 'langchain', 'traceloop.span.kind': 'workflow' })).toBe('stage');
    expect(classifySpan({ 'gen_ai.operation.name': 'task', 'traceloop.span.kind': 'task' })).toBe('task');
    expect(classifySpan({ 'gen_ai.operation.name': 'chain', 'openinference.span.kind': 'CHAIN' })).toBe('task');
    // A kind neither table knows leaves the operation's default; a listed operation always wins.
    expect(classifySpan({ 'gen_ai.operation.name': 'chain', 'openinference.span.kind': 'SOMETHING_NEW' })).toBe('llm');
    expect(classifySpan({ 'gen_ai.operation.name': 'generate_image' })).toBe('llm');
    expect(classifySpan({ 'gen_ai.operation.name': 'chat', 'traceloop.span.kind': 'workflow' })).toBe('llm');
    expect(classifySpan({ 'gen_ai.operation.name': 'invoke_agent', 'openinference.span.kind': 'LLM' })).toBe('stage');
    // Without an operation, as before: an unknown kind is no agent span.
    expect(classifySpan({ 'openinference.span.kind': 'SOMETHING_NEW' })).toBeUndefined();
  });
});

describe('spans of other instrumentations inside a stage', () => {
  it('become stage, task and llm events with the enclosing stage', () => {
    const analysis = events.slice(1, events.findIndex((event) => event.type === 'stage_end' && event.data.stage === 'analysis'));
    expect(analysis.map(summary)).toEqual([
      { type: 'stage_start', stage: 'research', span: 'research.workflow' },
      { type: 'task_start', task: 'fetch_papers', span: 'fetch.task', stage: 'research' },
      { type: 'task_end', task: 'fetch_papers', span: 'fetch.task', stage: 'research' },
      { type: 'task_start', task: 'web_search', tool: 'web_search', span: 'search.tool', stage: 'research' },
      { type: 'task_end', task: 'web_search', tool: 'web_search', span: 'search.tool', stage: 'research' },
      { type: 'stage_end', stage: 'research', span: 'research.workflow' },
      { type: 'task_start', task: 'rag.chain', span: 'rag.chain', stage: 'analysis' },
      { type: 'llm_call_start', model: 'gpt-4o-mini', provider: 'openai', span: 'ChatCompletion', stage: 'analysis' },
      { type: 'llm_call_end', model: 'gpt-4o-mini', provider: 'openai', span: 'ChatCompletion', stage: 'analysis', input_tokens: 30, output_tokens: 9, tokens_used: 39 },
      { type: 'llm_call_start', model: 'text-embedding-3-small', span: 'embed', stage: 'analysis' },
      { type: 'llm_call_end', model: 'text-embedding-3-small', span: 'embed', stage: 'analysis' },
      { type: 'task_end', task: 'rag.chain', span: 'rag.chain', stage: 'analysis' },
      { type: 'stage_start', stage: 'planner', span: 'invoke_agent planner' },
      { type: 'task_start', task: 'search', tool: 'search', span: 'execute_tool search', stage: 'planner' },
      { type: 'task_end', task: 'search', tool: 'search', span: 'execute_tool search', stage: 'planner' },
      { type: 'llm_call_start', model: 'claude-sonnet-4-6', provider: 'anthropic', operation: 'chat', span: 'chat claude-sonnet-4-6', stage: 'planner' },
      {
        type: 'llm_call_end', model: 'claude-sonnet-4-6', provider: 'anthropic', operation: 'chat', span: 'chat claude-sonnet-4-6', stage: 'planner',
        input_tokens: 50, output_tokens: 5, tokens_used: 55, finish_reasons: ['end_turn'],
      },
      { type: 'stage_end', stage: 'planner', span: 'invoke_agent planner' },
      { type: 'llm_call_start', model: 'gpt-4o', provider: 'openai', operation: 'chat', span: 'chat gpt-4o', stage: 'analysis' },
      {
        type: 'llm_call_error', model: 'gpt-4o', provider: 'openai', operation: 'chat', span: 'chat gpt-4o', stage: 'analysis',
        error: '503 The engine is currently overloaded', error_type: 'InternalServerError', http_status: 503,
      },
      { type: 'llm_call_start', model: 'davinci', operation: 'completion', span: 'legacy completion', stage: 'analysis' },
      { type: 'llm_call_end', model: 'davinci', operation: 'completion', span: 'legacy completion', stage: 'analysis' },
      { type: 'task_start', task: 'hand_made', span: 'hand-made span', stage: 'analysis' },
      { type: 'task_end', task: 'hand_made', span: 'hand-made span', stage: 'analysis' },
    ]);
    expect(events.filter((event) => event.data.span === 'GET /health')).toEqual([]);
  });

  it('sets the level from the span status (ERROR events count as failures of their stage)', () => {
    expect(events.filter((event) => event.level === 'ERROR').map((event) => [event.type, event.data.stage])).toEqual([
      ['llm_call_error', 'analysis'],
      ['llm_call_error', 'folding'],
    ]);
  });
});

describe("an instrumentation's llm span inside llmCall()", () => {
  const folding = () => events.slice(events.findIndex((event) => event.type === 'stage_start' && event.data.stage === 'folding') + 1, -1);

  it('writes one llm_call pair per llmCall(), with the nested usage merged in', () => {
    const llm = folding().filter((event) => event.type.startsWith('llm_call_'));
    expect(llm.map((event) => event.type)).toEqual([
      'llm_call_start', 'llm_call_end',
      'llm_call_start', 'llm_call_end',
      'llm_call_start', 'llm_call_error',
      'llm_call_start', 'llm_call_end', // the late stream: one call, ended with it
    ]);
    expect(summary(llm[1])).toEqual({
      type: 'llm_call_end', model: 'gpt-4o', provider: 'openai', stage: 'folding',
      input_tokens: 100, output_tokens: 20, tokens_used: 120, response_model: 'gpt-4o-2024-08-06', finish_reasons: ['stop'], operation: 'chat',
    });
    expect(summary(llm[3])).toMatchObject({ model: 'gpt-4o', input_tokens: 7, output_tokens: 3, tokens_used: 10, failed_attempts: 1, last_attempt_error: '429 slow down' });
    expect(summary(llm[5])).toMatchObject({ model: 'claude-sonnet-4-6', error: 'gave up after overload', error_type: 'Error', http_status: 529, provider: 'anthropic' });
    expect(summary(llm[5])).not.toHaveProperty('failed_attempts');
    expect(summary(llm[7])).toEqual({ type: 'llm_call_end', model: 'gpt-4o', operation: 'chat', output_tokens: 11, tokens_used: 11, stage: 'folding' });
  });
});
