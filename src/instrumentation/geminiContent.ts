import type { Attributes, Span } from '@opentelemetry/api';
import { recordFailure, recordFailureAndEnd } from '../api';
import { noteErrorStage } from '../spanStage';
import * as sc from '../semconv';

/* eslint-disable @typescript-eslint/no-explicit-any */

/*
 * Gemini's requests and answers in the GenAI conventions, as both Google SDKs send and get them
 * (the REST API's shapes): `@google/genai` (GoogleGenAIInstrumentation) and the older
 * `@google/generative-ai` (GoogleGenerativeAIInstrumentation). The model's name, the generation
 * settings, the answer's usage, finish reasons and a blocked prompt, and contents in parts.
 */

/**
 * The model as the API names it, without the resource path the SDK accepts around it:
 * `models/gemini-2.5-flash`, `publishers/google/models/gemini-2.5-flash` and
 * `projects/p/locations/l/publishers/google/models/gemini-2.5-flash` are `gemini-2.5-flash`, as
 * the request record names a request by its path (a tuned model's `tunedModels/…` is kept).
 */
export function modelName(model: unknown): string | undefined {
  if (typeof model !== 'string' || model === '') return undefined;
  const at = model.lastIndexOf('models/');
  if (at < 0 || (at > 0 && model[at - 1] !== '/')) return model;
  return model.slice(at + 'models/'.length) || model;
}

/** A call's generation settings (`config` of `@google/genai`, `generationConfig` of `@google/generative-ai`: the same names) as the conventions' request attributes. */
export function setSettings(attributes: Attributes, config: Record<string, any>): void {
  const numbers: ReadonlyArray<readonly [string, string]> = [
    ['maxOutputTokens', sc.ATTR_GEN_AI_REQUEST_MAX_TOKENS],
    ['temperature', sc.ATTR_GEN_AI_REQUEST_TEMPERATURE],
    ['topP', sc.ATTR_GEN_AI_REQUEST_TOP_P],
    ['topK', sc.ATTR_GEN_AI_REQUEST_TOP_K],
    ['candidateCount', sc.ATTR_GEN_AI_REQUEST_CHOICE_COUNT],
    ['seed', sc.ATTR_GEN_AI_REQUEST_SEED],
    ['presencePenalty', sc.ATTR_GEN_AI_REQUEST_PRESENCE_PENALTY],
    ['frequencyPenalty', sc.ATTR_GEN_AI_REQUEST_FREQUENCY_PENALTY],
  ];
  for (const [name, attribute] of numbers) if (typeof config[name] === 'number' && Number.isFinite(config[name])) attributes[attribute] = config[name];
  const stops = config.stopSequences;
  if (Array.isArray(stops) && stops.length > 0 && stops.every((item) => typeof item === 'string')) attributes[sc.ATTR_GEN_AI_REQUEST_STOP_SEQUENCES] = stops;
  const mime = config.responseMimeType;
  if (typeof mime === 'string' && mime !== '') attributes[sc.ATTR_GEN_AI_OUTPUT_TYPE] = mime === 'application/json' ? 'json' : mime === 'text/plain' ? 'text' : mime;
}

/**
 * Ends the span of a call the SDK aborted: no failure when the app's own signal was aborted;
 * otherwise it was the SDK's timeout, which aborts the request the same way, and the call failed
 * with a `TimeoutError` that says so (`This operation was aborted` alone says nothing). `whose`
 * names the timeout's option in the message ("client's", "request's").
 */
export function endAborted(span: Span, error: any, signal: any, timeoutMs: unknown, whose: string): void {
  if (signal?.aborted === true) {
    span.end();
    return;
  }
  const timedOut = new Error(`no answer within the ${whose} timeout${typeof timeoutMs === 'number' ? ` (${timeoutMs} ms)` : ''}: ${String(error?.message ?? error)}`, { cause: error });
  timedOut.name = 'TimeoutError';
  try {
    // The app gets the SDK's error: that one keeps the span's stage.
    noteErrorStage(error, span);
  } catch {
    /* telemetry never fails the call */
  }
  recordFailureAndEnd(span, timedOut, 'TimeoutError');
}

/**
 * What a call's response (or a stream's chunks, in turn) says: the last usage (a stream's
 * last chunk has the whole call's), the candidates' finish reasons, the model version and id, a
 * blocked prompt, an error sent inside the stream, and with content capture each candidate's
 * parts (a stream's, joined).
 */
export class Answer {
  private usage: any;
  private readonly finishReasons = new Map<number, string>();
  private modelVersion: unknown;
  private responseId: unknown;
  private blockReason: string | undefined;
  /** An error the API sent inside the stream, which `@google/generative-ai` yields as a chunk. */
  private streamError: { code?: unknown; status?: unknown; message?: unknown } | undefined;
  private answered = false;
  /** Each candidate's parts, by its index (content capture only). */
  private readonly candidates = new Map<number, any[]>();

  add(response: any, capture: boolean): void {
    if (!response || typeof response !== 'object') return;
    if (response.error && typeof response.error === 'object') this.streamError = response.error;
    if (response.usageMetadata && typeof response.usageMetadata === 'object') this.usage = response.usageMetadata;
    if (typeof response.modelVersion === 'string') this.modelVersion = response.modelVersion;
    if (typeof response.responseId === 'string') this.responseId = response.responseId;
    const block = response.promptFeedback?.blockReason;
    if (typeof block === 'string' && block !== '' && block !== 'BLOCKED_REASON_UNSPECIFIED') this.blockReason = block;
    const candidates: unknown = response.candidates;
    if (!Array.isArray(candidates)) return;
    candidates.forEach((candidate: any, position) => {
      const index = typeof candidate?.index === 'number' ? candidate.index : position;
      this.answered = true;
      if (typeof candidate?.finishReason === 'string' && candidate.finishReason !== '') this.finishReasons.set(index, candidate.finishReason.toLowerCase().replace(/^finish_reason_/, ''));
      if (capture && Array.isArray(candidate?.content?.parts)) {
        const parts = this.candidates.get(index) ?? [];
        this.candidates.set(index, parts);
        for (const part of candidate.content.parts) appendPart(parts, part);
      }
    });
  }

  /** Sets what the answer said on the span (and a blocked prompt's failure); the caller ends it. */
  finish(span: Span, capture: boolean): void {
    setUsage(span, this.usage);
    if (this.finishReasons.size > 0) span.setAttribute(sc.ATTR_GEN_AI_RESPONSE_FINISH_REASONS, [...this.finishReasons.entries()].sort(([a], [b]) => a - b).map(([, reason]) => reason));
    if (typeof this.modelVersion === 'string') span.setAttribute(sc.ATTR_GEN_AI_RESPONSE_MODEL, this.modelVersion);
    if (typeof this.responseId === 'string') span.setAttribute(sc.ATTR_GEN_AI_RESPONSE_ID, this.responseId);
    if (capture && this.candidates.size > 0) {
      const messages = [...this.candidates.entries()].sort(([a], [b]) => a - b).map(([index, parts]) => ({ role: 'assistant', parts: partsOf(parts), finish_reason: this.finishReasons.get(index) ?? '' }));
      span.setAttribute(sc.ATTR_GEN_AI_OUTPUT_MESSAGES, JSON.stringify(messages));
    }
    const error = this.streamError;
    if (error) {
      const status = typeof error.status === 'string' && error.status !== '' ? error.status : undefined;
      recordFailure(span, new Error(`the API sent an error inside the stream: ${typeof error.message === 'string' ? error.message : JSON.stringify(error)}`));
      if (status !== undefined) span.setAttribute(sc.ATTR_ERROR_TYPE, status);
      if (typeof error.code === 'number' && error.code >= 100 && error.code < 600) span.setAttribute(sc.ATTR_HTTP_RESPONSE_STATUS_CODE, error.code);
      return;
    }
    if (!this.answered && this.blockReason !== undefined) {
      recordFailure(span, new Error(`the API blocked the prompt (${this.blockReason}): no candidate came back`));
      span.setAttribute(sc.ATTR_ERROR_TYPE, `BLOCKED_${this.blockReason}`);
    }
  }
}

/**
 * The token counts. The prompt's count includes the cached tokens (the conventions' input
 * tokens); the output's is the candidates' and the model's thinking, which is billed as output
 * (as OpenTelemetry's Python instrumentation of the SDK counts it).
 */
function setUsage(span: Span, usage: any): void {
  if (!usage || typeof usage !== 'object') return;
  const number = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined);
  const prompt = number(usage.promptTokenCount);
  const toolPrompt = number(usage.toolUsePromptTokenCount);
  const candidates = number(usage.candidatesTokenCount);
  const thoughts = number(usage.thoughtsTokenCount);
  const cached = number(usage.cachedContentTokenCount);
  if (prompt !== undefined || toolPrompt !== undefined) span.setAttribute(sc.ATTR_GEN_AI_USAGE_INPUT_TOKENS, (prompt ?? 0) + (toolPrompt ?? 0));
  if (candidates !== undefined || thoughts !== undefined) span.setAttribute(sc.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, (candidates ?? 0) + (thoughts ?? 0));
  if (thoughts !== undefined) span.setAttribute(sc.ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, thoughts);
  if (cached !== undefined) span.setAttribute(sc.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, cached);
}

interface Content {
  role?: unknown;
  parts: unknown[];
}

/**
 * `contents` as the SDK accepts them (a string, a part, a Content, or a list of either) as a list
 * of Contents: strings and parts given without a Content are the user's, as the SDK sends them.
 */
export function contentsOf(value: unknown): Content[] {
  if (value === undefined || value === null) return [];
  const items = Array.isArray(value) ? value : [value];
  const contents: Content[] = [];
  let loose: unknown[] = [];
  const flush = () => {
    if (loose.length > 0) contents.push({ role: 'user', parts: loose });
    loose = [];
  };
  for (const item of items) {
    if (item && typeof item === 'object' && Array.isArray((item as any).parts)) {
      flush();
      contents.push(item as Content);
    } else {
      loose.push(item);
    }
  }
  flush();
  return contents;
}

/** A system instruction (a string, a part, a Content or a list of parts) as its parts. */
export function looseParts(value: unknown): unknown[] {
  if (value && typeof value === 'object' && Array.isArray((value as any).parts)) return (value as any).parts;
  return Array.isArray(value) ? value : [value];
}

/** The conventions' roles: the model's turns are the assistant's, function responses the tool's. */
export function roleOf(content: Content): string {
  if (content.role === 'model') return 'assistant';
  if (content.parts.length > 0 && content.parts.every((part: any) => part?.functionResponse !== undefined)) return 'tool';
  return typeof content.role === 'string' && content.role !== '' ? content.role : 'user';
}

/** A streamed candidate's part, added to those before it: text continues the text (or thinking) before it. */
function appendPart(parts: any[], part: any): void {
  if (!part || typeof part !== 'object') return;
  const last = parts[parts.length - 1];
  if (typeof part.text === 'string' && last && typeof last.text === 'string' && Boolean(last.thought) === Boolean(part.thought) && Object.keys(part).every((key) => key === 'text' || key === 'thought' || key === 'thoughtSignature')) {
    parts[parts.length - 1] = { ...last, text: last.text + part.text };
    return;
  }
  parts.push(part);
}

/**
 * Gemini parts in the conventions' parts: text, thinking, function calls and responses, the
 * code the model ran and its result; inline data by its MIME type only (never its bytes), a
 * file by its URI.
 */
export function partsOf(parts: unknown[]): unknown[] {
  return parts.map((part: any) => {
    if (typeof part === 'string') return { type: 'text', content: part };
    if (typeof part?.text === 'string') return { type: part.thought === true ? 'reasoning' : 'text', content: part.text };
    if (part?.functionCall) return { type: 'tool_call', id: part.functionCall.id, name: part.functionCall.name, arguments: part.functionCall.args };
    if (part?.functionResponse) return { type: 'tool_call_response', id: part.functionResponse.id, response: part.functionResponse.response };
    if (part?.inlineData) return { type: 'blob', mime_type: part.inlineData.mimeType, modality: modalityOf(part.inlineData.mimeType) };
    if (part?.fileData) return { type: 'uri', mime_type: part.fileData.mimeType, modality: modalityOf(part.fileData.mimeType), uri: part.fileData.fileUri };
    if (part?.executableCode) return { type: 'gemini_executable_code', language: part.executableCode.language, code: part.executableCode.code };
    if (part?.codeExecutionResult) return { type: 'gemini_code_execution_result', outcome: part.codeExecutionResult.outcome, output: part.codeExecutionResult.output };
    const kind = part && typeof part === 'object' ? Object.keys(part).find((key) => key !== 'thoughtSignature' && key !== 'thought') : undefined;
    return { type: kind ? `gemini_${kind}` : 'gemini_unknown' };
  });
}

function modalityOf(mimeType: unknown): string | undefined {
  if (typeof mimeType !== 'string') return undefined;
  const kind = mimeType.split('/')[0];
  return kind === 'image' || kind === 'audio' || kind === 'video' ? kind : undefined;
}
