import type { Attributes, Span } from '@opentelemetry/api';
import { activeOwnSpan } from './separateSpans';
import { classifySpan, isToolSpan } from './spanMapping';
import { attributesOf } from './StreamChunks';

/**
 * The active span with the attributes it was given so far, when it is an SDK span that shows them
 * (another provider's span may not). OpenInference makes its wrapper of the SDK's span (OISpan,
 * which masks attributes) the active span: the span inside it is the one read.
 */
export function activeSpanWithAttributes(): { span: Span; attributes: Attributes } | undefined {
  let span: Span | undefined = activeOwnSpan();
  if (span && !attributesOf(span)) span = (span as Span & { span?: Span }).span;
  const attributes = attributesOf(span);
  return span && attributes ? { span, attributes } : undefined;
}

/**
 * The tool call the code running now is part of: the active span when it is a tool call's (the
 * app's `task(name, { tool: true })`, a GenAI `execute_tool` span, an AI SDK `ai.toolCall`,
 * OpenInference's TOOL or OpenLLMetry's `tool`) and still recording; else undefined.
 */
export function enclosingToolSpan(): Span | undefined {
  const active = activeSpanWithAttributes();
  if (!active || !active.span.isRecording()) return undefined;
  return classifySpan(active.attributes) === 'task' && isToolSpan(active.attributes) ? active.span : undefined;
}
