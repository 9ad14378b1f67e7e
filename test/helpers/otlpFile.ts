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

/**
 * A Collector export as JSON lines: `requests` traces, each a stage span (stage0 … stage9) with
 * `calls` LLM calls below it (gpt-4o, 50 tokens in and 10 out, every 20th failing with a rate limit).
 */
export function collectorExportLines(requests: number, calls: number): string {
  const hex = (value: number, length: number) => value.toString(16).padStart(length, '0');
  const ns = (ms: number) => `${ms}000000`;
  const attr = (key: string, value: string | number) => ({ key, value: typeof value === 'number' ? { intValue: String(value) } : { stringValue: value } });
  const lines: string[] = [];
  let id = 1;
  for (let request = 0; request < requests; request++) {
    const traceId = hex(request + 1, 32);
    const root = hex(id++, 16);
    const at = 1767225606000 + request * 200;
    const spans: object[] = [{ traceId, spanId: root, name: 'stage research', startTimeUnixNano: ns(at), endTimeUnixNano: ns(at + 100), attributes: [attr('autopsy.kind', 'stage'), attr('autopsy.stage', `stage${request % 10}`)], status: { code: 0 } }];
    for (let call = 0; call < calls; call++) {
      spans.push({
        traceId,
        spanId: hex(id++, 16),
        parentSpanId: root,
        name: 'chat gpt-4o',
        startTimeUnixNano: ns(at + call),
        endTimeUnixNano: ns(at + call + 1),
        attributes: [attr('gen_ai.operation.name', 'chat'), attr('gen_ai.request.model', 'gpt-4o'), attr('gen_ai.usage.input_tokens', 50), attr('gen_ai.usage.output_tokens', 10)],
        status: call % 20 === 0 ? { code: 2, message: 'Rate limit exceeded' } : { code: 0 },
      });
    }
    lines.push(JSON.stringify({ resourceSpans: [{ resource: { attributes: [attr('service.name', 'bot')] }, scopeSpans: [{ scope: { name: 'x' }, spans }] }] }));
  }
  return `${lines.join('\n')}\n`;
}
