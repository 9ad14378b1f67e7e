import type { Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempRunDir } from './tempDirs';

/** The spans as the Collector's file exporter writes them (OTLP/JSON, one request). */
export function writeOtlpFile(spans: ReadableSpan[]): string {
  const value = (v: unknown) =>
    typeof v === 'string' ? { stringValue: v } : typeof v === 'number' ? (Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v }) : typeof v === 'boolean' ? { boolValue: v } : { arrayValue: { values: (v as unknown[]).map((x) => ({ stringValue: String(x) })) } };
  const attributes = (attrs: Attributes) => Object.entries(attrs).map(([key, v]) => ({ key, value: value(v) }));
  const ns = ([seconds, nanos]: [number, number]) => (BigInt(seconds) * 1_000_000_000n + BigInt(nanos)).toString();
  const otlp = spans.map((span) => ({
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    ...(span.parentSpanContext ? { parentSpanId: span.parentSpanContext.spanId } : {}),
    name: span.name,
    startTimeUnixNano: ns(span.startTime),
    endTimeUnixNano: ns(span.endTime),
    attributes: attributes(span.attributes),
    status: { code: span.status.code, ...(span.status.message ? { message: span.status.message } : {}) },
    events: span.events.map((event) => ({ name: event.name, timeUnixNano: ns(event.time), attributes: attributes(event.attributes ?? {}) })),
  }));
  const file = join(tempRunDir('autopsy-otlp-file-'), 'traces.json');
  writeFileSync(file, JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 'ai' }, spans: otlp }] }] }));
  return file;
}
