import type { TruthEvent } from '../src/types';
import { httpStatusOf, nonRetryableLlmFailure } from './errorClassifier';
import { eventErrorText } from './eventErrors';
import { eventKind, type EventKind } from './eventKind';
import { LatencyHistogram } from './LatencyHistogram';
import { failedAttemptsOf, RetryTally } from './RetryTally';
import { TOKEN_DETAIL_KEYS, type LlmUsage, type ModelUsage, type TokenDetails } from './reportTypes';

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

/** Whether a call states this count (0 included); a string or a negative number is none. */
function stated(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** Adds the shares `data` states to `into` (a key appears once a call states it, 0 included). */
function addDetails(into: TokenDetails, data: Record<string, unknown>): void {
  for (const key of TOKEN_DETAIL_KEYS) {
    const value = data[key];
    if (stated(value)) into[key] = (into[key] ?? 0) + value;
  }
}

/** Calls, tokens, latency and errors of llm_call_* events, in memory proportional to distinct models. */
export class LlmUsageAggregate {
  private calls = 0;
  private errors = 0;
  private inputTokens = 0;
  private outputTokens = 0;
  private totalTokens = 0;
  private callsWithoutTokens = 0;
  private readonly details: TokenDetails = {};
  private readonly byModel = new Map<string, ModelUsage>();
  private readonly latency = new LatencyHistogram();
  private readonly errorsByType = new Map<string, number>();
  private readonly errorsByStatus = new Map<string, number>();
  /** Every call, and the failed ones, with the attempts their client made before the outcome. */
  private readonly retries = new RetryTally();
  readonly failedCallRetries = new RetryTally();
  /** Failed calls no retry can fix: the provider refused the key, the prompt was over the context window. */
  private authFailures = 0;
  private contextFailures = 0;

  observe(event: TruthEvent, kind: EventKind = eventKind(event.type)): void {
    if (!kind.llmCall) return;
    const data = event.data ?? {};
    const failed = event.type === 'llm_call_error';
    const model = this.model(data.model ?? data.response_model);
    const inputCount = data.input_tokens ?? data.prompt_tokens;
    const outputCount = data.output_tokens ?? data.completion_tokens;
    const input = count(inputCount);
    const output = count(outputCount);
    const total = count(data.tokens_used) || input + output;
    // A call that got through but states no count (an openai stream without include_usage) is
    // missing from the totals, not free: counted so the report can say so. A failed call often
    // used nothing, so it is not.
    if (!failed && !stated(inputCount) && !stated(outputCount) && !stated(data.tokens_used)) {
      this.callsWithoutTokens++;
      model.calls_without_tokens = (model.calls_without_tokens ?? 0) + 1;
    }
    this.calls++;
    model.calls++;
    this.inputTokens += input;
    this.outputTokens += output;
    this.totalTokens += total;
    model.input_tokens += input;
    model.output_tokens += output;
    // Most calls state no shares: one key test before the loop.
    if (data.cache_read_input_tokens !== undefined || data.cache_creation_input_tokens !== undefined || data.reasoning_tokens !== undefined) {
      addDetails(this.details, data);
      addDetails(model, data);
    }
    if (typeof data.duration === 'number') this.latency.add(data.duration);
    const failedAttempts = failedAttemptsOf(data);
    this.retries.add(failedAttempts);
    if (failed) {
      this.failedCallRetries.add(failedAttempts);
      this.errors++;
      model.errors++;
      const type = data.error_type === undefined ? 'unknown' : String(data.error_type);
      this.errorsByType.set(type, (this.errorsByType.get(type) ?? 0) + 1);
      // Seed-style logs state the status only in the message ("Error code: 429 - {...}").
      const errorType = typeof data.error_type === 'string' ? data.error_type : undefined;
      const status = data.http_status ?? httpStatusOf({ errorType, message: eventErrorText(event) });
      if (status !== undefined && status !== null) {
        const key = String(status);
        this.errorsByStatus.set(key, (this.errorsByStatus.get(key) ?? 0) + 1);
      }
      const cause = nonRetryableLlmFailure(errorType, typeof status === 'number' ? status : Number(status) || undefined, () => eventErrorText(event));
      if (cause === 'auth_failure') this.authFailures++;
      else if (cause === 'context_length_exceeded') this.contextFailures++;
    }
  }

  /**
   * What more than half of the failed calls failed with, when no retry can fix it (a refused key,
   * a prompt over the context window): the seed's P0 then says what does help.
   */
  get mostlyNonRetryable(): 'auth_failure' | 'context_length_exceeded' | undefined {
    if (this.authFailures * 2 > this.errors) return 'auth_failure';
    if (this.contextFailures * 2 > this.errors) return 'context_length_exceeded';
    return undefined;
  }

  private model(name: unknown): ModelUsage {
    const key = name === undefined || name === null ? 'unknown' : String(name);
    let usage = this.byModel.get(key);
    if (!usage) {
      usage = { calls: 0, errors: 0, input_tokens: 0, output_tokens: 0 };
      this.byModel.set(key, usage);
    }
    return usage;
  }

  result(): LlmUsage {
    return {
      calls: this.calls,
      errors: this.errors,
      input_tokens: this.inputTokens,
      output_tokens: this.outputTokens,
      total_tokens: this.totalTokens,
      ...this.details,
      // Only when some call stated none, so a run whose calls all did has the report it always had.
      ...(this.callsWithoutTokens > 0 ? { calls_without_tokens: this.callsWithoutTokens } : {}),
      // Only once a call stated them, as the token shares: a run whose calls never say was not free of retries.
      ...(this.retries.retried > 0 ? { retried_calls: this.retries.retried, failed_attempts: this.retries.attempts } : {}),
      by_model: Object.fromEntries(this.byModel),
      latency_seconds: { p50: this.latency.quantile(0.5), p95: this.latency.quantile(0.95), max: this.latency.max },
      errors_by_type: Object.fromEntries(this.errorsByType),
      errors_by_status: Object.fromEntries(this.errorsByStatus),
    };
  }
}
