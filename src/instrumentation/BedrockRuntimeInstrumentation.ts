import { SpanKind, type Attributes, type Span } from '@opentelemetry/api';
import { InstrumentationNodeModuleDefinition, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { withSpanIfObserved } from '../AutopsyContextManager';
import { recordFailureAndEnd } from '../api';
import { follow } from '../observePromise';
import { supersedeEnclosingLlmSpan } from '../supersededSpans';
import * as sc from '../semconv';
import { VERSION } from '../version';
import * as claude from './anthropicMessages';
import { guard, streamReader, type StreamObserver } from './observedStream';
import { ClientInstrumentationBase } from './ClientInstrumentationBase';

export interface BedrockRuntimeInstrumentationConfig extends InstrumentationConfig {
  /** Put the prompts and replies of Converse calls on the span (`gen_ai.input.messages` / `gen_ai.output.messages`). Default false. */
  captureContent?: boolean;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyFunction = (...args: any[]) => any;

/** The model-invoking commands of the Bedrock Runtime client, by the name of their class. */
const COMMANDS = {
  ConverseCommand: { stream: false, converse: true },
  ConverseStreamCommand: { stream: true, converse: true },
  InvokeModelCommand: { stream: false, converse: false },
  InvokeModelWithResponseStreamCommand: { stream: true, converse: false },
} as const;
type CommandName = keyof typeof COMMANDS;
type Command = (typeof COMMANDS)[CommandName];

/** The ids of Bedrock's embedding models (`amazon.titan-embed-text-v2:0`, `cohere.embed-english-v3` …). */
const EMBEDDING_MODEL = /(?:^|[./-])embed/i;

/** Request bodies of InvokeModel larger than this are not parsed for their settings (an image's base64 makes them large). */
const MAX_PARSED_BODY = 256 * 1024;

/**
 * GenAI-convention spans for the calls of `@aws-sdk/client-bedrock-runtime` (AWS SDK v3) that
 * invoke a model: Converse, ConverseStream, InvokeModel and InvokeModelWithResponseStream. The
 * client speaks HTTP/2, which Node 20 publishes nothing about, so the request record cannot see
 * them; and OpenTelemetry's AWS SDK instrumentation, which does trace them, traces every AWS call
 * of the app and adds trace context to its SQS messages and Lambda invocations: too much to turn
 * on from a flag. This wraps the Bedrock Runtime client's `send` only.
 *
 * A span is named `chat {modelId}` (`embeddings {modelId}` for an embedding model's InvokeModel;
 * CLIENT) with the provider `aws.bedrock`, the request's model
 * and settings, and when the answer came: input tokens with the cache's reads and writes, output
 * tokens, cache reads and writes, the stop reason as the finish reason, and the client's retries
 * (`$metadata.attempts` − 1, as `http.request.resend_count`). A stream's span ends when the app
 * has read it (or stops reading), with the time to its first delta. A failure's `error.type` is
 * the SDK's exception name (`ThrottlingException`, `ValidationException` …), with the HTTP status;
 * a call the app aborted is no failure. InvokeModel's bodies are the model's own JSON: the
 * settings, tokens and stop reason are read from the shapes of Claude, Nova, Titan, Llama,
 * Mistral and Cohere, and a stream's tokens from the `amazon-bedrock-invocationMetrics` Bedrock
 * adds to its last chunk. With content capture, Converse's messages are recorded in the
 * conventions' parts, and so are Claude's InvokeModel bodies (the Messages API's, as the
 * Anthropic instrumentation writes them); other models' bodies are not.
 */
export class BedrockRuntimeInstrumentation extends ClientInstrumentationBase<BedrockRuntimeInstrumentationConfig> {
  /** The `send` defined here on a client class that inherits it, by class prototype. */
  private readonly definedSends = new Map<object, AnyFunction>();

  constructor(config: BedrockRuntimeInstrumentationConfig = {}) {
    super(sc.BEDROCK_CLIENT_SCOPE, VERSION, config);
  }

  protected moduleDefinitions(): InstrumentationNodeModuleDefinition[] {
    return [
      new InstrumentationNodeModuleDefinition(
        '@aws-sdk/client-bedrock-runtime',
        ['>=3.0.0 <4'],
        (module: any) => {
          const owner = module?.BedrockRuntimeClient?.prototype;
          if (typeof owner?.send !== 'function') {
            this._diag.warn('@aws-sdk/client-bedrock-runtime: no BedrockRuntimeClient found, calls are not traced');
            return module;
          }
          this.wrapSend(owner, this.patchSend(commandsOf(module)));
          this.notePatched();
          return module;
        },
        (module: any) => {
          const owner = module?.BedrockRuntimeClient?.prototype;
          if (!owner) return;
          this.unwrapSend(owner);
          this.noteUnpatched();
        },
      ),
    ];
  }

  /**
   * Wraps the client class's `send`. The class inherits it from the Smithy `Client` every AWS
   * client shares, which OpenTelemetry's AWS SDK instrumentation wraps: `_wrap` here would first
   * undo that wrapper (it unwraps what it finds wrapped, and the inherited function is), so the
   * class gets a `send` of its own that calls the inherited one as it is at each call (a wrapper
   * added to it later runs too).
   */
  private wrapSend(owner: any, patch: (original: AnyFunction) => AnyFunction): void {
    if (Object.prototype.hasOwnProperty.call(owner, 'send')) {
      this._wrap(owner, 'send', patch);
      return;
    }
    const base = Object.getPrototypeOf(owner);
    const inherited = function send(this: unknown, ...args: unknown[]) {
      return base.send.apply(this, args);
    };
    const defined = patch(inherited);
    Object.defineProperty(owner, 'send', { value: defined, writable: true, configurable: true, enumerable: false });
    this.definedSends.set(owner, defined);
  }

  private unwrapSend(owner: any): void {
    const defined = this.definedSends.get(owner);
    if (defined === undefined) {
      this._unwrap(owner, 'send');
      return;
    }
    this.definedSends.delete(owner);
    // Removed only while it is still this one (not replaced by the app or another instrumentation).
    if (owner.send === defined) delete owner.send;
  }

  /**
   * The wrapper of `send`: the host call always runs, once, and the app gets what it returns (a
   * promise derived from it, which settles the same way, or undefined with a callback, which gets
   * the same outcome). A failure of the telemetry never changes the call.
   */
  private patchSend(commands: Map<unknown, Command>): (original: AnyFunction) => AnyFunction {
    const instrumentation = this;
    return (original) =>
      function tracedSend(this: unknown, ...args: any[]) {
        if (!instrumentation.isEnabled()) return original.apply(this, args);
        let span: Span | undefined;
        let command: Command | undefined;
        try {
          command = commandOf(args[0], commands);
          if (command) {
            // OpenLLMetry's Bedrock instrumentation wraps `send` around this one: the same request.
            supersedeEnclosingLlmSpan();
            span = instrumentation.startCallSpan(command, args[0]?.input ?? {});
          }
        } catch (error) {
          instrumentation._diag.error('@aws-sdk/client-bedrock-runtime: the span could not be started', error);
        }
        // Called once whatever happened above, outside the try: what it throws is the app's.
        if (span === undefined || command === undefined) return original.apply(this, args);
        const traced = span;
        const kind = command;
        const capture = instrumentation.getConfig().captureContent === true;
        const settled = (value: any) => guard(() => onResult(traced, kind, value, capture));
        const failed = (error: unknown) => guard(() => fail(traced, error));
        const callback = args.length > 1 && typeof args[args.length - 1] === 'function' ? (args[args.length - 1] as AnyFunction) : undefined;
        if (callback) {
          args = args.slice();
          args[args.length - 1] = function tracedCallback(this: unknown, error: unknown, value: unknown) {
            if (error) failed(error);
            else settled(value);
            return callback.call(this, error, value);
          };
        }
        let result: any;
        try {
          result = withSpanIfObserved(traced, () => original.apply(this, args));
        } catch (error) {
          failed(error);
          throw error;
        }
        if (callback) return result;
        return follow(result, settled, failed);
      };
  }

  private startCallSpan(command: Command, input: Record<string, any>): Span {
    const model = typeof input.modelId === 'string' && input.modelId !== '' ? input.modelId : undefined;
    // InvokeModel also runs the embedding models (Titan's, Cohere's): told by their ids.
    const operation = !command.converse && model !== undefined && EMBEDDING_MODEL.test(model) ? 'embeddings' : 'chat';
    const attributes: Attributes = {
      [sc.ATTR_GEN_AI_OPERATION_NAME]: operation,
      [sc.ATTR_GEN_AI_PROVIDER_NAME]: 'aws.bedrock',
    };
    if (model !== undefined) attributes[sc.ATTR_GEN_AI_REQUEST_MODEL] = model;
    if (command.stream) attributes[sc.ATTR_GEN_AI_REQUEST_STREAM] = true;
    if (command.converse) {
      setSettings(attributes, input.inferenceConfig?.maxTokens, input.inferenceConfig?.temperature, input.inferenceConfig?.topP, input.inferenceConfig?.stopSequences);
      if (this.getConfig().captureContent === true) {
        if (Array.isArray(input.system)) attributes[sc.ATTR_GEN_AI_SYSTEM_INSTRUCTIONS] = JSON.stringify(contentParts(input.system));
        const messages: any[] = Array.isArray(input.messages) ? input.messages : [];
        attributes[sc.ATTR_GEN_AI_INPUT_MESSAGES] = JSON.stringify(messages.map((message) => ({ role: message?.role, parts: contentParts(message?.content) })));
      }
    } else {
      const body = parsedBody(input.body, MAX_PARSED_BODY);
      if (body) {
        // Claude, Llama, Mistral, Cohere; Nova's inferenceConfig; Titan's textGenerationConfig.
        const nova = body.inferenceConfig ?? {};
        const titan = body.textGenerationConfig ?? {};
        setSettings(
          attributes,
          body.max_tokens ?? body.max_gen_len ?? body.max_tokens_to_sample ?? nova.max_new_tokens ?? nova.maxTokens ?? titan.maxTokenCount,
          body.temperature ?? nova.temperature ?? titan.temperature,
          body.top_p ?? body.p ?? nova.top_p ?? nova.topP ?? titan.topP,
          body.stop_sequences ?? body.stop ?? nova.stopSequences ?? titan.stopSequences,
        );
        if (typeof body.top_k === 'number') attributes[sc.ATTR_GEN_AI_REQUEST_TOP_K] = body.top_k;
        if (this.getConfig().captureContent === true && isClaudeRequest(body)) claude.setInputMessages(attributes, body);
      }
    }
    return this.tracer.startSpan(`${operation} ${model ?? 'unknown'}`, { kind: SpanKind.CLIENT, attributes });
  }
}

/** The module's command classes, each with what it is (the CommonJS and ES module copies have classes of their own). */
function commandsOf(module: any): Map<unknown, Command> {
  const commands = new Map<unknown, Command>();
  for (const name of Object.keys(COMMANDS) as CommandName[]) if (typeof module?.[name] === 'function') commands.set(module[name], COMMANDS[name]);
  return commands;
}

/** What a command sent is: one of the module's classes, or a subclass of one; undefined for any other (ListAsyncInvokes …). */
function commandOf(command: any, commands: Map<unknown, Command>): Command | undefined {
  if (!command || typeof command !== 'object') return undefined;
  const direct = commands.get(command.constructor);
  if (direct) return direct;
  for (const [commandClass, kind] of commands) if (command instanceof (commandClass as AnyFunction)) return kind;
  return undefined;
}

/** An InvokeModel body in Claude's Messages format (the Anthropic models on Bedrock). */
function isClaudeRequest(body: Record<string, any>): boolean {
  return typeof body.anthropic_version === 'string' && Array.isArray(body.messages);
}

function setSettings(attributes: Attributes, maxTokens: unknown, temperature: unknown, topP: unknown, stopSequences: unknown): void {
  if (typeof maxTokens === 'number') attributes[sc.ATTR_GEN_AI_REQUEST_MAX_TOKENS] = maxTokens;
  if (typeof temperature === 'number') attributes[sc.ATTR_GEN_AI_REQUEST_TEMPERATURE] = temperature;
  if (typeof topP === 'number') attributes[sc.ATTR_GEN_AI_REQUEST_TOP_P] = topP;
  if (Array.isArray(stopSequences) && stopSequences.length > 0 && stopSequences.every((item) => typeof item === 'string')) attributes[sc.ATTR_GEN_AI_REQUEST_STOP_SEQUENCES] = stopSequences;
}

const decoder = new TextDecoder();

/** A JSON body (a string or bytes, as InvokeModel takes and returns it) as an object; undefined when it is none or larger than `limit` bytes. */
function parsedBody(body: unknown, limit = Infinity): Record<string, any> | undefined {
  try {
    let text: string | undefined;
    if (typeof body === 'string') text = body.length <= limit ? body : undefined;
    else if (body instanceof Uint8Array) text = body.byteLength <= limit ? decoder.decode(body) : undefined;
    if (text === undefined) return undefined;
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, any>) : undefined;
  } catch {
    return undefined;
  }
}

function onResult(span: Span, command: Command, output: any, capture: boolean): void {
  if (!span.isRecording()) return;
  setResends(span, output?.$metadata);
  if (command.stream) {
    const stream = command.converse ? output?.stream : output?.body;
    const observer = command.converse ? () => converseStreamObserver(span, capture) : () => invokeStreamObserver(span, capture);
    if (traceEventStream(span, stream, observer)) return;
  } else if (command.converse) {
    setUsage(span, output?.usage);
    setFinishReason(span, output?.stopReason);
    if (capture && Array.isArray(output?.output?.message?.content)) span.setAttribute(sc.ATTR_GEN_AI_OUTPUT_MESSAGES, outputMessages(output.output.message.content));
  } else {
    const body = parsedBody(output?.body);
    if (body) {
      setUsage(span, invokeUsage(body));
      setFinishReason(span, invokeStopReason(body));
      if (capture && body.type === 'message') span.setAttribute(sc.ATTR_GEN_AI_OUTPUT_MESSAGES, claude.outputMessages(body.content));
    }
  }
  span.end();
}

/**
 * An event stream of the result (`stream` of ConverseStream, `body` of InvokeModelWithResponseStream):
 * its async iterator is replaced with one that reads it through for the app and ends the span however
 * the reading ends. False when it is no async iterable.
 */
function traceEventStream(span: Span, stream: any, observer: () => StreamObserver): boolean {
  const iterate = stream?.[Symbol.asyncIterator];
  if (typeof iterate !== 'function') return false;
  const read = streamReader(span);
  stream[Symbol.asyncIterator] = function tracedIterator(this: unknown) {
    return read(iterate.call(this), observer());
  };
  return true;
}

/** The client's retries: `$metadata.attempts` counts every request it sent for the call. */
function setResends(span: Span, metadata: any): void {
  const attempts = metadata?.attempts;
  if (typeof attempts === 'number' && Number.isSafeInteger(attempts) && attempts > 1) span.setAttribute(sc.ATTR_HTTP_REQUEST_RESEND_COUNT, attempts - 1);
}

interface Usage {
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheWrite?: number;
}

/**
 * The token counts, Converse's names (`inputTokens` …) or a Usage. Input tokens are all the
 * prompt's, the cache's reads and writes included, as the conventions count them; Bedrock's
 * `inputTokens` leaves the cache out.
 */
function setUsage(span: Span, usage: any): void {
  if (!usage || typeof usage !== 'object') return;
  const number = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined);
  const input = number(usage.input ?? usage.inputTokens);
  const output = number(usage.output ?? usage.outputTokens);
  const cacheRead = number(usage.cacheRead ?? usage.cacheReadInputTokens);
  const cacheWrite = number(usage.cacheWrite ?? usage.cacheWriteInputTokens);
  if (input !== undefined) span.setAttribute(sc.ATTR_GEN_AI_USAGE_INPUT_TOKENS, input + (cacheRead ?? 0) + (cacheWrite ?? 0));
  if (output !== undefined) span.setAttribute(sc.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, output);
  if (cacheRead !== undefined) span.setAttribute(sc.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, cacheRead);
  if (cacheWrite !== undefined) span.setAttribute(sc.ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, cacheWrite);
}

function setFinishReason(span: Span, reason: unknown): void {
  if (typeof reason === 'string' && reason !== '') span.setAttribute(sc.ATTR_GEN_AI_RESPONSE_FINISH_REASONS, [reason]);
}

/** An InvokeModel answer's token counts, by model family: Claude's `usage`, Nova's, Titan's, Llama's. */
function invokeUsage(body: Record<string, any>): Usage | undefined {
  const usage = body.usage;
  if (usage && typeof usage === 'object') {
    if ('input_tokens' in usage || 'output_tokens' in usage) return { input: usage.input_tokens, output: usage.output_tokens, cacheRead: usage.cache_read_input_tokens, cacheWrite: usage.cache_creation_input_tokens };
    return { input: usage.inputTokens, output: usage.outputTokens, cacheRead: usage.cacheReadInputTokenCount, cacheWrite: usage.cacheWriteInputTokenCount };
  }
  if (typeof body.inputTextTokenCount === 'number') return { input: body.inputTextTokenCount, output: Array.isArray(body.results) ? body.results.reduce((sum: number, result: any) => sum + (typeof result?.tokenCount === 'number' ? result.tokenCount : 0), 0) : undefined };
  if (typeof body.prompt_token_count === 'number') return { input: body.prompt_token_count, output: body.generation_token_count };
  return undefined;
}

/** An InvokeModel answer's stop reason, by model family (Claude and Llama, Nova, Titan, Mistral, Cohere). */
function invokeStopReason(body: Record<string, any>): unknown {
  return body.stop_reason ?? body.stopReason ?? body.results?.[0]?.completionReason ?? body.outputs?.[0]?.stop_reason ?? body.generations?.[0]?.finish_reason ?? body.finish_reason;
}

/**
 * ConverseStream's events: the answer starts with the first `contentBlockDelta`; `messageStop`
 * has the stop reason, `metadata` the usage. With content capture the blocks are gathered from
 * their deltas. An exception event makes the SDK's stream throw: the span fails there.
 */
function converseStreamObserver(span: Span, capture: boolean): StreamObserver {
  let usage: unknown;
  let stopReason: unknown;
  const blocks: any[] = [];
  return {
    isAnswer: (event) => event?.contentBlockDelta !== undefined,
    chunk: (event) => {
      if (event?.metadata) usage = event.metadata.usage;
      else if (event?.messageStop) stopReason = event.messageStop.stopReason;
      else if (capture && event?.contentBlockStart) {
        const toolUse = event.contentBlockStart.start?.toolUse;
        if (toolUse) blocks[event.contentBlockStart.contentBlockIndex ?? blocks.length] = { toolUse: { toolUseId: toolUse.toolUseId, name: toolUse.name, input: '' } };
      } else if (capture && event?.contentBlockDelta) {
        const index = event.contentBlockDelta.contentBlockIndex ?? 0;
        const delta = event.contentBlockDelta.delta ?? {};
        const block = (blocks[index] ??= {});
        if (typeof delta.text === 'string') block.text = (block.text ?? '') + delta.text;
        else if (typeof delta.toolUse?.input === 'string' && block.toolUse) block.toolUse.input += delta.toolUse.input;
        else if (typeof delta.reasoningContent?.text === 'string') block.reasoningContent = { reasoningText: { text: (block.reasoningContent?.reasoningText?.text ?? '') + delta.reasoningContent.text } };
      }
    },
    end: () => {
      setUsage(span, usage);
      setFinishReason(span, stopReason);
      const written = blocks.filter((block) => block && Object.keys(block).length > 0);
      if (capture && written.length > 0) span.setAttribute(sc.ATTR_GEN_AI_OUTPUT_MESSAGES, outputMessages(written));
    },
    fail: (error) => fail(span, error),
  };
}

/**
 * InvokeModelWithResponseStream's chunks, each the model's own JSON in `chunk.bytes`: the answer
 * starts with the first chunk of generated text (Claude's `content_block_delta`, Nova's
 * `contentBlockDelta`, Titan's `outputText`, Llama's `generation`, Mistral's `outputs`, Claude 2's
 * `completion`); the stop reason is the model's, and the tokens are those Bedrock puts in the last
 * chunk's `amazon-bedrock-invocationMetrics`.
 */
function invokeStreamObserver(span: Span, capture: boolean): StreamObserver {
  let last: { event: unknown; body: Record<string, any> | undefined } = { event: undefined, body: undefined };
  const bodyOf = (event: any) => {
    if (last.event !== event) last = { event, body: parsedBody(event?.chunk?.bytes) };
    return last.body;
  };
  let usage: Usage | undefined;
  let stopReason: unknown;
  // Claude's blocks, gathered from their deltas when content is captured.
  const blocks: any[] = [];
  return {
    isAnswer: (event) => {
      const body = bodyOf(event);
      if (!body) return false;
      return body.type === 'content_block_delta' || body.contentBlockDelta !== undefined || 'outputText' in body || 'generation' in body || 'outputs' in body || 'completion' in body;
    },
    chunk: (event) => {
      const body = bodyOf(event);
      if (!body) return;
      const reason = body.delta?.stop_reason ?? body.messageStop?.stopReason ?? invokeStopReason(body);
      if (typeof reason === 'string' && reason !== '') stopReason = reason;
      const metrics = body['amazon-bedrock-invocationMetrics'];
      if (metrics && typeof metrics === 'object') {
        usage = { input: metrics.inputTokenCount, output: metrics.outputTokenCount, cacheRead: metrics.cacheReadInputTokenCount, cacheWrite: metrics.cacheWriteInputTokenCount };
      }
      if (!capture) return;
      if (body.type === 'content_block_start') blocks[body.index ?? blocks.length] = { ...body.content_block };
      else if (body.type === 'content_block_delta') claude.appendDelta(blocks[body.index ?? blocks.length - 1], body.delta);
    },
    end: () => {
      setUsage(span, usage);
      setFinishReason(span, stopReason);
      // A text block the stream had only begun (the app stopped reading) says nothing.
      const written = blocks.filter((block) => block && !(block.type === 'text' && !block.text));
      if (capture && written.length > 0) span.setAttribute(sc.ATTR_GEN_AI_OUTPUT_MESSAGES, claude.outputMessages(written));
    },
    fail: (error) => fail(span, error),
  };
}

function outputMessages(content: unknown[]): string {
  return JSON.stringify([{ role: 'assistant', parts: contentParts(content) }]);
}

/** Converse content blocks in the conventions' parts: text, reasoning, tool calls and their results; any other block (an image, a document) by its kind only. */
function contentParts(content: unknown): unknown[] {
  if (!Array.isArray(content)) return [];
  return content.map((block: any) => {
    if (typeof block?.text === 'string') return { type: 'text', content: block.text };
    if (block?.reasoningContent) return { type: 'reasoning', content: block.reasoningContent.reasoningText?.text };
    if (block?.toolUse) return { type: 'tool_call', id: block.toolUse.toolUseId, name: block.toolUse.name, arguments: block.toolUse.input };
    if (block?.toolResult) return { type: 'tool_call_response', id: block.toolResult.toolUseId, response: toolResultParts(block.toolResult.content) };
    const kind = block && typeof block === 'object' ? Object.keys(block)[0] : undefined;
    return { type: kind ? `bedrock_${kind}` : 'bedrock_unknown' };
  });
}

/** A tool result's content: its text and JSON blocks as they are, any other (an image's bytes) by its kind only. */
function toolResultParts(content: unknown): unknown[] {
  if (!Array.isArray(content)) return [];
  return content.map((block: any) => {
    if (typeof block?.text === 'string') return { type: 'text', text: block.text };
    if (block?.json !== undefined) return { type: 'json', json: block.json };
    const kind = block && typeof block === 'object' ? Object.keys(block)[0] : undefined;
    return { type: kind ?? 'unknown' };
  });
}

/** Records a failed call on its span (a call the app aborted is none: ended as it is) and ends it. */
function fail(span: Span, error: any): void {
  if (!span.isRecording()) return;
  if (error?.name === 'AbortError') {
    span.end();
    return;
  }
  setResends(span, error?.$metadata);
  // The exception's name (an unmodeled one's class is BedrockRuntimeServiceException; its name is the error code).
  recordFailureAndEnd(span, error, typeof error?.name === 'string' && error.name !== '' && error.name !== 'Error' ? error.name : undefined);
}
