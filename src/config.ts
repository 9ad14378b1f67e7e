import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { isKnownLocale, normalizeLocale } from '../analyzers/messages';
import type { DiagnosisRule } from '../analyzers/diagnosisTypes';
import { MAX_TIMER_MS } from './exportSettings';
import { GuardedSpanProcessor } from './GuardedSpanProcessor';
import { DEFAULT_MAX_STRING_LENGTH, errorMessage, safeString, WARNING_QUOTE_LENGTH } from './safeValue';
import { checkOptionNames, describeValue, warnAboutSetting } from './settingWarnings';
import type { AutopsyOptions, Locale } from './types';

export interface ResolvedConfig {
  outputDir: string;
  serviceName: string;
  locale: Locale;
  captureContent: boolean;
  maxStringLength: number;
  otlpEndpoint?: string;
  otlpHeaders: Record<string, string>;
  /**
   * OTEL_TRACES_EXPORTER as a list of lower-case names, each once (`[]` when unset). `otlp` (the
   * default) exports to otlpEndpoint, `console` prints the spans; tracing.ts names any other.
   */
  tracesExporters: string[];
  spanProcessors: SpanProcessor[];
  handleExit: boolean;
  reportFormats: Array<'md' | 'html'>;
  rules: DiagnosisRule[];
  flushIntervalMs: number;
  printReportPath: boolean;
  instrumentChildProcesses: boolean;
  recordLlmRequests: boolean;
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

/**
 * A directory no run has used: a second run of this process in the same second (init() after
 * shutdown()) gets `-2`, `-3` … instead of truncating the first run's files.
 */
function defaultRunDir(): string {
  const base = resolve(`autopsy-runs/${defaultRunName()}`);
  let dir = base;
  for (let n = 2; existsSync(dir); n++) dir = `${base}-${n}`;
  return dir;
}

/**
 * Headers from the environment and the option, later lists winning per name (names compared
 * without case, as HTTP does): OTEL_EXPORTER_OTLP_HEADERS, then OTEL_EXPORTER_OTLP_TRACES_HEADERS,
 * then `otlpHeaders`, as opentelemetry-js merges the first two.
 */
export function mergeHeaders(...lists: Array<Record<string, string>>): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const headers of lists) {
    for (const [name, value] of Object.entries(headers)) {
      for (const known of Object.keys(merged)) if (known.toLowerCase() === name.toLowerCase()) delete merged[known];
      merged[name] = value;
    }
  }
  return merged;
}

/** OTEL_TRACES_EXPORTER's names, lower case, each once. */
export function tracesExporterNames(env: NodeJS.ProcessEnv): string[] {
  return [...new Set((env.OTEL_TRACES_EXPORTER ?? '').split(',').map((name) => name.trim().toLowerCase()).filter(Boolean))];
}

/** OTLP traces URL from the option or the standard variables (the generic one gets `/v1/traces`). */
export function resolveOtlpEndpoint(option: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (option) return option;
  // OTEL_TRACES_EXPORTER names the exporters to set up (default otlp); `none` (or a list without otlp) means no OTLP export.
  const exporters = tracesExporterNames(env);
  if (exporters.length > 0 && !exporters.includes('otlp')) return undefined;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (base) return `${base.replace(/\/+$/, '')}/v1/traces`;
  return undefined;
}

export function resolveConfig(given: AutopsyOptions = {}, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const options = readOptions(given);
  // An empty AGENT_AUTOPSY_DIR is unset, as for the other variables (it would record into the working directory).
  const outputDir = resolve(options.outputDir ?? (env.AGENT_AUTOPSY_DIR?.trim() || undefined) ?? defaultRunDir());
  const maxStringLength = options.maxStringLength ?? DEFAULT_MAX_STRING_LENGTH;
  return {
    outputDir,
    // Written in the report and sent as the resource's service.name: bounded and redacted like
    // every other string the app hands over.
    serviceName: safeString(String(options.serviceName ?? (env.OTEL_SERVICE_NAME || undefined) ?? resourceServiceName(env.OTEL_RESOURCE_ATTRIBUTES) ?? 'agent'), maxStringLength),
    locale: resolveLocale(options.locale ?? env.AGENT_AUTOPSY_LOCALE),
    captureContent: options.captureContent ?? envFlag(env.AGENT_AUTOPSY_CAPTURE_CONTENT) ?? false,
    maxStringLength,
    otlpEndpoint: resolveOtlpEndpoint(options.otlpEndpoint, env),
    otlpHeaders: mergeHeaders(parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS), parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS), stringHeaders(options.otlpHeaders)),
    tracesExporters: tracesExporterNames(env),
    spanProcessors: guardedProcessors(options.spanProcessors),
    handleExit: options.handleExit ?? true,
    reportFormats: resolveReportFormats(options.reportFormats),
    rules: options.rules ?? [],
    flushIntervalMs: options.flushIntervalMs ?? 25,
    printReportPath: options.printReportPath ?? envFlag(env.AGENT_AUTOPSY_PRINT) ?? false,
    instrumentChildProcesses: options.instrumentChildProcesses ?? envFlag(env.AGENT_AUTOPSY_CHILD_PROCESSES) ?? false,
    recordLlmRequests: options.recordLlmRequests ?? envFlag(env.AGENT_AUTOPSY_LLM_REQUESTS) ?? false,
    otelSdkDisabled: envFlag(env.OTEL_SDK_DISABLED) ?? false,
  };
}

type OptionCheck = (value: unknown) => boolean;

const isBoolean: OptionCheck = (value) => typeof value === 'boolean';
const isText: OptionCheck = (value) => typeof value === 'string' && value.trim() !== '';

/** Each option and what it must be; a value that is not is named on stderr and the default is used. */
const OPTION_CHECKS: Record<keyof AutopsyOptions, [OptionCheck, string]> = {
  outputDir: [isText, 'a directory path (a non-empty string)'],
  serviceName: [(value) => isText(value) || typeof value === 'number', 'a string'],
  locale: [(value) => typeof value === 'string', "a string ('en' or 'zh-CN')"],
  captureContent: [isBoolean, 'true or false'],
  maxStringLength: [(value) => Number.isInteger(value) && (value as number) > 0, 'a whole number above 0'],
  otlpEndpoint: [isText, 'a URL string'],
  otlpHeaders: [isPlainObject, 'an object of header names to string values'],
  spanProcessors: [Array.isArray, 'an array of span processors'],
  handleExit: [isBoolean, 'true or false'],
  reportFormats: [() => true, ''],
  rules: [() => true, ''],
  flushIntervalMs: [(value) => typeof value === 'number' && value > 0 && value <= MAX_TIMER_MS, `a number of milliseconds above 0 and at most ${MAX_TIMER_MS}`],
  printReportPath: [isBoolean, 'true or false'],
  instrumentChildProcesses: [isBoolean, 'true or false'],
  recordLlmRequests: [isBoolean, 'true or false'],
};

const OPTION_NAMES = Object.keys(OPTION_CHECKS) as Array<keyof AutopsyOptions>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * The options the app passed, as a plain object of the ones that can be honoured. Called from
 * plain JavaScript too: whatever is not an options object, a misspelled or unknown name, a value
 * of the wrong type, or a property whose read throws is named on stderr (one line each) and left
 * out, so the default is used; nothing here throws into the app.
 */
function readOptions(given: unknown): AutopsyOptions {
  const options: Record<string, unknown> = {};
  if (given === undefined || given === null) return options;
  if (typeof given !== 'object' || Array.isArray(given)) {
    warnAboutSetting(`the options should be an object (such as { outputDir: 'runs/today' }), got ${describeValue(given)}; the defaults are used`);
    return options;
  }
  if (!checkOptionNames(given, OPTION_NAMES)) return options;
  for (const name of OPTION_NAMES) {
    let value: unknown;
    try {
      value = (given as Record<string, unknown>)[name];
    } catch (error) {
      warnAboutSetting(`option ${name} could not be read (${errorMessage(error, WARNING_QUOTE_LENGTH)}); the default is used`);
      continue;
    }
    if (value === undefined) continue;
    const [check, expected] = OPTION_CHECKS[name];
    if (!check(value)) {
      warnAboutSetting(`option ${name} should be ${expected}, got ${describeValue(value)}; the default is used`);
      continue;
    }
    options[name] = value;
  }
  return options as AutopsyOptions;
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
    warnAboutSetting(`reportFormats: ${unknown.map((format) => (typeof format === 'string' ? JSON.stringify(format).slice(0, 40) : describeValue(format))).join(', ')} ignored; the formats are 'md' and 'html' (latent_analysis_report.json is always written)`);
  }
  return [...new Set(known)];
}

/** The headers whose value is a string; another value is named on stderr and left out. */
function stringHeaders(headers: Record<string, unknown> | undefined): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of Object.keys(headers ?? {})) {
    const value = headers![name];
    if (typeof value === 'string') kept[name] = value;
    else warnAboutSetting(`otlpHeaders: the header ${JSON.stringify(name.slice(0, 40))} should be a string, got ${describeValue(value)}; it is not sent`);
  }
  return kept;
}

/** The app's span processors, each behind a guard (see GuardedSpanProcessor); a value that is not an object is named on stderr and left out. */
function guardedProcessors(processors: SpanProcessor[] | undefined): SpanProcessor[] {
  if (!Array.isArray(processors)) return [];
  const guarded: SpanProcessor[] = [];
  processors.forEach((processor, index) => {
    if (processor !== null && typeof processor === 'object') {
      // The same object listed twice joins once, as it does across init() calls (one guard per object).
      const guard = GuardedSpanProcessor.of(processor, `spanProcessors[${index}]${nameOf(processor)}`);
      if (!guarded.includes(guard)) guarded.push(guard);
    } else warnAboutSetting(`spanProcessors[${index}] should be a span processor (an object with onStart and onEnd), got ${describeValue(processor)}; it is left out`);
  });
  return guarded;
}

function nameOf(processor: unknown): string {
  try {
    const name = (processor as { constructor?: { name?: unknown } } | null)?.constructor?.name;
    return typeof name === 'string' && name !== '' && name !== 'Object' ? ` (${name.slice(0, 100)})` : '';
  } catch {
    return '';
  }
}
