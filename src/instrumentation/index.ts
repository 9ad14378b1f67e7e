export { AnthropicClientInstrumentation, type AnthropicClientInstrumentationConfig } from './AnthropicClientInstrumentation';
export { BedrockRuntimeInstrumentation, type BedrockRuntimeInstrumentationConfig } from './BedrockRuntimeInstrumentation';
export { ChildProcessInstrumentation } from './ChildProcessInstrumentation';
export { GoogleGenAIInstrumentation, type GoogleGenAIInstrumentationConfig } from './GoogleGenAIInstrumentation';
export { LlmRequestInstrumentation, type LlmRequestInstrumentationConfig } from './LlmRequestInstrumentation';
export { OpenAIClientInstrumentation, OPENAI_CLIENT_SCOPE, type OpenAIClientInstrumentationConfig } from './OpenAIClientInstrumentation';
export { enableChildProcessInstrumentation } from './childProcesses';
export { enableLlmRequestInstrumentation } from './llmRequests';
export { enableLlmInstrumentations, HOOKED_ESM_MODULES } from './llm';
