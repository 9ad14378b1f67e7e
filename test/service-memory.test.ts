import { describe, expect, it } from 'vitest';
import { builtInDiagnosisEngine, diagnoseEvents } from '../analyzers/diagnoses';
import { PropagationTracker } from '../analyzers/rootCause';
import { RetryStormDetector } from '../analyzers/RetryStormDetector';
import type { TruthEvent } from '../src/types';
import { diagnosisContext } from './helpers/diagnosisContext';

// A long-lived agent service: one process, thousands of requests, each running its own stage.
// Memory must follow open spans and distinct names, never the number of requests.

const T0 = Date.parse('2025-01-24T10:30:00.000Z');
const RATE = '429 Rate limit reached for gpt-4o. Please try again in 20s.';

function ev(at: number, type: string, data: Record<string, unknown>, ids: Partial<TruthEvent>): TruthEvent {
  const level = type.endsWith('_error') ? 'ERROR' : 'INFO';
  return { timestamp: new Date(T0 + at * 1000).toISOString(), elapsed_seconds: at, type, level, data, ...ids };
}

const context = () => diagnosisContext(T0);

/**
 * One failed request as the live run logs it when the stage runs inside a span that writes no
 * events of its own (an HTTP server span, the app's own `startActiveSpan('GET /r')`): the stage's
 * parent_span_id names that span, whose end is never in the log.
 */
function failedRequest(i: number, at: number): TruthEvent[] {
  const [H, S, L] = [`H${i}`, `S${i}`, `L${i}`];
  return [
    ev(at, 'stage_start', { stage: 'handle' }, { span_id: S, parent_span_id: H }),
    ev(at + 0.001, 'llm_call_start', { stage: 'handle', model: 'gpt-4o' }, { span_id: L, parent_span_id: S }),
    ev(at + 0.002, 'llm_call_error', { stage: 'handle', model: 'gpt-4o', error: `${RATE} (request ${i})`, error_type: 'RateLimitError', http_status: 429 }, { span_id: L, parent_span_id: S }),
    ev(at + 0.003, 'stage_error', { stage: 'handle', error: `${RATE} (request ${i})`, error_type: 'RateLimitError', http_status: 429 }, { span_id: S, parent_span_id: H }),
  ];
}

describe('a service: failed stages inside a span that writes no events', () => {
  it('keeps nothing per failed request in the diagnosis engine', () => {
    const engine = builtInDiagnosisEngine();
    let i = 0;
    for (; i < 5_000; i++) for (const event of failedRequest(i, i * 0.01)) engine.observe(event);
    const after5000 = engine.retained;
    for (; i < 10_000; i++) for (const event of failedRequest(i, i * 0.01)) engine.observe(event);
    // Was 10,276 (one entry per failed request, each holding its error message: ~1 KB a request in a live service).
    expect(engine.retained).toBe(after5000);
    expect(engine.retained).toBeLessThan(1_400);
    const [rate] = diagnoseEvents((function* () {
      for (let i = 0; i < 100; i++) yield* failedRequest(i, i * 0.01);
    })(), context());
    expect([rate.id, rate.evidence.count]).toEqual(['rate_limited', 100]); // each error once, at its origin
  });

  it('keeps nothing per failed request in the tracker custom rules use', () => {
    const tracker = new PropagationTracker();
    const retained: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      for (const event of failedRequest(i, i * 0.01)) if (event.level === 'ERROR') tracker.observeError(event, String(event.data.error));
      if (i === 4_999 || i === 9_999) retained.push(tracker.retained);
    }
    expect(retained[1]).toBe(retained[0]);
    expect(retained[1]).toBeLessThan(1_400);
  });

  it('still takes the error of a span classified only when it ends as its child error repeated', () => {
    // Some instrumentations add their conventions' attributes late: the parent's start is written
    // at its end, after the child's error.
    const events = [
      ev(0, 'llm_call_start', { stage: 's', model: 'gpt-4o' }, { span_id: 'L', parent_span_id: 'P' }),
      ev(1, 'llm_call_error', { stage: 's', model: 'gpt-4o', error: RATE, error_type: 'RateLimitError' }, { span_id: 'L', parent_span_id: 'P' }),
      ev(2, 'task_start', { stage: 's', task: 'agent' }, { span_id: 'P' }),
      ev(2, 'task_error', { stage: 's', task: 'agent', error: RATE, error_type: 'RateLimitError' }, { span_id: 'P' }),
    ];
    const [rate] = diagnoseEvents(events, context());
    expect([rate.id, rate.evidence.count, rate.evidence.span_ids]).toEqual(['rate_limited', 1, ['L']]);
  });
});

/**
 * A service whose stage is named per request (`stage(\`req-${id}\`, …)`): the stage timeline
 * lists every stage by design, but what matters only for a while (a retry streak, which ends after
 * RETRY_GAP_SECONDS without a failure; an error a propagation may still repeat, for
 * PROPAGATION_WINDOW_SECONDS) must be let go once it can no longer matter.
 */
describe('a service: one stage per request, each failing once', () => {
  const failure = (stage: string, at: number, error: string) =>
    ev(at, 'llm_call_error', { stage, model: 'gpt-4o', error, error_type: 'RateLimitError', http_status: 429 }, {});

  it('forgets retry streaks that a pause has ended, and still finds the storm among them', () => {
    const detector = new RetryStormDetector();
    // One failing request a second, each in its own stage, for 10,000 s; in the middle a storm in
    // stage "main": 4 failures 30 s apart, with 29 other requests' failures between each two.
    for (let i = 0; i < 10_000; i++) {
      detector.failure(failure(`req-${i}`, i, `${RATE} (request ${i})`), 'rate_limited');
      if (i >= 5_000 && i < 5_120 && i % 30 === 0) detector.failure(failure('main', i + 0.5, RATE), 'rate_limited');
    }
    // Was 10,001: one streak per request's stage, kept for the whole run.
    expect(detector.retained).toBeLessThanOrEqual(1_024);
    const storms = detector.storms;
    expect([storms.storms, storms.evidence.count, storms.longest?.stage, storms.longest?.failures]).toEqual([1, 4, 'main', 4]);
  });

  it('a streak paused for less than the gap goes on, however many other streaks were let go meanwhile', () => {
    const detector = new RetryStormDetector();
    detector.failure(failure('main', 0, RATE), 'rate_limited');
    for (let i = 0; i < 5_000; i++) detector.failure(failure(`req-${i}`, 1 + i * 0.02, 'other'), 'rate_limited');
    for (let at = 110; at < 400; at += 100) detector.failure(failure('main', at, RATE), 'rate_limited');
    expect([detector.storms.storms, detector.storms.longest?.stage, detector.storms.longest?.failures]).toEqual([1, 'main', 4]);
  });

  it('forgets the recent errors of stages idle past the propagation window, and still matches within it', () => {
    const tracker = new PropagationTracker();
    for (let i = 0; i < 10_000; i++) tracker.observeError(failure(`req-${i}`, i, `${RATE} (request ${i})`), `${RATE} (request ${i})`);
    // Was 10,256: a ring per request's stage, each entry holding its message.
    expect(tracker.retained).toBeLessThan(1_400);
    // The last request's error propagates to its stage 5 s later: still the same error, counted once.
    const stageError = ev(9_999 + 5, 'stage_error', { stage: 'req-9999', error: `${RATE} (request 9999)` }, {});
    expect(tracker.observeError(stageError, String(stageError.data.error))?.message).toBe(`${RATE} (request 9999)`);
  });
});
