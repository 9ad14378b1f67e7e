import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanKindName } from './eventTypes';

export type Level = 'INFO' | 'WARNING' | 'ERROR';
export const LEVELS: readonly Level[] = ['INFO', 'WARNING', 'ERROR'];

export type EventData = Record<string, unknown>;

/** One Truth-Mode event, exactly as the seed writes it (plus optional span ids). */
export interface TruthEvent {
  /** ISO 8601, microsecond precision, UTC. */
  timestamp: string;
  /** Seconds since the run started. */
  elapsed_seconds: number;
  type: string;
  level: Level;
  data: EventData;
  /** Present on events that come from spans; readers of the seed format ignore them. */
  trace_id?: string;
  span_id?: string;
  parent_span_id?: string;
}

export type Locale = 'en' | 'zh-CN';

/** A user-defined diagnosis rule; see analyzers/rules. */
export type { DiagnosisRule } from '../analyzers/diagnosisTypes';

export interface AutopsyOptions {
  /** Run directory; files go to `<outputDir>/Memory/logs/`. Default `AGENT_AUTOPSY_DIR` or `./autopsy-runs/<timestamp>`. */
  outputDir?: string;
  /** `service.name` of the spans. Default `OTEL_SERVICE_NAME` or `agent`. */
  serviceName?: string;
  /** Report language. Default `AGENT_AUTOPSY_LOCALE` or `en`. */
  locale?: Locale;
  /** Record prompt and response content on llm spans. Default false (`AGENT_AUTOPSY_CAPTURE_CONTENT`). */
  captureContent?: boolean;
  /** Strings longer than this (in characters) are truncated with a marker. Default 16384. */
  maxStringLength?: number;
  /** OTLP/HTTP traces endpoint; default from `OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT`. */
  otlpEndpoint?: string;
  /** Extra headers for OTLP export (default from `OTEL_EXPORTER_OTLP_HEADERS`). */
  otlpHeaders?: Record<string, string>;
  /** Extra span processors to add next to ours (e.g. a SimpleSpanProcessor with an in-memory exporter). */
  spanProcessors?: SpanProcessor[];
  /** Install process exit/crash/signal hooks (default true). */
  handleExit?: boolean;
  /** Formats written at exit besides JSON. Default ['md', 'html']. */
  reportFormats?: Array<'md' | 'html'>;
  /** Extra diagnosis rules. */
  rules?: import('../analyzers/diagnosisTypes').DiagnosisRule[];
  /** How often buffered log lines reach the disk, in ms. Default 25. */
  flushIntervalMs?: number;
  /** Print one line naming the report on stderr when it is written. Default false. */
  printReportPath?: boolean;
  /**
   * Record child processes started through `child_process` (spawn, exec, execFile, fork and the
   * *Sync variants) as code_exec spans: command, exit code, duration, tail of stderr.
   * Default `AGENT_AUTOPSY_CHILD_PROCESSES` or false.
   */
  instrumentChildProcesses?: boolean;
  /**
   * Record the requests that clients no instrumentation sees (the Vercel AI SDK's providers, plain
   * `fetch`, axios and other node:http clients) send to LLM APIs as llm calls, read from Node's
   * fetch and node:http diagnostics channels: operation, provider, status, error and duration,
   * without tokens, and without the model where the request path does not name it. Default
   * `AGENT_AUTOPSY_LLM_REQUESTS`, else true with the zero-code flag and false with `init()`.
   */
  recordLlmRequests?: boolean;
}

/** Everything the span processor needs to know about an open span. */
export interface OpenSpanInfo {
  spanId: string;
  traceId: string;
  parentSpanId?: string;
  kind?: SpanKindName;
  name: string;
  stage?: string;
  /** Epoch milliseconds (fractional). */
  startMs: number;
  /** Start event data, reused for the end/error event. */
  data?: EventData;
  tracked: boolean;
}
