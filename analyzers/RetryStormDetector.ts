import type { TruthEvent } from '../src/types';
import type { ErrorClassId } from './diagnosisTypes';
import { Evidence } from './Evidence';
import { stageKey } from './FailureAggregate';
import { timestampMs } from './timestampMs';

/**
 * A retry storm: the same LLM call failing again and again without a success in between.
 * Calls are "the same" when they share stage and model; a streak is broken by a successful call
 * or by a pause longer than RETRY_GAP_SECONDS. RETRY_STORM_MIN_FAILURES failures in a row (the
 * first attempt and at least three retries) make a storm — the seed calls more than three LLM
 * errors "frequent" too.
 */
export const RETRY_STORM_MIN_FAILURES = 4;
export const RETRY_GAP_SECONDS = 120;

interface Pending {
  timestamp: string;
  spanId?: string;
}

interface Streak {
  stage: string;
  model: string;
  failures: number;
  lastMs: number;
  pending: Pending[];
  firstMs: number;
  /** Failures of this streak by cause, until it becomes a storm. */
  causes: Map<ErrorClassId, number>;
}

export interface RetryStorms {
  evidence: Evidence;
  /** Failures in storms by the diagnosis of their errors (what caused the storm). */
  causes: Map<ErrorClassId, number>;
  /** Stages with a storm. */
  stages: Set<string>;
  /** Longest streak: failures, stage, model, seconds. */
  longest: { failures: number; stage: string; model: string; seconds: number } | undefined;
  /** Storms counted (each streak that reached the threshold). */
  storms: number;
}

/** Streaks held before the first sweep of those a pause has ended (see sweep()). */
const SWEEP_AT = 1024;

export class RetryStormDetector {
  private readonly streaks = new Map<string, Streak>();
  /** The latest failure's time: a streak whose last failure is RETRY_GAP_SECONDS older is over. */
  private newestMs = -Infinity;
  private sweepAt = SWEEP_AT;
  private readonly result: RetryStorms = { evidence: new Evidence(), causes: new Map(), stages: new Set(), longest: undefined, storms: 0 };

  failure(event: TruthEvent, cause: ErrorClassId | undefined): void {
    const data = event.data ?? {};
    const stage = stageKey(data);
    const model = data.model === undefined || data.model === null ? '' : String(data.model);
    const key = `${stage}\u0000${model}`;
    const ms = timestampMs(event.timestamp);
    let streak = this.streaks.get(key);
    if (streak && Number.isFinite(ms) && ms - streak.lastMs > RETRY_GAP_SECONDS * 1000) {
      this.streaks.delete(key);
      streak = undefined;
    }
    if (ms > this.newestMs) this.newestMs = ms;
    if (!streak) {
      streak = { stage, model, failures: 0, firstMs: ms, lastMs: ms, pending: [], causes: new Map() };
      this.streaks.set(key, streak);
      if (this.streaks.size >= this.sweepAt) this.sweep();
    }
    streak.failures++;
    streak.lastMs = ms;
    const causes = streak.failures <= RETRY_STORM_MIN_FAILURES ? streak.causes : this.result.causes;
    if (cause) causes.set(cause, (causes.get(cause) ?? 0) + 1);
    if (streak.failures < RETRY_STORM_MIN_FAILURES) {
      streak.pending.push({ timestamp: event.timestamp, spanId: event.span_id });
      return;
    }
    const evidence = this.result.evidence;
    if (streak.failures === RETRY_STORM_MIN_FAILURES) {
      this.result.storms++;
      this.result.stages.add(stage);
      for (const earlier of streak.pending) evidence.note(earlier.timestamp, undefined, earlier.spanId);
      streak.pending = [];
      for (const [id, count] of streak.causes) this.result.causes.set(id, (this.result.causes.get(id) ?? 0) + count);
      streak.causes.clear();
    }
    evidence.note(event.timestamp, undefined, event.span_id);
    const seconds = Number.isFinite(ms - streak.firstMs) ? (ms - streak.firstMs) / 1000 : 0;
    if (!this.result.longest || streak.failures > this.result.longest.failures) {
      this.result.longest = { failures: streak.failures, stage, model, seconds };
    }
  }

  /**
   * Lets go of the streaks a pause has ended: their next failure would start a new streak anyway
   * (see failure()). A service that names a stage per request opens one streak per failed request,
   * and would keep each for the whole run. (Exact for logs whose times do not go back by more than
   * the gap, as a live run's do not.) Runs when the map doubles (amortised O(1) per failure).
   */
  private sweep(): void {
    const before = this.newestMs - RETRY_GAP_SECONDS * 1000;
    for (const [key, streak] of this.streaks) if (streak.lastMs < before) this.streaks.delete(key);
    this.sweepAt = Math.max(SWEEP_AT, this.streaks.size * 2);
  }

  /** A successful call ends the streak of its stage and model. */
  success(event: TruthEvent): void {
    // Nearly every call succeeds with no streak open: skip building the key.
    if (this.streaks.size === 0) return;
    const data = event.data ?? {};
    const model = data.model === undefined || data.model === null ? '' : String(data.model);
    this.streaks.delete(`${stageKey(data)}\u0000${model}`);
  }

  get storms(): RetryStorms {
    return this.result;
  }

  get retained(): number {
    return this.streaks.size;
  }
}
