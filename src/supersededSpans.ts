import type { Span } from '@opentelemetry/api';
import { activeOwnSpan } from './separateSpans';
import { classifySpan, isOwnSpan } from './spanMapping';
import { attributesOf } from './StreamChunks';

/**
 * Another instrumentation's llm span around a request that one of the flag's client
 * instrumentations traces itself. OpenInference's openai instrumentation wraps `create` around the
 * zero-code flag's wrapper, and OpenLLMetry's Google Gen AI instrumentation wraps the client's
 * `generateContent` around the `Models` method the flag wraps, so one request makes two llm spans,
 * theirs outside. Theirs ends just before the
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

/** Whether one of the flag's client instrumentations traced the request of this llm span itself. */
export function isSuperseded(span: object | undefined): boolean {
  return span !== undefined && (span as { [SUPERSEDED]?: true })[SUPERSEDED] === true;
}

/**
 * Another instrumentation's llm span a request of the flag's client instrumentations runs in is
 * the same request: marks it, so the flag's span is the call. An llmCall() of the app's is not: its
 * span is a call of its own. Called as the flag's span starts.
 */
export function supersedeEnclosingLlmSpan(): void {
  let active: Span | undefined = activeOwnSpan();
  // OpenInference makes its wrapper of the SDK's span (OISpan, which masks attributes) the active span.
  if (active && !attributesOf(active)) active = (active as Span & { span?: Span }).span;
  const attributes = attributesOf(active);
  if (active && attributes && !isOwnSpan(attributes) && classifySpan(attributes) === 'llm') markSuperseded(active);
}
