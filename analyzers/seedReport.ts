import { CRITICAL_EVENT_TYPES } from '../src/eventTypes';
import { firstMaximum, UNKNOWN_STAGE, type FailureAggregate } from './FailureAggregate';
import type { MessageCatalog } from './messages';
import type { AutofixStatistics, FailureAnalysis, FailurePattern, FixSuggestion, ReportSummary } from './reportTypes';

/** The seed's three pattern rules; thresholds are strict (> 3, > 2, > 2). */
export function identifyFailurePatterns(failures: FailureAggregate, messages: MessageCatalog): FailurePattern[] {
  const patterns: FailurePattern[] = [];
  const llmErrors = failures.byType.get('llm_call_error') ?? 0;
  if (llmErrors > 3) {
    patterns.push({
      pattern: 'frequent_llm_errors',
      description: messages.frequentLlmErrors.description(llmErrors),
      severity: 'high',
      suggestion: messages.frequentLlmErrors.suggestion,
    });
  }
  for (const [stage, count] of failures.byStage) {
    if (count > 2 && stage !== UNKNOWN_STAGE) {
      patterns.push({
        pattern: 'stage_specific_failures',
        description: messages.stageFailures.description(stage, count),
        severity: 'medium',
        suggestion: messages.stageFailures.suggestion(stage),
      });
    }
  }
  const syntaxErrors = failures.byType.get('syntax_error') ?? 0;
  if (syntaxErrors > 2) {
    patterns.push({
      pattern: 'frequent_syntax_errors',
      description: messages.frequentSyntaxErrors.description(syntaxErrors),
      severity: 'medium',
      suggestion: messages.frequentSyntaxErrors.suggestion,
    });
  }
  return patterns;
}

/**
 * How many critical failures the run had: the ERROR events of the critical types, which
 * failures_by_type counts too. A report object may list only the first of them (a long list is
 * streamed into the JSON file), so the human formats count them here.
 */
export function criticalFailureCount(analysis: FailureAnalysis): number {
  let count = 0;
  for (const type of CRITICAL_EVENT_TYPES) {
    const n = analysis.failures_by_type?.[type];
    if (typeof n === 'number') count += n;
  }
  return Math.max(count, analysis.critical_failures.length);
}

/** `critical: 'first'` lists only the entries kept in memory (the JSON report then streams the rest). */
export function buildFailureAnalysis(failures: FailureAggregate, messages: MessageCatalog, critical: 'all' | 'first' = 'all'): FailureAnalysis {
  return {
    total_failures: failures.total,
    failures_by_type: Object.fromEntries(failures.byType),
    failures_by_stage: Object.fromEntries(failures.byStage),
    critical_failures: critical === 'all' ? failures.critical.all() : failures.critical.first(),
    failure_patterns: identifyFailurePatterns(failures, messages),
  };
}

/**
 * P0 api_management, P1 code_generation, P2 error_recovery, in that order, when their conditions
 * hold. `llmRetriesDone`: most failed LLM calls had been retried by their client already, so P0
 * does not tell the user to retry with backoff (it says what helps then). `llmErrorsMostly`: more
 * than half of them failed with what no retry or pacing fixes (a refused key, a prompt over the
 * context window), so P0 says what does instead of pacing and retrying; it comes first, as such
 * calls are not retried by the SDKs.
 */
export function buildFixSuggestions(
  patterns: FailurePattern[],
  autofix: AutofixStatistics,
  messages: MessageCatalog,
  llmRetriesDone = false,
  llmErrorsMostly?: 'auth_failure' | 'context_length_exceeded',
): FixSuggestion[] {
  const suggestions: FixSuggestion[] = [];
  const has = (name: string) => patterns.some((pattern) => pattern.pattern === name);
  if (has('frequent_llm_errors')) {
    const p0 =
      llmErrorsMostly === 'auth_failure'
        ? messages.apiManagementAuthFailures
        : llmErrorsMostly === 'context_length_exceeded'
          ? messages.apiManagementContextLength
          : llmRetriesDone
            ? messages.apiManagementAfterRetries
            : messages.apiManagement;
    suggestions.push({ priority: 'P0', category: 'api_management', ...copy(p0) });
  }
  if (has('frequent_syntax_errors')) {
    suggestions.push({ priority: 'P1', category: 'code_generation', ...copy(messages.codeGeneration) });
  }
  if (autofix.failed_fixes > autofix.successful_fixes) {
    suggestions.push({ priority: 'P2', category: 'error_recovery', ...copy(messages.errorRecovery) });
  }
  return suggestions;
}

function copy(entry: { suggestion: string; details: string[] }) {
  return { suggestion: entry.suggestion, details: [...entry.details] };
}

/** "75.0%": successes / max(attempts, 1), one decimal, as Python's f'{x:.1f}%' prints it. */
export function formatSuccessRate(successes: number, attempts: number): string {
  return `${pythonFixed1((successes / Math.max(attempts, 1)) * 100)}%`;
}

// Python's format rounds an exact binary tie to even; toFixed picks the larger neighbour. At one
// decimal a double can only be an exact tie when it is an odd multiple of 0.25 (x.25, x.75).
function pythonFixed1(value: number): string {
  const quarters = value * 4;
  if (Number.isInteger(quarters) && Math.abs(quarters) % 2 === 1) {
    const floor = Math.floor(value * 10);
    return ((floor % 2 === 0 ? floor : floor + 1) / 10).toFixed(1);
  }
  return value.toFixed(1);
}

export function buildSummary(failures: FailureAggregate, autofix: AutofixStatistics): ReportSummary {
  return {
    total_failures: failures.total,
    total_autofix_attempts: autofix.total_attempts,
    autofix_success_rate: formatSuccessRate(autofix.successful_fixes, autofix.total_attempts),
    most_common_failure: firstMaximum(failures.byType),
    most_problematic_stage: firstMaximum(failures.byStage),
  };
}
