import type { TracerProvider } from '@opentelemetry/api';
import { registerInstrumentations, type Instrumentation } from '@opentelemetry/instrumentation';
import { reportError } from '../errorHandler';
import { AnthropicErrorInstrumentation } from './AnthropicErrorInstrumentation';
import { LlmRequestInstrumentation } from './LlmRequestInstrumentation';
import { OpenAIClientInstrumentation } from './OpenAIClientInstrumentation';

/** Modules the ESM loader hook must intercept for the instrumentations below. */
export const HOOKED_ESM_MODULES = ['openai', '@anthropic-ai/sdk'];

/**
 * The LLM client instrumentations of the zero-code setup.
 * - openai: OpenAIClientInstrumentation (why not @opentelemetry/instrumentation-openai alone: see
 *   that class).
 * - @anthropic-ai/sdk 1.x traces its own calls through the global OpenTelemetry API (spans named
 *   `anthropic.messages.create` with gen_ai.* attributes, HTTP status and error type; streaming and
 *   `messages.stream()` included), so it needs only a registered tracer provider, and
 *   AnthropicErrorInstrumentation, which adds the message of a failed call to the SDK's span (the
 *   SDK puts only the error type there: a too-long prompt is a bare `invalid_request_error`).
 *   @traceloop/instrumentation-anthropic 0.27 does not fit it (it throws on
 *   `require('@anthropic-ai/sdk')` 1.x and hooks nothing under ESM) and is not loaded.
 * - every other client's requests to an LLM API (the AI SDK's providers, Mastra, plain fetch):
 *   LlmRequestInstrumentation, unless `requests` is false (AGENT_AUTOPSY_LLM_REQUESTS=false).
 */
export function enableLlmInstrumentations(provider: TracerProvider, captureContent: boolean, requests = true): Instrumentation[] {
  try {
    const openai = new OpenAIClientInstrumentation({ enabled: false, captureContent });
    const instrumentations: Instrumentation[] = [openai, new AnthropicErrorInstrumentation({ enabled: false })];
    if (requests) instrumentations.push(new LlmRequestInstrumentation({ enabled: false, clientTracesCalls: (header) => clientTracesCalls(header, openai) }));
    // Sets the tracer, meter and logger providers, then enables each one.
    registerInstrumentations({ instrumentations, tracerProvider: provider });
    return instrumentations;
  } catch (error) {
    reportError(error, 'the LLM client instrumentations could not be enabled');
    return [];
  }
}

/**
 * A request of the openai client once it is instrumented, or of the Anthropic SDK from 1.0 on
 * while its own tracing is on (it is unless ANTHROPIC_OPEN_TELEMETRY=false, as Sentry 11 sets it):
 * those calls have their spans, with the model and tokens a request's headers do not show. Told
 * by the headers both clients send on every request (Stainless's): their user-agent is often the
 * framework's (LangChain sets its own).
 */
function clientTracesCalls(header: (name: string) => string | undefined, openai: OpenAIClientInstrumentation): boolean {
  const version = header('x-stainless-package-version');
  if (version === undefined || header('x-stainless-lang') === undefined) return false;
  if (header('anthropic-version') === undefined) return openai.tracesVersion(version);
  return ANTHROPIC_TRACING_VERSION.test(version) && process.env.ANTHROPIC_OPEN_TELEMETRY?.toLowerCase() !== 'false';
}

/** @anthropic-ai/sdk versions that trace their calls themselves: 1.0 and later. */
const ANTHROPIC_TRACING_VERSION = /^[1-9]\d*\./;
