import type { Span } from '@opentelemetry/api';
import { nowMs, type Instant } from './clock';

/**
 * A span ended at a time read before it ended: the time its work ended, not the time the library
 * was done recording it. Recording a failure reads the error's stack, and with source maps on
 * (`--enable-source-maps`, tsx and other TypeScript runners) the first stack a process formats
 * makes Node load and decode the source map of every file in it: 0.1–0.3 s inside the first
 * failing span while the package shipped a 1.1 MB map (bench/README.md item 37). So a wrapper
 * takes the time first (clock.ts instantNow), records the failure, then ends the span with it:
 * the SDK's span ends at `instant.sdk`, and the span processor's `onEnd`, which the SDK calls
 * synchronously inside `end()`, takes `instant.ms` for the end event (parked here, as a start's
 * data is parked in spanData.ts). A span ended without a time (every success) costs the processor
 * one comparison.
 */

/** The span `end()` is being called on with a time read before, and that time on the run's clock. */
let parkedSpan: object | undefined;
let parkedMs = 0;

/** Ends `span` at `at`. May throw what `span.end()` throws; the parked time is let go of either way. */
export function endSpanAt(span: Span, at: Instant): void {
  parkedSpan = span;
  parkedMs = at.ms;
  try {
    span.end(at.sdk);
  } finally {
    parkedSpan = undefined;
  }
}

/** When `span` ended on the run's clock, for its end event: the time parked for it, else now. */
export function spanEndMs(span: object): number {
  if (span !== parkedSpan) return nowMs();
  parkedSpan = undefined;
  return parkedMs;
}
