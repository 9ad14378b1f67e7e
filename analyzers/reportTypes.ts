/** Shapes of latent_analysis_report.json. The seed sections are exact; the rest are this project's. */

export interface CriticalFailure {
  timestamp: string;
  type: string;
  stage: string;
  error: unknown;
}

export interface FailurePattern {
  pattern: 'frequent_llm_errors' | 'stage_specific_failures' | 'frequent_syntax_errors' | string;
  description: string;
  severity: 'high' | 'medium' | 'low' | string;
  suggestion: string;
}

export interface FailureAnalysis {
  total_failures: number;
  failures_by_type: Record<string, number>;
  failures_by_stage: Record<string, number>;
  critical_failures: CriticalFailure[];
  failure_patterns: FailurePattern[];
}

export interface AutofixStatistics {
  total_attempts: number;
  successful_fixes: number;
  failed_fixes: number;
  fixes_by_type: Record<string, number>;
  fixes_by_layer: { layer1: number; layer2: number; layer3: number };
}

export interface FixSuggestion {
  priority: 'P0' | 'P1' | 'P2' | string;
  category: string;
  suggestion: string;
  details: string[];
}

export interface ReportSummary {
  total_failures: number;
  total_autofix_attempts: number;
  autofix_success_rate: string;
  most_common_failure: string;
  most_problematic_stage: string;
}

export interface DiagnosisEvidence {
  count: number;
  first: string | null;
  last: string | null;
  examples: string[];
  span_ids: string[];
}

export interface Diagnosis {
  id: string;
  severity: 'critical' | 'high' | 'medium' | 'low';
  confidence: number;
  title: string;
  evidence: DiagnosisEvidence;
  suggestion: string;
}

/**
 * The shares of the token counts, each present only when a call stated it (the instrumentation or
 * `setUsage()` gave it, 0 included): a run whose calls never say is not a run without cache hits.
 */
export interface TokenDetails {
  /** Of input_tokens, those read from the provider's prompt cache. */
  cache_read_input_tokens?: number;
  /** Of input_tokens, those written to the prompt cache. */
  cache_creation_input_tokens?: number;
  /** Of output_tokens, the reasoning ones. */
  reasoning_tokens?: number;
}

/** The keys of TokenDetails, in the order the reports show them. */
export const TOKEN_DETAIL_KEYS = ['cache_read_input_tokens', 'cache_creation_input_tokens', 'reasoning_tokens'] as const satisfies ReadonlyArray<keyof TokenDetails>;

export interface ModelUsage extends TokenDetails {
  calls: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  /** As LlmUsage's, for this model. */
  calls_without_tokens?: number;
}

export interface LlmUsage extends TokenDetails {
  calls: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  /**
   * Calls that ended (llm_call_end) stating no token count at all (no input, output or total
   * tokens: an openai stream made without `stream_options: { include_usage: true }`, an llmCall()
   * that never called setUsage()): the token counts above leave them out. Present only when above
   * 0. Failed calls are not counted here.
   */
  calls_without_tokens?: number;
  /**
   * Calls whose client had retried them before their outcome (`failed_attempts` in their events:
   * the SDK's own retries …), and those failed attempts added up; present once a call stated them.
   * The HTTP requests behind the calls are at least `calls + failed_attempts` (a call that states
   * nothing may have had retries nobody counted).
   */
  retried_calls?: number;
  failed_attempts?: number;
  by_model: Record<string, ModelUsage>;
  latency_seconds: { p50: number | null; p95: number | null; max: number | null };
  errors_by_type: Record<string, number>;
  errors_by_status: Record<string, number>;
}

export interface StageTimeline {
  stage: string;
  name?: string;
  started: string | null;
  ended: string | null;
  duration_seconds: number | null;
  outcome: 'ok' | 'error' | 'unfinished';
  failures: number;
  /** A stage that failed: the error it failed with (its first failed run's, when runs overlapped). */
  error?: string;
}

export interface UnfinishedSpan {
  name: string;
  kind: string;
  stage: string;
  started: string;
  age_seconds: number;
  span_id?: string;
  /**
   * The span it ran inside, where it had one: what tells a stage nested in another from one that
   * ran beside it (stage_hang says what an outer stage waited on through its inner stages).
   */
  parent_span_id?: string;
  /** A streamed LLM call: set (true) as its `llm_call_unfinished` event has it. */
  stream?: true;
  /** A streamed call's: seconds from its request to its answer's first chunk, when one had come. */
  time_to_first_chunk?: number;
  /** And then seconds from its stream's last chunk to the end, where the stream's reader knew it. */
  seconds_since_last_chunk?: number;
  /**
   * Set when the span had already failed (`span.fail()`) when the process ended with it still
   * open: the failure's message and type, as its `<kind>_unfinished` event carries them.
   */
  error?: string;
  error_type?: string;
}

export interface ExitInfo {
  reason: 'running' | 'normal' | 'shutdown' | 'exit' | 'uncaught_exception' | 'unhandled_rejection' | 'signal' | 'killed' | 'unknown';
  description?: string;
  exit_code: number | null;
  signal: string | null;
  error?: { type: string; message: string; stack?: string };
  /** `exit`: where `process.exit()` was called (the first stack frame of the app's own code). */
  called_at?: string;
  at: string | null;
}

export interface AutopsyReport {
  timestamp: string;
  failure_analysis: FailureAnalysis;
  autofix_statistics: AutofixStatistics;
  fix_suggestions: FixSuggestion[];
  summary: ReportSummary;
  diagnoses: Diagnosis[];
  llm_usage: LlmUsage;
  stages: StageTimeline[];
  unfinished: UnfinishedSpan[];
  exit: ExitInfo;
  run: {
    output_dir: string;
    start_time: string | null;
    total_events: number;
    duration_seconds: number | null;
    locale: string;
    service_name?: string;
    source?: string;
  };
}
