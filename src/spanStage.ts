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
 * The stage of the innermost span an error failed (its origin), for a crash it causes later: an
 * error that escapes `stage('s1')` and ends the process (a rejected top-level `await`) surfaces
 * outside every stage, but it is a failure of s1. Weak: the error's lifetime is the app's.
 */
const errorStages = new WeakMap<object, string>();

export function noteErrorStage(error: unknown, span: object): void {
  if ((typeof error !== 'object' && typeof error !== 'function') || error === null || errorStages.has(error)) return;
  const stage = spanStage(span);
  if (stage !== undefined) errorStages.set(error, stage);
}

/** The stage of the first span `error` failed, if it failed one of the run's spans. */
export function errorStage(error: unknown): string | undefined {
  return (typeof error === 'object' || typeof error === 'function') && error !== null ? errorStages.get(error) : undefined;
}
