import { SpanKind, SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import { InstrumentationNodeModuleDefinition, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import * as sc from '../semconv';
import { recordFailureAndEnd } from '../api';
import {
  serverAttributesCache,
  StainlessClientInstrumentation,
  traceStream,
  type AnyFunction,
  type CreateMethod,
  type StreamObserver,
} from './stainlessCalls';
import { VERSION } from '../version';

export interface OpenAIClientInstrumentationConfig extends InstrumentationConfig {
  /** Put prompts and replies on the span (`gen_ai.input.messages` / `gen_ai.output.messages`). Default false. */
  captureContent?: boolean;
}

export { OPENAI_CLIENT_SCOPE } from '../semconv';

type Endpoint = 'chat' | 'responses' | 'embeddings';

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * GenAI-convention spans for the official `openai` client (4.19 – 7.x, loaded as CommonJS or
 * ESM): `chat.completions.create`, `responses.create` and `embeddings.create`, streamed or not,
 * and so every helper built on them (`.stream()`, `.parse()`, `runTools()`).
 *
 * Why not only @opentelemetry/instrumentation-openai 0.21? Checked against openai 6.49 and the fake
 * server (test/zero-code-*.test.ts): it works for plain calls, but a streamed Responses call whose
 * request fails, a stream that breaks half way and a stream the app stops reading are never
 * ended (they would show as still running at exit), a failure has no HTTP status, and prompts go
 * to the Logs API only. It cannot be completed from outside either: InstrumentationBase._wrap
 * removes an earlier wrapper of the same method. This class writes the same attributes
 * (`gen_ai.*`, `error.type`, `server.*`) plus `http.response.status_code`, and an app that enables
 * instrumentation-openai itself is still understood (its spans are classified the same way).
 *
 * The host call always runs, and the response is never read here (traceCreate). The client's
 * own retries of a call are counted through its `buildRequest` (patchBuildRequest): from the
 * second attempt on the span gets `http.request.resend_count`.
 */
export class OpenAIClientInstrumentation extends StainlessClientInstrumentation<OpenAIClientInstrumentationConfig> {
  protected readonly packageName = 'openai';
  protected readonly replacedNote = { known: " (OpenLLMetry's and OpenInference's end no span whose request failed)", part: 'openai' };

  constructor(config: OpenAIClientInstrumentationConfig = {}) {
    super(sc.OPENAI_CLIENT_SCOPE, VERSION, config);
  }

  protected moduleDefinitions(): InstrumentationNodeModuleDefinition[] {
    const methods = (module: any): CreateMethod[] => {
      const OpenAI = clientClass(module) as any;
      if (!OpenAI?.Chat?.Completions) return [];
      const owners: Record<Endpoint, any> = { chat: OpenAI.Chat.Completions.prototype, embeddings: OpenAI.Embeddings?.prototype, responses: OpenAI.Responses?.prototype };
      return (['chat', 'embeddings', 'responses'] as const).filter((endpoint) => owners[endpoint]).map((endpoint) => ({ owner: owners[endpoint], method: ENDPOINT_NAMES[endpoint], patch: this.patch(endpoint) }));
    };
    return [this.clientModule('openai', ['>=4.19.0 <8'], methods, clientClass)];
  }

  private patch(endpoint: Endpoint): (original: AnyFunction) => AnyFunction {
    return this.traceCalls({
      start: (client, params) => this.startCallSpan(endpoint, params, client?.baseURL),
      result: (span, params, value) => onResult(span, endpoint, params, value, this.getConfig().captureContent === true),
      fail,
    });
  }

  private startCallSpan(endpoint: Endpoint, params: Record<string, any>, baseURL: string | undefined): Span {
    const operation = endpoint === 'embeddings' ? 'embeddings' : 'chat';
    const attributes: Attributes = {
      [sc.ATTR_GEN_AI_OPERATION_NAME]: operation,
      [sc.ATTR_GEN_AI_PROVIDER_NAME]: 'openai',
      [sc.ATTR_GEN_AI_SYSTEM]: 'openai',
    };
    if (typeof params.model === 'string') attributes[sc.ATTR_GEN_AI_REQUEST_MODEL] = params.model;
    const maxTokens = params.max_completion_tokens ?? params.max_tokens ?? params.max_output_tokens;
    if (typeof maxTokens === 'number') attributes[sc.ATTR_GEN_AI_REQUEST_MAX_TOKENS] = maxTokens;
    if (typeof params.temperature === 'number') attributes[sc.ATTR_GEN_AI_REQUEST_TEMPERATURE] = params.temperature;
    if (typeof params.top_p === 'number') attributes[sc.ATTR_GEN_AI_REQUEST_TOP_P] = params.top_p;
    if (params.stream === true) attributes[sc.ATTR_GEN_AI_REQUEST_STREAM] = true;
    if (endpoint === 'embeddings') embeddingsAttributes(attributes, params);
    else requestAttributes(attributes, endpoint, params);
    Object.assign(attributes, serverAttributes(baseURL));
    if (this.getConfig().captureContent === true) attributes[sc.ATTR_GEN_AI_INPUT_MESSAGES] = inputMessages(endpoint, params);
    return this.tracer.startSpan(`${operation} ${params.model ?? 'unknown'}`, { kind: SpanKind.CLIENT, attributes });
  }
}

/** The OpenAI client class, from the CommonJS exports or the ES module namespace. */
function clientClass(module: any): unknown {
  const exports = module?.[Symbol.toStringTag] === 'Module' ? module.default : module;
  return exports?.OpenAI;
}

/** The server of the clients' base URL. */
const serverAttributes = serverAttributesCache();

/**
 * The rest of a chat or Responses request the GenAI conventions name (penalties, seed, stop
 * sequences, choice count, output type) and the conversation a Responses call belongs to, as
 * @opentelemetry/instrumentation-openai writes them. Only what the app gave: a default is not known here.
 */
function requestAttributes(attributes: Attributes, endpoint: Endpoint, params: Record<string, any>): void {
  if (typeof params.frequency_penalty === 'number') attributes[sc.ATTR_GEN_AI_REQUEST_FREQUENCY_PENALTY] = params.frequency_penalty;
  if (typeof params.presence_penalty === 'number') attributes[sc.ATTR_GEN_AI_REQUEST_PRESENCE_PENALTY] = params.presence_penalty;
  if (typeof params.seed === 'number') attributes[sc.ATTR_GEN_AI_REQUEST_SEED] = params.seed;
  if (typeof params.stop === 'string') attributes[sc.ATTR_GEN_AI_REQUEST_STOP_SEQUENCES] = [params.stop];
  else if (Array.isArray(params.stop) && params.stop.every((item: unknown) => typeof item === 'string')) attributes[sc.ATTR_GEN_AI_REQUEST_STOP_SEQUENCES] = params.stop;
  if (typeof params.n === 'number' && params.n !== 1) attributes[sc.ATTR_GEN_AI_REQUEST_CHOICE_COUNT] = params.n;
  // Chat Completions' response_format, the Responses API's text.format: json_object and json_schema are `json`.
  const format = endpoint === 'chat' ? params.response_format?.type : params.text?.format?.type;
  if (format === 'text') attributes[sc.ATTR_GEN_AI_OUTPUT_TYPE] = 'text';
  else if (format === 'json_object' || format === 'json_schema') attributes[sc.ATTR_GEN_AI_OUTPUT_TYPE] = 'json';
  const conversation = typeof params.conversation === 'string' ? params.conversation : params.conversation?.id;
  if (endpoint === 'responses' && typeof conversation === 'string' && conversation !== '') attributes[sc.ATTR_GEN_AI_CONVERSATION_ID] = conversation;
}

function embeddingsAttributes(attributes: Attributes, params: Record<string, any>): void {
  if (typeof params.encoding_format === 'string') attributes[sc.ATTR_GEN_AI_REQUEST_ENCODING_FORMATS] = [params.encoding_format];
  if (typeof params.dimensions === 'number') attributes[sc.ATTR_GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = params.dimensions;
}

/** Exception event, ERROR status with the message, `error.type` (the SDK's error class) and HTTP status; ends the span. */
function fail(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  recordFailureAndEnd(span, error);
}

function onResult(span: Span, endpoint: Endpoint, params: Record<string, any>, value: any, capture: boolean): void {
  if (params.stream === true && traceStream(span, value, () => streamObserver(span, endpoint, capture))) return;
  setResponse(span, endpoint, value, capture);
  span.end();
}

function setResponse(span: Span, endpoint: Endpoint, value: any, capture: boolean): void {
  if (!value || typeof value !== 'object') return;
  if (typeof value.id === 'string') span.setAttribute(sc.ATTR_GEN_AI_RESPONSE_ID, value.id);
  if (typeof value.model === 'string') span.setAttribute(sc.ATTR_GEN_AI_RESPONSE_MODEL, value.model);
  const usage = value.usage;
  const input = usage?.prompt_tokens ?? usage?.input_tokens;
  const output = usage?.completion_tokens ?? usage?.output_tokens;
  if (typeof input === 'number') span.setAttribute(sc.ATTR_GEN_AI_USAGE_INPUT_TOKENS, input);
  if (typeof output === 'number') span.setAttribute(sc.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, output);
  // Their shares (Chat Completions' *_tokens_details, the Responses API's input/output_tokens_details).
  const cached = (usage?.prompt_tokens_details ?? usage?.input_tokens_details)?.cached_tokens;
  const reasoning = (usage?.completion_tokens_details ?? usage?.output_tokens_details)?.reasoning_tokens;
  if (typeof cached === 'number') span.setAttribute(sc.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, cached);
  if (typeof reasoning === 'number') span.setAttribute(sc.ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, reasoning);
  if (endpoint === 'chat' && Array.isArray(value.choices)) {
    span.setAttribute(sc.ATTR_GEN_AI_RESPONSE_FINISH_REASONS, value.choices.map((choice: any) => String(choice?.finish_reason ?? 'unknown')));
    if (capture) span.setAttribute(sc.ATTR_GEN_AI_OUTPUT_MESSAGES, JSON.stringify(value.choices.map((choice: any) => ({ role: 'assistant', content: choice?.message?.content ?? null }))));
  }
  if (endpoint === 'responses') {
    // A response still queued or in progress (a stream's `response.created`) has not finished.
    if (value.status !== 'queued' && value.status !== 'in_progress') span.setAttribute(sc.ATTR_GEN_AI_RESPONSE_FINISH_REASONS, [responsesFinishReason(value)]);
    if (capture) span.setAttribute(sc.ATTR_GEN_AI_OUTPUT_MESSAGES, messages('assistant', responsesText(value)));
    if (value.status === 'failed' && value.error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: String(value.error.message ?? 'response failed') });
      setErrorCode(span, value.error.code);
    }
  }
}

/**
 * A failure the API reports inside a 200 (a failed response, a stream's error event) has its code
 * as `error.type`; without one, the conventions' fallback, as any failed span gets.
 */
function setErrorCode(span: Span, code: unknown): void {
  span.setAttribute(sc.ATTR_ERROR_TYPE, typeof code === 'string' && code !== '' ? code.slice(0, 200) : sc.ERROR_TYPE_OTHER);
}

/** Output items of a Responses answer that the app has to act on: the model's turn ended in a tool call. */
const CLIENT_TOOL_CALLS = new Set(['function_call', 'custom_tool_call', 'computer_call', 'local_shell_call', 'shell_call', 'apply_patch_call']);

/**
 * A Responses answer has a status, not a finish reason: a completed one ended as the chat API's
 * `stop`, or as its `tool_calls` when the model asked the app to run a tool (the OpenAI Agents SDK's
 * every tool turn); an incomplete one gives its reason (`max_output_tokens` …).
 */
function responsesFinishReason(response: any): string {
  if (response?.status === 'completed') {
    const output: unknown[] = Array.isArray(response.output) ? response.output : [];
    return output.some((item: any) => CLIENT_TOOL_CALLS.has(item?.type)) ? 'tool_calls' : 'stop';
  }
  return String(response?.incomplete_details?.reason ?? response?.status ?? 'unknown');
}

function responsesText(response: any): string {
  if (typeof response?.output_text === 'string') return response.output_text;
  const parts: string[] = [];
  for (const item of Array.isArray(response?.output) ? response.output : []) {
    for (const content of Array.isArray(item?.content) ? item.content : []) if (content?.type === 'output_text' && typeof content.text === 'string') parts.push(content.text);
  }
  return parts.join('');
}

/**
 * Whether a chunk is part of the answer (the first one is the span's time to first chunk). A chat
 * chunk with a choice: Azure's first chunk (prompt filter results) and the usage chunk have none.
 * A Responses `….delta` event: `response.created` and `response.in_progress` come at once, before
 * the model wrote anything. As @anthropic-ai/sdk's spans time it: its first `content_block_delta`.
 */
function isAnswerChunk(endpoint: Endpoint, chunk: any): boolean {
  if (endpoint === 'chat') return Array.isArray(chunk?.choices) && chunk.choices.length > 0;
  return typeof chunk?.type === 'string' && chunk.type.endsWith('.delta');
}

/** Gathers what the span needs from one streamed call's chunks. */
function streamObserver(span: Span, endpoint: Endpoint, capture: boolean): StreamObserver {
  let text = '';
  const finishReasons: string[] = [];
  return {
    isAnswer: (chunk) => isAnswerChunk(endpoint, chunk),
    chunk: (c) => {
      if (endpoint === 'chat') {
        if (typeof c?.id === 'string' && c.id) span.setAttribute(sc.ATTR_GEN_AI_RESPONSE_ID, c.id);
        if (typeof c?.model === 'string' && c.model) span.setAttribute(sc.ATTR_GEN_AI_RESPONSE_MODEL, c.model);
        for (const choice of Array.isArray(c?.choices) ? c.choices : []) {
          if (choice?.finish_reason) finishReasons[choice.index ?? 0] = String(choice.finish_reason);
          if (capture && (choice?.index ?? 0) === 0 && typeof choice?.delta?.content === 'string') text += choice.delta.content;
        }
        if (c?.usage) setResponse(span, endpoint, { usage: c.usage }, false);
      } else if (endpoint === 'responses') {
        if (c?.type === 'response.output_text.delta' && capture && typeof c.delta === 'string') text += c.delta;
        if (c?.response && (c.type === 'response.created' || c.type === 'response.completed' || c.type === 'response.incomplete' || c.type === 'response.failed')) {
          setResponse(span, endpoint, c.response, false);
        }
        if (c?.type === 'error') {
          span.setStatus({ code: SpanStatusCode.ERROR, message: String(c.message ?? 'stream error') });
          setErrorCode(span, c.code);
        }
      }
    },
    end: () => {
      const reasons = finishReasons.filter((reason) => reason !== undefined);
      if (endpoint === 'chat' && reasons.length > 0) span.setAttribute(sc.ATTR_GEN_AI_RESPONSE_FINISH_REASONS, reasons);
      if (capture && text) span.setAttribute(sc.ATTR_GEN_AI_OUTPUT_MESSAGES, messages('assistant', text));
    },
    fail: (error) => fail(span, error),
  };
}

function messages(role: string, content: unknown): string {
  return JSON.stringify([{ role, content }]);
}

function inputMessages(endpoint: Endpoint, params: Record<string, any>): string {
  if (endpoint === 'chat') return JSON.stringify(params.messages ?? [], withoutInlineData);
  if (endpoint === 'embeddings') return messages('user', params.input);
  const list: unknown[] = [];
  if (params.instructions) list.push({ role: 'system', content: params.instructions });
  if (typeof params.input === 'string') list.push({ role: 'user', content: params.input });
  else if (Array.isArray(params.input)) list.push(...params.input);
  return JSON.stringify(list, withoutInlineData);
}

/**
 * The data a prompt carries inline (an image's or a file's base64 `data:` URL, audio's base64
 * `data`) without its bytes, as the Anthropic and Bedrock instrumentations leave them out: a
 * prompt is clipped at `maxStringLength`, and an image's megabyte of base64 would push out the
 * text after it. A link (`https://…`) is kept.
 */
function withoutInlineData(this: unknown, key: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (value.startsWith('data:')) {
    const comma = value.indexOf(',');
    if (comma > 0 && value.slice(0, comma).endsWith(';base64')) return `${value.slice(0, comma + 1)}[${value.length - comma - 1} characters left out]`;
  }
  // `input_audio: { data, format }`.
  if (key === 'data' && typeof (this as { format?: unknown } | null)?.format === 'string') return `[${value.length} characters of base64 left out]`;
  return value;
}

const ENDPOINT_NAMES: Record<Endpoint, string> = { chat: 'chat.completions.create', responses: 'responses.create', embeddings: 'embeddings.create' };
