import type { TlsFiles } from '../exporters/otlpAtExit';
import { redactString } from './redact';
import { warnAboutSetting } from './settingWarnings';

/**
 * The standard OTEL_* variables of span export, read for the exporters agent-autopsy builds itself
 * (its own tracer provider: an app's own SDK reads them for its exporters). The SDK 2.x
 * BatchSpanProcessor only falls back to OTEL_BSP_* for the options it is not given, with no check
 * (OTEL_BSP_MAX_QUEUE_SIZE=-1 dropped every span, OTEL_BSP_MAX_EXPORT_BATCH_SIZE=0 never returned
 * from a flush), and the OTLP exporter ignores OTEL_EXPORTER_OTLP_TIMEOUT when given a timeout; so
 * every value is read and checked here and passed explicitly. A value that is not valid is named
 * once on stderr and the default is used.
 */

/** The longest delay a Node timer takes (a longer one fires after 1 ms, with a warning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Default bound on one OTLP export, retries included (OTEL_EXPORTER_OTLP_TIMEOUT; the spec's 10 s
 * is long for a process that waits for it at exit): an unreachable collector never holds the
 * process for longer, at a normal exit or in the synchronous post after a crash. The local files
 * are complete either way.
 */
export const DEFAULT_EXPORT_TIMEOUT_MS = 3000;
/** Spans are sent in batches at most this often while the app runs, by default (OTEL_BSP_SCHEDULE_DELAY; the spec says 5 s). */
export const DEFAULT_BATCH_DELAY_MS = 1000;
/** How long the batch processor waits for one export before it goes on, by default (OTEL_BSP_EXPORT_TIMEOUT; the spec says 30 s). */
export const DEFAULT_BATCH_EXPORT_TIMEOUT_MS = 3000;
/** The spec's defaults for the queue (spans beyond it are not exported) and for the spans of one request. */
export const DEFAULT_MAX_QUEUE_SIZE = 2048;
export const DEFAULT_MAX_EXPORT_BATCH_SIZE = 512;

export interface BatchOptions {
  scheduledDelayMillis: number;
  exportTimeoutMillis: number;
  maxQueueSize: number;
  maxExportBatchSize: number;
}

interface NumberRule {
  valid: (value: number) => boolean;
  expected: string;
  unit: string;
}

const MILLISECONDS: NumberRule = { valid: (value) => value > 0 && value <= MAX_TIMER_MS, expected: `a number of milliseconds above 0 and at most ${MAX_TIMER_MS}`, unit: ' ms' };
const DELAY: NumberRule = { valid: (value) => value >= 0 && value <= MAX_TIMER_MS, expected: `a number of milliseconds from 0 to ${MAX_TIMER_MS}`, unit: ' ms' };
const COUNT: NumberRule = { valid: (value) => Number.isInteger(value) && value > 0, expected: 'a whole number above 0', unit: '' };

/** A variable's value as a warning quotes it (short). */
function quoted(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

/** The variable's number, or undefined when it is unset, empty or not valid (then named on stderr, saying what is used instead). */
function readNumber(env: NodeJS.ProcessEnv, name: string, rule: NumberRule, instead: () => string): number | undefined {
  const text = env[name];
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text.trim());
  if (Number.isFinite(value) && rule.valid(value)) return value;
  warnAboutSetting(`${name} should be ${rule.expected}, got ${quoted(text)}; ${instead()}`);
  return undefined;
}

function number(env: NodeJS.ProcessEnv, name: string, rule: NumberRule, fallback: number): number {
  return readNumber(env, name, rule, () => `the default (${fallback}${rule.unit}) is used`) ?? fallback;
}

/**
 * The bound on one OTLP export, retries included: OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, else
 * OTEL_EXPORTER_OTLP_TIMEOUT, else DEFAULT_EXPORT_TIMEOUT_MS. It also bounds the synchronous post at
 * exit and the wait for span export at the end of a run.
 */
export function exportTimeoutFromEnvironment(env: NodeJS.ProcessEnv = process.env): number {
  const generic = readNumber(env, 'OTEL_EXPORTER_OTLP_TIMEOUT', MILLISECONDS, () => `the default (${DEFAULT_EXPORT_TIMEOUT_MS} ms) is used`);
  const instead = generic === undefined ? `the default (${DEFAULT_EXPORT_TIMEOUT_MS} ms) is used` : `OTEL_EXPORTER_OTLP_TIMEOUT (${generic} ms) is used`;
  return readNumber(env, 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', MILLISECONDS, () => instead) ?? generic ?? DEFAULT_EXPORT_TIMEOUT_MS;
}

/** The BatchSpanProcessor's options from OTEL_BSP_*. */
export function batchOptionsFromEnvironment(env: NodeJS.ProcessEnv = process.env): BatchOptions {
  const options: BatchOptions = {
    scheduledDelayMillis: number(env, 'OTEL_BSP_SCHEDULE_DELAY', DELAY, DEFAULT_BATCH_DELAY_MS),
    exportTimeoutMillis: number(env, 'OTEL_BSP_EXPORT_TIMEOUT', MILLISECONDS, DEFAULT_BATCH_EXPORT_TIMEOUT_MS),
    maxQueueSize: number(env, 'OTEL_BSP_MAX_QUEUE_SIZE', COUNT, DEFAULT_MAX_QUEUE_SIZE),
    maxExportBatchSize: number(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', COUNT, DEFAULT_MAX_EXPORT_BATCH_SIZE),
  };
  if (options.maxExportBatchSize > options.maxQueueSize) {
    // The processor would cut it down too, saying so only to diag.
    warnAboutSetting(`OTEL_BSP_MAX_EXPORT_BATCH_SIZE (${options.maxExportBatchSize}) is above the queue size (${options.maxQueueSize}); batches of ${options.maxQueueSize} spans are sent`);
    options.maxExportBatchSize = options.maxQueueSize;
  }
  return options;
}

/**
 * The certificate files of OTEL_EXPORTER_OTLP_(TRACES_)CERTIFICATE, _CLIENT_CERTIFICATE and
 * _CLIENT_KEY (the TRACES one wins), which the HTTP exporter reads on its own during the run: the
 * post at exit reads the same files.
 */
export function tlsFilesFromEnvironment(env: NodeJS.ProcessEnv = process.env): TlsFiles {
  const file = (suffix: string) => env[`OTEL_EXPORTER_OTLP_TRACES_${suffix}`]?.trim() || env[`OTEL_EXPORTER_OTLP_${suffix}`]?.trim() || undefined;
  const files: TlsFiles = {};
  const ca = file('CERTIFICATE');
  const cert = file('CLIENT_CERTIFICATE');
  const key = file('CLIENT_KEY');
  if (ca) files.ca = ca;
  if (cert) files.cert = cert;
  if (key) files.key = key;
  return files;
}

export type OtlpCompression = 'gzip' | 'none';

/**
 * OTEL_EXPORTER_OTLP_TRACES_COMPRESSION, else OTEL_EXPORTER_OTLP_COMPRESSION: `gzip` or `none` (the
 * default), as the HTTP exporter reads them, passed to it and used by the post at exit too. Another
 * value is named once on stderr, and the generic variable's value or none is used instead, as the
 * exporter does (which would only tell its diag logger).
 */
export function compressionFromEnvironment(env: NodeJS.ProcessEnv = process.env): OtlpCompression {
  const read = (name: string, instead: string): OtlpCompression | undefined => {
    const value = env[name]?.trim();
    if (!value) return undefined;
    if (value === 'gzip' || value === 'none') return value;
    warnAboutSetting(`${name} should be gzip or none, got ${quoted(value)}; ${instead}`);
    return undefined;
  };
  const generic = read('OTEL_EXPORTER_OTLP_COMPRESSION', 'the spans are sent uncompressed');
  const instead = generic === undefined ? 'the spans are sent uncompressed' : `OTEL_EXPORTER_OTLP_COMPRESSION (${generic}) is used`;
  return read('OTEL_EXPORTER_OTLP_TRACES_COMPRESSION', instead) ?? generic ?? 'none';
}

/** The exporters OTEL_TRACES_EXPORTER names that agent-autopsy has (`none` means no exporter). */
const KNOWN_EXPORTERS = ['otlp', 'console', 'none'];

/** Names once on stderr each exporter in OTEL_TRACES_EXPORTER that agent-autopsy does not have (zipkin, jaeger, prometheus …). */
export function warnAboutExporters(names: readonly string[]): void {
  for (const name of names) {
    if (KNOWN_EXPORTERS.includes(name)) continue;
    warnAboutSetting(`OTEL_TRACES_EXPORTER: ${quoted(name)} is not an exporter agent-autopsy has (otlp, console, none); it is ignored`);
  }
}

/**
 * agent-autopsy sends OTLP/HTTP with JSON (@opentelemetry/exporter-trace-otlp-http). http/protobuf
 * is served the same way (collectors and Jaeger take JSON on the same port); grpc cannot be, and is
 * named once on stderr with what is sent instead, as is a protocol OTLP does not have.
 */
export function warnAboutProtocol(endpoint: string, env: NodeJS.ProcessEnv = process.env): void {
  const name = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?.trim() ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = env[name]?.trim() ?? '';
  if (protocol === '' || protocol === 'http/json' || protocol === 'http/protobuf') return;
  const sent = `spans are sent as OTLP/HTTP with JSON to ${redactString(endpoint)}`;
  if (protocol === 'grpc') {
    warnAboutSetting(`${name} is grpc, which agent-autopsy cannot send (it has no gRPC exporter); ${sent}, so the endpoint must be the collector's OTLP/HTTP one (port 4318, not 4317)`);
  } else {
    warnAboutSetting(`${name} should be http/json, http/protobuf or grpc, got ${quoted(protocol)}; ${sent}`);
  }
}
