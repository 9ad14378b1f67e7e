import { createHash } from 'node:crypto';
import { SpanStatusCode, type Attributes, type AttributeValue } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { SPAN_KINDS, type SpanKindName } from './eventTypes';
import { mastraSpanKind } from './mastraSpans';
import * as sc from './semconv';
import type { EventData } from './types';

/**
 * Span ⇄ Truth-Mode event mapping. Our own spans say what they are (`autopsy.kind`); spans made
 * by other instrumentations are classified from their conventions: OpenTelemetry GenAI
 * (`gen_ai.operation.name`), OpenInference (`openinference.span.kind`), OpenLLMetry
 * (`traceloop.span.kind`, `llm.request.type`), the Vercel AI SDK (`ai.operationId`) and Mastra
 * (`mastra.span.type`, mastraSpans.ts).
 */

// Other conventions' names read only here (candidates for semconv.ts).
/** GenAI: the agent an `invoke_agent` span runs. */
const ATTR_GEN_AI_AGENT_NAME = 'gen_ai.agent.name';
/** @anthropic-ai/sdk's own spans give the stop reason here, not in gen_ai.response.finish_reasons. */
const ATTR_ANTHROPIC_STOP_REASON = 'anthropic.message.stop_reason';
/** OpenInference input and output of a span. */
const ATTR_OPENINFERENCE_INPUT_VALUE = 'input.value';
const ATTR_OPENINFERENCE_OUTPUT_VALUE = 'output.value';
/** Vercel AI SDK: the model and provider of its call spans, the tool of an `ai.toolCall` span. */
const ATTR_AI_SDK_MODEL_ID = 'ai.model.id';
const ATTR_AI_SDK_MODEL_PROVIDER = 'ai.model.provider';
const ATTR_AI_SDK_TOOL_CALL_NAME = 'ai.toolCall.name';
const ATTR_AI_SDK_TOOL_CALL_ARGS = 'ai.toolCall.args';
/** A tool call's arguments (JSON text): GenAI `execute_tool` (sc.ATTR_GEN_AI_TOOL_CALL_ARGUMENTS), OpenLLMetry, OpenInference TOOL (its input). */
const ATTR_TRACELOOP_ENTITY_INPUT = 'traceloop.entity.input';
const ATTR_OPENINFERENCE_TOOL_NAME = 'tool.name';
/** An AI SDK stream's time to its first chunk, in milliseconds, on its `….doStream` span once the chunk came. */
const ATTR_AI_SDK_MS_TO_FIRST_CHUNK = 'ai.response.msToFirstChunk';
/** `ai` 7's chat span (@ai-sdk/otel): seconds to the first chunk, named after the GenAI metric. */
const ATTR_GEN_AI_CLIENT_TIME_TO_FIRST_CHUNK = 'gen_ai.client.operation.time_to_first_chunk';
/** The AI SDK operations that stream (their spans carry no gen_ai.request.stream). */
const AI_SDK_STREAMS = new Set(['ai.streamText', 'ai.streamText.doStream', 'ai.streamObject', 'ai.streamObject.doStream']);
/** The tokens an AI SDK embedding call used (its only count; its other spans' ai.usage.* are not read, see AI_SDK_KIND). */
const ATTR_AI_SDK_USAGE_TOKENS = 'ai.usage.tokens';

const OWN_KINDS = new Set<string>(SPAN_KINDS);

/** GenAI operations that are not model calls (any other operation is one: chat, embeddings, text_completion …). */
const GEN_AI_OPERATION_KIND: Record<string, SpanKindName> = {
  // The conventions' model calls, listed so that they win over another convention's kind on the span.
  chat: 'llm',
  text_completion: 'llm',
  generate_content: 'llm',
  embeddings: 'llm',
  invoke_agent: 'stage',
  invoke_workflow: 'stage',
  create_agent: 'task',
  execute_tool: 'task',
  retrieval: 'task',
  // @ai-sdk/otel (ai 7): one step of a generateText, holding its `chat` call and the tools it ran.
  agent_step: 'task',
};

const OPENINFERENCE_KIND: Record<string, SpanKindName> = {
  LLM: 'llm',
  EMBEDDING: 'llm',
  AGENT: 'stage',
  CHAIN: 'task',
  TOOL: 'task',
  RETRIEVER: 'task',
  RERANKER: 'task',
  GUARDRAIL: 'task',
  EVALUATOR: 'task',
};

/**
 * Vercel AI SDK operations. `ai.generateText` (and the like) is the app's call; the provider calls
 * it makes, one per step and per retry attempt (`….doGenerate`), are llm spans inside it and so
 * are folded into it (AutopsySpanProcessor, OtlpSpanConverter): one llm call per generateText,
 * with the usage of all its steps and its failed attempts. Its own `ai.usage.*` is left out: in
 * `ai` 5 generateText puts the last step's usage there, not the call's.
 */
const AI_SDK_KIND: Record<string, SpanKindName> = {
  'ai.generateText': 'llm',
  'ai.generateText.doGenerate': 'llm',
  'ai.streamText': 'llm',
  'ai.streamText.doStream': 'llm',
  'ai.generateObject': 'llm',
  'ai.generateObject.doGenerate': 'llm',
  'ai.streamObject': 'llm',
  'ai.streamObject.doStream': 'llm',
  'ai.embed': 'llm',
  'ai.embed.doEmbed': 'llm',
  'ai.embedMany': 'llm',
  'ai.embedMany.doEmbed': 'llm',
  'ai.toolCall': 'task',
};

const TRACELOOP_KIND: Record<string, SpanKindName> = {
  workflow: 'stage',
  agent: 'stage',
  task: 'task',
  tool: 'task',
};

export function classifySpan(attributes: Attributes): SpanKindName | undefined {
  const own = attributes[sc.ATTR_AUTOPSY_KIND];
  if (typeof own === 'string' && OWN_KINDS.has(own)) return own as SpanKindName;
  // Mastra's type first: its operation names for steps and chunks would count them as calls.
  const mastra = mastraSpanKind(attributes);
  if (mastra !== undefined) return mastra ?? undefined;
  const operation = attributes[sc.ATTR_GEN_AI_OPERATION_NAME];
  const known = typeof operation === 'string' ? lookup(GEN_AI_OPERATION_KIND, operation) : undefined;
  if (known) return known;
  // An operation the table does not list counts as an LLM call, unless the span states its kind in
  // another convention too: OpenLLMetry's LangChain spans say `gen_ai.operation.name: workflow`
  // beside `traceloop.span.kind: workflow` on every chain.
  const unlisted = typeof operation === 'string';
  const openinference = attributes[sc.ATTR_OPENINFERENCE_SPAN_KIND];
  if (typeof openinference === 'string') {
    const kind = lookup(OPENINFERENCE_KIND, openinference.toUpperCase());
    if (kind || !unlisted) return kind;
  }
  const traceloop = attributes[sc.ATTR_TRACELOOP_SPAN_KIND];
  if (typeof traceloop === 'string') {
    const kind = lookup(TRACELOOP_KIND, traceloop.toLowerCase());
    if (kind || !unlisted) return kind;
  }
  if (unlisted) return 'llm';
  if (typeof attributes[sc.ATTR_LLM_REQUEST_TYPE] === 'string') return 'llm';
  const aiSdk = attributes[sc.ATTR_AI_SDK_OPERATION_ID];
  if (typeof aiSdk === 'string') return lookup(AI_SDK_KIND, aiSdk);
  return undefined;
}

/** The table's own entry only: `constructor` or `__proto__` are not span kinds. */
function lookup(table: Record<string, SpanKindName>, key: string): SpanKindName | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** A token count as the conventions define it: a number of 0 or more (not NaN, a string or Infinity). */
function tokenCount(value: AttributeValue | undefined): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** The name of the instrumentation scope a span was made in (an SDK span's `instrumentationScope`), if any. */
export function scopeNameOf(span: unknown): string | undefined {
  const name = (span as { instrumentationScope?: { name?: unknown } } | undefined)?.instrumentationScope?.name;
  return typeof name === 'string' ? name : undefined;
}

export function isOwnSpan(attributes: Attributes): boolean {
  return typeof attributes[sc.ATTR_AUTOPSY_KIND] === 'string';
}

/** Stage id a span defines (stage spans) or names explicitly. */
export function declaredStage(kind: SpanKindName | undefined, span: Pick<ReadableSpan, 'name' | 'attributes'>): string | undefined {
  const attributes = span.attributes;
  const stage = attributes[sc.ATTR_AUTOPSY_STAGE];
  if (typeof stage === 'string') return stage;
  if (kind === 'stage') {
    const name = first(attributes, STAGE_NAME_KEYS);
    return typeof name === 'string' ? name : span.name;
  }
  return undefined;
}

/**
 * Where each convention puts a value, in the order they are tried (agent-autopsy's own or
 * OpenTelemetry's GenAI names first). Lists made once: an llm span's end reads two of them.
 */
const STAGE_NAME_KEYS = [sc.ATTR_TRACELOOP_ENTITY_NAME, ATTR_GEN_AI_AGENT_NAME];
const MODEL_KEYS = [sc.ATTR_GEN_AI_REQUEST_MODEL, sc.ATTR_OPENINFERENCE_LLM_MODEL_NAME, sc.ATTR_GEN_AI_RESPONSE_MODEL, ATTR_AI_SDK_MODEL_ID];
// OpenInference's llm.provider is the host (azure, openai), set for known base URLs only; its
// llm.system the model family (openai, anthropic), set always.
const PROVIDER_KEYS = [sc.ATTR_GEN_AI_PROVIDER_NAME, sc.ATTR_GEN_AI_SYSTEM, sc.ATTR_OPENINFERENCE_LLM_PROVIDER, sc.ATTR_OPENINFERENCE_LLM_SYSTEM, ATTR_AI_SDK_MODEL_PROVIDER];
const OPERATION_KEYS = [sc.ATTR_GEN_AI_OPERATION_NAME, sc.ATTR_LLM_REQUEST_TYPE, sc.ATTR_AI_SDK_OPERATION_ID];
const TASK_NAME_KEYS = [sc.ATTR_AUTOPSY_TASK, sc.ATTR_TRACELOOP_ENTITY_NAME, sc.ATTR_GEN_AI_TOOL_NAME, ATTR_AI_SDK_TOOL_CALL_NAME, ATTR_OPENINFERENCE_TOOL_NAME];
// Read on tool spans only (isToolSpan): other OpenInference spans have an input.value too.
const TOOL_ARGUMENT_KEYS = [sc.ATTR_GEN_AI_TOOL_CALL_ARGUMENTS, ATTR_AI_SDK_TOOL_CALL_ARGS, ATTR_TRACELOOP_ENTITY_INPUT, ATTR_OPENINFERENCE_INPUT_VALUE];
const INPUT_TOKEN_KEYS = [sc.ATTR_GEN_AI_USAGE_INPUT_TOKENS, sc.ATTR_GEN_AI_USAGE_PROMPT_TOKENS, sc.ATTR_OPENINFERENCE_TOKEN_PROMPT, ATTR_AI_SDK_USAGE_TOKENS];
const OUTPUT_TOKEN_KEYS = [sc.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, sc.ATTR_GEN_AI_USAGE_COMPLETION_TOKENS, sc.ATTR_OPENINFERENCE_TOKEN_COMPLETION];
// The token counts' shares: the GenAI conventions', @anthropic-ai/sdk's own name for cache writes,
// OpenLLMetry's and OpenInference's. (The AI SDK's `ai.usage.cachedInputTokens` on its outer span is
// left out: in ai 5 the outer span's usage is its last step's, and its steps' spans are added up.)
const CACHE_READ_TOKEN_KEYS = [sc.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, 'gen_ai.usage.cache_read_input_tokens', sc.ATTR_OPENINFERENCE_TOKEN_CACHE_READ];
const CACHE_CREATION_TOKEN_KEYS = [
  sc.ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
  'gen_ai.usage.cache_write.input_tokens',
  'gen_ai.usage.cache_creation_input_tokens',
  sc.ATTR_OPENINFERENCE_TOKEN_CACHE_WRITE,
];
const REASONING_TOKEN_KEYS = [sc.ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, 'gen_ai.usage.reasoning_tokens', sc.ATTR_OPENINFERENCE_TOKEN_REASONING];
const PROMPT_KEYS = [sc.ATTR_GEN_AI_INPUT_MESSAGES, ATTR_OPENINFERENCE_INPUT_VALUE];
const RESPONSE_KEYS = [sc.ATTR_GEN_AI_OUTPUT_MESSAGES, ATTR_OPENINFERENCE_OUTPUT_VALUE];

/** The value under the first of `keys` the span has. */
function first(attributes: Attributes, keys: readonly string[]): AttributeValue | undefined {
  for (let i = 0; i < keys.length; i++) {
    const value = attributes[keys[i]];
    if (value !== undefined) return value;
  }
  return undefined;
}

/** Start-event data of a span made by another instrumentation, or by hand with `autopsy.*` attributes (not through the wrappers). */
export function foreignStartData(kind: SpanKindName, span: Pick<ReadableSpan, 'name' | 'attributes'>): EventData {
  const attributes = span.attributes;
  const data: EventData = {};
  if (kind === 'llm') {
    const model = first(attributes, MODEL_KEYS);
    const provider = first(attributes, PROVIDER_KEYS);
    const operation = first(attributes, OPERATION_KEYS);
    if (model !== undefined) data.model = model;
    if (provider !== undefined) data.provider = provider;
    if (operation !== undefined) data.operation = operation;
  } else if (kind === 'stage') {
    data.stage = declaredStage(kind, span);
  } else if (kind === 'task') {
    data.task = first(attributes, TASK_NAME_KEYS) ?? span.name;
    // A tool call, as the app's task(name, { tool, arguments }) says it: tool_loop compares them.
    if (isToolSpan(attributes)) {
      data.tool = typeof data.task === 'string' && data.task !== '' ? data.task : true;
      const args = first(attributes, TOOL_ARGUMENT_KEYS);
      if (args !== undefined) data.arguments = args;
    }
  }
  data.span = span.name;
  return data;
}

/** A tool call's span in its convention: GenAI `execute_tool`, an AI SDK `ai.toolCall`, OpenInference TOOL, OpenLLMetry `tool`. */
export function isToolSpan(attributes: Attributes): boolean {
  return (
    attributes[sc.ATTR_GEN_AI_OPERATION_NAME] === sc.GEN_AI_OPERATION_EXECUTE_TOOL ||
    attributes[sc.ATTR_AI_SDK_OPERATION_ID] === 'ai.toolCall' ||
    String(attributes[sc.ATTR_OPENINFERENCE_SPAN_KIND]).toUpperCase() === 'TOOL' ||
    String(attributes[sc.ATTR_TRACELOOP_SPAN_KIND]).toLowerCase() === 'tool'
  );
}

/** How many hex digits of a tool call's SHA-256 the log keeps in place of its arguments. */
const ARGUMENTS_DIGEST_LENGTH = 16;

/**
 * A tool span's arguments (foreignStartData) as the log keeps them: as they are with content
 * capture on; else only `arguments_sha256`, the first 16 hex digits of their SHA-256, so that
 * tool_loop can tell the same call from another without recording what the tool was asked.
 */
export function keepToolArguments(data: EventData, captureContent: boolean): EventData {
  const args = data.arguments;
  if (captureContent || args === undefined) return data;
  delete data.arguments;
  const text = typeof args === 'string' ? args : JSON.stringify(args);
  data.arguments_sha256 = `sha256:${createHash('sha256').update(text).digest('hex').slice(0, ARGUMENTS_DIGEST_LENGTH)}`;
  return data;
}

/**
 * The model and provider of an llm span that states them only as it ends (OpenInference's
 * LangChain tracer sets the model name then), set on `data` where its start had none.
 */
export function lateLlmIdentity(attributes: Attributes, data: EventData): void {
  if (data.model === undefined) {
    const model = first(attributes, MODEL_KEYS);
    if (model !== undefined) data.model = model;
  }
  if (data.provider === undefined) {
    const provider = first(attributes, PROVIDER_KEYS);
    if (provider !== undefined) data.provider = provider;
  }
}

/** Usage and response details an llm span carries when it ends (any convention), set on `data`. */
export function llmEndData(attributes: Attributes, data: EventData = {}): EventData {
  const input = tokenCount(first(attributes, INPUT_TOKEN_KEYS));
  const output = tokenCount(first(attributes, OUTPUT_TOKEN_KEYS));
  if (input !== undefined) data.input_tokens = input;
  if (output !== undefined) data.output_tokens = output;
  if (input !== undefined || output !== undefined) data.tokens_used = (input ?? 0) + (output ?? 0);
  const responseModel = attributes[sc.ATTR_GEN_AI_RESPONSE_MODEL];
  if (responseModel !== undefined) data.response_model = responseModel;
  const finish = attributes[sc.ATTR_GEN_AI_RESPONSE_FINISH_REASONS];
  if (finish !== undefined) data.finish_reasons = finish;
  else {
    // One reason, in @anthropic-ai/sdk's or OpenInference's name.
    const reason = attributes[ATTR_ANTHROPIC_STOP_REASON] ?? attributes[sc.ATTR_OPENINFERENCE_FINISH_REASON];
    if (typeof reason === 'string') data.finish_reasons = [reason];
  }
  // Set on streamed calls only: one attribute read for the others.
  const firstChunk = timeToFirstChunk(attributes);
  if (firstChunk !== undefined) data.time_to_first_chunk = firstChunk;
  return data;
}

/**
 * A streamed llm span's `gen_ai.response.time_to_first_chunk` (seconds from its request to the
 * first chunk of its answer; an AI SDK stream's `ai.response.msToFirstChunk`, in milliseconds, or
 * `ai` 7's `gen_ai.client.operation.time_to_first_chunk`), rounded to microseconds as the log's
 * durations are; undefined when the span states none (not streamed, or no chunk came) or a value
 * that is no time.
 */
export function timeToFirstChunk(attributes: Attributes): number | undefined {
  let value = attributes[sc.ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK];
  if (value === undefined) {
    const ms = attributes[ATTR_AI_SDK_MS_TO_FIRST_CHUNK];
    value = typeof ms === 'number' ? ms / 1000 : attributes[ATTR_GEN_AI_CLIENT_TIME_TO_FIRST_CHUNK];
  }
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.round(value * 1e6) / 1e6 : undefined;
}

/** Whether an llm span is a streamed call: `gen_ai.request.stream`, an AI SDK stream's operation, or `ai` 7's time to first chunk. */
export function isStreamedLlmSpan(attributes: Attributes): boolean {
  // `ai` 7's chat span says it streamed only once its first chunk came.
  if (attributes[sc.ATTR_GEN_AI_REQUEST_STREAM] === true || attributes[ATTR_GEN_AI_CLIENT_TIME_TO_FIRST_CHUNK] !== undefined) return true;
  const operation = attributes[sc.ATTR_AI_SDK_OPERATION_ID];
  return typeof operation === 'string' && AI_SDK_STREAMS.has(operation);
}

/**
 * What a streamed llm span closed as unfinished at exit says of its stream, set on `data` (its
 * `llm_call_unfinished` event): `stream: true`, its `time_to_first_chunk` when a chunk of its
 * answer had come, and then `seconds_since_last_chunk`. Nothing for a call that was not streamed.
 */
export function unfinishedStreamData(attributes: Attributes, data: EventData): EventData {
  if (!isStreamedLlmSpan(attributes)) return data;
  data.stream = true;
  const firstChunk = timeToFirstChunk(attributes);
  if (firstChunk === undefined) return data;
  data.time_to_first_chunk = firstChunk;
  const quiet = attributes[sc.ATTR_AUTOPSY_SECONDS_SINCE_LAST_CHUNK];
  if (typeof quiet === 'number' && Number.isFinite(quiet) && quiet >= 0) data.seconds_since_last_chunk = quiet;
  return data;
}

/**
 * The shares of an llm span's token counts, set on `data` when the span states them: cached prompt
 * tokens (`cache_read_input_tokens`), prompt tokens written to the cache
 * (`cache_creation_input_tokens`), reasoning tokens of the output (`reasoning_tokens`). Apart from
 * llmEndData: the app's own llmCall() spans hand theirs over (setUsage), so only other
 * instrumentations' spans are read for them.
 */
export function llmUsageDetails(attributes: Attributes, data: EventData): EventData {
  const cacheRead = tokenCount(first(attributes, CACHE_READ_TOKEN_KEYS));
  const cacheCreation = tokenCount(first(attributes, CACHE_CREATION_TOKEN_KEYS));
  const reasoning = tokenCount(first(attributes, REASONING_TOKEN_KEYS));
  if (cacheRead !== undefined) data.cache_read_input_tokens = cacheRead;
  if (cacheCreation !== undefined) data.cache_creation_input_tokens = cacheCreation;
  if (reasoning !== undefined) data.reasoning_tokens = reasoning;
  return data;
}

/** Prompt and reply an llm span carries (only read when content capture is on). */
export function llmContentData(attributes: Attributes): EventData {
  const data: EventData = {};
  const prompt = first(attributes, PROMPT_KEYS);
  const response = first(attributes, RESPONSE_KEYS);
  if (prompt !== undefined) data.prompt = prompt;
  if (response !== undefined) data.response = response;
  return data;
}

/**
 * The resends an llm span states (`http.request.resend_count`): the attempts its client made, and
 * saw fail, before the outcome the app got. Undefined when there were none.
 */
export function resendCount(attributes: Attributes): number | undefined {
  const value = attributes[sc.ATTR_HTTP_REQUEST_RESEND_COUNT];
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** The Vercel AI SDK's RetryError: "Failed after 3 attempts. Last error: …". */
const RETRY_ERROR_ATTEMPTS = /^Failed after (\d+) attempts\b/;

type SpanOutcome = { attributes: Attributes; status: { code: number; message?: string }; events: ReadonlyArray<{ name: string; attributes?: Attributes }> };

/**
 * The attempts an llm span's client made and saw fail before its outcome, for its end data
 * (`data`, with what its nested spans counted): its `http.request.resend_count`, else, when it
 * failed and nothing counted them, what its error says (the AI SDK's RetryError: `ai` 7's chat
 * span covers every attempt of its call, where `ai` 5 and 6 made a span per attempt).
 */
export function clientResends(span: SpanOutcome, data: EventData): number | undefined {
  return resendCount(span.attributes) ?? (span.status.code === SpanStatusCode.ERROR && data.failed_attempts === undefined ? retryErrorResends(span) : undefined);
}

/** The attempts that failed before the last one, as a failed span's error counts them (the AI SDK's RetryError). */
function retryErrorResends(span: SpanOutcome): number | undefined {
  const message = span.status.message || span.events.find((event) => event.name === 'exception')?.attributes?.['exception.message'];
  const attempts = typeof message === 'string' ? RETRY_ERROR_ATTEMPTS.exec(message) : null;
  const count = attempts ? Number(attempts[1]) : 0;
  return count >= 2 && Number.isSafeInteger(count) ? count - 1 : undefined;
}

/**
 * Whether an llm span not marked failed says its call ended in an error all the same: a finish
 * reason `error` (the AI SDK's, which Mastra's bridge sets on a generation that failed, with no
 * error status or exception).
 */
export function finishedWithError(attributes: Attributes): boolean {
  const reasons = attributes[sc.ATTR_GEN_AI_RESPONSE_FINISH_REASONS];
  if (Array.isArray(reasons)) return (reasons as unknown[]).includes('error');
  if (typeof reasons !== 'string') return false;
  if (reasons === 'error' || reasons === '["error"]') return true;
  // Mastra sets the list as JSON text; one with several reasons is read whole.
  if (!reasons.startsWith('[') || !reasons.includes('"error"')) return false;
  try {
    const list: unknown = JSON.parse(reasons);
    return Array.isArray(list) && list.includes('error');
  } catch {
    return false;
  }
}

/** The error of a call that finished with reason `error` and states nothing more. */
export function finishReasonErrorData(): EventData {
  return { error: 'The call ended with finish reason "error" (its span records no error)', error_type: 'finish_reason_error' };
}

/** Error details of a failed span: message, error type and HTTP status where known. */
export function errorData(span: Pick<ReadableSpan, 'status' | 'attributes' | 'events'>): EventData {
  const data: EventData = {};
  const exception = span.events.find((event) => event.name === 'exception');
  const exceptionAttributes = exception?.attributes ?? {};
  // `_OTHER` names no type (see ERROR_TYPE_OTHER): the event has none, as without it.
  const errorType = span.attributes[sc.ATTR_ERROR_TYPE] === sc.ERROR_TYPE_OTHER ? undefined : span.attributes[sc.ATTR_ERROR_TYPE];
  const message = span.status.message || exceptionAttributes['exception.message'] || errorType || 'error';
  data.error = String(message);
  const type = errorType ?? exceptionAttributes['exception.type'];
  if (type !== undefined) data.error_type = type;
  const status = span.attributes[sc.ATTR_HTTP_RESPONSE_STATUS_CODE];
  // A span that failed after a successful response (a stream cut off after its 200) has the
  // response's status, which is not the error's.
  if (status !== undefined && !(Number(status) < 400)) data.http_status = status;
  return data;
}

