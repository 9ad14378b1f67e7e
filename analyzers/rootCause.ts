import { parseEventType } from '../src/eventTypes';
import type { TruthEvent } from '../src/types';
import type { ErrorClassId } from './diagnosisTypes';
import { BoundedRing } from './BoundedRing';
import { stageKey } from './FailureAggregate';
import { timestampMs } from './timestampMs';

/**
 * Where an error started. An exception thrown in an LLM call travels up: the llm span fails, then
 * its task, then its stage, then perhaps the process. Each level writes an error event with the
 * same message, but there is one cause, and it counts once, at its origin.
 *
 * Span-derived events carry `span_id` and `parent_span_id`: an error is handed to its parent span
 * while that span is open, and the parent's error event repeats it when the message is the same
 * (or one contains the other: wrappers add context). Seed-style logs have no span ids; there an
 * error of a higher level (task over llm/code, stage over task) repeats one of a lower level when
 * it has the same message, in the same stage, within PROPAGATION_WINDOW_SECONDS (also used for
 * events of track(), which have span ids but no parent links). A warning that carries an error
 * (`error_recovery`, a retry notice) repeats an error of its own level as well.
 *
 * Memory: per open span with a failed descendant (capped: see MAX_PARENTS), per stage with an
 * error in the last PROPAGATION_WINDOW_SECONDS a short ring, and a capped table of origin
 * messages (to tell what a crash repeats) — never per event.
 */

/** Seed-style heuristic: how soon after the lower-level error its propagation must follow. */
export const PROPAGATION_WINDOW_SECONDS = 10;
/** Messages this short ("error", "failed") are compared only for equality, never by containment. */
const MIN_CONTAINED_LENGTH = 12;
const MAX_PER_SPAN = 16;
const RING_SIZE = 16;
const MAX_ORIGINS = 256;
/**
 * Parent spans with errors waiting below them, oldest out. A parent that writes no events (an HTTP
 * server span, or the app's own root span around each request of a service) never ends in the log,
 * and its entries would stay for good: one per failed request. Knowing which parents will report
 * would mean tracking every span's start and end (~1,700 instructions per span); spans that do
 * report leave the table when they end, so the oldest entries of a full table are those that never
 * will.
 */
const MAX_PARENTS = 1024;
const MAX_KEY_LENGTH = 500;
/** Stages with recent errors held before the first sweep of those idle past the window. */
const SWEEP_RECENT_AT = 1024;

/** One error as first reported, at its origin. */
export interface ErrorOrigin {
  /** Normalised message. */
  key: string;
  message: string;
  /** The diagnosis the origin error is evidence of, when classified. */
  id?: ErrorClassId;
  spanId?: string;
  timestamp: string;
  stage: string;
  type: string;
}

/** What observeEnd gives for nearly every span: nothing travels up (one shared empty list). */
export const NO_ORIGINS: readonly ErrorOrigin[] = Object.freeze([]);

interface Reported {
  origin: ErrorOrigin;
  /** Reported with a parent span id: a parent's error would have found it through the span tree. */
  parented: boolean;
  /** Level of the event that last reported it (0 leaf, 1 task, 2 stage, 3 process). */
  rank: number;
  ms: number;
}

/** 0: llm/code/autofix/custom events, 1: task, 2: stage, 3: the process (uncaught exception …). */
export function propagationRank(type: string): number {
  if (type === 'uncaught_exception' || type === 'unhandled_rejection') return 3;
  const parsed = parseEventType(type);
  if (parsed?.kind === 'stage') return 2;
  if (parsed?.kind === 'task') return 1;
  return 0;
}

/** The last message keyed: an error repeated many times in a row is keyed once. */
let lastMessage = '';
let lastKey = '';

export function messageKey(message: string): string {
  if (message !== lastMessage) {
    lastKey = message.replace(/\s+/g, ' ').trim().slice(0, MAX_KEY_LENGTH);
    lastMessage = message;
  }
  return lastKey;
}

/** Same error: equal messages, or one (long enough) contains the other. */
export function sameError(a: string, b: string): boolean {
  if (a === b) return a !== '';
  if (a.length < MIN_CONTAINED_LENGTH || b.length < MIN_CONTAINED_LENGTH) return false;
  return a.includes(b) || b.includes(a);
}

export class PropagationTracker {
  /** Open span id → errors its descendants reported. */
  private readonly below = new Map<string, BoundedRing<Reported>>();
  /** Stage → the last errors reported in it (seed-style heuristic). */
  private readonly recent = new Map<string, BoundedRing<Reported>>();
  /** Origin messages, oldest first (to tell what a crash repeats). */
  private readonly origins = new Map<string, ErrorOrigin>();
  /** The key set last in `origins`. */
  private newestOrigin: string | undefined;
  /** The latest error's time, and the size of `recent` at which it is next swept. */
  private newestMs = -Infinity;
  private sweepRecentAt = SWEEP_RECENT_AT;

  /**
   * Records an error event. Returns the origin it repeats, or undefined when the event is an
   * origin itself (a new cause).
   */
  observeError(event: TruthEvent, message: string, id?: ErrorClassId): ErrorOrigin | undefined {
    const key = messageKey(message);
    const rank = propagationRank(event.type);
    const stage = stageKey(event.data);
    const ms = timestampMs(event.timestamp);
    let origin: ErrorOrigin | undefined;
    if (event.span_id) {
      const reported = this.below.get(event.span_id);
      this.below.delete(event.span_id);
      if (reported) origin = oldestSameError(reported, key);
    }
    // A warning that carries an error (error_recovery, a retry notice) repeats a recent error of its
    // own level too: it reports what is being done about the error, not a new one.
    const notice = event.level === 'WARNING';
    if (!origin && (rank > 0 || notice)) {
      origin = rank === 3 ? this.findOrigin(message) : this.recentMatch(stage, key, notice ? rank + 1 : rank, ms, event.span_id !== undefined);
    }
    const entry: Reported = {
      parented: event.parent_span_id !== undefined,
      origin: origin ?? { key, message, id, spanId: event.span_id, timestamp: event.timestamp, stage, type: event.type },
      rank,
      ms,
    };
    if (event.parent_span_id && push(this.below, event.parent_span_id, entry, MAX_PER_SPAN) && this.below.size > MAX_PARENTS) {
      this.below.delete(this.below.keys().next().value as string);
    }
    if (ms > this.newestMs) this.newestMs = ms;
    if (push(this.recent, stage, entry, RING_SIZE) && this.recent.size >= this.sweepRecentAt) this.sweepRecent();
    if (!origin) {
      // Moved to the end (newest). An error repeated in a row is the newest already: a delete and
      // a set per event filled the map with deleted slots and rebuilt it every few events.
      if (key !== this.newestOrigin) this.origins.delete(key);
      this.origins.set(key, entry.origin);
      this.newestOrigin = key;
      if (this.origins.size > MAX_ORIGINS) this.origins.delete(this.origins.keys().next().value as string);
    }
    return origin;
  }

  /** A span ended (normally or unfinished): what its descendants reported no longer travels up. */
  observeEnd(event: TruthEvent): readonly ErrorOrigin[] {
    if (!event.span_id || this.below.size === 0) return NO_ORIGINS;
    const reported = this.below.get(event.span_id);
    if (!reported) return NO_ORIGINS;
    this.below.delete(event.span_id);
    const origins: ErrorOrigin[] = [];
    for (let i = 0; i < reported.length; i++) origins.push(reported.at(i).origin);
    return origins;
  }

  /** The origin an error message repeats (the most recent one), if any was recorded. */
  findOrigin(message: string): ErrorOrigin | undefined {
    const key = messageKey(message);
    const exact = this.origins.get(key);
    if (exact) return exact;
    let found: ErrorOrigin | undefined;
    for (const origin of this.origins.values()) if (sameError(origin.key, key)) found = origin;
    return found;
  }

  /** Entries retained (for memory tests). */
  get retained(): number {
    let total = this.origins.size;
    for (const list of this.below.values()) total += list.length;
    for (const list of this.recent.values()) total += list.length;
    return total;
  }

  /**
   * Lets go of the stages whose newest error is older than the propagation window: recentMatch()
   * skips such entries, so nothing they could match is lost. A service that names a stage per
   * request would otherwise keep a ring, with its messages, per failed request. A ring with an
   * entry without a time is kept. (Exact for logs whose times do not go back by more than the
   * window, as a live run's do not.) Runs when the map doubles (amortised O(1) per error).
   */
  private sweepRecent(): void {
    const before = this.newestMs - PROPAGATION_WINDOW_SECONDS * 1000;
    for (const [stage, ring] of this.recent) if (ring.every((entry) => entry.ms < before)) this.recent.delete(stage);
    this.sweepRecentAt = Math.max(SWEEP_RECENT_AT, this.recent.size * 2);
  }

  private recentMatch(stage: string, key: string, rank: number, ms: number, hasSpan: boolean): ErrorOrigin | undefined {
    const ring = this.recent.get(stage);
    if (!ring) return undefined;
    for (let i = ring.length - 1; i >= 0; i--) {
      const entry = ring.at(i);
      if (entry.rank >= rank) continue;
      // Both sides in a span tree: the tree already said this error is not from a descendant.
      if (hasSpan && entry.parented) continue;
      if (Number.isFinite(ms) && Number.isFinite(entry.ms) && ms - entry.ms > PROPAGATION_WINDOW_SECONDS * 1000) continue;
      if (sameError(entry.origin.key, key)) return entry.origin;
    }
    return undefined;
  }
}

/** The origin of the oldest entry with the same error as `key`. */
function oldestSameError(ring: BoundedRing<Reported>, key: string): ErrorOrigin | undefined {
  for (let i = 0; i < ring.length; i++) {
    const entry = ring.at(i);
    if (sameError(entry.origin.key, key)) return entry.origin;
  }
  return undefined;
}

/** Appends to `key`'s ring (the last `limit` entries); true when the key is new to the map. */
function push(map: Map<string, BoundedRing<Reported>>, key: string, entry: Reported, limit: number): boolean {
  let ring = map.get(key);
  const added = !ring;
  if (!ring) {
    ring = new BoundedRing(limit);
    map.set(key, ring);
  }
  ring.push(entry);
  return added;
}
