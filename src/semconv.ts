/**
 * Span attribute names used by agent-autopsy. `gen_ai.*` names come from the OpenTelemetry GenAI
 * semantic conventions; our own concepts (stage, task, code execution, autofix) live under
 * `autopsy.*`. Other instrumentations' markers are listed so spans they create can be classified.
 */

/** What an agent span represents: stage | task | llm | code_exec | autofix. */
export const ATTR_AUTOPSY_KIND = 'autopsy.kind' as const;
/** Id of the stage a span belongs to (on stage spans: the stage's own id). */
export const ATTR_AUTOPSY_STAGE = 'autopsy.stage' as const;
/** Name of a task span. */
export const ATTR_AUTOPSY_TASK = 'autopsy.task' as const;
/** Prefix of user data attached to a span through the API (`autopsy.data.<key>`). */
export const ATTR_AUTOPSY_DATA_PREFIX = 'autopsy.data.' as const;
/** Set on spans whose events were already written by `track()` (so the processor does not repeat them). */
export const ATTR_AUTOPSY_TRACKED = 'autopsy.tracked' as const;
/** Set on spans that were still open when the process ended. */
export const ATTR_AUTOPSY_UNFINISHED = 'autopsy.unfinished' as const;
/** Seed event type of the span's start event (`stage_start` …), so OTLP backends show the vocabulary. */
export const ATTR_AUTOPSY_EVENT_TYPE = 'autopsy.event.type' as const;
/**
 * On a streamed llm span still open when the process ended: seconds from its stream's last chunk
 * to that end (set as it is ended as unfinished), so an OTLP file of the run says it too.
 */
export const ATTR_AUTOPSY_SECONDS_SINCE_LAST_CHUNK = 'autopsy.seconds_since_last_chunk' as const;

export const ATTR_CODE_LANGUAGE = 'autopsy.code.language' as const;
export const ATTR_CODE_EXIT_CODE = 'autopsy.code.exit_code' as const;
export const ATTR_CODE_COMMAND = 'autopsy.code.command' as const;
export const ATTR_CODE_STDERR_TAIL = 'autopsy.code.stderr_tail' as const;

export const ATTR_AUTOFIX_LAYER = 'autopsy.autofix.layer' as const;
export const ATTR_AUTOFIX_TYPE = 'autopsy.autofix.type' as const;
export const ATTR_AUTOFIX_SUCCESS = 'autopsy.autofix.success' as const;

// OpenTelemetry GenAI semantic conventions.
export const ATTR_GEN_AI_OPERATION_NAME = 'gen_ai.operation.name' as const;
/**
 * Deprecated for `gen_ai.provider.name` (GenAI conventions 1.37), and still written beside it with
 * the same value: @opentelemetry/instrumentation-openai writes only this one on its chat spans, as
 * the Vercel AI SDK does, and backends that read them key on it. Read from other spans either way.
 */
export const ATTR_GEN_AI_SYSTEM = 'gen_ai.system' as const;
export const ATTR_GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name' as const;
export const ATTR_GEN_AI_REQUEST_MODEL = 'gen_ai.request.model' as const;
export const ATTR_GEN_AI_RESPONSE_MODEL = 'gen_ai.response.model' as const;
export const ATTR_GEN_AI_RESPONSE_ID = 'gen_ai.response.id' as const;
/** Request parameters of an inference or embeddings call, as the client was given them. */
export const ATTR_GEN_AI_REQUEST_MAX_TOKENS = 'gen_ai.request.max_tokens' as const;
export const ATTR_GEN_AI_REQUEST_TEMPERATURE = 'gen_ai.request.temperature' as const;
export const ATTR_GEN_AI_REQUEST_TOP_P = 'gen_ai.request.top_p' as const;
export const ATTR_GEN_AI_REQUEST_FREQUENCY_PENALTY = 'gen_ai.request.frequency_penalty' as const;
export const ATTR_GEN_AI_REQUEST_PRESENCE_PENALTY = 'gen_ai.request.presence_penalty' as const;
export const ATTR_GEN_AI_REQUEST_SEED = 'gen_ai.request.seed' as const;
export const ATTR_GEN_AI_REQUEST_STOP_SEQUENCES = 'gen_ai.request.stop_sequences' as const;
export const ATTR_GEN_AI_REQUEST_TOP_K = 'gen_ai.request.top_k' as const;
export const ATTR_GEN_AI_SYSTEM_INSTRUCTIONS = 'gen_ai.system_instructions' as const;
/** Set only when it is not 1 (the conventions' condition). */
export const ATTR_GEN_AI_REQUEST_CHOICE_COUNT = 'gen_ai.request.choice.count' as const;
export const ATTR_GEN_AI_REQUEST_STREAM = 'gen_ai.request.stream' as const;
export const ATTR_GEN_AI_REQUEST_ENCODING_FORMATS = 'gen_ai.request.encoding_formats' as const;
export const ATTR_GEN_AI_EMBEDDINGS_DIMENSION_COUNT = 'gen_ai.embeddings.dimension.count' as const;
/** What the request asked the model to output: text, json, image, speech. */
export const ATTR_GEN_AI_OUTPUT_TYPE = 'gen_ai.output.type' as const;
/** The conversation (thread, session) a call belongs to, when the client names one. */
export const ATTR_GEN_AI_CONVERSATION_ID = 'gen_ai.conversation.id' as const;
export const ATTR_GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens' as const;
export const ATTR_GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens' as const;
/** Older (OpenLLMetry) names for the token counts. */
export const ATTR_GEN_AI_USAGE_PROMPT_TOKENS = 'gen_ai.usage.prompt_tokens' as const;
export const ATTR_GEN_AI_USAGE_COMPLETION_TOKENS = 'gen_ai.usage.completion_tokens' as const;
/** The shares of the counts above: prompt tokens read from or written to the provider's cache, reasoning tokens of the output. */
export const ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = 'gen_ai.usage.cache_read.input_tokens' as const;
export const ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = 'gen_ai.usage.cache_creation.input_tokens' as const;
export const ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = 'gen_ai.usage.reasoning.output_tokens' as const;
export const ATTR_GEN_AI_RESPONSE_FINISH_REASONS = 'gen_ai.response.finish_reasons' as const;
/**
 * Seconds from the request to the first chunk of its response stream, on streamed calls only (a
 * double). @opentelemetry/semantic-conventions 1.45 has it as ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK
 * in its incubating entry point, deprecated there for the GenAI conventions' own repository, as are
 * the other `gen_ai.*` names: named here like them. @anthropic-ai/sdk 1.x's own spans set it too.
 */
export const ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = 'gen_ai.response.time_to_first_chunk' as const;
/** The operation of a tool call's span, `execute_tool <gen_ai.tool.name>`. */
export const GEN_AI_OPERATION_EXECUTE_TOOL = 'execute_tool' as const;
export const ATTR_GEN_AI_TOOL_NAME = 'gen_ai.tool.name' as const;
export const ATTR_GEN_AI_TOOL_CALL_ID = 'gen_ai.tool.call.id' as const;
export const ATTR_GEN_AI_INPUT_MESSAGES = 'gen_ai.input.messages' as const;
export const ATTR_GEN_AI_OUTPUT_MESSAGES = 'gen_ai.output.messages' as const;

export const ATTR_ERROR_TYPE = 'error.type' as const;
/**
 * `error.type` of a failure whose type is not known (`span.fail('message')`): the conventions'
 * fallback value, which tells a backend the span failed without naming a class. Not written to
 * the log as an error_type (it says nothing the event's level does not).
 */
export const ERROR_TYPE_OTHER = '_OTHER' as const;
/**
 * `error.type` of a span still open when the process ended, which the run ends with status ERROR
 * (its log event is `<kind>_unfinished`): a backend can group them, and tell them from spans that
 * failed. Such spans also carry `autopsy.unfinished`, which readers of an OTLP file go by.
 */
export const ERROR_TYPE_UNFINISHED = 'unfinished' as const;
/**
 * The status message of a span still open when the process ended that had not failed. A span the
 * app had already failed (`span.fail()`) keeps its own status and `error.type`: that failure is
 * what a reader (and an OTLP file's read-back) must see, not that the span was left open.
 */
export const UNFINISHED_STATUS_MESSAGE = 'span still open when the process ended' as const;
export const ATTR_HTTP_RESPONSE_STATUS_CODE = 'http.response.status_code' as const;
/**
 * HTTP semantic conventions: how many times the request was sent again (the SDK's retries after a
 * 429, a 5xx, a timeout). @anthropic-ai/sdk's own spans set it from the second attempt on, and
 * so do the zero-code openai spans.
 */
export const ATTR_HTTP_REQUEST_RESEND_COUNT = 'http.request.resend_count' as const;

/** OpenInference (Arize Phoenix) span kind marker: LLM, CHAIN, AGENT, TOOL, RETRIEVER, EMBEDDING … */
export const ATTR_OPENINFERENCE_SPAN_KIND = 'openinference.span.kind' as const;
export const ATTR_OPENINFERENCE_LLM_MODEL_NAME = 'llm.model_name' as const;
export const ATTR_OPENINFERENCE_LLM_PROVIDER = 'llm.provider' as const;
export const ATTR_OPENINFERENCE_LLM_SYSTEM = 'llm.system' as const;

/** Instrumentation scope of the spans of agent-autopsy's openai client instrumentation (src/instrumentation). */
export const OPENAI_CLIENT_SCOPE = 'agent-autopsy/openai';
/** Instrumentation scope of the spans of agent-autopsy's @anthropic-ai/sdk instrumentation, for the versions and clients that do not trace themselves. */
export const ANTHROPIC_CLIENT_SCOPE = 'agent-autopsy/anthropic';
/** Instrumentation scope of the spans of @aws-sdk/client-bedrock-runtime's model calls (BedrockRuntimeInstrumentation). */
export const BEDROCK_CLIENT_SCOPE = 'agent-autopsy/bedrock';
/** Instrumentation scope of the spans of @google/genai's model calls (GoogleGenAIInstrumentation). */
export const GOOGLE_GENAI_CLIENT_SCOPE = 'agent-autopsy/google-genai';
/** Instrumentation scope of the spans of @google/generative-ai's model calls (GoogleGenerativeAIInstrumentation). */
export const GOOGLE_GENERATIVE_AI_CLIENT_SCOPE = 'agent-autopsy/google-generative-ai';
/** Whether `scope` is that of one of the flag's client instrumentations (openai, @anthropic-ai/sdk, Bedrock, the two Google SDKs). */
export function isFlagClientScope(scope: string | undefined): boolean {
  return scope === OPENAI_CLIENT_SCOPE || scope === ANTHROPIC_CLIENT_SCOPE || scope === BEDROCK_CLIENT_SCOPE || scope === GOOGLE_GENAI_CLIENT_SCOPE || scope === GOOGLE_GENERATIVE_AI_CLIENT_SCOPE;
}
/** Instrumentation scope of the spans of an MCP client's tool calls and connections (McpClientInstrumentation). */
export const MCP_CLIENT_SCOPE = 'agent-autopsy/mcp-client';
/** Instrumentation scope of the spans of LLM API requests no client instrumentation sees (LlmRequestInstrumentation). */
export const LLM_REQUESTS_SCOPE = 'agent-autopsy/llm-requests';
/** MCP (Model Context Protocol) client spans, as OpenTelemetry's MCP conventions name their attributes. */
export const ATTR_MCP_METHOD_NAME = 'mcp.method.name' as const;
export const ATTR_MCP_SESSION_ID = 'mcp.session.id' as const;
export const ATTR_MCP_PROTOCOL_VERSION = 'mcp.protocol.version' as const;
export const ATTR_RPC_RESPONSE_STATUS_CODE = 'rpc.response.status_code' as const;
export const ATTR_NETWORK_TRANSPORT = 'network.transport' as const;
export const ATTR_GEN_AI_TOOL_CALL_ARGUMENTS = 'gen_ai.tool.call.arguments' as const;
export const ATTR_GEN_AI_TOOL_CALL_RESULT = 'gen_ai.tool.call.result' as const;
/** The `error.type` of a tool call whose result says it failed (MCP's `isError: true`). */
export const ERROR_TYPE_TOOL_ERROR = 'tool_error' as const;
export const ATTR_SERVER_ADDRESS = 'server.address' as const;
export const ATTR_SERVER_PORT = 'server.port' as const;
export const ATTR_HTTP_REQUEST_METHOD = 'http.request.method' as const;
export const ATTR_URL_PATH = 'url.path' as const;
export const ATTR_OPENINFERENCE_FINISH_REASON = 'llm.finish_reason' as const;
export const ATTR_OPENINFERENCE_TOKEN_PROMPT = 'llm.token_count.prompt' as const;
export const ATTR_OPENINFERENCE_TOKEN_COMPLETION = 'llm.token_count.completion' as const;
export const ATTR_OPENINFERENCE_TOKEN_CACHE_READ = 'llm.token_count.prompt_details.cache_read' as const;
export const ATTR_OPENINFERENCE_TOKEN_CACHE_WRITE = 'llm.token_count.prompt_details.cache_write' as const;
export const ATTR_OPENINFERENCE_TOKEN_REASONING = 'llm.token_count.completion_details.reasoning' as const;
/** OpenLLMetry (Traceloop) span kind marker: workflow, task, agent, tool. */
export const ATTR_TRACELOOP_SPAN_KIND = 'traceloop.span.kind' as const;
export const ATTR_TRACELOOP_ENTITY_NAME = 'traceloop.entity.name' as const;
export const ATTR_LLM_REQUEST_TYPE = 'llm.request.type' as const;
/** Vercel AI SDK (`ai` 3.x – 6.x, `experimental_telemetry`) span marker: `ai.generateText`, `ai.generateText.doGenerate`, `ai.toolCall` … */
export const ATTR_AI_SDK_OPERATION_ID = 'ai.operationId' as const;
