import { resolve } from 'node:path';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { diag } from '@opentelemetry/api';
import { isKnownLocale, normalizeLocale } from '../analyzers/messages';
import type { DiagnosisRule } from '../analyzers/diagnosisTypes';
import { writeStderr } from './errorHandler';
import { GuardedSpanProcessor } from './GuardedSpanProcessor';
import { DEFAULT_MAX_STRING_LENGTH, safeString } from './safeValue';
import type { AutopsyOptions, Locale } from './types';

export interface ResolvedConfig {
  outputDir: string;
  serviceName: string;
  locale: Locale;
  captureContent: boolean;
  maxStringLength: number;
  otlpEndpoint?: string;
  otlpHeaders: Record<string, string>;
  spanProcessors: SpanProcessor[];
  handleExit: boolean;
  reportFormats: Array<'md' | 'html'>;
  rules: DiagnosisRule[];
  flushIntervalMs: number;
  printReportPath: boolean;
  instrumentChildProcesses: boolean;
  /**
   * `OTEL_SDK_DISABLED=true`: OpenTelemetry is switched off for the app, so no OTLP export and no
   * global tracer provider; the local autopsy is still written (see tracing.ts).
   */
  otelSdkDisabled: boolean;
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);

export function envFlag(value: string | undefined): boolean | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return TRUE_WORDS.has(value.trim().toLowerCase());
}

/** `k1=v1,k2=v2` as OTEL_EXPORTER_OTLP_HEADERS spells it (values may be URL-encoded). */
export function parseOtlpHeaders(value: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (!value) return headers;
  for (const pair of value.split(',')) {
    const cut = pair.indexOf('=');
    if (cut <= 0) continue;
    const key = pair.slice(0, cut).trim();
    let raw = pair.slice(cut + 1).trim();
    try {
      raw = decodeURIComponent(raw);
    } catch {
      /* keep it as written */
    }
    if (key) headers[key] = raw;
  }
  return headers;
}

/** `service.name` given in OTEL_RESOURCE_ATTRIBUTES (`k1=v1,k2=v2`, URL-encoded values), if any. */
function resourceServiceName(value: string | undefined): string | undefined {
  for (const pair of (value ?? '').split(',')) {
    const cut = pair.indexOf('=');
    if (cut <= 0 || pair.slice(0, cut).trim() !== 'service.name') continue;
    try {
      return decodeURIComponent(pair.slice(cut + 1).trim()) || undefined;
    } catch {
      return pair.slice(cut + 1).trim() || undefined;
    }
  }
  return undefined;
}

function defaultRunName(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${process.pid}`;
}

/** OTLP traces URL from the option or the standard variables (the generic one gets `/v1/traces`). */
export function resolveOtlpEndpoint(option: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (option) return option;
  // OTEL_TRACES_EXPORTER names the exporters to set up (default otlp); `none` (or a list without otlp) means none.
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
  if (exporters.length > 0 && !exporters.includes('otlp')) return undefined;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (base) return `${base.replace(/\/+$/, '')}/v1/traces`;
  return undefined;
}

export function resolveConfig(options: AutopsyOptions = {}, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  // An empty variable is unset, as for OTEL_SERVICE_NAME (resolve('') would be the working directory).
  const outputDir = resolve(options.outputDir ?? (env.AGENT_AUTOPSY_DIR || undefined) ?? `autopsy-runs/${defaultRunName()}`);
  const maxStringLength = positive(options.maxStringLength) ?? DEFAULT_MAX_STRING_LENGTH;
  return {
    outputDir,
    // Written in the report and sent as the resource's service.name: bounded and redacted like
    // every other string the app hands over.
    serviceName: safeString(String(options.serviceName ?? (env.OTEL_SERVICE_NAME || undefined) ?? resourceServiceName(env.OTEL_RESOURCE_ATTRIBUTES) ?? 'agent'), maxStringLength),
    locale: resolveLocale(options.locale ?? env.AGENT_AUTOPSY_LOCALE),
    captureContent: options.captureContent ?? envFlag(env.AGENT_AUTOPSY_CAPTURE_CONTENT) ?? false,
    maxStringLength,
    otlpEndpoint: resolveOtlpEndpoint(options.otlpEndpoint, env),
    otlpHeaders: { ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS), ...options.otlpHeaders },
    spanProcessors: guardedProcessors(options.spanProcessors),
    handleExit: options.handleExit ?? true,
    reportFormats: resolveReportFormats(options.reportFormats),
    rules: options.rules ?? [],
    flushIntervalMs: positive(options.flushIntervalMs) ?? 25,
    printReportPath: options.printReportPath ?? envFlag(env.AGENT_AUTOPSY_PRINT) ?? false,
    instrumentChildProcesses: options.instrumentChildProcesses ?? envFlag(env.AGENT_AUTOPSY_CHILD_PROCESSES) ?? false,
    otelSdkDisabled: envFlag(env.OTEL_SDK_DISABLED) ?? false,
  };
}

/** A setting that cannot be honoured is named on stderr, and the run goes on with the default. */
function warnAboutSetting(message: string): void {
  writeStderr(`agent-autopsy: ${message}\n`);
  try {
    diag.warn(message);
  } catch {
    /* a user's diag logger threw */
  }
}

function resolveLocale(value: string | undefined): Locale {
  if (value !== undefined && value !== '' && !isKnownLocale(String(value))) {
    warnAboutSetting(`unknown locale ${JSON.stringify(String(value)).slice(0, 80)}; the report is written in English (supported: en, zh-CN)`);
  }
  return normalizeLocale(value === undefined ? undefined : String(value));
}

const REPORT_FORMATS: ReadonlyArray<'md' | 'html'> = ['md', 'html'];

function resolveReportFormats(value: unknown): Array<'md' | 'html'> {
  if (value === undefined) return [...REPORT_FORMATS];
  const given = Array.isArray(value) ? value : [value];
  const known = given.filter((format): format is 'md' | 'html' => REPORT_FORMATS.includes(format));
  const unknown = given.filter((format) => !REPORT_FORMATS.includes(format));
  if (unknown.length > 0) {
    warnAboutSetting(`reportFormats: ${unknown.map((format) => JSON.stringify(String(format)).slice(0, 40)).join(', ')} ignored; the formats are 'md' and 'html' (latent_analysis_report.json is always written)`);
  }
  return [...new Set(known)];
}

/** The app's span processors, each behind a guard (see GuardedSpanProcessor). */
function guardedProcessors(processors: SpanProcessor[] | undefined): SpanProcessor[] {
  if (!Array.isArray(processors)) return [];
  return processors.map((processor, index) => GuardedSpanProcessor.of(processor, `spanProcessors[${index}]${nameOf(processor)}`));
}

function nameOf(processor: unknown): string {
  try {
    const name = (processor as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    return typeof name === 'string' && name !== '' && name !== 'Object' ? ` (${name.slice(0, 100)})` : '';
  } catch {
    return '';
  }
}

function positive(value: number | undefined): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}
