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

/**
 * Pairs the start and end events of spans read from a log: by span id, or — for seed-style events,
 * which have none — by kind and name, the newest open one first. Holds only the open spans.
 */
export class SpanPairing<T> {
  private readonly byId = new Map<string, T>();
  private readonly anonymous = new Map<string, T[]>();

  open(event: TruthEvent, kind: SpanKindName, entry: T): void {
    if (event.span_id) {
      this.byId.set(event.span_id, entry);
      return;
    }
    const key = anonymousKey(kind, event.data);
    const stack = this.anonymous.get(key);
    if (stack) stack.push(entry);
    else this.anonymous.set(key, [entry]);
  }

  /** The open span this end (or error, or unfinished) event closes, removed; undefined when unpaired. */
  close(event: TruthEvent, kind: SpanKindName): T | undefined {
    if (event.span_id) {
      const entry = this.byId.get(event.span_id);
      if (entry !== undefined) {
        this.byId.delete(event.span_id);
        return entry;
      }
    }
    return this.closeAnonymous(event, kind);
  }

  /** close() for a caller that does not need the span: one map operation instead of two. */
  end(event: TruthEvent, kind: SpanKindName): void {
    if (event.span_id && this.byId.delete(event.span_id)) return;
    this.closeAnonymous(event, kind);
  }

  private closeAnonymous(event: TruthEvent, kind: SpanKindName): T | undefined {
    const key = anonymousKey(kind, event.data);
    const stack = this.anonymous.get(key);
    if (!stack) return undefined;
    const entry = stack.pop();
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
