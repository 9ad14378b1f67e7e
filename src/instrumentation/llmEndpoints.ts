import { serverOf } from '../serverAddress';

/**
 * Which HTTP requests are calls of an LLM API, read from what a request shows before its body:
 * method, host and path. Used by LlmRequestInstrumentation for clients no instrumentation sees
 * (the AI SDK's providers, Mastra, plain `fetch`). The body (with the model of an OpenAI or
 * Anthropic request) is not readable there, so the model is known only where the path names it
 * (Gemini, Vertex AI, Bedrock, an Azure deployment).
 */

export interface LlmEndpoint {
  /** `gen_ai.operation.name`: chat, text_completion, embeddings or generate_content. */
  operation: string;
  /** `gen_ai.provider.name`, where the host says which provider it is. */
  provider?: string;
  /** The model (or Azure deployment) the path names. */
  model?: string;
  /** The request's host name and port (`server.address`, `server.port`). */
  address: string;
  port: number;
}

/**
 * Paths an LLM API is called at, whatever the host: OpenAI's and the many OpenAI-compatible
 * servers' (Azure, Groq, Mistral, OpenRouter, vLLM, LiteLLM …), Gemini's, Vertex AI's and Bedrock's
 * (Gemini's Interactions API only on Google's hosts or from Google's SDK: GEMINI_INTERACTIONS).
 * Checked on the path without its query (Gemini takes its key there: it is never recorded).
 */
const PATH_OPERATIONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\/chat\/completions$/, 'chat'],
  [/\/v1\/responses$/, 'chat'],
  [/\/completions$/, 'text_completion'],
  [/\/embeddings$/, 'embeddings'],
  [/\/models\/[^/]+:(?:generateContent|streamGenerateContent)$/, 'generate_content'],
  [/\/models\/[^/]+:(?:embedContent|batchEmbedContents)$/, 'embeddings'],
  // Claude on Vertex AI.
  [/\/models\/[^/]+:(?:rawPredict|streamRawPredict)$/, 'chat'],
  [/\/model\/[^/]+\/(?:converse|converse-stream|invoke|invoke-with-response-stream)$/, 'chat'],
];

/**
 * Anthropic's Messages API: `/v1/messages` is a common route of any app's, so only on Anthropic's
 * host or with the `anthropic-version` header every Anthropic client sends (a proxy, a test server).
 */
const ANTHROPIC_MESSAGES = /\/v1\/messages$/;

/**
 * Gemini's Interactions API (`/v1beta/interactions`; Vertex AI's under its project and location),
 * on Google's hosts or from the Google Gen AI SDK (its `x-goog-api-client`): the model is in the
 * body, so its requests are named by host.
 */
const GEMINI_INTERACTIONS = /^\/v1[a-z0-9]*\/(?:projects\/[^/]+\/locations\/[^/]+\/)?interactions$/;
const GOOGLE_GENAI_CLIENT = 'google-genai-sdk/';

/** Ollama's API, on its own port only: `/api/chat` elsewhere is any app's. */
const OLLAMA_PORT = 11434;
const OLLAMA_PATHS: Readonly<Record<string, string>> = { '/api/chat': 'chat', '/api/generate': 'text_completion', '/api/embed': 'embeddings', '/api/embeddings': 'embeddings' };

/** Hosts of known providers, as the GenAI conventions name them. */
const PROVIDER_HOSTS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^api\.openai\.com$/, 'openai'],
  [/\.openai\.azure\.com$/, 'azure.ai.openai'],
  [/\.(?:services\.ai|cognitiveservices)\.azure\.com$/, 'azure.ai.inference'],
  [/^api\.anthropic\.com$/, 'anthropic'],
  [/^generativelanguage\.googleapis\.com$/, 'gcp.gemini'],
  [/(?:^|-)aiplatform\.googleapis\.com$/, 'gcp.vertex_ai'],
  [/^bedrock-runtime[.-].*amazonaws\.com$/, 'aws.bedrock'],
  [/^api\.mistral\.ai$/, 'mistral_ai'],
  [/^api\.groq\.com$/, 'groq'],
  [/^api\.deepseek\.com$/, 'deepseek'],
  [/^api\.x\.ai$/, 'x_ai'],
  [/^api\.cohere\.(?:com|ai)$/, 'cohere'],
  [/^api\.perplexity\.ai$/, 'perplexity'],
  [/^openrouter\.ai$/, 'openrouter'],
  [/^api\.together\.(?:xyz|ai)$/, 'together'],
  [/^api\.fireworks\.ai$/, 'fireworks'],
];

/** Cohere's own chat path (`/v2/chat`), on its own hosts. */
const COHERE_CHAT = /^\/v[12]\/chat$/;

/**
 * The LLM call a request is, or undefined for any other request. `origin` is the request's
 * (`https://api.openai.com`, as undici gives it), `path` its path with the query, `header` reads
 * one of its headers by lower-case name.
 */
export function llmEndpointOf(method: string, origin: string, path: string, header: (name: string) => string | undefined = () => undefined): LlmEndpoint | undefined {
  // fetch upper-cases the method; undici's own request() sends it as given.
  if (method !== 'POST' && (method.length !== 4 || method.toUpperCase() !== 'POST')) return undefined;
  const bare = pathWithoutQuery(path);
  let operation: string | undefined;
  for (const [pattern, name] of PATH_OPERATIONS) {
    if (pattern.test(bare)) {
      operation = name;
      break;
    }
  }
  const messages = operation === undefined && ANTHROPIC_MESSAGES.test(bare);
  // Paths that are an LLM call only on their provider's host or port: the origin is parsed only for those.
  const interactions = operation === undefined && GEMINI_INTERACTIONS.test(bare);
  if (operation === undefined && !messages && !interactions && !Object.hasOwn(OLLAMA_PATHS, bare) && !COHERE_CHAT.test(bare)) return undefined;
  const server = serverOf(origin);
  if (!server) return undefined;
  const { address, port } = server;
  let provider = providerOf(address);
  if (messages && (provider === 'anthropic' || header('anthropic-version') !== undefined)) {
    operation = 'chat';
    provider ??= 'anthropic';
  }
  const ollama = operation === undefined && port === OLLAMA_PORT && Object.hasOwn(OLLAMA_PATHS, bare);
  if (ollama) operation = OLLAMA_PATHS[bare];
  if (operation === undefined && provider === 'cohere' && COHERE_CHAT.test(bare)) operation = 'chat';
  if (interactions && (provider === 'gcp.gemini' || provider === 'gcp.vertex_ai' || header('x-goog-api-client')?.includes(GOOGLE_GENAI_CLIENT))) {
    operation = 'chat';
    provider ??= bare.includes('/projects/') ? 'gcp.vertex_ai' : 'gcp.gemini';
  }
  if (operation === undefined) return undefined;
  const endpoint: LlmEndpoint = { operation, address, port };
  if (provider !== undefined) endpoint.provider = provider;
  else if (ollama) endpoint.provider = 'ollama';
  const model = modelInPath(bare);
  if (model !== undefined) endpoint.model = model;
  return endpoint;
}

function providerOf(hostname: string): string | undefined {
  for (const [pattern, name] of PROVIDER_HOSTS) if (pattern.test(hostname)) return name;
  return undefined;
}

const GEMINI_MODEL = /\/models\/([^/:]+):/;
const BEDROCK_MODEL = /\/model\/([^/]+)\//;
const AZURE_DEPLOYMENT = /\/openai\/deployments\/([^/]+)\//;

/** The model a path names: Gemini's and Vertex AI's `models/{model}:`, Bedrock's `model/{id}/`, Azure's deployment. */
function modelInPath(path: string): string | undefined {
  const match = GEMINI_MODEL.exec(path) ?? BEDROCK_MODEL.exec(path) ?? AZURE_DEPLOYMENT.exec(path);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1];
  }
}

/** `/v1beta/models/x:generateContent?key=…` without its query: a key there is never recorded. */
export function pathWithoutQuery(path: string): string {
  const query = path.indexOf('?');
  return query < 0 ? path : path.slice(0, query);
}
