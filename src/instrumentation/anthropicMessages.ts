import type { Attributes } from '@opentelemetry/api';
import * as sc from '../semconv';

/* eslint-disable @typescript-eslint/no-explicit-any */

/*
 * Anthropic Messages in the GenAI conventions' parts, as @anthropic-ai/sdk 1.x's own spans write
 * them: for the flag's Anthropic instrumentation, and for Claude's bodies on Bedrock (InvokeModel
 * takes and returns the same Messages).
 */

/** A request's system prompt and messages, as the span's captured input. */
export function setInputMessages(attributes: Attributes, params: Record<string, any>): void {
  if (params.system !== undefined) attributes[sc.ATTR_GEN_AI_SYSTEM_INSTRUCTIONS] = JSON.stringify(contentParts(params.system));
  const messages: any[] = Array.isArray(params.messages) ? params.messages : [];
  attributes[sc.ATTR_GEN_AI_INPUT_MESSAGES] = JSON.stringify(messages.map((message) => ({ role: message?.role, parts: contentParts(message?.content) })));
}

/** A streamed block's delta, added to the block as the Message would have it (a tool call's input stays the JSON text it came as). */
export function appendDelta(block: any, delta: any): void {
  if (!block || !delta) return;
  if (delta.type === 'text_delta' && typeof delta.text === 'string') block.text = (block.text ?? '') + delta.text;
  else if (delta.type === 'thinking_delta' && typeof delta.thinking === 'string') block.thinking = (block.thinking ?? '') + delta.thinking;
  else if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') block.partialJson = (block.partialJson ?? '') + delta.partial_json;
}

export function outputMessages(content: unknown): string {
  return JSON.stringify([{ role: 'assistant', parts: contentParts(content) }]);
}

/** Message content in the conventions' parts, as 1.x's spans write it: text, reasoning, tool calls and their results; other blocks by type only. */
export function contentParts(content: unknown): unknown[] {
  if (typeof content === 'string') return [{ type: 'text', content }];
  if (!Array.isArray(content)) return [];
  return content.map((block: any) => {
    switch (block?.type) {
      case 'text':
        return { type: 'text', content: block.text };
      case 'thinking':
        return { type: 'reasoning', content: block.thinking };
      case 'tool_use':
      case 'server_tool_use':
        return { type: 'tool_call', id: block.id, name: block.name, arguments: block.partialJson ?? block.input };
      case 'tool_result':
        return { type: 'tool_call_response', id: block.tool_use_id, response: toolResultParts(block.content) };
      default:
        return { type: typeof block?.type === 'string' ? `anthropic_${block.type}` : 'anthropic_unknown' };
    }
  });
}

/** A tool result's content, always a list: its text blocks as they are, any other block (an image's data) by type only, as 1.x's spans keep it. */
function toolResultParts(content: unknown): unknown[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content)) return [];
  return content.map((block: any) => (block?.type === 'text' ? { type: 'text', text: block.text } : { type: typeof block?.type === 'string' ? block.type : 'unknown' }));
}

