/**
 * Another instrumentation's llm span around a request that agent-autopsy's openai instrumentation
 * traces itself. OpenInference's openai instrumentation wraps `create` around the zero-code flag's
 * wrapper, so one request makes two llm spans, theirs outside. Theirs ends just before the
 * flag's, or never when the request fails (it ends no span whose promise rejects): folded together
 * the failure was lost, side by side the call counted twice. The flag's span is the call. The
 * outer span is marked as the request starts, before the span processor maps its start, and the
 * processor writes no events for it; it still reaches the app's exporters as it was made. A
 * symbol-keyed field, as for the stage (spanStage.ts): nothing is kept for other spans.
 */
const SUPERSEDED = Symbol('agent-autopsy.supersededLlmSpan');

export function markSuperseded(span: object): void {
  (span as { [SUPERSEDED]?: true })[SUPERSEDED] = true;
}

/** Whether agent-autopsy's openai instrumentation traced the request of this llm span itself. */
export function isSuperseded(span: object | undefined): boolean {
  return span !== undefined && (span as { [SUPERSEDED]?: true })[SUPERSEDED] === true;
}
