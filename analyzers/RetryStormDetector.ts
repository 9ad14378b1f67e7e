import type { TruthEvent } from '../src/types';
import type { ErrorClassId } from './diagnosisTypes';
import { httpStatusOf } from './errorClassifier';
import { eventErrorText } from './eventErrors';
import { Evidence } from './Evidence';
import { stageKey } from './FailureAggregate';
import { failedAttemptsOf } from './RetryTally';
import { timestampMs } from './timestampMs';

/**
 * A retry storm: the same LLM call failing again and again without a success in between.
 * Calls are "the same" when they share stage and model; a streak is broken by a successful call
 * or by a pause longer than RETRY_GAP_SECONDS. RETRY_STORM_MIN_FAILURES failures in a row (the
 * first attempt and at least three retries) make a storm — the seed calls more than three LLM
 * errors "frequent" too.
 *
 * Whether the calls were retries shows in the span tree: a retry loop makes its calls under the
 * same parent span, an SDK that retried says so (`failed_attempts`). A streak whose every call
 * has a parent of its own and no failed attempts was a batch of different calls (one per task),
 * never retried. Such a batch that failed only with what no retry fixes (a refused key, a prompt
 * over the context window, another 4xx) is no storm at all: the diagnosis of that error says all
 * there is. A batch of different calls failing with what could pass later (429, 5xx, timeouts)
 * still counts, and the report says they were different calls (`distinct`). Calls without a parent
 * span (a log of the original tracker, a zero-code agent without stages) cannot tell: they count
 * as before, as retries.
 *
 * A storm whose waits between failures grew as a backoff's do (BACKOFF_MIN_GAPS gaps or more, none
 * under half the one before, the last at least BACKOFF_GROWTH times the first and at least
 * BACKOFF_MIN_LAST_GAP_SECONDS) was retried with backoff already, as LangChain and other frameworks
 * retry above the SDK: telling it to back off would repeat what was done. (Milliseconds apart, a
 * loop that retries at once can look like growing waits by chance.)
 */
export const RETRY_STORM_MIN_FAILURES = 4;
export const RETRY_GAP_SECONDS = 120;
/** Parent spans remembered per streak to see a call made again; past this, no new repeat is noticed. */
const PARENTS_KEPT = 16;
/** Failures kept by time and span id while a streak is not (yet) a storm; the rest are only counted. */
const PENDING_KEPT = 10;
export const BACKOFF_MIN_GAPS = 3;
export const BACKOFF_GROWTH = 3;
export const BACKOFF_MIN_LAST_GAP_SECONDS = 1;

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
  /** Failures beyond PENDING_KEPT while not a storm, counted only. */
  unkept: number;
  firstMs: number;
  /** Failures of this streak by cause, until it becomes a storm. */
  causes: Map<ErrorClassId, number>;
  /** Counted as a storm (once it is, it stays one). */
  storm: boolean;
  /** Some call was made again: a parent span seen twice, failed attempts, or no parent to tell. */
  retried: boolean;
  /** Every failure so far was one no retry fixes. */
  hopeless: boolean;
  parents: string[];
  /** The first wait between two failures and the latest one, in ms (NaN until there are two failures). */
  firstGapMs: number;
  lastGapMs: number;
  gaps: number;
  /** No wait so far was under half the one before it (a backoff's waits grow; jitter may shrink one a little). */
  growing: boolean;
}

/** The waits of a storm retried with backoff: the first and the last, in seconds. */
export interface Backoff {
  firstGapSeconds: number;
  lastGapSeconds: number;
}

export interface RetryStorms {
  evidence: Evidence;
  /** Failures in storms by the diagnosis of their errors (what caused the storm). */
  causes: Map<ErrorClassId, number>;
  /** Stages with a storm. */
  stages: Set<string>;
  /** Longest streak: failures, stage, model, seconds. */
  longest: { failures: number; stage: string; model: string; seconds: number; backoff?: Backoff } | undefined;
  /** Storms counted (each streak that reached the threshold). */
  storms: number;
  /** No storm showed a call made again: each was a run of different calls failing in a row. */
  distinct: boolean;
}

/** Streaks held before the first sweep of those a pause has ended (see sweep()). */
const SWEEP_AT = 1024;

export class RetryStormDetector {
  private readonly streaks = new Map<string, Streak>();
  /** The latest failure's time: a streak whose last failure is RETRY_GAP_SECONDS older is over. */
  private newestMs = -Infinity;
  private sweepAt = SWEEP_AT;
  private readonly result: RetryStorms = { evidence: new Evidence(), causes: new Map(), stages: new Set(), longest: undefined, storms: 0, distinct: true };

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
      streak = { stage, model, failures: 0, firstMs: ms, lastMs: ms, pending: [], unkept: 0, causes: new Map(), storm: false, retried: false, hopeless: true, parents: [], firstGapMs: NaN, lastGapMs: NaN, gaps: 0, growing: true };
      this.streaks.set(key, streak);
      if (this.streaks.size >= this.sweepAt) this.sweep();
    }
    if (streak.failures > 0) noteGap(streak, ms - streak.lastMs);
    streak.failures++;
    streak.lastMs = ms;
    if (!streak.retried) streak.retried = madeAgain(streak.parents, event);
    if (streak.hopeless) streak.hopeless = cannotSucceed(event, cause);
    const causes = streak.storm ? this.result.causes : streak.causes;
    if (cause) causes.set(cause, (causes.get(cause) ?? 0) + 1);
    const evidence = this.result.evidence;
    if (!streak.storm) {
      // Different calls that all failed for good: the error's own diagnosis says it all.
      if (streak.failures < RETRY_STORM_MIN_FAILURES || (streak.hopeless && !streak.retried)) {
        if (streak.pending.length < PENDING_KEPT) streak.pending.push({ timestamp: event.timestamp, spanId: event.span_id });
        else streak.unkept++;
        return;
      }
      streak.storm = true;
      this.result.storms++;
      this.result.stages.add(stage);
      for (const earlier of streak.pending) evidence.note(earlier.timestamp, undefined, earlier.spanId);
      // The failures not kept came after those kept, before this one: counted at the latest time known.
      if (streak.unkept > 0) evidence.note(event.timestamp, undefined, undefined, streak.unkept);
      streak.pending = [];
      streak.unkept = 0;
      for (const [id, count] of streak.causes) this.result.causes.set(id, (this.result.causes.get(id) ?? 0) + count);
      streak.causes.clear();
    }
    if (streak.retried) this.result.distinct = false;
    evidence.note(event.timestamp, undefined, event.span_id);
    const seconds = Number.isFinite(ms - streak.firstMs) ? (ms - streak.firstMs) / 1000 : 0;
    if (!this.result.longest || streak.failures > this.result.longest.failures) {
      const backoff = backedOff(streak);
      this.result.longest = backoff ? { failures: streak.failures, stage, model, seconds, backoff } : { failures: streak.failures, stage, model, seconds };
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

/**
 * Whether this failed call shows the streak's calls were made again: its client had retried it
 * (`failed_attempts`), it has no parent span to tell, or its parent span made a failed call of the
 * streak before (a retry loop in a task). Records its parent, while fewer than PARENTS_KEPT are.
 */
function madeAgain(parents: string[], event: TruthEvent): boolean {
  const parent = event.parent_span_id;
  if (!parent || failedAttemptsOf(event.data) > 0) return true;
  if (parents.includes(parent)) return true;
  if (parents.length < PARENTS_KEPT) parents.push(parent);
  return false;
}

/** A failure no retry of the same request fixes: a refused key, a prompt over the window, another 4xx (not 408, 409 or 429). */
function cannotSucceed(event: TruthEvent, cause: ErrorClassId | undefined): boolean {
  if (cause === 'auth_failure' || cause === 'context_length_exceeded') return true;
  if (cause !== undefined) return false;
  const data = event.data ?? {};
  const stated = typeof data.http_status === 'number' ? data.http_status : undefined;
  const status = stated ?? httpStatusOf({ errorType: typeof data.error_type === 'string' ? data.error_type : undefined, message: eventErrorText(event) });
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 409 && status !== 429;
}

/** One more wait between two failures of the streak (NaN for times the log does not give). */
function noteGap(streak: Streak, gapMs: number): void {
  if (!Number.isFinite(gapMs)) {
    streak.growing = false;
    return;
  }
  if (streak.gaps === 0) streak.firstGapMs = gapMs;
  else if (gapMs * 2 < streak.lastGapMs) streak.growing = false;
  streak.lastGapMs = gapMs;
  streak.gaps++;
}

/** The streak's waits, when they grew as a backoff's do. */
function backedOff(streak: Streak): Backoff | undefined {
  if (!streak.growing || streak.gaps < BACKOFF_MIN_GAPS || !(streak.firstGapMs > 0)) return undefined;
  if (streak.lastGapMs < BACKOFF_GROWTH * streak.firstGapMs || streak.lastGapMs < BACKOFF_MIN_LAST_GAP_SECONDS * 1000) return undefined;
  return { firstGapSeconds: streak.firstGapMs / 1000, lastGapSeconds: streak.lastGapMs / 1000 };
}
