import { diag } from '@opentelemetry/api';
import { writeStderr } from './errorHandler';
import { isFlagClientScope, LLM_REQUESTS_SCOPE } from './semconv';
import { scopeNameOf } from './spanMapping';

/**
 * The zero-code flag's client spans (openai, @anthropic-ai/sdk) or its spans of LLM API requests
 * beside a LangChain instrumentation's LLM spans (@arizeai/openinference-instrumentation-langchain,
 * @traceloop/instrumentation-langchain): the first record each request, the second each model
 * call, and nothing links them (those instrumentations never make their span the active one), so
 * every call counts twice. Said once per process, when both have been seen.
 */
let flagCalls = false;
let langChainScope: string | undefined;
let said = false;

/** Called for each llm span as its start is mapped. */
export function noteLlmSpanScope(span: unknown): void {
  const scope = scopeNameOf(span);
  if (scope === undefined) return;
  if (isFlagClientScope(scope) || scope === LLM_REQUESTS_SCOPE) flagCalls = true;
  else if (scope.includes('langchain')) langChainScope = scope;
  else return;
  if (said || !flagCalls || langChainScope === undefined) return;
  said = true;
  const message =
    `LLM calls are recorded twice in this run: each request by the zero-code flag (its openai or Anthropic instrumentation, or its record of LLM API requests) and each model call by ${langChainScope}, whose spans are not linked to them; ` +
    `beside a LangChain instrumentation, start agent-autopsy with init() instead of the flag (README, "Beside an existing OpenTelemetry setup")`;
  writeStderr(`agent-autopsy: ${message}\n`);
  diag.warn(message);
}
