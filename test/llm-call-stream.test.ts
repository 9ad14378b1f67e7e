import { context, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeRunSync } from '../analyzers/readRun';
import type { AutopsyReport } from '../analyzers/reportTypes';
import { init, llmCall, shutdown, stage, track } from '../src/index';
import type { TruthEvent } from '../src/types';
import { llmEventsBySpan } from './helpers/llmEvents';
import { writeOtlpFile } from './helpers/otlpFile';
import { readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * An `llmCall()` whose callback returns a stream the app reads afterwards: the request span an
 * instrumentation opened inside the call (here made through @opentelemetry/api, as the openai
 * client's instrumentation makes it) ends when the stream does, after the callback returned. The
 * call waits for it: one llm_call pair, ended with the stream, with its usage; a stream that breaks
 * makes the call an llm_call_error; one never read to its end leaves the call unfinished at exit.
 * The real clients are in test/zero-code-llm-call-stream.test.ts.
 */

const other = () => trace.getTracer('llm-client-instrumentation');
const exporter = new InMemorySpanExporter();
let events: TruthEvent[] = [];
let report: AutopsyReport;
let runDir = '';

/** What a streaming client call returns: the request's span is open until the stream is read. */
function startRequest(model: string): Span {
  return other().startSpan(`chat ${model}`, { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': model } });
}

function endRequest(span: Span, late: Attributes, error?: string): void {
  span.setAttributes(late);
  if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
  span.end();
}

/** The app's read of a stream reaches its end: the request ends, and the app goes on a tick later (as after `for await`). */
async function streamEnds(span: Span, late: Attributes, error?: string): Promise<void> {
  endRequest(span, late, error);
  await Promise.resolve();
}

const USAGE = { 'gen_ai.usage.input_tokens': 12, 'gen_ai.usage.output_tokens': 40, 'gen_ai.response.finish_reasons': ['stop'] };

beforeAll(async () => {
  runDir = tempRunDir('autopsy-llm-stream-');
  init({ outputDir: runDir, handleExit: false, reportFormats: [], spanProcessors: [new SimpleSpanProcessor(exporter)] });
  await stage('answer', async () => {
    // Read after the callback returned: the call ends when the stream does.
    const read = await llmCall({ model: 'streamed' }, async () => startRequest('streamed'));
    track('app_reads_stream', { step: 1 });
    endRequest(read, USAGE);
    // The call ends once every span processor has seen its request end (a microtask later).
    track('same_tick', { step: 1 });
    await Promise.resolve();
    track('app_done', { step: 1 });

    // The stream breaks while the app reads it: the call failed.
    const broken = await llmCall({ model: 'broken' }, async () => startRequest('broken'));
    await streamEnds(broken, { 'error.type': 'TypeError', 'http.response.status_code': 200 }, 'terminated (cause: UND_ERR_SOCKET: other side closed)');

    // A failed attempt inside the callback, then the retry's stream read afterwards.
    const retried = await llmCall({ model: 'retried' }, async () => {
      endRequest(startRequest('retried'), { 'error.type': 'RateLimitError', 'http.response.status_code': 429 }, '429 slow down');
      return startRequest('retried');
    });
    await streamEnds(retried, USAGE);

    // Two streams opened in one call: it ends with the last of them.
    const [first, second] = await llmCall({ model: 'two' }, async () => [startRequest('two'), startRequest('two')]);
    await streamEnds(first, { 'gen_ai.usage.input_tokens': 1, 'gen_ai.usage.output_tokens': 2 });
    track('between_streams', {});
    await streamEnds(second, { 'gen_ai.usage.input_tokens': 3, 'gen_ai.usage.output_tokens': 4 });

    // Read inside the callback, as before: nothing waits.
    await llmCall({ model: 'inside' }, async () => endRequest(startRequest('inside'), USAGE));

    // A request the callback left running and that starts after the call ended is a call of its own.
    let later: Span | undefined;
    await llmCall({ model: 'early' }, async () => {
      setTimeout(() => (later = context.with(context.active(), () => startRequest('later'))), 0);
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await streamEnds(later!, USAGE);

    // A callback that fails with its request still open: the call failed now. The request, ended
    // later, is written as a call of its own (a child of the failed one).
    let orphan: Span | undefined;
    await llmCall({ model: 'thrown' }, async () => {
      orphan = startRequest('thrown');
      throw new Error('app bug before reading');
    }).catch(() => undefined);
    track('after_throw', {});
    // Well after the call's end: an OTLP file's span times only order ends more than 1 ms apart.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await streamEnds(orphan!, USAGE);

    // Never read to its end: the call is still running at exit.
    await llmCall({ model: 'abandoned' }, async (call) => {
      call.setUsage({ inputTokens: 5 });
      return startRequest('abandoned');
    });
  });
  report = (await shutdown())!;
  events = readTrackerDocument(runDir).events;
});

const llmAndApp = () =>
  events
    .filter((event) => event.type.startsWith('llm_call_') || !/^(stage|task)_/.test(event.type))
    .map((event) => {
      const { duration: _duration, stage: _stage, ...data } = event.data;
      return { type: event.type, ...data };
    });

describe('a stream read after llmCall() returned', () => {
  it('is one llm call, ended when the stream ends, with its usage or its error', () => {
    expect(llmAndApp()).toEqual([
      { type: 'llm_call_start', model: 'streamed' },
      { type: 'app_reads_stream', step: 1 },
      { type: 'same_tick', step: 1 },
      { type: 'llm_call_end', model: 'streamed', provider: 'openai', operation: 'chat', input_tokens: 12, output_tokens: 40, tokens_used: 52, finish_reasons: ['stop'] },
      { type: 'app_done', step: 1 },
      { type: 'llm_call_start', model: 'broken' },
      { type: 'llm_call_error', model: 'broken', provider: 'openai', operation: 'chat', error: 'terminated (cause: UND_ERR_SOCKET: other side closed)', error_type: 'TypeError' },
      { type: 'llm_call_start', model: 'retried' },
      {
        type: 'llm_call_end', model: 'retried', provider: 'openai', operation: 'chat', input_tokens: 12, output_tokens: 40, tokens_used: 52, finish_reasons: ['stop'],
        failed_attempts: 1, last_attempt_error: '429 slow down',
      },
      { type: 'llm_call_start', model: 'two' },
      { type: 'between_streams' },
      { type: 'llm_call_end', model: 'two', provider: 'openai', operation: 'chat', input_tokens: 4, output_tokens: 6, tokens_used: 10 },
      { type: 'llm_call_start', model: 'inside' },
      { type: 'llm_call_end', model: 'inside', provider: 'openai', operation: 'chat', input_tokens: 12, output_tokens: 40, tokens_used: 52, finish_reasons: ['stop'] },
      { type: 'llm_call_start', model: 'early' },
      { type: 'llm_call_end', model: 'early' },
      { type: 'llm_call_start', model: 'later', provider: 'openai', operation: 'chat', span: 'chat later' },
      { type: 'llm_call_end', model: 'later', provider: 'openai', operation: 'chat', span: 'chat later', input_tokens: 12, output_tokens: 40, tokens_used: 52, finish_reasons: ['stop'] },
      { type: 'llm_call_start', model: 'thrown' },
      { type: 'llm_call_error', model: 'thrown', error: 'app bug before reading', error_type: 'Error' },
      { type: 'after_throw' },
      { type: 'llm_call_start', model: 'thrown', provider: 'openai', operation: 'chat', span: 'chat thrown' },
      { type: 'llm_call_end', model: 'thrown', provider: 'openai', operation: 'chat', span: 'chat thrown', input_tokens: 12, output_tokens: 40, tokens_used: 52, finish_reasons: ['stop'] },
      { type: 'llm_call_start', model: 'abandoned' },
      { type: 'llm_call_unfinished', model: 'abandoned', unfinished: true, age_seconds: expect.any(Number) },
    ]);
  });

  it('counts each call once in the report, and the abandoned one as unfinished', () => {
    expect(report.llm_usage).toMatchObject({ calls: 9, errors: 2, errors_by_type: { TypeError: 1, Error: 1 }, errors_by_status: {} });
    // The call's span (named as GenAI spans are), not its request's.
    const start = events.find((event) => event.type === 'llm_call_start' && event.data.model === 'abandoned')!;
    expect(report.unfinished.map((span) => [span.kind, span.name, span.stage, span.span_id])).toEqual([['llm', 'chat abandoned', 'answer', start.span_id]]);
  });

  it("ends the call's own span after its request's, failed when the stream broke", () => {
    const spans = exporter.getFinishedSpans();
    const call = (model: string) => spans.find((span) => span.attributes['autopsy.kind'] === 'llm' && span.attributes['gen_ai.request.model'] === model)!;
    const requests = (parent: ReadableSpan) => spans.filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId);
    // In the order they ended (the exporter gets each span as it ends; span times of different
    // spans are not comparable below a millisecond).
    const ended = (span: ReadableSpan) => spans.indexOf(span);
    for (const model of ['streamed', 'broken', 'retried', 'two']) {
      const last = Math.max(...requests(call(model)).map(ended));
      expect(ended(call(model)), model).toBe(last + 1);
    }
    expect(call('streamed').status.code).toBe(SpanStatusCode.UNSET);
    expect(call('broken').status).toEqual({ code: SpanStatusCode.ERROR, message: 'terminated (cause: UND_ERR_SOCKET: other side closed)' });
    expect(call('broken').attributes['error.type']).toBe('TypeError');
    expect(call('retried').status.code).toBe(SpanStatusCode.UNSET);
    // Ended once, by the run, as unfinished.
    expect(call('abandoned').attributes['autopsy.unfinished']).toBe(true);
  });

  it('reads back the same from an OTLP file of the spans', () => {
    const fromOtlp: TruthEvent[] = [];
    const read = analyzeRunSync(writeOtlpFile(exporter.getFinishedSpans()), { onEvent: (event) => fromOtlp.push(event) });
    expect(llmEventsBySpan(fromOtlp)).toEqual(llmEventsBySpan(events));
    expect({ ...read.report.llm_usage, latency_seconds: null }).toEqual({ ...report.llm_usage, latency_seconds: null });
  });
});
