import { context, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { spanEventType, type SpanKindName } from './eventTypes';
import * as sc from './semconv';
import { clipString } from './safeValue';
import { activeOwnSpan } from './separateSpans';
import { startWithData } from './spanData';
import type { EventData } from './types';

interface OpenTracked {
  kind: SpanKindName;
  key: string | undefined;
  span: Span;
  /** Opening order, to find the innermost enclosing span across kinds. */
  seq: number;
}

const RANK: Record<SpanKindName, number> = { stage: 0, task: 1, llm: 2, code_exec: 2, autofix: 2 };

/** The field that names a span of each kind, used to pair an `_end` with its `_start`. */
function identity(kind: SpanKindName, data: EventData): string | undefined {
  const value = kind === 'stage' ? data.stage : kind === 'task' ? data.task : undefined;
  return value === undefined || value === null ? undefined : String(value);
}

/** `<kind> <label>`; the label is clean data, cut at `max` (a list or object prints long). */
function spanName(kind: SpanKindName, data: EventData, max: number): string {
  const label = kind === 'stage' ? data.stage : kind === 'task' ? data.task : kind === 'llm' ? data.model : kind === 'code_exec' ? data.language : data.type;
  const prefix = kind === 'llm' ? 'chat' : kind;
  return label === undefined || label === null ? prefix : `${prefix} ${clipString(String(label), max)}`;
}

/**
 * Pairs seed-style `track('<kind>_start')` / `track('<kind>_end' | '<kind>_error')` calls into
 * spans, so code written against the original tracker still produces traces. The events
 * themselves are written by track(); these spans are marked so the processor does not repeat them.
 */
export class TrackedSpans {
  /** Open spans per kind, oldest first: pairing looks only at its own kind, from the newest. */
  private readonly open = new Map<SpanKindName, OpenTracked[]>();
  private seq = 0;
  /** Tracked spans open, of every kind: the wrappers ask only while there are some. */
  private openCount = 0;

  /** `startMsOf` gives when an open span of the run started (undefined for one it does not know). */
  constructor(private readonly startMsOf: (span: Span) => number | undefined) {}

  /** Starts the span of a `<kind>_start` event whose data is clean; names are cut at `max` characters. */
  start(tracer: Tracer, kind: SpanKindName, data: EventData, max: number): Span {
    const parent = this.parentContext(kind);
    const attributes: Record<string, string | boolean> = {
      [sc.ATTR_AUTOPSY_KIND]: kind,
      [sc.ATTR_AUTOPSY_TRACKED]: true,
      [sc.ATTR_AUTOPSY_EVENT_TYPE]: spanEventType(kind, 'start'),
    };
    if (typeof data.stage === 'string') attributes[sc.ATTR_AUTOPSY_STAGE] = data.stage;
    if (kind === 'llm' && typeof data.model === 'string') attributes[sc.ATTR_GEN_AI_REQUEST_MODEL] = data.model;
    const span = startWithData(data, () => tracer.startSpan(spanName(kind, data, max), { attributes }, parent));
    let stack = this.open.get(kind);
    if (!stack) this.open.set(kind, (stack = []));
    stack.push({ kind, key: identity(kind, data), span, seq: this.seq++ });
    this.openCount++;
    return span;
  }

  /** The open span this end/error event closes, removed from the open list; undefined when unpaired. */
  take(kind: SpanKindName, data: EventData): Span | undefined {
    const key = identity(kind, data);
    const stack = this.open.get(kind);
    if (!stack) return undefined;
    for (let i = stack.length - 1; i >= 0; i--) {
      const candidate = stack[i];
      if (key !== undefined && candidate.key !== undefined && candidate.key !== key) continue;
      stack.splice(i, 1);
      this.openCount--;
      return candidate.span;
    }
    return undefined;
  }

  /**
   * The context a wrapper's span of `kind` (`llmCall()` after `track('stage_start')`) starts in
   * when a tracked span of a lower rank is open: the newer of it and the active span is the parent,
   * as for a tracked start. Undefined when none is open (the active context is then the parent).
   */
  enclosingContext(kind: SpanKindName): Context | undefined {
    return this.openCount === 0 ? undefined : this.parentContext(kind, true);
  }

  private parentContext(kind: SpanKindName): Context;
  private parentContext(kind: SpanKindName, onlyTracked: true): Context | undefined;
  private parentContext(kind: SpanKindName, onlyTracked = false): Context | undefined {
    let innermost: OpenTracked | undefined;
    for (const [openKind, stack] of this.open) {
      const newest = stack[stack.length - 1];
      if (newest && RANK[openKind] < RANK[kind] && (!innermost || newest.seq > innermost.seq)) innermost = newest;
    }
    const active = context.active();
    if (!innermost) return onlyTracked ? undefined : active;
    // A span started after the tracked one and active here (a stage() opened later, inside which
    // this track() runs) is the nearer parent: of the two, the newer is the innermost, as the
    // event's stage is the active span's (track.ts).
    const activeSpan = activeOwnSpan(active);
    if (activeSpan !== undefined && activeSpan !== innermost.span && this.startedAfter(activeSpan, innermost.span)) return active;
    return trace.setSpan(active, innermost.span);
  }

  /** True when both spans are open in the run and `a` started after `b`. */
  private startedAfter(a: Span, b: Span): boolean {
    // By the run's clock (fractions of a microsecond): an SDK span's own startTime has whole milliseconds.
    const aMs = this.startMsOf(a);
    const bMs = this.startMsOf(b);
    return aMs !== undefined && bMs !== undefined && aMs > bMs;
  }
}
