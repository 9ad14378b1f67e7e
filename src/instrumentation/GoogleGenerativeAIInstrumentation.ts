import { SpanKind, type Attributes, type Span } from '@opentelemetry/api';
import { InstrumentationNodeModuleDefinition, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { withSpanIfObserved } from '../AutopsyContextManager';
import { recordFailureAndEnd } from '../api';
import { follow } from '../observePromise';
import * as sc from '../semconv';
import { supersedeEnclosingLlmSpan } from '../supersededSpans';
import { Answer, contentsOf, endAborted, looseParts, modelName, partsOf, roleOf, setSettings } from './geminiContent';
import { guard, streamReader, type StreamObserver } from './observedStream';
import { serverAttributesCache } from './stainlessCalls';
import { VERSION } from '../version';
import { ClientInstrumentationBase } from './ClientInstrumentationBase';

export interface GoogleGenerativeAIInstrumentationConfig extends InstrumentationConfig {
  /** Put prompts and replies on the span (`gen_ai.input.messages` / `gen_ai.output.messages`). Default false. */
  captureContent?: boolean;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyFunction = (...args: any[]) => any;

interface Method {
  operation: 'generate_content' | 'embeddings';
  stream: boolean;
  /** ChatSession's: the request is the new message, sent after the session's history. */
  chat: boolean;
}

const MODEL_METHODS: ReadonlyArray<readonly [string, Method]> = [
  ['generateContent', { operation: 'generate_content', stream: false, chat: false }],
  ['generateContentStream', { operation: 'generate_content', stream: true, chat: false }],
  ['embedContent', { operation: 'embeddings', stream: false, chat: false }],
  ['batchEmbedContents', { operation: 'embeddings', stream: false, chat: false }],
];
const CHAT_METHODS: ReadonlyArray<readonly [string, Method]> = [
  ['sendMessage', { operation: 'generate_content', stream: false, chat: true }],
  ['sendMessageStream', { operation: 'generate_content', stream: true, chat: true }],
];

/** The API's address when the app gives none (`requestOptions.baseUrl`). */
const DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';

/**
 * GenAI-convention spans for `@google/generative-ai`, Google's earlier Gemini SDK (deprecated
 * for `@google/genai`, and still the one LangChain's `@langchain/google-genai` runs on): each
 * request of a `GenerativeModel` (`generateContent`, `generateContentStream`, `embedContent`,
 * `batchEmbedContents`) and of a `ChatSession` (`sendMessage`, `sendMessageStream`, which send
 * without going through the model's methods). The SDK is on `fetch`: without this the request
 * record has its requests, with the model their path names and no tokens.
 *
 * The spans are those of GoogleGenAIInstrumentation (geminiContent.ts reads the same answers):
 * `generate_content {model}` / `embeddings {model}`, provider `gcp.gemini`, settings, usage,
 * finish reasons, a blocked prompt as a failure (`BLOCKED_SAFETY` …). A stream result's span
 * ends with the first of: its response (`result.response`, which the SDK settles when the whole
 * answer has arrived, whoever reads it) or the app's reading of `result.stream` ending (read to
 * its end, stopped, or failed). An error the API sends inside the stream, which this SDK yields as
 * a chunk and never throws, fails the call. A failure's `error.type` is the reason of Google's
 * ErrorInfo (`API_KEY_INVALID`), else the SDK's class (`GoogleGenerativeAIFetchError`, with its
 * status). `requestOptions.timeout` aborts the request as the app's `signal` does: a timeout is a
 * `TimeoutError`, an abort of the app's own no failure.
 */
export class GoogleGenerativeAIInstrumentation extends ClientInstrumentationBase<GoogleGenerativeAIInstrumentationConfig> {
  private readonly serverAttributes = serverAttributesCache();

  constructor(config: GoogleGenerativeAIInstrumentationConfig = {}) {
    super(sc.GOOGLE_GENERATIVE_AI_CLIENT_SCOPE, VERSION, config);
  }

  protected moduleDefinitions(): InstrumentationNodeModuleDefinition[] {
    const owners = (module: any): Array<readonly [any, ReadonlyArray<readonly [string, Method]>]> =>
      [
        [module?.GenerativeModel?.prototype, MODEL_METHODS] as const,
        [module?.ChatSession?.prototype, CHAT_METHODS] as const,
      ].filter(([owner]) => owner && typeof owner === 'object');
    return [
      new InstrumentationNodeModuleDefinition(
        '@google/generative-ai',
        ['>=0.1.0 <1'],
        (module: any) => {
          let wrapped = 0;
          for (const [owner, methods] of owners(module)) {
            for (const [name, method] of methods) {
              if (typeof owner[name] !== 'function') continue;
              this._wrap(owner, name, this.patchMethod(method));
              wrapped++;
            }
          }
          if (wrapped === 0) this._diag.warn('@google/generative-ai: no GenerativeModel methods found, calls are not traced');
          else this.notePatched();
          return module;
        },
        (module: any) => {
          for (const [owner, methods] of owners(module)) for (const [name] of methods) this._unwrap(owner, name);
          this.noteUnpatched();
        },
      ),
    ];
  }

  /**
   * The wrapper of one method: the host call always runs, once, and the app gets what it
   * returns (a promise derived from it, which settles the same way). A failure of the telemetry
   * never changes the call.
   */
  private patchMethod(method: Method): (original: AnyFunction) => AnyFunction {
    const instrumentation = this;
    return (original) =>
      function tracedGenerativeMethod(this: any, ...args: any[]) {
        if (!instrumentation.isEnabled()) return original.apply(this, args);
        let span: Span | undefined;
        try {
          // Another instrumentation's span around this one (OpenInference's LangChain tracer …) is the same request.
          supersedeEnclosingLlmSpan();
          span = instrumentation.startCallSpan(method, this, args[0]);
        } catch (error) {
          instrumentation._diag.error('@google/generative-ai: the span could not be started', error);
        }
        // Called once whatever happened above, outside the try: what it throws is the app's.
        if (span === undefined) return original.apply(this, args);
        const traced = span;
        let options: Record<string, any> | undefined;
        try {
          options = requestOptionsOf(this, args[1]);
        } catch {
          options = undefined;
        }
        const signal = options?.signal;
        const timeout = options?.timeout;
        const capture = instrumentation.getConfig().captureContent === true;
        const failed = (error: unknown) => guard(() => fail(traced, error, signal, timeout));
        let result: any;
        try {
          result = withSpanIfObserved(traced, () => original.apply(this, args));
        } catch (error) {
          failed(error);
          throw error;
        }
        if (!result || typeof result.then !== 'function') {
          guard(() => traced.end());
          return result;
        }
        // The result object itself is the app's: a stream result's `stream` and `response` are replaced on it.
        return follow(result, (value: any) => (method.stream ? traceStreamResult(traced, value, capture, failed, method.chat) : onResult(traced, method, value, capture)), failed);
      };
  }

  private startCallSpan(method: Method, owner: any, request: unknown): Span {
    const model = modelName(owner?.model);
    const options = requestOptionsOf(owner, undefined);
    const attributes: Attributes = {
      [sc.ATTR_GEN_AI_OPERATION_NAME]: method.operation,
      [sc.ATTR_GEN_AI_PROVIDER_NAME]: 'gcp.gemini',
      ...this.serverAttributes(typeof options?.baseUrl === 'string' && options.baseUrl !== '' ? options.baseUrl : DEFAULT_BASE_URL),
    };
    if (model !== undefined) attributes[sc.ATTR_GEN_AI_REQUEST_MODEL] = model;
    if (method.operation === 'embeddings') return this.tracer.startSpan(`embeddings ${model ?? 'unknown'}`, { kind: SpanKind.CLIENT, attributes });
    if (method.stream) attributes[sc.ATTR_GEN_AI_REQUEST_STREAM] = true;
    // The model's (or the session's) settings, unless the request brings its own.
    const defaults = method.chat ? owner?.params : owner;
    // A GenerateContentRequest (with `contents`) is sent as it is; a string or a list of parts becomes the user's turn.
    const own = !method.chat && request && typeof request === 'object' && Array.isArray((request as Record<string, any>).contents) ? (request as Record<string, any>) : undefined;
    const config = own?.generationConfig ?? defaults?.generationConfig;
    if (config && typeof config === 'object') setSettings(attributes, config);
    if (this.getConfig().captureContent === true) {
      const system = own?.systemInstruction ?? defaults?.systemInstruction;
      if (system !== undefined && system !== null) attributes[sc.ATTR_GEN_AI_SYSTEM_INSTRUCTIONS] = JSON.stringify(partsOf(looseParts(system)));
      const history: unknown[] = method.chat && Array.isArray(owner?._history) ? owner._history : [];
      const contents = [...contentsOf(history), ...contentsOf(own ? own.contents : request)];
      attributes[sc.ATTR_GEN_AI_INPUT_MESSAGES] = JSON.stringify(contents.map((content) => ({ role: roleOf(content), parts: partsOf(content.parts) })));
    }
    return this.tracer.startSpan(`generate_content ${model ?? 'unknown'}`, { kind: SpanKind.CLIENT, attributes });
  }
}

/** The request options a call runs with: the model's (or session's), then the call's own. */
function requestOptionsOf(owner: any, callOptions: unknown): Record<string, any> | undefined {
  const base = owner?._requestOptions;
  const own = callOptions && typeof callOptions === 'object' ? (callOptions as Record<string, any>) : undefined;
  if (!own) return base && typeof base === 'object' ? base : undefined;
  return { ...(base && typeof base === 'object' ? base : {}), ...own };
}

function onResult(span: Span, method: Method, result: any, capture: boolean): void {
  if (!span.isRecording()) return;
  if (method.operation === 'generate_content') {
    const answer = new Answer();
    answer.add(result?.response, capture);
    answer.finish(span, capture);
  }
  span.end();
}

/**
 * A stream result (`{ stream, response }`): its `stream` is replaced with a generator that reads
 * it through for the app, and its `response` with a promise derived from it that settles the same
 * way: one the app ignores still rejects unhandled, as the SDK's would, except a chat's, whose
 * response the session itself handles (for its history), so that ignoring it crashes nothing, as
 * before. The SDK reads its own copy
 * of the stream for the response, whether the app reads `stream` or not. The span ends with the
 * first of the two: the response, once the whole answer arrived, or the end of the app's reading;
 * but while the app reads the stream and has had no chunk yet, the response leaves the end to the
 * reading, which times the first chunk (with a fast server the whole answer can arrive before it).
 */
function traceStreamResult(span: Span, result: any, capture: boolean, failed: (error: unknown) => void, sdkHandlesResponse: boolean): void {
  if (!result || typeof result !== 'object') {
    span.end();
    return;
  }
  const stream = result.stream;
  let reading = false;
  let chunked = false;
  if (typeof stream?.[Symbol.asyncIterator] === 'function') {
    const answer = new Answer();
    const observer: StreamObserver = {
      isAnswer: (chunk) => Array.isArray(chunk?.candidates) && chunk.candidates.some((candidate: any) => Array.isArray(candidate?.content?.parts) && candidate.content.parts.length > 0),
      chunk: (chunk) => {
        chunked = true;
        answer.add(chunk, capture);
      },
      end: () => answer.finish(span, capture),
      fail: failed,
    };
    const read = streamReader(span)(stream[Symbol.asyncIterator](), observer);
    result.stream = (async function* readStream() {
      reading = true;
      yield* read;
    })();
  }
  const response = result.response;
  if (typeof response?.then === 'function') {
    result.response = response.then(
      (value: unknown) => {
        guard(() => {
          if (!span.isRecording() || (reading && !chunked)) return;
          const answer = new Answer();
          answer.add(value, capture);
          answer.finish(span, capture);
          span.end();
        });
        return value;
      },
      (error: unknown) => {
        failed(error);
        throw error;
      },
    );
    if (sdkHandlesResponse) result.response.catch(() => undefined);
  } else if (typeof stream?.[Symbol.asyncIterator] !== 'function') {
    span.end();
  }
}

/**
 * Records a failed call on its span and ends it. An abort is no failure when the app's own signal
 * was aborted; otherwise it is the request's timeout (`requestOptions.timeout`), which aborts it
 * the same way.
 */
function fail(span: Span, error: any, signal: any, timeout: unknown): void {
  if (!span.isRecording()) return;
  if (error?.name === 'AbortError' || error?.constructor?.name === 'GoogleGenerativeAIAbortError') {
    endAborted(span, error, signal, timeout, "request's");
    return;
  }
  // Google's ErrorInfo names the cause best (a refused key: API_KEY_INVALID, with a 400).
  const details: unknown = error?.errorDetails;
  const info = Array.isArray(details) ? details.find((detail: any) => typeof detail?.reason === 'string' && detail.reason !== '') : undefined;
  recordFailureAndEnd(span, error, info ? info.reason : typeof error?.constructor?.name === 'string' && error.constructor.name !== 'Error' ? error.constructor.name : undefined);
}
