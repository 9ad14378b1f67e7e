import { SpanKind, type Attributes, type Span } from '@opentelemetry/api';
import { InstrumentationNodeModuleDefinition, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { withSpanIfObserved } from '../AutopsyContextManager';
import { recordFailureAndEnd } from '../api';
import * as sc from '../semconv';
import { supersedeEnclosingLlmSpan } from '../supersededSpans';
import { VERSION } from '../version';
import { Answer, contentsOf, endAborted, looseParts, modelName, partsOf, roleOf, setSettings } from './geminiContent';
import { guard, streamReader, type StreamObserver } from './observedStream';
import { serverAttributesCache } from './stainlessCalls';
import { ClientInstrumentationBase } from './ClientInstrumentationBase';

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
export class GoogleGenAIInstrumentation extends ClientInstrumentationBase<GoogleGenAIInstrumentationConfig> {
  private readonly serverAttributes = serverAttributesCache();

  constructor(config: GoogleGenAIInstrumentationConfig = {}) {
    super(sc.GOOGLE_GENAI_CLIENT_SCOPE, VERSION, config);
  }

  protected moduleDefinitions(): InstrumentationNodeModuleDefinition[] {
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
          this.notePatched();
          return module;
        },
        (module: any) => {
          const owner = module?.Models?.prototype;
          if (!owner) return;
          for (const [name] of methodsOf(owner)) this._unwrap(owner, name);
          this.noteUnpatched();
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
    endAborted(span, error, params?.config?.abortSignal, params?.config?.httpOptions?.timeout, "client's");
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
