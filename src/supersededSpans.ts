import type { Attributes } from '@opentelemetry/api';
import { activeSpanWithAttributes } from './activeSpan';
import { classifySpan, isOwnSpan, isToolSpan } from './spanMapping';

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
 * symbol-keyed field, as for the stage (spanStage.ts): nothing is kept for other spans. Another
 * instrumentation's tool span of the flag's MCP tool call is superseded the same way (below).
 */
const SUPERSEDED = Symbol('agent-autopsy.supersededLlmSpan');

export function markSuperseded(span: object): void {
  (span as { [SUPERSEDED]?: true })[SUPERSEDED] = true;
}

/** Whether one of the flag's client instrumentations traced the request (or MCP tool call) of this span itself. */
export function isSuperseded(span: object | undefined): boolean {
  return span !== undefined && (span as { [SUPERSEDED]?: true })[SUPERSEDED] === true;
}

/**
 * Another instrumentation's llm span a request of the flag's client instrumentations runs in is
 * the same request: marks it, so the flag's span is the call. An llmCall() of the app's is not: its
 * span is a call of its own. Called as the flag's span starts.
 */
export function supersedeEnclosingLlmSpan(): void {
  const active = activeSpanWithAttributes();
  if (active && !isOwnSpan(active.attributes) && classifySpan(active.attributes) === 'llm') markSuperseded(active.span);
}

/** The flag's MCP tool call whose client is sending its request (a synchronous stretch), if any. */
let sendingMcpToolCall = false;
/** Marks a span of another instrumentation that started in that stretch (a symbol-keyed field, as above). */
const STARTED_IN_MCP_TOOL_CALL = Symbol('agent-autopsy.startedInMcpToolCall');

/**
 * Runs `send` (the SDK's `callTool`, up to its first await, where 1.x sends the request) as the
 * stretch in which another instrumentation's tool span is the flag's MCP tool call itself:
 * OpenLLMetry's MCP instrumentation wraps the client's `request()`, which `callTool()` calls, and
 * names its span a `tool`, parented to its session span, not to the flag's. Counted as well, each
 * call would be two.
 */
export function sendingMcpToolCallRequest<T>(send: () => T): T {
  const previous = sendingMcpToolCall;
  sendingMcpToolCall = true;
  try {
    return send();
  } finally {
    sendingMcpToolCall = previous;
  }
}

/** Called as another instrumentation's span starts: notes whether it started while an MCP tool call was sending its request. */
export function noteStartInMcpToolCall(span: object): void {
  if (sendingMcpToolCall) (span as { [STARTED_IN_MCP_TOOL_CALL]?: true })[STARTED_IN_MCP_TOOL_CALL] = true;
}

/**
 * Whether a span is another instrumentation's tool span of the flag's MCP tool call (see
 * sendingMcpToolCallRequest): the processor marks it superseded, so it writes no events; it still
 * reaches the app's exporters as it was made.
 */
export function isToolSpanOfMcpCall(span: object, attributes: Attributes): boolean {
  return (span as { [STARTED_IN_MCP_TOOL_CALL]?: true })[STARTED_IN_MCP_TOOL_CALL] === true && !isOwnSpan(attributes) && isToolSpan(attributes);
}
