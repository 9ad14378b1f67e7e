import { SpanKind, type Attributes, type Span } from '@opentelemetry/api';
import { InstrumentationBase, InstrumentationNodeModuleDefinition, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { withSpanIfObserved } from '../AutopsyContextManager';
import { recordFailure, recordFailureAndEnd } from '../api';
import * as sc from '../semconv';
import { noteErrorStage } from '../spanStage';
import { supersedeEnclosingLlmSpan } from '../supersededSpans';
import { VERSION } from '../version';
import { guard, streamReader, type StreamObserver } from './observedStream';
import { serverAttributesCache } from './stainlessCalls';

export interface GoogleGenAIInstrumentationConfig extends InstrumentationConfig {
  /** Put prompts and replies on the span (`gen_ai.input.messages` / `gen_ai.output.messages`). Default false. */
  captureContent?: boolean;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyFunction = (...args: any[]) => any;

interface Method {
  operation: 'generate_content' | 'embeddings';
  stream: boolean;
}

/**
 * The methods of the SDK's `Models` that send one request each. The public `generateContent`
 * and `generateContentStream` are arrow functions set on each instance, and may send several
 * (automatic function calling, automatic continuation): these, on the prototype, are what they
 * call for each request. Before 1.45 there is no `embedContentInternal`: `embedContent` is the request.
 */
const METHODS: ReadonlyArray<readonly [string, Method]> = [
  ['generateContentInternal', { operation: 'generate_content', stream: false }],
  ['generateContentStreamInternal', { operation: 'generate_content', stream: true }],
  ['embedContentInternal', { operation: 'embeddings', stream: false }],
];
const EMBED_1X = 'embedContent';

/**
 * GenAI-convention spans for the Google Gen AI SDK (`@google/genai`, Gemini on the Gemini API
 * or Vertex AI): each `generateContent`, `generateContentStream` and `embedContent` request,
 * and so each turn of `chats`. The SDK is on `fetch`, so the request record sees its requests,
 * but not the model a request body names, its tokens, its finish reason or its settings; and
 * @traceloop/instrumentation-google-generativeai hooks only 1.x (through the `GoogleGenAI`
 * constructor). This wraps the prototype methods of `Models` each request goes through.
 *
 * A span is named `generate_content {model}` (`embeddings {model}`; CLIENT) with the provider
 * `gcp.gemini` or `gcp.vertex_ai`, the request's model and settings, and when the answer came:
 * the prompt's tokens (cached ones included, as the conventions count them), output tokens with
 * the model's thinking (`thoughtsTokenCount`; also as reasoning tokens), cached tokens, the
 * candidates' finish reasons in lower case (`stop`, `max_tokens`, `safety`), the model version
 * and response id. A stream's span ends when the app has read it (or stops reading), with the
 * time to its first text. A prompt the API blocked (no candidate, `promptFeedback.blockReason`)
 * is a failed call: `BLOCKED_SAFETY` … as `error.type`, as OpenTelemetry's Python
 * instrumentation of the same SDK names it. A failure's `error.type` is the reason Google's
 * error names (`API_KEY_INVALID`), else its status (`RESOURCE_EXHAUSTED`, `INVALID_ARGUMENT`),
 * with the HTTP status (0.x and 1.x's first releases raise ClientError and ServerError, later ones
 * ApiError); the client's timeout (`httpOptions.timeout`, which aborts the request) is
 * a `TimeoutError`; a call the app aborted is no failure. The SDK's retries, when asked for, are
 * counted (`http.request.resend_count`): see countedAttempts.
 */
export class GoogleGenAIInstrumentation extends InstrumentationBase<GoogleGenAIInstrumentationConfig> {
  /** Copies of the SDK patched here (CommonJS, ES module). */
  private patchedModules = 0;
  private readonly serverAttributes = serverAttributesCache();

  constructor(config: GoogleGenAIInstrumentationConfig = {}) {
    super(sc.GOOGLE_GENAI_CLIENT_SCOPE, VERSION, config);
  }

  /** The SDK's calls are traced here: a copy of it was patched. Its requests are then left out of the request record. */
  tracesCalls(): boolean {
    return this.patchedModules > 0 && this.isEnabled();
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    return [
      new InstrumentationNodeModuleDefinition(
        '@google/genai',
        ['>=0.2.0 <4'],
        (module: any) => {
          const owner = module?.Models?.prototype;
          const methods = owner ? methodsOf(owner) : [];
          if (methods.length === 0) {
            this._diag.warn('@google/genai: no Models methods found, calls are not traced');
            return module;
          }
          for (const [name, method] of methods) this._wrap(owner, name, this.patchMethod(method));
          this.patchedModules++;
          return module;
        },
        (module: any) => {
          const owner = module?.Models?.prototype;
          if (!owner) return;
          for (const [name] of methodsOf(owner)) this._unwrap(owner, name);
          this.patchedModules = Math.max(0, this.patchedModules - 1);
        },
      ),
    ];
  }

  /**
   * The wrapper of one method: the host call always runs, once, and the app gets what it
   * returns (a promise derived from it, which settles the same way; for a stream, a generator
   * that yields the same chunks). A failure of the telemetry never changes the call.
   */
  private patchMethod(method: Method): (original: AnyFunction) => AnyFunction {
    const instrumentation = this;
    return (original) =>
      function tracedModelsMethod(this: any, ...args: any[]) {
        if (!instrumentation.isEnabled()) return original.apply(this, args);
        let span: Span | undefined;
        const params = args[0];
        try {
          // OpenLLMetry's instrumentation of the SDK wraps generateContent around this: the same request.
          supersedeEnclosingLlmSpan();
          span = instrumentation.startCallSpan(method, this, params ?? {});
        } catch (error) {
          instrumentation._diag.error('@google/genai: the span could not be started', error);
        }
        // Called once whatever happened above, outside the try: what it throws is the app's.
        if (span === undefined) return original.apply(this, args);
        const traced = span;
        const capture = instrumentation.getConfig().captureContent === true;
        let attempts: Attempts | undefined;
        try {
          attempts = countedAttempts(this, params);
        } catch {
          attempts = undefined;
        }
        const callArgs = attempts ? [attempts.params, ...args.slice(1)] : args;
        const failed = (error: unknown) =>
          guard(() => {
            attempts?.setResends(traced);
            fail(traced, error, params);
          });
        let result: any;
        try {
          result = withSpanIfObserved(traced, () => original.apply(this, callArgs));
        } catch (error) {
          failed(error);
          throw error;
        }
        if (!result || typeof result.then !== 'function') {
          guard(() => traced.end());
          return result;
        }
        return result.then(
          (value: any) => {
            guard(() => attempts?.setResends(traced));
            if (method.stream) {
              let stream: AsyncGenerator<unknown> | undefined;
              guard(() => (stream = traceStream(traced, value, params, capture)));
              if (stream !== undefined) return stream;
            } else {
              guard(() => onResult(traced, method, value, capture));
            }
            return value;
          },
          (error: unknown) => {
            failed(error);
            throw error;
          },
        );
      };
  }

  private startCallSpan(method: Method, models: any, params: Record<string, any>): Span {
    const vertex = isVertex(models);
    const model = modelName(params.model);
    const attributes: Attributes = {
      [sc.ATTR_GEN_AI_OPERATION_NAME]: method.operation,
      [sc.ATTR_GEN_AI_PROVIDER_NAME]: vertex ? 'gcp.vertex_ai' : 'gcp.gemini',
      ...this.serverAttributes(baseUrlOf(models)),
    };
    if (model !== undefined) attributes[sc.ATTR_GEN_AI_REQUEST_MODEL] = model;
    const config = params.config && typeof params.config === 'object' ? params.config : {};
    if (method.operation === 'embeddings') {
      if (typeof config.outputDimensionality === 'number') attributes[sc.ATTR_GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = config.outputDimensionality;
    } else {
      if (method.stream) attributes[sc.ATTR_GEN_AI_REQUEST_STREAM] = true;
      setSettings(attributes, config);
      if (this.getConfig().captureContent === true) {
        if (config.systemInstruction !== undefined) attributes[sc.ATTR_GEN_AI_SYSTEM_INSTRUCTIONS] = JSON.stringify(partsOf(looseParts(config.systemInstruction)));
        attributes[sc.ATTR_GEN_AI_INPUT_MESSAGES] = JSON.stringify(contentsOf(params.contents).map((content) => ({ role: roleOf(content), parts: partsOf(content.parts) })));
      }
    }
    return this.tracer.startSpan(`${method.operation} ${model ?? 'unknown'}`, { kind: SpanKind.CLIENT, attributes });
  }
}

interface Attempts {
  /** The call's parameters, its `config.httpOptions.fetch` counting each attempt. */
  params: Record<string, any>;
  /** Sets the attempts before the last (`http.request.resend_count`, the event's `failed_attempts`) on the span. */
  setResends(span: Span): void;
}

/**
 * The SDK retries a request only when asked (`httpOptions.retryOptions`, of the client or of the
 * call: from 1.45), inside one call of these methods, each attempt through `httpOptions.fetch`
 * (from 2.23: before, the `fetch` given here goes unused and the attempts uncounted).
 * With retries asked for, the call is given a copy of its parameters whose `fetch` counts the
 * attempts and calls the one the SDK would have (the call's, the client's, else the global
 * `fetch`). Without, undefined: the parameters are passed as they are.
 */
function countedAttempts(models: any, params: any): Attempts | undefined {
  if (!params || typeof params !== 'object') return undefined;
  const config = params.config && typeof params.config === 'object' ? params.config : undefined;
  const callOptions = config?.httpOptions && typeof config.httpOptions === 'object' ? config.httpOptions : undefined;
  const clientOptions = models?.apiClient?.clientOptions?.httpOptions;
  if (!callOptions?.retryOptions && !clientOptions?.retryOptions) return undefined;
  const given: unknown = callOptions?.fetch ?? clientOptions?.fetch;
  let count = 0;
  const fetch = function countedFetch(this: unknown, ...args: unknown[]) {
    count++;
    return (typeof given === 'function' ? given : globalThis.fetch).apply(this, args as Parameters<typeof globalThis.fetch>);
  };
  return {
    params: { ...params, config: { ...config, httpOptions: { ...callOptions, fetch } } },
    setResends: (span) => {
      if (count > 1 && span.isRecording()) span.setAttribute(sc.ATTR_HTTP_REQUEST_RESEND_COUNT, count - 1);
    },
  };
}

/** The methods of `Models.prototype` to wrap: each request's, by the version's names. */
function methodsOf(owner: any): Array<readonly [string, Method]> {
  const methods = METHODS.filter(([name]) => typeof owner[name] === 'function');
  if (typeof owner.embedContentInternal !== 'function' && Object.prototype.hasOwnProperty.call(owner, EMBED_1X) && typeof owner[EMBED_1X] === 'function') {
    methods.push([EMBED_1X, { operation: 'embeddings', stream: false }]);
  }
  return methods;
}

function isVertex(models: any): boolean {
  try {
    return models?.apiClient?.isVertexAI?.() === true;
  } catch {
    return false;
  }
}

function baseUrlOf(models: any): string | undefined {
  try {
    const url: unknown = models?.apiClient?.getBaseUrl?.();
    return typeof url === 'string' ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The model as the API names it, without the resource path the SDK accepts around it:
 * `models/gemini-2.5-flash`, `publishers/google/models/gemini-2.5-flash` and
 * `projects/p/locations/l/publishers/google/models/gemini-2.5-flash` are `gemini-2.5-flash`, as
 * the request record names a request by its path (a tuned model's `tunedModels/…` is kept).
 */
function modelName(model: unknown): string | undefined {
  if (typeof model !== 'string' || model === '') return undefined;
  const at = model.lastIndexOf('models/');
  if (at < 0 || (at > 0 && model[at - 1] !== '/')) return model;
  return model.slice(at + 'models/'.length) || model;
}

function setSettings(attributes: Attributes, config: Record<string, any>): void {
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

function onResult(span: Span, method: Method, response: any, capture: boolean): void {
  if (!span.isRecording()) return;
  if (method.operation === 'embeddings') {
    // Vertex AI counts each embedded text's tokens; the Gemini API says none.
    const embeddings: unknown = response?.embeddings;
    if (Array.isArray(embeddings)) {
      const counts = embeddings.map((embedding: any) => embedding?.statistics?.tokenCount).filter((count): count is number => typeof count === 'number' && count >= 0);
      if (counts.length > 0) span.setAttribute(sc.ATTR_GEN_AI_USAGE_INPUT_TOKENS, counts.reduce((sum, count) => sum + count, 0));
    }
    span.end();
    return;
  }
  const answer = new Answer();
  answer.add(response, capture);
  answer.finish(span, capture);
  span.end();
}

/**
 * What a call's response (or a stream's chunks, in turn) says: the last usage (a stream's
 * last chunk has the whole call's), the candidates' finish reasons, the model version and id, a
 * blocked prompt, and with content capture each candidate's parts (a stream's, joined).
 */
class Answer {
  private usage: any;
  private readonly finishReasons = new Map<number, string>();
  private modelVersion: unknown;
  private responseId: unknown;
  private blockReason: string | undefined;
  private answered = false;
  /** Each candidate's parts, by its index (content capture only). */
  private readonly candidates = new Map<number, any[]>();

  add(response: any, capture: boolean): void {
    if (!response || typeof response !== 'object') return;
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

/**
 * The async generator a stream request resolves to, read through for the SDK (which reads it for
 * the app): undefined when it is no async iterator (the value is then returned as it is, and the
 * span ended).
 */
function traceStream(span: Span, stream: any, params: any, capture: boolean): AsyncGenerator<unknown> | undefined {
  if (typeof stream?.next !== 'function' || typeof stream?.[Symbol.asyncIterator] !== 'function') {
    guard(() => span.end());
    return undefined;
  }
  let read: ReturnType<typeof streamReader> | undefined;
  guard(() => (read = streamReader(span)));
  if (read === undefined) {
    guard(() => span.end());
    return undefined;
  }
  const answer = new Answer();
  const observer: StreamObserver = {
    isAnswer: (chunk) => Array.isArray(chunk?.candidates) && chunk.candidates.some((candidate: any) => Array.isArray(candidate?.content?.parts) && candidate.content.parts.length > 0),
    chunk: (chunk) => answer.add(chunk, capture),
    end: () => answer.finish(span, capture),
    fail: (error) => fail(span, error, params),
  };
  return read(stream, observer);
}

/**
 * Records a failed call on its span and ends it. An abort is no failure when the app's own
 * signal (`config.abortSignal`) was aborted; otherwise it is the client's timeout
 * (`httpOptions.timeout`), which aborts the request the same way.
 */
function fail(span: Span, error: any, params: any): void {
  if (!span.isRecording()) return;
  if (error?.name === 'AbortError') {
    if (params?.config?.abortSignal?.aborted === true) {
      span.end();
      return;
    }
    const timeout = params?.config?.httpOptions?.timeout;
    const timedOut = new Error(`no answer within the client's timeout${typeof timeout === 'number' ? ` (${timeout} ms)` : ''}: ${String(error?.message ?? error)}`, { cause: error });
    timedOut.name = 'TimeoutError';
    guard(() => noteErrorStage(error, span));
    recordFailureAndEnd(span, timedOut, 'TimeoutError');
    return;
  }
  const google = googleError(error);
  // The early releases' ClientError and ServerError have no status of their own: it is the body's code.
  if (google.code !== undefined && typeof error?.status !== 'number') span.setAttribute(sc.ATTR_HTTP_RESPONSE_STATUS_CODE, google.code);
  recordFailureAndEnd(span, error, google.type);
}

/** The SDK's errors for an error response: ApiError (in 1.x's later releases on), ClientError and ServerError before it. */
const SDK_ERRORS = new Set(['ApiError', 'ClientError', 'ServerError']);

/**
 * What the SDK's error for an error response says: its message is Google's error body (after
 * `got status: …. ` in a stream, and in the early releases' ClientError). Its ErrorInfo's reason
 * (`API_KEY_INVALID`) names the cause best, else its status (`RESOURCE_EXHAUSTED`); `code` is
 * the HTTP status. Empty for any other error (its class name is its type).
 */
function googleError(error: any): { type?: string; code?: number } {
  if (!SDK_ERRORS.has(error?.name) || typeof error?.message !== 'string') return {};
  const message: string = error.message;
  const start = message.indexOf('{');
  if (start < 0) return {};
  try {
    const body = JSON.parse(message.slice(start))?.error;
    const found: { type?: string; code?: number } = {};
    if (typeof body?.code === 'number' && body.code >= 100 && body.code < 600) found.code = body.code;
    const info = Array.isArray(body?.details) ? body.details.find((detail: any) => typeof detail?.reason === 'string' && detail.reason !== '') : undefined;
    if (info) found.type = info.reason;
    else if (typeof body?.status === 'string' && body.status !== '') found.type = body.status;
    return found;
  } catch {
    return {};
  }
}

interface Content {
  role?: unknown;
  parts: unknown[];
}

/**
 * `contents` as the SDK accepts them (a string, a part, a Content, or a list of either) as a list
 * of Contents: strings and parts given without a Content are the user's, as the SDK sends them.
 */
function contentsOf(value: unknown): Content[] {
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
function looseParts(value: unknown): unknown[] {
  if (value && typeof value === 'object' && Array.isArray((value as any).parts)) return (value as any).parts;
  return Array.isArray(value) ? value : [value];
}

/** The conventions' roles: the model's turns are the assistant's, function responses the tool's. */
function roleOf(content: Content): string {
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
function partsOf(parts: unknown[]): unknown[] {
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
