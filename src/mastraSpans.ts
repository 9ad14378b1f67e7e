import type { Attributes } from '@opentelemetry/api';
import type { SpanKindName } from './eventTypes';

/**
 * Mastra's spans, as its OtelBridge (@mastra/otel-bridge) makes them. Mastra says what a span is
 * in `mastra.span.type`; its GenAI operation names for the rest are its own types lowercased
 * (`model_step`, `model_chunk`, `processor_run` …), which are not model calls. And the bridge
 * starts each span with only Mastra's name for it (`agent run: 'weather-agent'`, `llm: 'gpt-4o'`)
 * and sets every attribute as the span ends: read then, an agent's stage comes after its children
 * were written, and a call still open at exit has nothing to say what it is. So its spans are
 * classified by that name as they start, and by their type where they have one.
 */

/** The bridge's instrumentation scope. */
export const MASTRA_BRIDGE_SCOPE = '@mastra/otel-bridge';
/** Mastra's span type (its `SpanType`), set on every span it exports. */
export const ATTR_MASTRA_SPAN_TYPE = 'mastra.span.type';

/**
 * Kinds of Mastra's span types; the rest (a step or chunk of a model call, processors, memory,
 * scorers, workflow control flow) are no agent spans. `model_generation` is one generate() or
 * stream() call with all its steps, as an AI SDK `ai.generateText` is; `model_inference`, where
 * Mastra makes it, is one request of it and folds into it.
 */
const MASTRA_SPAN_KIND: Record<string, SpanKindName> = {
  agent_run: 'stage',
  workflow_run: 'stage',
  workflow_step: 'task',
  tool_call: 'task',
  mcp_tool_call: 'task',
  provider_tool_call: 'task',
  model_generation: 'llm',
  model_inference: 'llm',
  rag_embedding: 'llm',
};

/** Mastra's spans inside a model call (a step of it, a chunk of its stream): an llm span under them is part of that call. */
const PARTS_OF_A_CALL = new Set(['model_step', 'model_chunk']);

/** The kind of a span that states its Mastra type; null when the type is no agent span, undefined when it states none. */
export function mastraSpanKind(attributes: Attributes): SpanKindName | null | undefined {
  const type = attributes[ATTR_MASTRA_SPAN_TYPE];
  if (typeof type !== 'string') return undefined;
  return Object.hasOwn(MASTRA_SPAN_KIND, type) ? MASTRA_SPAN_KIND[type] : null;
}

/** What a bridge span's starting name says: its kind, and the agent, workflow or model it names. */
export interface MastraStart {
  kind: SpanKindName;
  /** The agent or workflow id of a stage. */
  stage?: string;
  /** The model id of a call, when the name has one. */
  model?: string;
}

// Mastra's names for its spans as they start (@mastra/core and @mastra/observability 1.x).
const STAGE_NAME = /^(?:agent|workflow) run: '(.*)'(?: \((?:resumed|recovered)\))?$/s;
const CALL_NAME = /^llm: '(.*)'$/s;
const REQUEST_NAME = /^inference: \d+$/;
const PART_NAME = /^(?:step: \d+|chunk: '.*')$/s;

/**
 * A bridge span's kind by the name it starts with, for the stages and model calls only: a tool's
 * task is recorded as it ends, with the arguments the bridge sets then (tool_loop compares them).
 * A step or chunk of a call is marked as a part of it. Unknown names are left to the attributes.
 */
export function mastraStart(span: object, name: string): MastraStart | undefined {
  let match = STAGE_NAME.exec(name);
  if (match) return { kind: 'stage', stage: match[1] };
  match = CALL_NAME.exec(name);
  if (match) return match[1] === '' ? { kind: 'llm' } : { kind: 'llm', model: match[1] };
  if (REQUEST_NAME.test(name)) return { kind: 'llm' };
  if (PART_NAME.test(name)) markPartOfCall(span);
  return undefined;
}

/** A symbol-keyed field, as for superseded spans (supersededSpans.ts): nothing is kept for other spans. */
const PART_OF_CALL = Symbol('agent-autopsy.partOfLlmCall');

function markPartOfCall(span: object): void {
  (span as { [PART_OF_CALL]?: true })[PART_OF_CALL] = true;
}

/** Whether a live span is a step or chunk of a model call, as marked when it started. */
export function isPartOfCall(span: object | undefined): boolean {
  return span !== undefined && (span as { [PART_OF_CALL]?: true })[PART_OF_CALL] === true;
}

/** Whether an ended span's Mastra type is a step or chunk of a model call (read back from a file). */
export function isPartOfCallType(attributes: Attributes): boolean {
  const type = attributes[ATTR_MASTRA_SPAN_TYPE];
  return typeof type === 'string' && PARTS_OF_A_CALL.has(type);
}
