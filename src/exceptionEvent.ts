import type { Span } from '@opentelemetry/api';
import { stackOf } from './errorStack';
import { redactString } from './redact';

/** On a span whose `fail(error)` recorded that error: the error (see recordException). */
const RECORDED_BY_FAIL = Symbol('agent-autopsy.recordedByFail');

/**
 * Adds the `exception` event of `error` to `span`: `type` (the error's class, as `error.type` is)
 * as exception.type, its message and stack, redacted. The conventions advise recording an
 * exception once: an error `fail(error)` recorded and the callback then throws is not recorded again.
 */
export function recordException(span: Span, error: Error, type: string | undefined, byFail = false): void {
  const marked = span as unknown as Record<symbol, unknown>;
  if (marked[RECORDED_BY_FAIL] === error) return;
  const stack = stackOf(error);
  // The SDK gets the text, not the error: stackOf reads the stack without changing what Node
  // prints if this error ends the process (see errorStack.ts). exception.type is the error's
  // class (the conventions' "dynamic type"): the SDK would take a `code` before the name
  // (`rate_limit_exceeded`), and an SDK's error classes often keep the name `Error` (openai's do).
  span.recordException({
    name: type ?? error.name,
    message: typeof error.message === 'string' ? redactString(error.message) : error.message,
    stack: stack === undefined ? undefined : redactString(stack),
  });
  // Marked only by fail(), so a span holds no reference to the errors a failure path records.
  if (byFail) marked[RECORDED_BY_FAIL] = error;
}
