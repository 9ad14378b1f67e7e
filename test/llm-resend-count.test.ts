import { context, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { analyzeRunSync } from '../analyzers/readRun';
import type { AutopsyReport } from '../analyzers/reportTypes';
import { init, llmCall, shutdown, stage } from '../src/index';
import type { TruthEvent } from '../src/types';
import { llmCallEnds, llmCallEndsBySpan, llmEventsBySpan } from './helpers/llmEvents';
import { writeOtlpFile } from './helpers/otlpFile';
import { readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * `http.request.resend_count` on an llm span (the HTTP conventions' count of a request sent again:
 * @anthropic-ai/sdk's own spans set it from the second attempt of a call on, and so do the
 * zero-code openai spans) becomes `failed_attempts` in the call's end or error event, in the live
 * run and in an OTLP file of the same spans; folded into an llmCall(), it adds to the attempts
 * the outer call reports. Spans made here in the shape @anthropic-ai/sdk 1.14 makes them.
 */

const tracer = () => trace.getTracer('com.anthropic.sdk.typescript');
const RATE = '429 {"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}';

interface Attempts {
  resends?: number;
  /** Fails the span as the SDK does with an error response. */
  error?: { message: string; type: string; status: number };
}

function anthropicCall({ resends, error }: Attempts): void {
  const attributes: Attributes = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'anthropic', 'gen_ai.request.model': 'claude-sonnet-4-6', 'http.request.method': 'POST' };
  const span = tracer().startSpan('anthropic.messages.create', { attributes });
  if (resends !== undefined) span.setAttribute('http.request.resend_count', resends);
  if (error) {
    span.setAttributes({ 'error.type': error.type, 'http.response.status_code': error.status });
    span.addEvent('exception', { 'exception.message': error.message, 'exception.type': 'RateLimitError' });
    span.setStatus({ code: SpanStatusCode.ERROR });
  } else {
    span.setAttributes({ 'gen_ai.usage.input_tokens': 12, 'gen_ai.usage.output_tokens': 3 });
  }
  span.end();
}

const RATE_LIMITED = { message: RATE, type: 'rate_limit_error', status: 429 };

async function record(fn: () => Promise<void>): Promise<{ events: TruthEvent[]; report: AutopsyReport; otlp: { events: TruthEvent[]; report: AutopsyReport } }> {
  const dir = tempRunDir('autopsy-resend-');
  const exporter = new InMemorySpanExporter();
  init({ outputDir: dir, handleExit: false, reportFormats: [], spanProcessors: [new SimpleSpanProcessor(exporter)] });
  await fn();
  const report = (await shutdown())!;
  const events = readTrackerDocument(dir).events;
  const fromOtlp: TruthEvent[] = [];
  const read = analyzeRunSync(writeOtlpFile(exporter.getFinishedSpans()), { onEvent: (event) => fromOtlp.push(event) });
  return { events, report, otlp: { events: fromOtlp, report: read.report } };
}

const FIELDS = ['error_type', 'http_status', 'failed_attempts', 'last_attempt_error', 'input_tokens'];

describe('an llm span that states http.request.resend_count', () => {
  it('records the attempts that failed before its outcome as failed_attempts, live and read from an OTLP file', async () => {
    const { events, report } = await record(() =>
      stage('answer', async () => {
        for (let i = 0; i < 3; i++) anthropicCall({ resends: 2, error: RATE_LIMITED });
        anthropicCall({ resends: 1 });
        anthropicCall({});
      }),
    );
    expect(llmCallEnds(events, FIELDS)).toEqual([
      { type: 'llm_call_error', error_type: 'rate_limit_error', http_status: 429, failed_attempts: 2 },
      { type: 'llm_call_error', error_type: 'rate_limit_error', http_status: 429, failed_attempts: 2 },
      { type: 'llm_call_error', error_type: 'rate_limit_error', http_status: 429, failed_attempts: 2 },
      { type: 'llm_call_end', failed_attempts: 1, input_tokens: 12 },
      { type: 'llm_call_end', input_tokens: 12 },
    ]);
    expect(report.llm_usage).toMatchObject({ calls: 5, errors: 3, retried_calls: 4, failed_attempts: 7 });
    const rate = report.diagnoses[0];
    expect(rate).toMatchObject({ id: 'rate_limited', evidence: { count: 3 } });
    expect(rate.evidence.examples[0]).toBe('3 failed calls, 9 HTTP requests: each was retried twice before the agent saw the error');
  });

  it('gives the same events and report from the OTLP file of the run', async () => {
    const { events, report, otlp } = await record(() =>
      stage('answer', async () => {
        anthropicCall({ resends: 2, error: RATE_LIMITED });
        anthropicCall({ resends: 1 });
        await llmCall({ model: 'claude-sonnet-4-6' }, async () => anthropicCall({ resends: 2 }));
      }),
    );
    expect(llmEventsBySpan(events)).toHaveLength(6);
    expect(llmEventsBySpan(otlp.events)).toEqual(llmEventsBySpan(events));
    const usageOf = (result: AutopsyReport) => ({ ...result.llm_usage, latency_seconds: null });
    expect(usageOf(otlp.report)).toEqual(usageOf(report));
    expect(report.llm_usage).toMatchObject({ calls: 3, errors: 1, retried_calls: 3, failed_attempts: 5 });
    expect(otlp.report.diagnoses.map((d) => [d.id, d.evidence.examples[0]])).toEqual(report.diagnoses.map((d) => [d.id, d.evidence.examples[0]]));
  });

  it("adds up inside the app's own llmCall(): the SDK's retries, and the calls the app made again itself", async () => {
    const { events } = await record(() =>
      stage('answer', async () => {
        // The SDK gave up after 3 requests; the call fails with that error.
        await llmCall({ model: 'claude-sonnet-4-6' }, async () => {
          anthropicCall({ resends: 2, error: RATE_LIMITED });
          throw Object.assign(new Error(RATE), { status: 429 });
        }).catch(() => undefined);
        // The SDK got through on its third request.
        await llmCall({ model: 'claude-sonnet-4-6' }, async () => anthropicCall({ resends: 2 }));
        // The app called again after the SDK gave up: 3 failed requests, then one that answered.
        await llmCall({ model: 'claude-sonnet-4-6' }, async () => {
          anthropicCall({ resends: 2, error: RATE_LIMITED });
          anthropicCall({});
        });
      }),
    );
    expect(llmCallEnds(events, ['failed_attempts', 'last_attempt_error', 'http_status'])).toEqual([
      { type: 'llm_call_error', failed_attempts: 2, http_status: 429 },
      { type: 'llm_call_end', failed_attempts: 2 },
      { type: 'llm_call_end', failed_attempts: 3, last_attempt_error: RATE },
    ]);
  });

  it('takes the failed_attempts the app reports itself with set(), over what its spans say, live and from the OTLP file', async () => {
    const { events, report, otlp } = await record(() =>
      stage('answer', async () => {
        for (let i = 0; i < 2; i++) {
          await llmCall({ model: 'gpt-4o', provider: 'openai' }, async (call) => {
            // The app's own retry loop made 4 attempts; the last error reached it.
            call.set({ failed_attempts: 3 });
            throw Object.assign(new Error('429 Rate limit reached for gpt-4o'), { status: 429 });
          }).catch(() => undefined);
        }
        await llmCall({ model: 'claude-sonnet-4-6' }, async (call) => {
          anthropicCall({ resends: 2 });
          call.set({ failed_attempts: 5 });
        });
      }),
    );
    expect(llmCallEnds(events, ['failed_attempts', 'http_status'])).toEqual([
      { type: 'llm_call_error', failed_attempts: 3, http_status: 429 },
      { type: 'llm_call_error', failed_attempts: 3, http_status: 429 },
      { type: 'llm_call_end', failed_attempts: 5 },
    ]);
    // Read back from the file, set() data is also in the start event (a span's attributes do not say when they were set).
    expect(llmCallEndsBySpan(otlp.events, ['failed_attempts', 'http_status'])).toEqual(llmCallEndsBySpan(events, ['failed_attempts', 'http_status']));
    expect(report.diagnoses[0].evidence.examples[0]).toBe('2 failed calls, 8 HTTP requests: each was retried 3 times before the agent saw the error');
  });

  it("counts the failed_attempts an app gave a nested llmCall() (set() or its attributes) for the outer call, live and from the OTLP file", async () => {
    const { events, report, otlp } = await record(() =>
      stage('answer', async () => {
        // The inner call says its retries itself; the SDK's span inside it says 2 resends, which the app's count replaces.
        await llmCall({ model: 'outer' }, () =>
          llmCall({ model: 'inner' }, async (call) => {
            anthropicCall({ resends: 2 });
            call.set({ failed_attempts: 3 });
          }),
        );
        await llmCall({ model: 'outer' }, () => llmCall({ model: 'inner', failed_attempts: 1 }, async () => anthropicCall({ resends: 2 })));
        // Given on the call itself, as an attribute: it wins over the resends of the SDK span inside.
        await llmCall({ model: 'claude', failed_attempts: 1 }, async () => anthropicCall({ resends: 2 }));
      }),
    );
    const ends = [
      { type: 'llm_call_end', failed_attempts: 3 },
      { type: 'llm_call_end', failed_attempts: 1 },
      { type: 'llm_call_end', failed_attempts: 1 },
    ];
    expect(llmCallEnds(events, ['failed_attempts'])).toEqual(ends);
    expect(llmCallEndsBySpan(otlp.events, ['failed_attempts'])).toEqual(llmCallEndsBySpan(events, ['failed_attempts']));
    expect(report.llm_usage).toMatchObject({ calls: 3, retried_calls: 3, failed_attempts: 5 });
    expect(otlp.report.llm_usage).toMatchObject({ calls: 3, retried_calls: 3, failed_attempts: 5 });
  });

  it('ignores a resend count that is no whole number above 0', async () => {
    const { events } = await record(async () => {
      for (const value of [0, -1, 1.5, '2', Number.NaN]) {
        const span = tracer().startSpan('anthropic.messages.create', { attributes: { 'gen_ai.operation.name': 'chat', 'http.request.resend_count': value as number } });
        context.with(trace.setSpan(context.active(), span), () => span.end());
      }
    });
    expect(llmCallEnds(events, ['failed_attempts'])).toEqual(Array.from({ length: 5 }, () => ({ type: 'llm_call_end' })));
  });
});
