import { context, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { analyzeRunSync } from '../analyzers/readRun';
import { init, llmCall, shutdown } from '../src/index';
import { markSuperseded } from '../src/supersededSpans';
import type { TruthEvent } from '../src/types';
import { writeOtlpFile } from './helpers/otlpFile';
import { readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * One request seen by two instrumentations: OpenInference's Anthropic instrumentation wraps
 * `messages.create`, and @anthropic-ai/sdk traces the request itself inside it. On success the
 * SDK ends its span a moment after OpenInference's (it closes it after the promise chain settled),
 * so the inner span outlived its parent and was written as a second call. (Shapes as
 * @arizeai/openinference-instrumentation-anthropic 0.2.8 and @anthropic-ai/sdk 1.14 make them.)
 */

const OUTER: Attributes = { 'openinference.span.kind': 'LLM', 'llm.model_name': 'claude-sonnet-4-6', 'llm.provider': 'anthropic' };
const INNER_OPENAI: Attributes = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini' };
const INNER: Attributes = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'anthropic', 'gen_ai.request.model': 'claude-sonnet-4-6' };

async function record(fn: () => Promise<void>): Promise<{ live: TruthEvent[]; fromFile: TruthEvent[]; calls: number[] }> {
  const dir = tempRunDir('autopsy-nested-instrumentations-');
  const exporter = new InMemorySpanExporter();
  init({ outputDir: dir, handleExit: false, reportFormats: [], spanProcessors: [new SimpleSpanProcessor(exporter)] });
  await fn();
  const report = (await shutdown())!;
  const fromFile: TruthEvent[] = [];
  const read = analyzeRunSync(writeOtlpFile(exporter.getFinishedSpans()), { onEvent: (event) => fromFile.push(event) });
  const llm = (events: TruthEvent[]) => events.filter((event) => event.type.startsWith('llm_call_'));
  return { live: llm(readTrackerDocument(dir).events), fromFile: llm(fromFile), calls: [report.llm_usage.calls, read.report.llm_usage.calls] };
}

/** The outer span active around the inner one, as OpenInference runs the SDK's create. */
function request(finish: (outer: Span, inner: Span) => Promise<void>): Promise<void> {
  const outer = trace.getTracer('@arizeai/openinference-instrumentation-anthropic').startSpan('Anthropic Messages', { attributes: OUTER });
  return context.with(trace.setSpan(context.active(), outer), () => {
    const inner = trace.getTracer('com.anthropic.sdk.typescript').startSpan('chat claude-sonnet-4-6', { attributes: INNER });
    return finish(outer, inner);
  });
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 2));
const summary = (event: TruthEvent) => ({ type: event.type, span: event.data.span, input_tokens: event.data.input_tokens, error_type: event.data.error_type });

describe('one request traced by two instrumentations, the inner span ending after the outer one', () => {
  it('is one call with the inner span\'s usage, live and from an OTLP file', async () => {
    const { live, fromFile, calls } = await record(() =>
      request(async (outer, inner) => {
        outer.setAttributes({ 'llm.token_count.prompt': 3, 'llm.token_count.completion': 12 });
        outer.end();
        await tick();
        inner.setAttributes({ 'gen_ai.usage.input_tokens': 3, 'gen_ai.usage.output_tokens': 12, 'gen_ai.response.finish_reasons': ['end_turn'] });
        inner.end();
      }),
    );
    expect(live.map(summary)).toEqual([
      { type: 'llm_call_start', span: 'Anthropic Messages', input_tokens: undefined, error_type: undefined },
      { type: 'llm_call_end', span: 'Anthropic Messages', input_tokens: 3, error_type: undefined },
    ]);
    // The call ended when its request did: its end is the last event, after the inner span's end.
    expect(live[1].data.finish_reasons).toEqual(['end_turn']);
    expect(fromFile.map(summary)).toEqual(live.map(summary));
    expect(calls).toEqual([1, 1]);
  });

  it('a failure the inner span recorded first is the call\'s failure; an inner span that never ends does not hold the call\'s end past the exit', async () => {
    const { live, calls } = await record(async () => {
      await request(async (outer, inner) => {
        inner.setAttributes({ 'error.type': 'rate_limit_error', 'http.response.status_code': 429 });
        inner.setStatus({ code: SpanStatusCode.ERROR, message: '429 rate limited' });
        inner.end();
        outer.setStatus({ code: SpanStatusCode.ERROR, message: '429 rate limited' });
        outer.end();
      });
      // The outer span ends, the inner one never does (a stream nobody read to its end).
      await request(async (outer) => {
        outer.end();
      });
    });
    expect(live.map((event) => [event.type, event.data.span, event.data.error_type ?? null])).toEqual([
      ['llm_call_start', 'Anthropic Messages', null],
      ['llm_call_error', 'Anthropic Messages', 'rate_limit_error'],
      ['llm_call_start', 'Anthropic Messages', null],
      // Written as the run closed, with what it had; its inner span is listed as still open.
      ['llm_call_end', 'Anthropic Messages', null],
      ['llm_call_unfinished', 'chat claude-sonnet-4-6', null],
    ]);
    expect(calls[0]).toBe(2);
  });
});

/**
 * The app's llmCall() around a client that an APM instruments too (Sentry 10's openai integration,
 * whose span the app's provider, joined, hands to the run) and that the flag traces: the flag
 * supersedes the APM's span of the same request, and its own span inside that one still folds
 * into the llmCall, past it: one call, not two.
 */
describe("the flag's span inside a span it superseded, inside the app's llmCall()", () => {
  it('folds into the llmCall: one call with the request\'s usage', async () => {
    const { live } = await record(() =>
      llmCall({ model: 'gpt-4o-mini', provider: 'openai' }, async () => {
        const apm = trace.getTracer('@sentry/openai').startSpan('chat gpt-4o-mini', { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.system': 'openai' } });
        await context.with(trace.setSpan(context.active(), apm), async () => {
          markSuperseded(apm);
          const flag = trace.getTracer('agent-autopsy/openai').startSpan('chat gpt-4o-mini', { attributes: INNER_OPENAI });
          await tick();
          flag.setAttributes({ 'gen_ai.usage.input_tokens': 5, 'gen_ai.usage.output_tokens': 7 });
          flag.end();
        });
        apm.end();
      }),
    );
    expect(live.map((event) => [event.type, event.data.model, event.data.input_tokens, event.data.output_tokens])).toEqual([
      ['llm_call_start', 'gpt-4o-mini', undefined, undefined],
      ['llm_call_end', 'gpt-4o-mini', 5, 7],
    ]);
  });

  it('still open at the end, is one unfinished call: the llmCall, not the request inside it', async () => {
    const dir = tempRunDir('autopsy-nested-instrumentations-');
    init({ outputDir: dir, handleExit: false, reportFormats: [] });
    let call = '';
    void llmCall({ model: 'gpt-4o-mini', provider: 'openai' }, (handle) => {
      call = handle.span.spanContext().spanId;
      const apm = trace.getTracer('@sentry/openai').startSpan('chat gpt-4o-mini', { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.system': 'openai' } });
      return context.with(trace.setSpan(context.active(), apm), () => {
        markSuperseded(apm);
        trace.getTracer('agent-autopsy/openai').startSpan('chat gpt-4o-mini', { attributes: INNER_OPENAI });
        return new Promise(() => undefined);
      });
    });
    await tick();
    const report = (await shutdown())!;
    expect(report.unfinished.map((span) => [span.kind, span.name, span.span_id])).toEqual([['llm', 'chat gpt-4o-mini', call]]);
    expect(readTrackerDocument(dir).events.filter((event) => event.type === 'llm_call_unfinished')).toHaveLength(1);
  });

  it("fails with the request, whose span an APM ends a moment after the llmCall's failure: one failed call", async () => {
    const { live } = await record(async () => {
      let apm: Span | undefined;
      await llmCall({ model: 'gpt-4o-mini', provider: 'openai' }, async () => {
        apm = trace.getTracer('@sentry/openai').startSpan('chat gpt-4o-mini', { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.system': 'openai' } });
        throw Object.assign(new Error('401 Incorrect API key provided'), { status: 401 });
      }).catch(() => undefined);
      await tick();
      apm!.setAttributes({ 'error.type': 'AuthenticationError', 'http.response.status_code': 401 });
      apm!.setStatus({ code: SpanStatusCode.ERROR, message: '401 Incorrect API key provided' });
      apm!.end();
    });
    expect(live.map((event) => [event.type, event.data.http_status])).toEqual([
      ['llm_call_start', undefined],
      ['llm_call_error', 401],
    ]);
  });
});

