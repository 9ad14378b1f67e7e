import { context, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { analyzeRunSync } from '../analyzers/readRun';
import { init, LatentReporter, shutdown, stage } from '../src/index';
import type { TruthEvent } from '../src/types';
import { writeOtlpFile } from './helpers/otlpFile';
import { readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * Spans whose instrumentation sets their attributes right after startSpan, as OpenInference's
 * OITracer (`startSpan(name, { attributes: undefined })`, then `setAttributes`) and OpenLLMetry's
 * withWorkflow/withTask (`startActiveSpan(name, {}, …)`, then `setAttribute`) do: onStart sees a
 * span of no kind. They are the same agent spans as those that state their kind at the start.
 */

const tracer = () => trace.getTracer('@arizeai/openinference-instrumentation-openai');

/** A span started bare, its attributes set just after (in the same turn). */
function startBare(name: string, attributes: Attributes): Span {
  const span = tracer().startSpan(name, { attributes: undefined });
  span.setAttributes(attributes);
  return span;
}

const AGENT = { 'openinference.span.kind': 'AGENT' };
const LLM = { 'openinference.span.kind': 'LLM', 'llm.model_name': 'gpt-4o', 'llm.system': 'openai' };
const USAGE = { 'llm.token_count.prompt': 12, 'llm.token_count.completion': 3, 'llm.finish_reason': 'stop' };

function summary(event: TruthEvent): Record<string, unknown> {
  const { duration: _duration, age_seconds: _age, ...data } = event.data;
  return { type: event.type, ...data };
}

describe('a span whose kind is set just after it started', () => {
  it('is recorded in order, gives its stage to the spans inside it, and is listed as unfinished when it never ends (live and at exit)', async () => {
    const dir = tempRunDir('autopsy-late-attributes-');
    init({ outputDir: dir, handleExit: false, reportFormats: [] });
    let snapshot: ReturnType<LatentReporter['generateReport']> | undefined;
    await stage('app', async () => {
      const agent = startBare('weather_agent', AGENT);
      await context.with(trace.setSpan(context.active(), agent), async () => {
        const call = startBare('OpenAI Chat Completions', LLM);
        call.setAttributes(USAGE);
        call.end();
        const tool = startBare('get_weather', { 'openinference.span.kind': 'TOOL', 'tool.name': 'get_weather', 'input.value': '{"city":"Paris"}' });
        tool.end();
        // OpenInference ends no span whose request failed: this one stays open.
        startBare('OpenAI Chat Completions', LLM);
        await new Promise((resolve) => setTimeout(resolve, 5));
        // Attributes set only after the run's queue has drained (a turn later), and never ended.
        const late = tracer().startSpan('late.workflow');
        await new Promise((resolve) => setTimeout(resolve, 5));
        late.setAttributes({ 'traceloop.span.kind': 'task', 'traceloop.entity.name': 'summarize' });
        snapshot = new LatentReporter(dir, { formats: [] }).generateReport();
      });
      agent.end();
    });
    const report = (await shutdown())!;
    const events = readTrackerDocument(dir).events;
    expect(events.map(summary)).toEqual([
      { type: 'stage_start', stage: 'app' },
      // The agent's stage starts before what runs inside it, and what runs inside it is in it.
      { type: 'stage_start', stage: 'weather_agent', span: 'weather_agent' },
      { type: 'llm_call_start', model: 'gpt-4o', provider: 'openai', span: 'OpenAI Chat Completions', stage: 'weather_agent' },
      { type: 'llm_call_end', model: 'gpt-4o', provider: 'openai', span: 'OpenAI Chat Completions', stage: 'weather_agent', input_tokens: 12, output_tokens: 3, tokens_used: 15, finish_reasons: ['stop'] },
      { type: 'task_start', task: 'get_weather', tool: 'get_weather', arguments_sha256: expect.stringMatching(/^sha256:[0-9a-f]{16}$/), span: 'get_weather', stage: 'weather_agent' },
      { type: 'task_end', task: 'get_weather', tool: 'get_weather', arguments_sha256: expect.stringMatching(/^sha256:[0-9a-f]{16}$/), span: 'get_weather', stage: 'weather_agent' },
      { type: 'llm_call_start', model: 'gpt-4o', provider: 'openai', span: 'OpenAI Chat Completions', stage: 'weather_agent' },
      // Classified when the live report listed the open spans.
      { type: 'task_start', task: 'summarize', span: 'late.workflow', stage: 'weather_agent' },
      { type: 'stage_end', stage: 'weather_agent', span: 'weather_agent' },
      { type: 'stage_end', stage: 'app' },
      { type: 'llm_call_unfinished', model: 'gpt-4o', provider: 'openai', span: 'OpenAI Chat Completions', stage: 'weather_agent', unfinished: true },
      { type: 'task_unfinished', task: 'summarize', span: 'late.workflow', stage: 'weather_agent', unfinished: true },
    ]);
    const open = (spans: Array<{ name: string; kind: string; stage: string }>) => spans.map(({ name, kind, stage }) => ({ name, kind, stage }));
    const expected = [
      { name: 'OpenAI Chat Completions', kind: 'llm', stage: 'weather_agent' },
      { name: 'late.workflow', kind: 'task', stage: 'weather_agent' },
    ];
    expect(open(report.unfinished)).toEqual(expected);
    // Taken inside both stages: they were open too.
    expect(open(snapshot!.unfinished)).toEqual([{ name: 'stage app', kind: 'stage', stage: 'app' }, { name: 'weather_agent', kind: 'stage', stage: 'weather_agent' }, ...expected]);
    expect(report.llm_usage).toMatchObject({ calls: 1, total_tokens: 15 });
  });

  it("keeps the failure of the flag's own span of an openai request inside OpenInference's span of it (which never ends when the request fails)", async () => {
    const dir = tempRunDir('autopsy-late-attributes-');
    init({ outputDir: dir, handleExit: false, reportFormats: [] });
    const outer = startBare('OpenAI Chat Completions', LLM);
    await context.with(trace.setSpan(context.active(), outer), async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      const request = trace.getTracer('agent-autopsy/openai').startSpan('chat gpt-4o', { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai' } });
      request.setAttributes({ 'error.type': 'RateLimitError', 'http.response.status_code': 429 });
      request.setStatus({ code: SpanStatusCode.ERROR, message: '429 Rate limit reached for gpt-4o' });
      request.end();
    });
    const report = (await shutdown())!;
    const events = readTrackerDocument(dir).events;
    expect(events.map((event) => [event.type, event.data.span, event.data.error_type])).toEqual([
      ['llm_call_start', 'OpenAI Chat Completions', undefined],
      ['llm_call_start', 'chat gpt-4o', undefined],
      ['llm_call_error', 'chat gpt-4o', 'RateLimitError'],
      ['llm_call_unfinished', 'OpenAI Chat Completions', undefined],
    ]);
    expect(report.diagnoses.map((diagnosis) => diagnosis.id)).toContain('rate_limited');
  });

  it('with its model only at its end (OpenInference\'s LangChain tracer) is a call of that model, live as from a file', async () => {
    const dir = tempRunDir('autopsy-late-attributes-');
    const exporter = new InMemorySpanExporter();
    init({ outputDir: dir, handleExit: false, reportFormats: [], spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const call = startBare('ChatOpenAI', { 'openinference.span.kind': 'LLM' });
    // Its start is written while the request runs, before the model is on the span.
    await new Promise((resolve) => setTimeout(resolve, 5));
    call.setAttributes({ 'llm.model_name': 'gpt-4o', 'llm.system': 'openai', 'llm.token_count.prompt': 2, 'llm.token_count.completion': 11 });
    call.end();
    const report = (await shutdown())!;
    const [start, end] = readTrackerDocument(dir).events.map(summary);
    expect([start, end]).toEqual([
      { type: 'llm_call_start', span: 'ChatOpenAI' },
      { type: 'llm_call_end', span: 'ChatOpenAI', input_tokens: 2, output_tokens: 11, tokens_used: 13, model: 'gpt-4o', provider: 'openai' },
    ]);
    expect(Object.keys(report.llm_usage.by_model)).toEqual(['gpt-4o']);
    expect(Object.keys(analyzeRunSync(writeOtlpFile(exporter.getFinishedSpans())).report.llm_usage.by_model)).toEqual(['gpt-4o']);
  });

  it('classified only as the process ends, still gets its start event and its place in the unfinished list', async () => {
    const dir = tempRunDir('autopsy-late-attributes-');
    init({ outputDir: dir, handleExit: false, reportFormats: [] });
    const workflow = tracer().startSpan('research.workflow');
    await new Promise((resolve) => setTimeout(resolve, 5));
    workflow.setAttributes({ 'traceloop.span.kind': 'workflow', 'traceloop.entity.name': 'research' });
    const report = (await shutdown())!;
    expect(readTrackerDocument(dir).events.map(summary)).toEqual([
      { type: 'stage_start', stage: 'research', span: 'research.workflow' },
      { type: 'stage_unfinished', stage: 'research', span: 'research.workflow', unfinished: true },
    ]);
    expect(report.unfinished.map(({ name, kind, stage }) => ({ name, kind, stage }))).toEqual([{ name: 'research.workflow', kind: 'stage', stage: 'research' }]);
  });
});
