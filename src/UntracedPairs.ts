import type { Span } from '@opentelemetry/api';
import { SpanPairing } from '../analyzers/SpanPairing';
import type { SpanIds } from './AutopsyRun';
import type { SpanKindName } from './eventTypes';
import type { EventData } from './types';

/** A seed-style `<kind>_start` whose span the run does not see, as its start event was written. */
export interface UntracedPair {
  kind: SpanKindName;
  /** The start event's data (clean, and not changed afterwards). */
  data: EventData;
  /** The start event's time. */
  startMs: number;
  /** The span track() started for it (a no-op span without a tracer provider), ended at exit. */
  span: Span;
  /** The start event's span ids; none without a tracer provider. */
  ids: SpanIds | undefined;
}

/**
 * The `track('<kind>_start')` … `track('<kind>_end' | '<kind>_error')` pairs of a bare
 * `ExecutionTracker`'s run, which sees no span for them: without `init()` there is no tracer
 * provider (the spans are no-op ones), and with `init()` for another directory, init()'s run is the
 * one that sees them. The run lists those still open at its end as unfinished, and must list what
 * a reader of its log would: so they are paired as the readers pair them (SpanPairing: by span id,
 * else by kind and stage or task name, the newest first), which is not always how track() pairs
 * its spans (TrackedSpans lets an end without a name close a named start). Holds the open pairs only.
 */
export class UntracedPairs {
  private readonly pairing = new SpanPairing<UntracedPair>();

  open(pair: UntracedPair): void {
    this.pairing.open({ span_id: pair.ids?.spanId, data: pair.data }, pair.kind, pair);
  }

  /** An end or error event, written with `ids` when it closed a span that has them. */
  end(kind: SpanKindName, data: EventData, ids: SpanIds | undefined): void {
    // Its start was written with the same ids: a reader pairs the two by id, and never closes a
    // start without ids with it (when the run does see that span, it is not here at all).
    if (ids) this.pairing.endById(ids.spanId);
    else this.pairing.end({ data }, kind);
  }

  /** The pairs still open, oldest first. */
  pending(): UntracedPair[] {
    return this.pairing.pending().sort((a, b) => a.startMs - b.startMs);
  }
}
