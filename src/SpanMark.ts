import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span } from '@opentelemetry/sdk-trace-base';
import type { AutopsyRun, OpenSpanEntry } from './AutopsyRun';
import type { SpanKindName } from './eventTypes';
import type { SpanHandover } from './spanData';
import type { EventData } from './types';

/** Turns a queued mark into the run's events (the span processor). Never throws. */
export interface SpanMarkMapper {
  mapMark(run: AutopsyRun, mark: SpanMark): void;
  /**
   * An open span that had no kind so far, classified by its attributes as they are now; when it
   * has one, its start event is recorded. (The run asks before it lists the open spans.)
   */
  classifyOpen(run: AutopsyRun, entry: OpenSpanEntry): void;
  /** Records the ends still waiting for a span folded into them (the run calls it as it closes the open spans). */
  endDeferred(run: AutopsyRun): void;
}

/** What a span's start event is made of, read from the span when it starts. */
export interface SpanStartFacts {
  /** The span's kind by its attributes (spanMapping.ts classifySpan); undefined: not an agent span (yet). */
  kind: SpanKindName | undefined;
  /** One of agent-autopsy's own spans (`autopsy.kind` set). */
  own: boolean;
  /** Started by track(), which writes its events itself. */
  tracked: boolean;
  /** The stage the span defines or names (spanMapping.ts declaredStage), not cleaned yet. */
  declaredStage: string | undefined;
  name: string;
  /** Start data of a span the wrappers did not hand any over for (spanMapping.ts foreignStartData), not cleaned yet. */
  foreignData: EventData | undefined;
}

/**
 * A span's start or end as it happened, queued in the run with the events and turned into its
 * Truth-Mode event when the queue drains (or when something needs the open spans now: see
 * AutopsyRun.settleSpans). The span processor's own work then runs while the agent waits (an LLM
 * call's request in flight), not on the call's path (bench/README.md item 29).
 *
 * What a span's start event needs of the span is read when it starts (SpanStartFacts): an
 * instrumentation adds the response's attributes to the same object later, and the event must not
 * depend on when the queue drained. A span that has ended no longer changes. The exception is a
 * span whose attributes said nothing of its kind as it started: some instrumentations set them
 * right after startSpan (OpenInference, OpenLLMetry's workflow and task spans), so it is looked at
 * again when its mark is mapped, and failing that at its end or when the open spans are listed.
 */
export class SpanMark {
  private constructor(
    readonly mapper: SpanMarkMapper,
    /** A start (true) or an end (false). */
    readonly isStart: boolean,
    readonly span: Span | ReadableSpan,
    /** When it happened (clock.ts nowMs). */
    readonly atMs: number,
    /** Start: what a wrapper parked for this span (spanData.ts). */
    readonly handover: SpanHandover | undefined,
    /** Start: the context the span started in. */
    readonly parentContext: Context | undefined,
    /** Start: the span as it started. */
    readonly facts: SpanStartFacts | undefined,
    /** End: data set on a handle around a span of another instrumentation (spanData.ts addEndData). */
    readonly endData: EventData | undefined,
  ) {}

  static start(mapper: SpanMarkMapper, span: Span, atMs: number, handover: SpanHandover | undefined, parentContext: Context, facts: SpanStartFacts): SpanMark {
    return new SpanMark(mapper, true, span, atMs, handover, parentContext, facts, undefined);
  }

  static end(mapper: SpanMarkMapper, span: ReadableSpan, atMs: number, endData: EventData | undefined): SpanMark {
    return new SpanMark(mapper, false, span, atMs, undefined, undefined, undefined, endData);
  }
}
