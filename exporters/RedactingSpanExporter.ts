import type { Attributes } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { isSecretKey, REDACTED } from '../src/redact';
import { safeString } from '../src/safeValue';

function cleanAttributes(attributes: Attributes | undefined, maxStringLength: number): Attributes {
  const out: Attributes = {};
  if (!attributes) return out;
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined) continue;
    if (isSecretKey(key)) out[key] = REDACTED;
    else if (typeof value === 'string') out[key] = safeString(value, maxStringLength);
    else if (Array.isArray(value)) out[key] = value.map((item) => (typeof item === 'string' ? safeString(item, maxStringLength) : item)) as typeof value;
    else out[key] = value;
  }
  return out;
}

/**
 * Wraps the OTLP exporter so secrets never leave the process: span and event attributes
 * (exception messages and stack traces included) and status messages are redacted and bounded.
 */
export class RedactingSpanExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly maxStringLength: number,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    let cleaned: ReadableSpan[];
    try {
      cleaned = spans.map((span) => this.clean(span));
    } catch (error) {
      resultCallback({ code: 1, error: error as Error });
      return;
    }
    this.inner.export(cleaned, resultCallback);
  }

  private clean(span: ReadableSpan): ReadableSpan {
    const max = this.maxStringLength;
    const status = span.status.message ? { ...span.status, message: safeString(span.status.message, max) } : span.status;
    const events = span.events.map((event) => ({ ...event, attributes: cleanAttributes(event.attributes, max) }));
    // A plain object with the same fields: ReadableSpan is an interface, and spanContext stays a function.
    return {
      name: span.name,
      kind: span.kind,
      spanContext: () => span.spanContext(),
      parentSpanContext: span.parentSpanContext,
      startTime: span.startTime,
      endTime: span.endTime,
      status,
      attributes: cleanAttributes(span.attributes, max),
      links: span.links,
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
