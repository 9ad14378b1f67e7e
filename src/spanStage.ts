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
