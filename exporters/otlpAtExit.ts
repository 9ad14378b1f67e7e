import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

/**
 * Sending spans while the process exits synchronously: after a crash, `process.exit()` or a
 * signal, Node runs no more network I/O, so the spans still queued (the crash's own among them)
 * would never leave. They are posted from a short-lived child process that this one waits for
 * (spawnSync), as OTLP/JSON, the same request the HTTP exporter makes; the wait is bounded.
 */

/**
 * Posts the requests it reads on stdin (a JSON line of {url, headers, timeoutMs, sizes, tls}, then
 * the bodies, `sizes` bytes each), one after another within timeoutMs in all; prints the outcome
 * of the first that fails. `tls` names the files of a private CA and a client certificate.
 */
const POST_SCRIPT = `
const chunks = [];
process.stdin.on('data', (chunk) => chunks.push(chunk));
process.stdin.on('end', () => {
  const input = Buffer.concat(chunks);
  const newline = input.indexOf(10);
  const { url, headers, timeoutMs, sizes, tls } = JSON.parse(input.subarray(0, newline).toString());
  const deadline = Date.now() + timeoutMs;
  const target = new URL(url);
  const done = (code, text) => { process.stdout.write(text); process.exit(code); };
  const secure = {};
  try {
    for (const [option, path] of Object.entries(tls)) secure[option] = require('node:fs').readFileSync(path);
  } catch (error) {
    done(3, JSON.stringify({ code: error.code, message: error.message }));
  }
  const post = (index, offset) => {
    if (index === sizes.length) return done(0, 'HTTP 200');
    const body = input.subarray(offset, offset + sizes[index]);
    const request = require(target.protocol === 'https:' ? 'node:https' : 'node:http').request(
      target,
      { ...secure, method: 'POST', headers: { ...headers, 'Content-Type': 'application/json', 'Content-Length': body.length }, timeout: Math.max(1, deadline - Date.now()) },
      (response) => {
        response.resume();
        response.on('end', () => {
          if (response.statusCode >= 200 && response.statusCode < 300) post(index + 1, offset + body.length);
          else done(2, 'HTTP ' + response.statusCode);
        });
      },
    );
    request.on('timeout', () => { request.destroy(); done(3, 'Request timed out'); });
    request.on('error', (error) => done(3, JSON.stringify({ code: error.code, message: error.message })));
    request.end(body);
  };
  post(0, newline + 1);
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
  /** Files of a private CA (`ca`) and a client certificate (`cert`, `key`), as the HTTP exporter reads them from OTEL_EXPORTER_OTLP_*. */
  tls?: TlsFiles;
  /** Sends the bodies gzipped (OTEL_EXPORTER_OTLP_COMPRESSION=gzip), as the run's exports are. */
  gzip?: boolean;
}

export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

/**
 * The variables of the app's environment the child keeps: those that say which certificates Node
 * trusts (a private CA in NODE_EXTRA_CA_CERTS is the usual way to reach an internal collector).
 */
const TLS_ENVIRONMENT = ['NODE_EXTRA_CA_CERTS', 'NODE_TLS_REJECT_UNAUTHORIZED', 'SSL_CERT_FILE', 'SSL_CERT_DIR'];

function childEnvironment(): NodeJS.ProcessEnv {
  // In an Electron app process.execPath is the app itself; this makes it run the script as Node.
  const env: NodeJS.ProcessEnv = { ELECTRON_RUN_AS_NODE: '1' };
  for (const name of TLS_ENVIRONMENT) if (process.env[name] !== undefined) env[name] = process.env[name];
  return env;
}

/** Why a post failed, as an Error like the HTTP exporter's (`code` ECONNREFUSED …), so the same cause is reported once. */
export type OtlpPostResult = { ok: true } | { ok: false; error: Error };

/**
 * Posts `bodies` (ExportTraceServiceRequests as OTLP/JSON), in order, synchronously. Never throws.
 * The child gets none of the app's environment but the certificates Node trusts (no NODE_OPTIONS:
 * a zero-code `--import` would record it), and the headers through stdin, not its command line,
 * where `ps` would show an API key.
 */
export function postSynchronously(bodies: Uint8Array[], post: OtlpPost): OtlpPostResult {
  try {
    // The child's start counts against the bound too, but never takes all of a short one.
    const requestMs = Math.max(Math.ceil(post.timeoutMs / 2), post.timeoutMs - START_ALLOWANCE_MS);
    const sent = post.gzip ? bodies.map((body) => gzipSync(body)) : bodies;
    const headers = post.gzip ? { ...post.headers, 'Content-Encoding': 'gzip' } : post.headers;
    const head = `${JSON.stringify({ url: post.url, headers, timeoutMs: requestMs, sizes: sent.map((body) => body.length), tls: post.tls ?? {} })}\n`;
    const result = spawnSync(process.execPath, ['-e', POST_SCRIPT], {
      input: Buffer.concat([Buffer.from(head), ...sent]),
      timeout: post.timeoutMs,
      env: childEnvironment(),
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

/**
 * The spans as OTLP/JSON requests of at most `batchSize` spans each (OTEL_BSP_MAX_EXPORT_BATCH_SIZE),
 * as @opentelemetry/exporter-trace-otlp-http serializes them.
 */
export function otlpJsonRequests(spans: ReadableSpan[], batchSize: number): Uint8Array[] {
  // Loaded only when needed, from the copy the HTTP exporter uses.
  const { JsonTraceSerializer } = require('@opentelemetry/otlp-transformer') as typeof import('@opentelemetry/otlp-transformer');
  const bodies: Uint8Array[] = [];
  for (let start = 0; start < spans.length; start += batchSize) {
    const body = JsonTraceSerializer.serializeRequest(spans.slice(start, start + batchSize));
    if (body) bodies.push(body);
  }
  return bodies;
}
