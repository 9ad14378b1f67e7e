/**
 * The stage a span belongs to, kept on the span object itself. The run's table of open spans
 * forgets a span when it ends, but work the span's callback started — a timer, a nextTick, a
 * stream's read(), a task left running — still runs in its async context after that, with the
 * ended span as the active one (and as the parent of the spans it starts). Its events belong to
 * that stage as much as the trace says they are under it. A symbol-keyed field, not a WeakMap:
 * no weak-table insertion per span (bench/README.md, item 19).
 */
const STAGE = Symbol('agent-autopsy.stage');

export function setSpanStage(span: object, stage: string): void {
  (span as { [STAGE]?: string })[STAGE] = stage;
}

/** The stage recorded on `span` when it started; undefined for a span the run never saw. */
export function spanStage(span: object | undefined): string | undefined {
  return span === undefined ? undefined : (span as { [STAGE]?: string })[STAGE];
}

/**
 * The spans an error failed, innermost first, for a crash it causes later: an error that escapes
 * `stage('s1')` and ends the process (a rejected top-level `await`) surfaces outside every stage,
 * but it is a failure of s1. The spans, not their stages: a span's stage is set when the run's
 * queue turns its start into its event (SpanMark), which may be after the error. Weak: the error's
 * lifetime is the app's.
 */
const errorSpans = new WeakMap<object, object[]>();

export function noteErrorStage(error: unknown, span: object): void {
  if ((typeof error !== 'object' && typeof error !== 'function') || error === null) return;
  const spans = errorSpans.get(error);
  if (spans === undefined) errorSpans.set(error, [span]);
  else if (spans.length < MAX_ERROR_SPANS && !spans.includes(span)) spans.push(span);
}

/** Spans kept per error: an error rethrown through more nested spans than this is rare. */
const MAX_ERROR_SPANS = 16;

/**
 * The stage of the first span `error` failed that has one, if it failed one of the run's spans
 * (read after the run's span marks are settled: see AutopsyRun.openSpan).
 */
export function errorStage(error: unknown): string | undefined {
  if ((typeof error !== 'object' && typeof error !== 'function') || error === null) return undefined;
  for (const span of errorSpans.get(error) ?? []) {
    const stage = spanStage(span);
    if (stage !== undefined) return stage;
  }
  return undefined;
}
