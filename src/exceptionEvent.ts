import type { Span } from '@opentelemetry/api';
import { stackOf } from './errorStack';
import { redactString } from './redact';

/** On a span whose `fail(error)` took that error: the error (see recordException). */
const RECORDED_BY_FAIL = Symbol('agent-autopsy.recordedByFail');

/**
 * Adds the `exception` event of a thrown `error` to `span` (see writeExceptionEvent). The
 * conventions advise recording an exception once: an error `fail(error)` took, which the callback
 * then throws, is not recorded again.
 */
export function recordException(span: Span, error: Error, type: string | undefined, time?: number): void {
  if ((span as unknown as Record<symbol, unknown>)[RECORDED_BY_FAIL] === error) return;
  writeExceptionEvent(span, error, type, time);
}

/**
 * Called by `fail(error)`: false when an earlier `fail()` of the span took this very error; else
 * marks the span as holding it, and its event is the caller's to write. Marked only here, so a
 * span holds no reference to the errors a failure path records.
 */
export function takeFailException(span: Span, error: Error): boolean {
  const marked = span as unknown as Record<symbol, unknown>;
  if (marked[RECORDED_BY_FAIL] === error) return false;
  marked[RECORDED_BY_FAIL] = error;
  return true;
}

/**
 * The `exception` event: `type` (the error's class, as `error.type` is) as exception.type, its
 * message and stack, redacted; at `time` (a `performance.now()` reading, as the SDK takes it) when
 * given, else now. Reading the stack may be slow (spanEndTime.ts): callers that end the span take
 * its end time first.
 */
export function writeExceptionEvent(span: Span, error: Error, type: string | undefined, time?: number): void {
  const stack = stackOf(error);
  // The SDK gets the text, not the error: stackOf reads the stack without changing what Node
  // prints if this error ends the process (see errorStack.ts). exception.type is the error's
  // class (the conventions' "dynamic type"): the SDK would take a `code` before the name
  // (`rate_limit_exceeded`), and an SDK's error classes often keep the name `Error` (openai's do).
  span.recordException(
    {
      name: type ?? error.name,
      message: typeof error.message === 'string' ? redactString(error.message) : error.message,
      stack: stack === undefined ? undefined : redactString(stack),
    },
    time,
  );
}
