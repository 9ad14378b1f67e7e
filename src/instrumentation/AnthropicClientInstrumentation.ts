import { SpanKind, type Attributes, type Span } from '@opentelemetry/api';
import { InstrumentationNodeModuleDefinition, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { recordFailureAndEnd } from '../api';
import * as sc from '../semconv';
import { VERSION } from '../version';
import { appendDelta, outputMessages, setInputMessages } from './anthropicMessages';
import {
  serverAttributesCache,
  StainlessClientInstrumentation,
  traceStream,
  type AnyFunction,
  type CreateMethod,
  type StreamObserver,
} from './stainlessCalls';

export interface AnthropicClientInstrumentationConfig extends InstrumentationConfig {
  /** Put prompts and replies on the span (`gen_ai.input.messages` / `gen_ai.output.messages`). Default false. */
  captureContent?: boolean;
}

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * GenAI-convention spans for @anthropic-ai/sdk's Messages API where the SDK does not trace it
 * itself: versions 0.20 to 0.133, and clients of the later versions (0.134 on, 1.x) whose own
 * tracing is off (`ANTHROPIC_OPEN_TELEMETRY=false`, which Sentry 11 sets, or `openTelemetry:
 * false`). Covers `messages.create` and `beta.messages.create`, streamed or not, and so
 * `messages.stream()` and the other helpers built on them. A client with its tracing on is left to
 * its own spans (it has a tracer, `_tracer`).
 *
 * The spans have what the SDK's own spans have (1.x's), so a run records the same events whichever version
 * the app runs: model, max tokens and sampling settings, response id and model, `stop_reason` as
 * the finish reason, input tokens with the cache's (the conventions' count: 1.x's too), output
 * tokens, cache reads and writes, and on a stream the time to the first `content_block_delta`.
 * A failure's `error.type` is the one 1.x gives: the error envelope's type (`overloaded_error`,
 * `rate_limit_error` …), `client_timeout_error`, `connection_error`, else the status or
 * `client_error`; and as there, a call the app aborted is no failure. The client's retries are
 * counted (`http.request.resend_count`), as on the openai client (stainlessCalls.ts).
 */
export class AnthropicClientInstrumentation extends StainlessClientInstrumentation<AnthropicClientInstrumentationConfig> {
  protected readonly packageName = '@anthropic-ai/sdk';
  protected readonly replacedNote = { known: '', part: 'Anthropic' };

  constructor(config: AnthropicClientInstrumentationConfig = {}) {
    super(sc.ANTHROPIC_CLIENT_SCOPE, VERSION, config);
  }

  protected moduleDefinitions(): InstrumentationNodeModuleDefinition[] {
    const methods = (module: any): CreateMethod[] => {
      const Anthropic = clientClass(module);
      const owners: Array<[any, string]> = [
        [Anthropic?.Messages?.prototype, 'messages.create'],
        [Anthropic?.Beta?.Messages?.prototype, 'beta.messages.create'],
      ];
      return owners.filter(([owner]) => typeof owner?.create === 'function').map(([owner, method]) => ({ owner, method, patch: this.patch() }));
    };
    return [this.clientModule('@anthropic-ai/sdk', ['>=0.20.0 <2'], methods, clientClass)];
  }

  private patch(): (original: AnyFunction) => AnyFunction {
    return this.traceCalls({
      // From 0.134 on a client traces its calls itself unless its tracing is off (no tracer then).
      skip: (client) => client?._tracer !== undefined && client?._tracer !== null,
      start: (client, params) => this.startCallSpan(params, client?.baseURL),
      result: (span, params, value) => onResult(span, params, value, this.getConfig().captureContent === true),
      fail,
    });
  }

  private startCallSpan(params: Record<string, any>, baseURL: string | undefined): Span {
    const attributes: Attributes = {
      [sc.ATTR_GEN_AI_OPERATION_NAME]: 'chat',
      [sc.ATTR_GEN_AI_PROVIDER_NAME]: 'anthropic',
    };
    if (typeof params.model === 'string') attributes[sc.ATTR_GEN_AI_REQUEST_MODEL] = params.model;
    if (typeof params.max_tokens === 'number') attributes[sc.ATTR_GEN_AI_REQUEST_MAX_TOKENS] = params.max_tokens;
    if (typeof params.temperature === 'number') attributes[sc.ATTR_GEN_AI_REQUEST_TEMPERATURE] = params.temperature;
    if (typeof params.top_p === 'number') attributes[sc.ATTR_GEN_AI_REQUEST_TOP_P] = params.top_p;
    if (typeof params.top_k === 'number') attributes[sc.ATTR_GEN_AI_REQUEST_TOP_K] = params.top_k;
    if (Array.isArray(params.stop_sequences) && params.stop_sequences.length > 0 && params.stop_sequences.every((item: unknown) => typeof item === 'string')) {
      attributes[sc.ATTR_GEN_AI_REQUEST_STOP_SEQUENCES] = params.stop_sequences;
    }
    if (params.stream === true) attributes[sc.ATTR_GEN_AI_REQUEST_STREAM] = true;
    Object.assign(attributes, serverAttributes(baseURL));
    if (this.getConfig().captureContent === true) setInputMessages(attributes, params);
    return this.tracer.startSpan(`chat ${params.model ?? 'unknown'}`, { kind: SpanKind.CLIENT, attributes });
  }
}

/**
 * The Anthropic client class, from the CommonJS exports or the ES module namespace: the one with
 * the resource classes (from 0.50 on, `Anthropic.Anthropic` is its base class, BaseAnthropic).
 */
function clientClass(module: any): any {
  for (const candidate of [module?.default, module?.Anthropic, module]) if (typeof candidate === 'function' && typeof candidate.Messages === 'function') return candidate;
  return undefined;
}

/** The server of the clients' base URL. */
const serverAttributes = serverAttributesCache();

function onResult(span: Span, params: Record<string, any>, value: any, capture: boolean): void {
  if (params.stream === true && traceStream(span, value, () => streamObserver(span, capture))) return;
  if (value && typeof value === 'object') {
    setMessage(span, value);
    setUsage(span, value.usage);
    if (typeof value.stop_reason === 'string') span.setAttribute(sc.ATTR_GEN_AI_RESPONSE_FINISH_REASONS, [value.stop_reason]);
    if (capture) span.setAttribute(sc.ATTR_GEN_AI_OUTPUT_MESSAGES, outputMessages(value.content));
  }
  span.end();
}

/** The response's id and model (a Message, or a stream's `message_start` message). */
function setMessage(span: Span, message: any): void {
  if (typeof message?.id === 'string' && message.id) span.setAttribute(sc.ATTR_GEN_AI_RESPONSE_ID, message.id);
  if (typeof message?.model === 'string' && message.model) span.setAttribute(sc.ATTR_GEN_AI_RESPONSE_MODEL, message.model);
}

/**
 * The token counts of a Message's usage (or a stream's, as far as it came). Input tokens are all
 * the prompt's, the cache's reads and writes included, as the conventions and 1.x's spans count
 * them; the API's `input_tokens` leaves the cache out.
 */
function setUsage(span: Span, usage: any): void {
  if (!usage || typeof usage !== 'object') return;
  const count = (name: string) => (typeof usage[name] === 'number' ? usage[name] : 0);
  if (typeof usage.input_tokens === 'number') {
    span.setAttribute(sc.ATTR_GEN_AI_USAGE_INPUT_TOKENS, count('input_tokens') + count('cache_read_input_tokens') + count('cache_creation_input_tokens'));
  }
  if (typeof usage.output_tokens === 'number') span.setAttribute(sc.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, usage.output_tokens);
  if (typeof usage.cache_read_input_tokens === 'number') span.setAttribute(sc.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, usage.cache_read_input_tokens);
  if (typeof usage.cache_creation_input_tokens === 'number') span.setAttribute(sc.ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, usage.cache_creation_input_tokens);
}

/**
 * Gathers what the span needs from a streamed Message's events: `message_start` (id, model, the
 * input tokens), `message_delta` (the stop reason, the output tokens so far: a stream the app
 * stopped reading before it has none, as on 1.x's spans), and with content
 * capture the text and tool calls of its blocks. The answer starts with the first
 * `content_block_delta`, as 1.x's spans time it. An `error` event makes the SDK's stream throw:
 * the span fails there.
 */
function streamObserver(span: Span, capture: boolean): StreamObserver {
  let usage: Record<string, unknown> = {};
  let stopReason: string | undefined;
  const blocks: any[] = [];
  return {
    isAnswer: (event) => event?.type === 'content_block_delta',
    chunk: (event) => {
      switch (event?.type) {
        case 'message_start': {
          setMessage(span, event.message);
          // Its output count is a placeholder (1): the answer's is the last message_delta's.
          const { output_tokens: _placeholder, ...input } = event.message?.usage ?? {};
          usage = input;
          break;
        }
        case 'message_delta':
          if (typeof event.delta?.stop_reason === 'string') stopReason = event.delta.stop_reason;
          // The delta's counts are the totals so far (output tokens, and the input's on newer models).
          for (const [name, value] of Object.entries(event.usage ?? {})) if (typeof value === 'number') usage[name] = value;
          break;
        case 'content_block_start':
          if (capture) blocks[event.index ?? blocks.length] = { ...event.content_block };
          break;
        case 'content_block_delta':
          if (capture) appendDelta(blocks[event.index ?? blocks.length - 1], event.delta);
          break;
      }
    },
    end: () => {
      setUsage(span, usage);
      if (stopReason !== undefined) span.setAttribute(sc.ATTR_GEN_AI_RESPONSE_FINISH_REASONS, [stopReason]);
      // A text block the stream had only begun (the app stopped reading) says nothing.
      const written = blocks.filter((block) => block && !(block.type === 'text' && !block.text));
      if (capture && written.length > 0) span.setAttribute(sc.ATTR_GEN_AI_OUTPUT_MESSAGES, outputMessages(written));
    },
    fail: (error) => fail(span, error),
  };
}

/** The SDK's error classes an error is an instance of, by name (the module's own classes differ between its CommonJS and ESM copies). */
function errorClasses(error: unknown): string[] {
  const names: string[] = [];
  for (let proto = error && typeof error === 'object' ? Object.getPrototypeOf(error) : null; proto && proto !== Error.prototype && names.length < 8; proto = Object.getPrototypeOf(proto)) {
    const name = proto.constructor?.name;
    if (typeof name === 'string') names.push(name);
  }
  return names;
}

/** Records a failed call on its span (a call the app aborted is none: ended as it is) and ends it. */
function fail(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  const classes = errorClasses(error);
  if (classes.includes('APIUserAbortError') || (error as { name?: unknown } | undefined)?.name === 'AbortError') {
    span.end();
    return;
  }
  recordFailureAndEnd(span, error, errorType(error, classes));
}

/** The `error.type` 1.x's spans give a failed call. */
function errorType(error: any, classes: string[]): string {
  if (classes.includes('APIConnectionTimeoutError')) return 'client_timeout_error';
  if (classes.includes('APIConnectionError')) return 'connection_error';
  if (classes.includes('APIError')) {
    const envelope = error?.type ?? error?.error?.error?.type;
    if (typeof envelope === 'string' && envelope !== '') return envelope.slice(0, 200);
    if (typeof error?.status === 'number') return String(error.status);
  }
  return 'client_error';
}
