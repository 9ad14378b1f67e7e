import { EVENT_PHASES, EVENT_PREFIX, SPAN_KINDS, type EventPhase, type SpanKindName } from '../src/eventTypes';
import type { TruthEvent } from '../src/types';

export interface SpanEvent {
  readonly kind: SpanKindName;
  readonly phase: EventPhase;
  /** `<kind>_unfinished`, written at exit for a span still open: it closes the span like an end. */
  readonly unfinished: boolean;
}

/**
 * Every span event type, looked up whole (the readers ask it of every event): the types
 * parseEventType knows, plus `<prefix>_unfinished`, which closes a span like an end.
 */
const SPAN_EVENTS = new Map<string, SpanEvent>(
  SPAN_KINDS.flatMap((kind): Array<[string, SpanEvent]> => {
    const prefix = EVENT_PREFIX[kind];
    return [
      ...EVENT_PHASES.map((phase): [string, SpanEvent] => [`${prefix}_${phase}`, Object.freeze({ kind, phase, unfinished: false })]),
      [`${prefix}_unfinished`, Object.freeze({ kind, phase: 'end', unfinished: true })],
    ];
  }),
);

/** `<kind>_start` / `_end` / `_error` / `_unfinished` (as an end); undefined for other types. */
export function parseSpanEvent(type: string): SpanEvent | undefined {
  return SPAN_EVENTS.get(type);
}

/** What pairing reads of an event: its span id, and its data for the name of a span without one. */
export type PairedEvent = Pick<TruthEvent, 'span_id' | 'data'>;

/**
 * Pairs the start and end events of spans read from a log: by span id, or — for seed-style events,
 * which have none — by kind and name, the newest open one first. Holds only the open spans.
 */
export class SpanPairing<T> {
  private readonly byId = new Map<string, T>();
  private readonly anonymous = new Map<string, T[]>();

  open(event: PairedEvent, kind: SpanKindName, entry: T): void {
    if (event.span_id) {
      this.byId.set(event.span_id, entry);
      return;
    }
    const key = anonymousKey(kind, event.data);
    const stack = this.anonymous.get(key);
    if (stack) stack.push(entry);
    else this.anonymous.set(key, [entry]);
  }

  /**
   * The open span this end (or error, or unfinished) event closes, removed; undefined when unpaired.
   * Without a span id, an end closes the newest open span of its name, and an `<kind>_unfinished`
   * event (`unfinished`) the oldest: a run writes those at its end for every span still open,
   * oldest first, so the k-th of a name is its k-th oldest open span.
   */
  close(event: PairedEvent, kind: SpanKindName, unfinished = false): T | undefined {
    if (event.span_id) {
      const entry = this.byId.get(event.span_id);
      if (entry !== undefined) {
        this.byId.delete(event.span_id);
        return entry;
      }
    }
    return this.closeAnonymous(event, kind, unfinished);
  }

  /** close() for a caller that does not need the span: one map operation instead of two. */
  end(event: PairedEvent, kind: SpanKindName): void {
    if (event.span_id && this.byId.delete(event.span_id)) return;
    this.closeAnonymous(event, kind, false);
  }

  /** Closes the open span with this id; never one without an id. */
  endById(spanId: string): void {
    this.byId.delete(spanId);
  }

  private closeAnonymous(event: PairedEvent, kind: SpanKindName, oldest: boolean): T | undefined {
    const key = anonymousKey(kind, event.data);
    const stack = this.anonymous.get(key);
    if (!stack) return undefined;
    const entry = oldest ? stack.shift() : stack.pop();
    if (stack.length === 0) this.anonymous.delete(key);
    return entry;
  }

  /** Spans still open. */
  pending(): T[] {
    return [...this.byId.values(), ...[...this.anonymous.values()].flat()];
  }
}

function anonymousKey(kind: SpanKindName, data: Record<string, unknown> | undefined): string {
  const identity = kind === 'stage' ? data?.stage : kind === 'task' ? data?.task : undefined;
  return `${kind}\u0000${identity === undefined ? '' : String(identity)}`;
}
