import { SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { analyzeRunSync } from '../analyzers/readRun';
import { init, llmCall, shutdown, stage } from '../src/index';
import type { TruthEvent } from '../src/types';
import { llmCallEnds, llmEventsBySpan } from './helpers/llmEvents';
import { writeOtlpFile } from './helpers/otlpFile';
import { readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * The time to first chunk of a streamed LLM call: `gen_ai.response.time_to_first_chunk` (seconds)
 * on a span becomes `time_to_first_chunk` in the call's end or error event, rounded to
 * microseconds as `duration` is, live and read back from an OTLP file of the same spans. Spans
 * here are made through @opentelemetry/api, in the shape @anthropic-ai/sdk 1.14's own streamed
 * `anthropic.messages.create` spans have (it sets the attribute itself).
 */

const TTFC = 'gen_ai.response.time_to_first_chunk';

interface Recorded {
  events: TruthEvent[];
  otlp: { events: TruthEvent[] };
}

async function record(fn: () => Promise<void>): Promise<Recorded> {
  const dir = tempRunDir('autopsy-first-chunk-');
  const exporter = new InMemorySpanExporter();
  init({ outputDir: dir, handleExit: false, reportFormats: [], spanProcessors: [new SimpleSpanProcessor(exporter)] });
  try {
    await fn();
  } finally {
    await shutdown();
  }
  const fromOtlp: TruthEvent[] = [];
  analyzeRunSync(writeOtlpFile(exporter.getFinishedSpans()), { onEvent: (event) => fromOtlp.push(event) });
  return { events: readTrackerDocument(dir).events, otlp: { events: fromOtlp } };
}

/** A request span of a client's own instrumentation; `ttfc`: the time to first chunk it states. */
function request(model: string, { ttfc, stream = true, failed = false }: { ttfc?: number; stream?: boolean; failed?: boolean }): void {
  const span = trace.getTracer('com.anthropic.sdk.typescript').startSpan('anthropic.messages.create', {
    attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'anthropic', 'gen_ai.request.model': model, ...(stream ? { 'gen_ai.request.stream': true } : {}) },
  });
  if (ttfc !== undefined) span.setAttribute(TTFC, ttfc);
  if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: 'terminated' });
  span.end();
}

describe('a streamed span of another instrumentation', () => {
  it('has its time to first chunk in its end or error event, as @anthropic-ai/sdk\'s own spans state it', async () => {
    const { events, otlp } = await record(() =>
      stage('answer', async () => {
        request('streamed', { ttfc: 0.3121 });
        // The SDK's value is to the millisecond; another instrumentation's may be finer.
        request('finer', { ttfc: 1.23456789 });
        request('not_streamed', { stream: false });
        request('failed_early', { failed: true });
        request('failed_late', { ttfc: 0.5, failed: true });
        // Not a time: left out.
        request('negative', { ttfc: -1 });
      }),
    );
    expect(llmCallEnds(events, ['model', 'time_to_first_chunk'])).toEqual([
      { type: 'llm_call_end', model: 'streamed', time_to_first_chunk: 0.3121 },
      { type: 'llm_call_end', model: 'finer', time_to_first_chunk: 1.234568 },
      { type: 'llm_call_end', model: 'not_streamed' },
      { type: 'llm_call_error', model: 'failed_early' },
      { type: 'llm_call_error', model: 'failed_late', time_to_first_chunk: 0.5 },
      { type: 'llm_call_end', model: 'negative' },
    ]);
    expect(llmEventsBySpan(otlp.events)).toEqual(llmEventsBySpan(events));
  });

  it('folded into an llmCall(): the first of its streams that sent a chunk is the call\'s', async () => {
    const { events, otlp } = await record(async () => {
      // A first attempt that failed before its first chunk, then two streams (a tool loop's steps).
      await llmCall({ model: 'claude-sonnet-4-6' }, async () => {
        request('claude-sonnet-4-6', { failed: true });
        request('claude-sonnet-4-6', { ttfc: 0.8123456 });
        request('claude-sonnet-4-6', { ttfc: 0.2 });
      });
    });
    expect(llmCallEnds(events, ['time_to_first_chunk', 'failed_attempts'])).toEqual([{ type: 'llm_call_end', time_to_first_chunk: 0.812346, failed_attempts: 1 }]);
    expect(llmEventsBySpan(otlp.events)).toEqual(llmEventsBySpan(events));
  });
});
