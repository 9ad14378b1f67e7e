import type { Level, Locale, TruthEvent } from '../src/types';
import type { EventKind } from './eventKind';
import type { MessageCatalog } from './messages';
import type { AutofixStatistics, Diagnosis, ExitInfo, StageTimeline, UnfinishedSpan } from './reportTypes';

/** The built-in diagnoses. These ids are stable: they never change with the locale or the version. */
export const BUILT_IN_DIAGNOSIS_IDS = [
  'rate_limited',
  'auth_failure',
  'llm_timeout',
  'context_length_exceeded',
  'llm_server_error',
  'dependency_unreachable',
  'code_syntax_errors',
  'code_runtime_errors',
  'autofix_ineffective',
  'retry_storm',
  'tool_loop',
  'tool_errors',
  'stage_hang',
  'slow_stage',
  'crash',
] as const;

export type BuiltInDiagnosisId = (typeof BUILT_IN_DIAGNOSIS_IDS)[number];

/** The diagnoses a single error can be evidence of (the classifier's answers). */
export type ErrorClassId = Extract<
  BuiltInDiagnosisId,
  'rate_limited' | 'auth_failure' | 'llm_timeout' | 'context_length_exceeded' | 'llm_server_error' | 'dependency_unreachable' | 'code_syntax_errors' | 'code_runtime_errors'
>;

/** What a diagnosis sees besides the event stream, when the report is assembled. */
export interface DiagnosisContext {
  exit: ExitInfo;
  unfinished: UnfinishedSpan[];
  stages: StageTimeline[];
  autofix: AutofixStatistics;
  messages: MessageCatalog;
  locale: string;
  /** Report time, epoch ms. */
  now: number;
}

/** A text given once, or per locale (`{ en: '…', 'zh-CN': '…' }`; English is the fallback). */
export type LocalizedText = string | Partial<Record<Locale, string>>;

/**
 * A user-defined diagnosis: which events are evidence of it and what to do about it.
 * Register with `init({ rules })`, `new RunAnalyzer({ rules })` or `analyzeRun(path, { rules })`.
 *
 * An event is evidence when every condition given holds (`match`, `eventType`, `error`, `level`);
 * at least one of them is required. An error that travels up through task and stage spans counts
 * once, at its origin, unless `countPropagated` is set.
 */
export interface DiagnosisRule {
  /** Stable id shown in reports (e.g. `db_pool_exhausted`). Must not be a built-in id. */
  id: string;
  /** Default 'medium'. */
  severity?: Diagnosis['severity'];
  title: LocalizedText;
  suggestion: LocalizedText;
  /** A predicate, or a RegExp tested on the event type and on the error text. */
  match?: ((event: TruthEvent) => boolean) | RegExp;
  /** Only events of this type (a name, a list of names, or a RegExp on the type). */
  eventType?: string | readonly string[] | RegExp;
  /**
   * Tested on the error text: `data.error` (or its message), `data.error_type`, `data.http_status`,
   * `data.stderr_tail`. A string matches as a case-insensitive substring.
   */
  error?: RegExp | string;
  /** Only events of this level (or levels). */
  level?: Level | readonly Level[];
  /** Evidence needed before the diagnosis is reported (default 1). */
  minCount?: number;
  /** 0..1 (default 0.6). */
  confidence?: number;
  /**
   * Built-in diagnosis ids this rule explains: when the rule fires, those are left out of the
   * report (your rule is the better explanation), and what they caused is ranked under your rule.
   */
  explains?: readonly string[];
  /** Count an error again each time a parent span (task, stage) reports it. Default false. */
  countPropagated?: boolean;
}

/** Streaming root-cause analysis: sees each event once, answers when the report is built. */
export interface DiagnosisEngine {
  /** `kind`: what the event's type says, worked out once for all the analyzers (computed when left out). */
  observe(event: TruthEvent, kind?: EventKind): void;
  diagnose(context: DiagnosisContext): Diagnosis[];
}
