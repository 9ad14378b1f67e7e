import type { Attributes } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { reportExportError } from '../src/errorHandler';
import { EVENT_PREFIX, spanEventType } from '../src/eventTypes';
import { redactString } from '../src/redact';
import { cleanAttributes, safeString } from '../src/safeValue';
import { ATTR_AUTOPSY_EVENT_TYPE, ATTR_AUTOPSY_KIND, ATTR_AUTOPSY_UNFINISHED } from '../src/semconv';
import { classifySpan } from '../src/spanMapping';

/** Seed event type a span's end wrote (`llm_call_end`, `task_error` …), so backends show it. */
export const ATTR_AUTOPSY_EVENT_END_TYPE = 'autopsy.event.end_type';

const STATUS_ERROR = 2;

/** OTLP's gRPC port: a collector there does not speak the OTLP/HTTP this library sends. */
const OTLP_GRPC_PORT = '4317';

/**
 * How a failed export to `endpoint` is named, the same during the run and in the post at exit so
 * one cause is reported once. An endpoint on port 4317 gets a hint: that is OTLP's gRPC port.
 */
export function exportFailureContext(endpoint: string | undefined): string {
  if (!endpoint) return 'OTLP span export failed';
  let port = '';
  try {
    port = new URL(endpoint).port;
  } catch {
    /* not a URL: the exporter says so */
  }
  const hint = port === OTLP_GRPC_PORT ? ' (port 4317 is OTLP/gRPC; agent-autopsy sends OTLP/HTTP, which a collector takes on port 4318)' : '';
  return `OTLP span export to ${redactString(endpoint)} failed${hint}`;
}

/**
 * The seed vocabulary on every agent span, ours or another instrumentation's: `autopsy.kind`,
 * the start and end event types as attributes, and `<kind>_start` / `<kind>_end|error|unfinished`
 * span events at the span's start and end (Jaeger shows them as the span's logs).
 */
function withVocabulary(span: ReadableSpan, attributes: Attributes, events: ReadableSpan['events']): ReadableSpan['events'] {
  const kind = classifySpan(span.attributes);
  if (!kind) return events;
  const start = spanEventType(kind, 'start');
  // A span the exit closed as still open is `<kind>_unfinished` (WARNING) in the log, not a failure.
  const end = span.attributes[ATTR_AUTOPSY_UNFINISHED] === true ? `${EVENT_PREFIX[kind]}_unfinished` : spanEventType(kind, span.status.code === STATUS_ERROR ? 'error' : 'end');
  attributes[ATTR_AUTOPSY_KIND] ??= kind;
  attributes[ATTR_AUTOPSY_EVENT_TYPE] ??= start;
  attributes[ATTR_AUTOPSY_EVENT_END_TYPE] = end;
  return [{ name: start, time: span.startTime, attributes: {}, droppedAttributesCount: 0 }, ...events, { name: end, time: span.endTime, attributes: {}, droppedAttributesCount: 0 }];
}

/**
 * Wraps the OTLP exporter so secrets never leave the process: span names, span, event and link
 * attributes (exception messages and stack traces included), span event names and status
 * messages are redacted and bounded. A failed export is reported once through the error handler.
 * It also spells out the seed event vocabulary on agent spans (see withVocabulary).
 */
export class RedactingSpanExporter implements SpanExporter {
  /** While set (see hold and takeSpans), export() keeps the cleaned spans here instead of sending them. */
  private held: ReadableSpan[] | undefined;
  /**
   * Batches sent and not answered yet. A process that exits loses the request with it, so
   * takeSpans() hands them over again (a collector that took one gets it twice: OTLP's delivery is
   * at least once, as the exporter's own retries are).
   */
  private readonly inFlight = new Set<ReadableSpan[]>();
  /** Whether the last export failed (reported already): the exit does not wait on that collector again. */
  lastExportFailed = false;

  constructor(
    private readonly inner: SpanExporter,
    private readonly maxStringLength: number,
    /** The collector's URL, named when an export fails. */
    private readonly endpoint?: string,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    let cleaned: ReadableSpan[];
    try {
      cleaned = spans.map((span) => this.clean(span));
    } catch (error) {
      resultCallback({ code: 1, error: error as Error });
      return;
    }
    if (this.held) {
      this.held.push(...cleaned);
      resultCallback({ code: 0 });
      return;
    }
    this.inFlight.add(cleaned);
    this.inner.export(cleaned, (result) => {
      this.inFlight.delete(cleaned);
      this.lastExportFailed = result.code !== 0;
      // Tell the user once (per reason) that spans are not arriving; the local autopsy is unaffected.
      if (result.code !== 0) reportExportError(result.error ?? new Error('export failed'), exportFailureContext(this.endpoint));
      resultCallback(result);
    });
  }

  /**
   * The process is exiting and can send no more asynchronously: from now on export() keeps the
   * cleaned spans for takeSpans() instead of sending them. (The spans the exit ends as unfinished
   * can fill a batch, OTEL_BSP_MAX_EXPORT_BATCH_SIZE, and the processor would export it at once.)
   */
  hold(): void {
    this.held ??= [];
  }

  /**
   * The spans of the batches still in flight, those held so far and those `flush` hands to export()
   * before it returns, cleaned, oldest first, taken instead of sent: a BatchSpanProcessor's
   * forceFlush() passes its whole queue synchronously (with no resource attributes pending, as ours
   * has none), for a process that exits and can send no more.
   */
  takeSpans(flush: () => void): ReadableSpan[] {
    const holding = this.held !== undefined;
    const held: ReadableSpan[] = [];
    for (const batch of this.inFlight) held.push(...batch);
    this.inFlight.clear();
    if (this.held) held.push(...this.held);
    this.held = held;
    try {
      flush();
    } finally {
      this.held = holding ? [] : undefined;
    }
    return held;
  }

  private clean(span: ReadableSpan): ReadableSpan {
    const max = this.maxStringLength;
    const status = span.status.message ? { ...span.status, message: safeString(span.status.message, max) } : span.status;
    const attributes = cleanAttributes(span.attributes, max);
    const events = withVocabulary(
      span,
      attributes,
      span.events.map((event) => ({ ...event, name: safeString(event.name, max), attributes: cleanAttributes(event.attributes, max) })),
    );
    // A plain object with the same fields: ReadableSpan is an interface, and spanContext stays a function.
    return {
      name: safeString(span.name, max),
      kind: span.kind,
      spanContext: () => span.spanContext(),
      parentSpanContext: span.parentSpanContext,
      startTime: span.startTime,
      endTime: span.endTime,
      status,
      attributes,
      links: span.links.map((link) => (link.attributes ? { ...link, attributes: cleanAttributes(link.attributes, max) } : link)),
      events,
      duration: span.duration,
      ended: span.ended,
      resource: span.resource,
      instrumentationScope: span.instrumentationScope,
      droppedAttributesCount: span.droppedAttributesCount,
      droppedEventsCount: span.droppedEventsCount,
      droppedLinksCount: span.droppedLinksCount,
    };
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush ? this.inner.forceFlush() : Promise.resolve();
  }
}
