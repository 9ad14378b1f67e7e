import type { TracerProvider } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { reportError } from '../errorHandler';
import { LlmRequestInstrumentation } from './LlmRequestInstrumentation';
import type { AnthropicClientInstrumentation } from './AnthropicClientInstrumentation';
import type { BedrockRuntimeInstrumentation } from './BedrockRuntimeInstrumentation';
import type { GoogleGenAIInstrumentation } from './GoogleGenAIInstrumentation';
import type { GoogleGenerativeAIInstrumentation } from './GoogleGenerativeAIInstrumentation';
import type { LlmEndpoint } from './llmEndpoints';
import type { OpenAIClientInstrumentation } from './OpenAIClientInstrumentation';

let instance: LlmRequestInstrumentation | undefined;
/** The flag's openai instrumentation, once enabled: the versions of the client it patched. */
let openai: OpenAIClientInstrumentation | undefined;
/** The flag's @anthropic-ai/sdk instrumentation, once enabled: the versions of the SDK it patched. */
let anthropic: AnthropicClientInstrumentation | undefined;
/** The flag's @aws-sdk/client-bedrock-runtime instrumentation, once enabled. */
let bedrock: BedrockRuntimeInstrumentation | undefined;
/** The flag's @google/genai instrumentation, once enabled. */
let genai: GoogleGenAIInstrumentation | undefined;
/** The flag's @google/generative-ai instrumentation, once enabled. */
let generativeAi: GoogleGenerativeAIInstrumentation | undefined;

/** LLM API requests → llm spans, once per process (`recordLlmRequests`: on with the flag, opt-in with init()). */
export function enableLlmRequestInstrumentation(provider: TracerProvider): LlmRequestInstrumentation | undefined {
  if (instance) return instance;
  try {
    const created = new LlmRequestInstrumentation({ enabled: false, clientTracesCalls });
    registerInstrumentations({ instrumentations: [created], tracerProvider: provider });
    instance = created;
  } catch (error) {
    reportError(error, 'the requests to LLM APIs cannot be recorded');
  }
  return instance;
}

/** The client instrumentations whose patched clients record their own calls (the flag's). */
export function noteClientInstrumentations(clients: {
  openai: OpenAIClientInstrumentation;
  anthropic: AnthropicClientInstrumentation;
  bedrock: BedrockRuntimeInstrumentation;
  genai: GoogleGenAIInstrumentation;
  generativeAi: GoogleGenerativeAIInstrumentation;
}): void {
  openai = clients.openai;
  anthropic = clients.anthropic;
  bedrock = clients.bedrock;
  genai = clients.genai;
  generativeAi = clients.generativeAi;
}

/**
 * A request of a client whose calls have their spans, with the model and tokens a request's
 * headers do not show: the Bedrock Runtime client once the flag instrumented it (on HTTP/1.1, when
 * the app gives it a NodeHttpHandler; told by its user-agent); the Google Gen AI SDK once the flag
 * instrumented it (told by its `x-goog-api-client`; its `models` requests, generate_content and
 * embeddings: those of its Interactions API stay the request record's), and the earlier
 * `@google/generative-ai` (its `x-goog-api-client` names `genai-js/`); the openai client or the
 * Anthropic SDK once the flag instrumented it (the SDK from 0.134 on traces its calls itself, and
 * the flag traces those of its clients whose tracing is off); an Anthropic SDK from 0.134 on loaded
 * before the flag while its own tracing is on (it is unless ANTHROPIC_OPEN_TELEMETRY=false, as
 * Sentry 11 sets it). The last two are told by the headers both clients send on every request
 * (Stainless's): their user-agent is often the framework's (LangChain sets its own).
 */
function clientTracesCalls(header: (name: string) => string | undefined, endpoint: LlmEndpoint): boolean {
  // The AWS SDK's Bedrock Runtime client, on HTTP/1.1 when the app gives it a NodeHttpHandler.
  if (header('user-agent')?.includes(' api/bedrock-runtime#')) return bedrock?.tracesCalls() ?? false;
  // The Google Gen AI SDK: its `models` requests have the flag's spans, its Interactions API's do not.
  const googleClient = header('x-goog-api-client');
  if (googleClient?.includes('google-genai-sdk/')) return (endpoint.operation === 'generate_content' || endpoint.operation === 'embeddings') && (genai?.tracesCalls() ?? false);
  // The earlier Gemini SDK (LangChain's): `genai-js/0.24.1`, after the app's own `apiClient` if it names one.
  if (googleClient !== undefined && /(?:^|\s)genai-js\//.test(googleClient)) return generativeAi?.tracesCalls() ?? false;
  const version = header('x-stainless-package-version');
  if (version === undefined || header('x-stainless-lang') === undefined) return false;
  if (header('anthropic-version') === undefined) return openai?.tracesVersion(version) ?? false;
  if (anthropic?.tracesVersion(version)) return true;
  return anthropicVersionTracesItself(version) && !anthropicTracingOff();
}

/** The Anthropic SDK's own tracing is turned off for the process (`ANTHROPIC_OPEN_TELEMETRY=false`, as Sentry 11 sets it). */
export function anthropicTracingOff(): boolean {
  return process.env.ANTHROPIC_OPEN_TELEMETRY?.toLowerCase() === 'false';
}

/** @anthropic-ai/sdk versions that trace their calls themselves: 0.134 and later. */
export function anthropicVersionTracesItself(version: string): boolean {
  const [major, minor] = version.split('.').map(Number);
  return major >= 1 || (major === 0 && minor >= 134);
}
