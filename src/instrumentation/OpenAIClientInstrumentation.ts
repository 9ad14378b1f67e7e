import { SpanKind, SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  type InstrumentationConfig,
} from '@opentelemetry/instrumentation';
import { nowMs } from '../clock';
import { withSpanIfObserved } from '../AutopsyContextManager';
import * as sc from '../semconv';
import { recordFailureAndEnd } from '../api';
import { observeApiPromise, once } from '../observePromise';
import { realSetTimeout } from '../realTimers';
import { currentRun, warnOnce } from '../runtime';
import { activeOwnSpan } from '../separateSpans';
import { classifySpan, isOwnSpan } from '../spanMapping';
import { attributesOf, StreamChunks } from '../StreamChunks';
import { serverOf } from '../serverAddress';
import { markSuperseded } from '../supersededSpans';
import { VERSION } from '../version';

export interface OpenAIClientInstrumentationConfig extends InstrumentationConfig {
  /** Put prompts and replies on the span (`gen_ai.input.messages` / `gen_ai.output.messages`). Default false. */
  captureContent?: boolean;
}

export { OPENAI_CLIENT_SCOPE } from '../semconv';

type Endpoint = 'chat' | 'responses' | 'embeddings';

/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyFunction = (...args: any[]) => any;

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
 * The host call always runs: a failure of the telemetry never changes what `create` returns, and
 * the response is never read by the instrumentation (see observeApiPromise). A call whose result
 * the app only takes with `.asResponse()` (the raw HTTP response) is never parsed: its span ends
 * when the response arrives, without usage or finish reasons.
 *
 * The client retries a failed request itself (429, 5xx, timeouts; `maxRetries`, 2 by default)
 * before the app sees an error. To count those attempts, `create` hands the SDK a copy of the
 * call's request options with one more key (a symbol, with the call's CallAttempts), which the SDK
 * carries into `buildRequest(options, { retryCount })`, called once per attempt with the SDK's own
 * count of retries (the one it sends as `X-Stainless-Retry-Count`): that method is wrapped, and
 * from the second attempt on the span gets `http.request.resend_count`, as @anthropic-ai/sdk's own
 * spans have it. Not `prepareRequest`, the documented hook: an app's subclass that overrides it
 * need not call the client's empty one (AzureOpenAI's buildRequest calls the client's). Nothing
 * reaches the request or the server; a client version that stopped carrying the key only loses
 * the count.
 */
export class OpenAIClientInstrumentation extends InstrumentationBase<OpenAIClientInstrumentationConfig> {
  constructor(config: OpenAIClientInstrumentationConfig = {}) {
    super(sc.OPENAI_CLIENT_SCOPE, VERSION, config);
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    const resources = (module: any) => {
      const exports = module?.[Symbol.toStringTag] === 'Module' ? module.default : module;
      const OpenAI = exports?.OpenAI;
      if (!OpenAI?.Chat?.Completions) return undefined;
      return {
        chat: OpenAI.Chat.Completions.prototype,
        embeddings: OpenAI.Embeddings?.prototype,
        responses: OpenAI.Responses?.prototype,
      } as Record<Endpoint, any>;
    };
    return [
      new InstrumentationNodeModuleDefinition(
        'openai',
        ['>=4.19.0 <8'],
        (module: any, moduleVersion?: string) => {
          const targets = resources(module);
          if (!targets) {
            this._diag.warn('openai: no Chat.Completions class found, calls are not traced');
            return module;
          }
          for (const endpoint of ['chat', 'embeddings', 'responses'] as const) {
            if (!targets[endpoint]) continue;
            this._wrap(targets[endpoint], 'create', this.patch(endpoint));
            this.wrapped.set(targets[endpoint], { endpoint, wrapper: targets[endpoint].create });
          }
          this.checkWrappersLater();
          if (moduleVersion !== undefined) this.patchedVersions.add(moduleVersion);
          const client = buildRequestOwner(module);
          if (client) this._wrap(client, 'buildRequest', patchBuildRequest);
          else this._diag.warn('openai: no buildRequest found, the retries of a call are not counted');
          return module;
        },
        (module: any, moduleVersion?: string) => {
          if (moduleVersion !== undefined) this.patchedVersions.delete(moduleVersion);
          const targets = resources(module);
          if (!targets) return;
          for (const endpoint of ['chat', 'embeddings', 'responses'] as const) {
            if (!targets[endpoint]) continue;
            this._unwrap(targets[endpoint], 'create');
            this.wrapped.delete(targets[endpoint]);
          }
          const client = buildRequestOwner(module);
          if (client) this._unwrap(client, 'buildRequest');
        },
      ),
    ];
  }

  /**
   * The calls of the client of this version (its `X-Stainless-Package-Version` header) are traced:
   * its module was patched here (and its calls are recorded by this wrapper, or by another
   * instrumentation's that replaced it).
   */
  tracesVersion(version: string): boolean {
    return this.patchedVersions.has(version) && this.isEnabled();
  }

  /** The versions of the client modules patched here. */
  private readonly patchedVersions = new Set<string>();

  /** The prototypes whose `create` is wrapped here, with the wrapper each got (the latest, after a disable() and enable()). */
  private readonly wrapped = new Map<any, { endpoint: Endpoint; wrapper: AnyFunction }>();
  private checkScheduled = false;

  /**
   * Another instrumentation that wraps `create` with InstrumentationBase._wrap after this one
   * (OpenLLMetry's, @opentelemetry/instrumentation-openai) first removes this wrapper: the calls
   * are then recorded from its spans only, which may lack what this one records (failures, retries,
   * the first chunk). Looked at once the module has loaded (the other's hook runs in the same
   * require) and as the process exits (an instrumentation enabled later), and said once.
   */
  private checkWrappersLater(): void {
    if (this.checkScheduled) return;
    this.checkScheduled = true;
    realSetTimeout(() => this.warnIfReplaced(), 0).unref();
    process.once('exit', () => this.warnIfReplaced());
  }

  private warnIfReplaced(): void {
    try {
      const replaced: string[] = [];
      for (const [owner, { endpoint, wrapper }] of this.wrapped) if (!wraps(owner.create, wrapper)) replaced.push(ENDPOINT_NAMES[endpoint]);
      if (replaced.length === 0 || !this.isEnabled()) return;
      warnOnce(
        'openai-wrapper-replaced',
        `another instrumentation re-wrapped openai's ${replaced.join(', ')} and removed agent-autopsy's own wrapper: those calls are recorded from its spans only, which may lack failures, retries and the time to first chunk (OpenLLMetry's and OpenInference's end no span whose request failed); disable that instrumentation's openai part to keep agent-autopsy's (README, "Beside an existing OpenTelemetry setup")`,
      );
    } catch {
      /* a module that cannot be read: nothing to say */
    }
  }

  private patch(endpoint: Endpoint) {
    const self = this;
    return (original: AnyFunction): AnyFunction =>
      function tracedCreate(this: { _client?: { baseURL?: string } }, ...args: unknown[]) {
        if (!self.isEnabled()) return original.apply(this, args);
        const params = (args[0] ?? {}) as Record<string, any>;
        let span: Span;
        try {
          supersedeEnclosingLlmSpan();
          span = self.startCallSpan(endpoint, params, this?._client?.baseURL);
        } catch (error) {
          self._diag.error('openai: the span could not be started', error);
          return original.apply(this, args);
        }
        const capture = self.getConfig().captureContent === true;
        const callArgs = withCallAttempts(args, span);
        const result = withSpanIfObserved(span, () => original.apply(this, callArgs));
        const settle = once({
          value: (value: any) => onResult(span, endpoint, params, value, capture),
          error: (error: unknown) => fail(span, error),
          // Only the raw HTTP response was taken (`.asResponse()`): the body is the app's to read.
          response: () => span.end(),
        });
        if (observeApiPromise(result, settle)) return result;
        if (result && typeof result.then === 'function') result.then(settle.value, settle.error);
        else span.end();
        return result;
      };
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

/** The request-options key that carries a call's CallAttempts to buildRequest (see the class comment). */
const CALL_ATTEMPTS = Symbol('agent-autopsy.openai.call');

/** The attempts the client made for one traced call so far. */
class CallAttempts {
  attempts = 0;
  constructor(readonly span: Span) {}

  /** What the SDK's debug log prints for it (it logs the request options): not the whole span. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `agent-autopsy call (${this.attempts} attempt${this.attempts === 1 ? '' : 's'})`;
  }
}

/**
 * `create`'s arguments with a copy of its request options (the second argument) that also holds
 * the call's CallAttempts; the arguments as they are when the options are no object or cannot be
 * copied (a getter that throws: the SDK then meets it as it would have).
 */
function withCallAttempts(args: unknown[], span: Span): unknown[] {
  try {
    const options = args[1];
    if (options !== undefined && (options === null || typeof options !== 'object')) return args;
    const copy = args.length > 2 ? args.slice() : [args[0], undefined];
    copy[1] = { ...(options as object), [CALL_ATTEMPTS]: new CallAttempts(span) };
    return copy;
  } catch {
    return args;
  }
}

/** The prototype that defines `buildRequest` (OpenAI's in 5.x – 7.x, APIClient's in 4.x), from the CommonJS exports or the ES module namespace. */
function buildRequestOwner(module: any): any {
  const exports = module?.[Symbol.toStringTag] === 'Module' ? module.default : module;
  let proto = typeof exports?.OpenAI === 'function' ? exports.OpenAI.prototype : undefined;
  while (proto && proto !== Object.prototype) {
    if (Object.prototype.hasOwnProperty.call(proto, 'buildRequest') && typeof proto.buildRequest === 'function') return proto;
    proto = Object.getPrototypeOf(proto);
  }
  return undefined;
}

/** Counts each attempt of a traced call before the request is built. */
function patchBuildRequest(original: AnyFunction): AnyFunction {
  return function tracedBuildRequest(this: unknown, ...args: unknown[]) {
    guard(() => countAttempt((args[0] as Record<symbol, unknown> | undefined)?.[CALL_ATTEMPTS], (args[1] as { retryCount?: unknown } | undefined)?.retryCount));
    return original.apply(this, args);
  };
}

/** `retryCount` is the SDK's own count; the attempts seen so far stand in where a version gives none. */
function countAttempt(call: unknown, retryCount: unknown): void {
  if (!(call instanceof CallAttempts)) return;
  call.attempts++;
  const resends = typeof retryCount === 'number' && Number.isSafeInteger(retryCount) && retryCount >= 0 ? retryCount : call.attempts - 1;
  if (resends > 0 && call.span.isRecording()) {
    call.span.setAttribute(sc.ATTR_HTTP_REQUEST_RESEND_COUNT, resends);
    (call.span as Span & { [RESENT_AT]?: number })[RESENT_AT] = nowMs();
  }
}

/** When the client sent a call's request again, the last time (epoch ms, the run's clock): a field on its span. */
const RESENT_AT = Symbol('agent-autopsy.openai.resentAt');

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

function guard(fn: () => void): void {
  try {
    fn();
  } catch {
    /* telemetry never fails the call */
  }
}

/** The last client's base URL and its attributes: an app talks to one endpoint, and parsing it each call costs ~5 µs. */
let lastBaseURL: string | undefined;
let lastServerAttributes: Readonly<Attributes> = {};

function serverAttributes(baseURL: string | undefined): Readonly<Attributes> {
  if (!baseURL) return {};
  if (baseURL !== lastBaseURL) {
    lastServerAttributes = parseServer(baseURL);
    lastBaseURL = baseURL;
  }
  return lastServerAttributes;
}

function parseServer(baseURL: string): Readonly<Attributes> {
  const server = serverOf(baseURL);
  return server ? Object.freeze({ 'server.address': server.address, 'server.port': server.port }) : {};
}

/** Exception event, ERROR status with the message, `error.type` (the SDK's error class) and HTTP status; ends the span. */
function fail(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  recordFailureAndEnd(span, error);
}

function onResult(span: Span, endpoint: Endpoint, params: Record<string, any>, value: any, capture: boolean): void {
  if (params.stream === true && value && typeof value.iterator === 'function') {
    const iterator = value.iterator as () => AsyncIterator<unknown>;
    // Timed from when the request that answered was sent: the span's start, or the client's last
    // retry (its wait before it is the retry's, counted in failed_attempts, not the model's).
    // Streamed calls only pay for it, here, once (the run knows when the span started).
    let startMs = (span as Span & { [RESENT_AT]?: number })[RESENT_AT] ?? NaN;
    if (Number.isNaN(startMs)) guard(() => (startMs = currentRun()?.spanStartMs(span) ?? NaN));
    const chunks = new StreamChunks(span, startMs);
    // Stream#[Symbol.asyncIterator]() and Stream#tee() both read through `iterator`.
    value.iterator = function tracedIterator(this: unknown) {
      return observeStream(iterator.call(this), span, endpoint, capture, chunks);
    };
    return;
  }
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

/** Reads the stream through for the app, gathering what the span needs; ends the span however the reading ends. */
async function* observeStream(iterator: AsyncIterator<unknown>, span: Span, endpoint: Endpoint, capture: boolean, chunks: StreamChunks): AsyncGenerator<unknown> {
  let text = '';
  const finishReasons: string[] = [];
  let failed = false;
  try {
    for await (const chunk of { [Symbol.asyncIterator]: () => iterator }) {
      // One clock read per chunk; the test below only until the answer's first chunk came.
      chunks.chunk();
      if (chunks.firstMs === 0 && isAnswerChunk(endpoint, chunk)) chunks.answered();
      guard(() => {
        const c = chunk as any;
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
      });
      yield chunk;
    }
  } catch (error) {
    failed = true;
    guard(() => fail(span, error));
    throw error;
  } finally {
    if (!failed && span.isRecording()) {
      guard(() => {
        const reasons = finishReasons.filter((reason) => reason !== undefined);
        if (endpoint === 'chat' && reasons.length > 0) span.setAttribute(sc.ATTR_GEN_AI_RESPONSE_FINISH_REASONS, reasons);
        if (capture && text) span.setAttribute(sc.ATTR_GEN_AI_OUTPUT_MESSAGES, messages('assistant', text));
        span.end();
      });
    }
  }
}

function messages(role: string, content: unknown): string {
  return JSON.stringify([{ role, content }]);
}

function inputMessages(endpoint: Endpoint, params: Record<string, any>): string {
  if (endpoint === 'chat') return JSON.stringify(params.messages ?? []);
  if (endpoint === 'embeddings') return messages('user', params.input);
  const list: unknown[] = [];
  if (params.instructions) list.push({ role: 'system', content: params.instructions });
  if (typeof params.input === 'string') list.push({ role: 'user', content: params.input });
  else if (Array.isArray(params.input)) list.push(...params.input);
  return JSON.stringify(list);
}

const ENDPOINT_NAMES: Record<Endpoint, string> = { chat: 'chat.completions.create', responses: 'responses.create', embeddings: 'embeddings.create' };

/** Whether `fn` is `wrapper` or wraps it (shimmer keeps the wrapped function as `__original`), a few layers down. */
function wraps(fn: unknown, wrapper: AnyFunction): boolean {
  let current = fn;
  for (let depth = 0; depth < 8 && typeof current === 'function'; depth++) {
    if (current === wrapper) return true;
    current = (current as AnyFunction & { __original?: unknown }).__original;
  }
  return false;
}

/**
 * Another instrumentation's llm span this request runs in (OpenInference's openai instrumentation
 * wraps `create` around this one) is the same request: this one's span is the call (see
 * supersededSpans.ts). An llmCall() of the app's is not: its span is a call of its own.
 */
function supersedeEnclosingLlmSpan(): void {
  let active: Span | undefined = activeOwnSpan();
  // OpenInference makes its wrapper of the SDK's span (OISpan, which masks attributes) the active span.
  if (active && !attributesOf(active)) active = (active as Span & { span?: Span }).span;
  const attributes = attributesOf(active);
  if (active && attributes && !isOwnSpan(attributes) && classifySpan(attributes) === 'llm') markSuperseded(active);
}
