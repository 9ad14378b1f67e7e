import { spawnSync } from 'node:child_process';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

/**
 * Sending spans while the process exits synchronously: after a crash, `process.exit()` or a
 * signal, Node runs no more network I/O, so the spans still queued (the crash's own among them)
 * would never leave. They are posted from a short-lived child process that this one waits for
 * (spawnSync), as OTLP/JSON, the same request the HTTP exporter makes; the wait is bounded.
 */

/** Posts the request it reads on stdin (a JSON line of {url, headers, timeoutMs}, then the body); prints the outcome. */
const POST_SCRIPT = `
const chunks = [];
process.stdin.on('data', (chunk) => chunks.push(chunk));
process.stdin.on('end', () => {
  const input = Buffer.concat(chunks);
  const newline = input.indexOf(10);
  const { url, headers, timeoutMs } = JSON.parse(input.subarray(0, newline).toString());
  const body = input.subarray(newline + 1);
  const target = new URL(url);
  const done = (code, text) => { process.stdout.write(text); process.exit(code); };
  const request = require(target.protocol === 'https:' ? 'node:https' : 'node:http').request(
    target,
    { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json', 'Content-Length': body.length }, timeout: timeoutMs },
    (response) => {
      response.resume();
      response.on('end', () => done(response.statusCode >= 200 && response.statusCode < 300 ? 0 : 2, 'HTTP ' + response.statusCode));
    },
  );
  request.on('timeout', () => { request.destroy(); done(3, 'Request timed out'); });
  request.on('error', (error) => done(3, JSON.stringify({ code: error.code, message: error.message })));
  request.end(body);
});
`;

/** Time left to the child for starting Node before the request's own timeout counts. */
const START_ALLOWANCE_MS = 500;

export interface OtlpPost {
  /** The full traces URL (…/v1/traces). */
  url: string;
  headers: Record<string, string>;
  /** The longest this process waits for the whole post, the child's start included. */
  timeoutMs: number;
}

/** Why a post failed, as an Error like the HTTP exporter's (`code` ECONNREFUSED …), so the same cause is reported once. */
export type OtlpPostResult = { ok: true } | { ok: false; error: Error };

/**
 * Posts `body` (an ExportTraceServiceRequest as OTLP/JSON) synchronously. Never throws. The child
 * gets no environment of the app (no NODE_OPTIONS: a zero-code `--import` would record it) and
 * the headers through stdin, not its command line, where `ps` would show an API key.
 */
export function postSynchronously(body: Uint8Array, post: OtlpPost): OtlpPostResult {
  try {
    const head = `${JSON.stringify({ url: post.url, headers: post.headers, timeoutMs: Math.max(1, post.timeoutMs - START_ALLOWANCE_MS) })}\n`;
    const result = spawnSync(process.execPath, ['-e', POST_SCRIPT], {
      input: Buffer.concat([Buffer.from(head), body]),
      timeout: post.timeoutMs,
      env: {},
      stdio: ['pipe', 'pipe', 'ignore'],
      windowsHide: true,
    });
    if (result.status === 0) return { ok: true };
    if (result.error || result.signal) return { ok: false, error: new Error('Request timed out') };
    const said = String(result.stdout ?? '');
    if (said.startsWith('{')) {
      const { code, message } = JSON.parse(said) as { code?: string; message?: string };
      return { ok: false, error: Object.assign(new Error(message ?? 'export failed'), code ? { code } : {}) };
    }
    return { ok: false, error: new Error(said || `export failed (exit code ${result.status})`) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
  }
}

/** The spans as one OTLP/JSON request, as @opentelemetry/exporter-trace-otlp-http serializes them. */
export function otlpJsonRequest(spans: ReadableSpan[]): Uint8Array | undefined {
  // Loaded only when needed, from the copy the HTTP exporter uses.
  const { JsonTraceSerializer } = require('@opentelemetry/otlp-transformer') as typeof import('@opentelemetry/otlp-transformer');
  return JsonTraceSerializer.serializeRequest(spans);
}
