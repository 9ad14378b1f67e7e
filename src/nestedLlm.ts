import type { EventData } from './types';

/**
 * What llm spans nested in another llm span (an instrumentation's span inside the app's
 * `llmCall()`, two instrumentations of one client, an AI SDK call's provider calls) hand to the
 * outer one instead of writing llm_call_* events of their own: usage, model, finish reasons, and
 * failed attempts. The live processor (src/AutopsySpanProcessor.ts) and the OTLP file reader
 * (analyzers/OtlpSpanConverter.ts) fold the same way.
 */
export interface NestedLlmData {
  data: EventData;
  failedAttempts: number;
  lastError?: EventData;
}

const TOKEN_KEYS = ['input_tokens', 'output_tokens', 'tokens_used', 'cache_read_input_tokens', 'cache_creation_input_tokens', 'reasoning_tokens'] as const;

/**
 * Adds one nested span, in the order the nested spans ended: `data` is its start and end data
 * (without `span` and `stage`), `inner` what was folded into it, `error` its error data when it
 * failed, `resends` the attempts its client made before (resendCount). Token counts add up over
 * the calls made one after another (steps of an AI SDK call, a tool loop); for the rest the
 * latest wins, but the time to first chunk is the first stream's. A `failed_attempts` the app
 * stated for the nested call (its attributes or `set()`) counts instead of its resends and of
 * what was folded into it, as it wins on a call's own event.
 */
export function foldNestedLlm(into: NestedLlmData, data: EventData, inner: NestedLlmData | undefined, error: EventData | undefined, resends?: number): void {
  const stated = statedFailedAttempts(data);
  delete data.failed_attempts;
  // Each resend followed an attempt that failed (the SDKs retry 408/409/429/5xx, timeouts and dropped connections).
  if (stated !== undefined) into.failedAttempts += stated;
  else if (resends !== undefined) into.failedAttempts += resends;
  if (inner) {
    for (const [key, value] of Object.entries(inner.data)) if (data[key] === undefined) data[key] = value;
    // A nested span that failed with the failure of the last span inside it (an AI SDK attempt's
    // span and its request) is one failed attempt, counted with `error` below, as applyNestedLlm
    // counts the outer span's own failure once.
    if (stated === undefined) into.failedAttempts += error && inner.lastError ? inner.failedAttempts - 1 : inner.failedAttempts;
    if (inner.lastError) into.lastError = inner.lastError;
  }
  if (error) {
    into.failedAttempts += 1;
    into.lastError = error;
  }
  for (const key of TOKEN_KEYS) {
    const before = into.data[key];
    const value = data[key];
    if (typeof before === 'number' && typeof value === 'number') data[key] = before + value;
  }
  // The call's first chunk is that of the first of its streams that sent one (an attempt that
  // failed before its first chunk states none).
  if (into.data.time_to_first_chunk !== undefined) delete data.time_to_first_chunk;
  Object.assign(into.data, data);
}

/** Fills the outer span's end data with what its nested spans reported (the outer span's own values win). */
export function applyNestedLlm(nested: NestedLlmData, data: EventData, failed: boolean): void {
  const ownTotal = data.tokens_used !== undefined && (data.input_tokens === undefined || data.output_tokens === undefined);
  for (const [key, value] of Object.entries(nested.data)) if (data[key] === undefined) data[key] = value;
  // The outer span's total covered only the count it had (setUsage({ outputTokens }) around an
  // instrumented call): with the other one filled in from the nested spans, it is their sum again.
  if (ownTotal && typeof data.input_tokens === 'number' && typeof data.output_tokens === 'number') data.tokens_used = data.input_tokens + data.output_tokens;
  let failedAttempts = nested.failedAttempts;
  if (failed && nested.lastError) {
    for (const key of ['error_type', 'http_status']) if (data[key] === undefined && nested.lastError[key] !== undefined) data[key] = nested.lastError[key];
    failedAttempts -= 1; // the failure that ended the outer span is its own
  }
  if (failedAttempts > 0) {
    data.failed_attempts = failedAttempts;
    if (!failed && nested.lastError) data.last_attempt_error = nested.lastError.error;
  }
}

/** A `failed_attempts` the app gave: a whole number of 0 or more, else undefined. */
export function statedFailedAttempts(data: EventData): number | undefined {
  const value = data.failed_attempts;
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/**
 * Counts `resends` (resendCount: the span's own client retried before its outcome) in the end
 * data's `failed_attempts`, after what its nested spans reported; `stated`, what the app gave for
 * this call (statedFailedAttempts of its start data), wins over both.
 */
export function addResends(data: EventData, resends: number | undefined, stated: number | undefined): void {
  if (stated !== undefined) {
    data.failed_attempts = stated;
    return;
  }
  if (resends === undefined) return;
  const before = data.failed_attempts;
  data.failed_attempts = typeof before === 'number' ? before + resends : resends;
}
