import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync, inflateSync } from 'node:zlib';

/**
 * An OTLP/HTTP traces receiver on 127.0.0.1 for tests. It decodes what the exporter sends
 * (OTLP/JSON, as @opentelemetry/exporter-trace-otlp-http 0.223 posts it, gzip or not) into flat
 * spans: ids as hex, attributes as plain values, the resource's attributes next to each span.
 * Anything it cannot decode is answered 415 and kept in `rejected`.
 */

export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Record<string, AttributeValue>;
  events: Array<{ name: string; attributes: Record<string, AttributeValue> }>;
  status: { code: number; message?: string };
  resource: Record<string, AttributeValue>;
  scope: { name: string; version?: string };
}

export interface OtlpRequest {
  path: string;
  contentType: string;
  headers: IncomingMessage['headers'];
  /** How many spans it carried (0 until decoded, or when it could not be). */
  spanCount: number;
}

export interface OtlpReceiver {
  /** Base URL, for OTEL_EXPORTER_OTLP_ENDPOINT (the exporter adds /v1/traces). */
  url: string;
  spans: ReceivedSpan[];
  requests: OtlpRequest[];
  rejected: Array<{ contentType: string; reason: string }>;
  /** Resolves once `count` spans arrived (rejects after `timeoutMs`, as a safety net only). */
  waitForSpans(count: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

interface AnyValueJson {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  bytesValue?: string;
  arrayValue?: { values?: AnyValueJson[] };
  kvlistValue?: { values?: KeyValueJson[] };
}

interface KeyValueJson {
  key: string;
  value?: AnyValueJson;
}

function decodeValue(value: AnyValueJson | undefined): AttributeValue {
  if (!value) return null;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.bytesValue !== undefined) return value.bytesValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(decodeValue);
  if (value.kvlistValue) return decodeAttributes(value.kvlistValue.values);
  return null;
}

function decodeAttributes(list: KeyValueJson[] | undefined): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const entry of list ?? []) out[entry.key] = decodeValue(entry.value);
  return out;
}

/** OTLP/JSON ids are hex; a base64 id (16 or 8 bytes) is converted. */
function decodeId(id: string | undefined, bytes: number): string | undefined {
  if (!id) return undefined;
  if (new RegExp(`^[0-9a-f]{${bytes * 2}}$`, 'i').test(id)) return id.toLowerCase();
  const decoded = Buffer.from(id, 'base64');
  if (decoded.length !== bytes) throw new Error(`bad span id ${id}`);
  return decoded.toString('hex');
}

/** Decodes one ExportTraceServiceRequest in OTLP/JSON. */
export function decodeOtlpJson(body: unknown): ReceivedSpan[] {
  const request = body as { resourceSpans?: Array<{ resource?: { attributes?: KeyValueJson[] }; scopeSpans?: Array<{ scope?: { name: string; version?: string }; spans?: Array<Record<string, any>> }> }> };
  if (!request || !Array.isArray(request.resourceSpans)) throw new Error('not an ExportTraceServiceRequest');
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of request.resourceSpans) {
    const resource = decodeAttributes(resourceSpans.resource?.attributes);
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        spans.push({
          traceId: decodeId(span.traceId, 16)!,
          spanId: decodeId(span.spanId, 8)!,
          parentSpanId: decodeId(span.parentSpanId, 8),
          name: span.name,
          kind: span.kind ?? 0,
          startTimeUnixNano: BigInt(span.startTimeUnixNano ?? 0),
          endTimeUnixNano: BigInt(span.endTimeUnixNano ?? 0),
          attributes: decodeAttributes(span.attributes),
          events: (span.events ?? []).map((event: { name: string; attributes?: KeyValueJson[] }) => ({ name: event.name, attributes: decodeAttributes(event.attributes) })),
          status: { code: span.status?.code ?? 0, ...(span.status?.message ? { message: span.status.message } : {}) },
          resource,
          scope: { name: scopeSpans.scope?.name ?? '', ...(scopeSpans.scope?.version ? { version: scopeSpans.scope.version } : {}) },
        });
      }
    }
  }
  return spans;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

export interface OtlpReceiverOptions {
  /** A key and certificate in PEM: the receiver speaks HTTPS. */
  tls?: { key: string; cert: string };
  /**
   * The first `stall` requests are read and never answered, and their spans are not kept: a
   * collector the request has not reached yet (a slow network). `onStall` is called for each.
   */
  stall?: number;
  onStall?: () => void;
}

export async function startOtlpReceiver({ tls, stall = 0, onStall }: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const requests: OtlpRequest[] = [];
  const rejected: OtlpReceiver['rejected'] = [];
  const waiters = new Set<() => void>();

  let stalled = 0;
  const listener: RequestListener = (request, response) => {
    if (stalled < stall) {
      stalled++;
      requests.push({ path: request.url ?? '', contentType: String(request.headers['content-type'] ?? ''), headers: request.headers, spanCount: 0 });
      request.resume();
      onStall?.();
      return;
    }
    readBody(request)
      .then((raw) => {
        const contentType = String(request.headers['content-type'] ?? '');
        const received: OtlpRequest = { path: request.url ?? '', contentType, headers: request.headers, spanCount: 0 };
        requests.push(received);
        const encoding = String(request.headers['content-encoding'] ?? '');
        const body = encoding === 'gzip' ? gunzipSync(raw) : encoding === 'deflate' ? inflateSync(raw) : raw;
        if (request.method !== 'POST' || !request.url?.startsWith('/v1/traces') || !contentType.startsWith('application/json')) {
          rejected.push({ contentType, reason: `${request.method} ${request.url}` });
          response.writeHead(415).end();
          return;
        }
        const decoded = decodeOtlpJson(JSON.parse(body.toString('utf8')));
        received.spanCount = decoded.length;
        spans.push(...decoded);
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        for (const wake of waiters) wake();
      })
      .catch((error: Error) => {
        rejected.push({ contentType: String(request.headers['content-type'] ?? ''), reason: error.message });
        response.writeHead(400).end();
      });
  };
  const server: Server = tls ? createTlsServer(tls, listener) : createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    spans,
    requests,
    rejected,
    waitForSpans(count, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (spans.length < count) return;
          cleanup();
          resolve(spans);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`only ${spans.length} of ${count} spans arrived`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface SilentCollector {
  url: string;
  close(): Promise<void>;
}

/** A collector on 127.0.0.1 that accepts each connection, reads the request and never answers. */
export async function startSilentCollector(): Promise<SilentCollector> {
  const server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Spans by name (the first of each). */
export function spansByName(spans: ReceivedSpan[]): Map<string, ReceivedSpan> {
  const map = new Map<string, ReceivedSpan>();
  for (const span of spans) if (!map.has(span.name)) map.set(span.name, span);
  return map;
}
