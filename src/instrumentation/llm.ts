import type { TracerProvider } from '@opentelemetry/api';
import { registerInstrumentations, type Instrumentation } from '@opentelemetry/instrumentation';
import { reportError } from '../errorHandler';
import { AnthropicClientInstrumentation } from './AnthropicClientInstrumentation';
import { AnthropicErrorInstrumentation } from './AnthropicErrorInstrumentation';
import { BedrockRuntimeInstrumentation } from './BedrockRuntimeInstrumentation';
import { GoogleGenAIInstrumentation } from './GoogleGenAIInstrumentation';
import { GoogleGenerativeAIInstrumentation } from './GoogleGenerativeAIInstrumentation';
import { noteClientInstrumentations } from './llmRequests';
import { McpClientInstrumentation } from './McpClientInstrumentation';
import { OpenAIClientInstrumentation } from './OpenAIClientInstrumentation';

/**
 * Modules the ESM loader hook must intercept for the instrumentations below: by the specifier an
 * app imports, or, for a module inside a package (the MCP SDK's client), by its file's URL.
 */
export const HOOKED_ESM_MODULES: ReadonlyArray<string | RegExp> = [
  'openai',
  '@anthropic-ai/sdk',
  '@aws-sdk/client-bedrock-runtime',
  '@google/genai',
  '@google/generative-ai',
  '@modelcontextprotocol/client',
  '@ai-sdk/mcp',
  // 1.x's ES module build of its client (before its CommonJS build, the package's only one: dist/client/).
  /\/node_modules\/@modelcontextprotocol\/sdk\/dist\/(?:esm\/)?client\/index\.js$/,
];

/**
 * The LLM client instrumentations of the zero-code setup.
 * - openai: OpenAIClientInstrumentation (why not @opentelemetry/instrumentation-openai alone: see
 *   that class).
 * - @anthropic-ai/sdk from 0.134 on (1.x too) traces its own calls through the global
 *   OpenTelemetry API (spans named `anthropic.messages.create` with gen_ai.* attributes, HTTP
 *   status and error type; streaming and `messages.stream()` included), so it needs only a
 *   registered tracer provider, and AnthropicErrorInstrumentation, which adds the message of a
 *   failed call to the SDK's span (the SDK puts only the error type there: a too-long prompt is a
 *   bare `invalid_request_error`). AnthropicClientInstrumentation traces the versions before 0.134,
 *   and the clients of later versions whose own tracing is off, with the same attributes.
 *   @traceloop/instrumentation-anthropic 0.27 does not fit 1.x (it throws on
 *   `require('@anthropic-ai/sdk')` 1.x and hooks nothing under ESM) and is not loaded.
 * - @aws-sdk/client-bedrock-runtime: BedrockRuntimeInstrumentation (why not OpenTelemetry's AWS SDK
 *   instrumentation: see that class). Its requests are HTTP/2, which the request record cannot see.
 * - @google/genai: GoogleGenAIInstrumentation (@traceloop/instrumentation-google-generativeai hooks
 *   only 1.x). Its requests are on fetch: without it the request record has them, but no tokens.
 * - @google/generative-ai (the earlier Gemini SDK, LangChain's): GoogleGenerativeAIInstrumentation,
 *   with the same spans.
 * - MCP clients (`@modelcontextprotocol/sdk` 1.x, `@modelcontextprotocol/client` 2.x, the AI SDK's `@ai-sdk/mcp`):
 *   McpClientInstrumentation, the agent's tool calls to MCP servers (not LLM calls: task spans).
 * Every other client's requests to an LLM API are LlmRequestInstrumentation's (llmRequests.ts),
 * enabled with tracing (`recordLlmRequests`): it leaves the requests of the clients patched here to
 * their spans.
 */
export function enableLlmInstrumentations(provider: TracerProvider, captureContent: boolean): Instrumentation[] {
  try {
    const openai = new OpenAIClientInstrumentation({ enabled: false, captureContent });
    const anthropic = new AnthropicClientInstrumentation({ enabled: false, captureContent });
    const bedrock = new BedrockRuntimeInstrumentation({ enabled: false, captureContent });
    const genai = new GoogleGenAIInstrumentation({ enabled: false, captureContent });
    const generativeAi = new GoogleGenerativeAIInstrumentation({ enabled: false, captureContent });
    const mcp = new McpClientInstrumentation({ enabled: false, captureContent });
    const instrumentations: Instrumentation[] = [openai, anthropic, new AnthropicErrorInstrumentation({ enabled: false }), bedrock, genai, generativeAi, mcp];
    // Sets the tracer, meter and logger providers, then enables each one.
    registerInstrumentations({ instrumentations, tracerProvider: provider });
    noteClientInstrumentations({ openai, anthropic, bedrock, genai, generativeAi });
    return instrumentations;
  } catch (error) {
    reportError(error, 'the LLM client instrumentations could not be enabled');
    return [];
  }
}
