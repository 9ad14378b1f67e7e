/**
 * `gen_ai.provider.name` of an `llmCall({ provider })`. The GenAI conventions list well-known
 * values and say that when one applies it MUST be used: backends key cost and model tables on
 * them, so `OpenAI` or `bedrock` as given would match nothing. A provider that names one of them
 * (in any case, or by a common alias: the Vercel AI SDK's provider ids, SDK package names) becomes
 * that value; any other is kept as given (custom values are allowed). Only the span attribute
 * changes: the events keep what the app gave.
 */

const WELL_KNOWN: Record<string, readonly string[]> = {
  anthropic: [],
  'aws.bedrock': ['bedrock', 'aws_bedrock', 'aws-bedrock', 'amazon-bedrock', 'amazon_bedrock'],
  'azure.ai.inference': ['azure_ai_inference', 'azure-ai-inference'],
  'azure.ai.openai': ['azure', 'azure_openai', 'azure-openai', 'azureopenai'],
  cohere: [],
  deepseek: [],
  'gcp.gemini': ['gemini', 'google', 'google-genai', 'google_genai'],
  'gcp.gen_ai': [],
  'gcp.vertex_ai': ['vertex', 'vertexai', 'vertex_ai', 'google-vertex', 'google_vertex'],
  groq: [],
  'ibm.watsonx.ai': ['watsonx', 'watsonx.ai', 'ibm_watsonx', 'ibm-watsonx'],
  mistral_ai: ['mistral', 'mistralai', 'mistral-ai'],
  openai: ['open_ai', 'open-ai'],
  perplexity: [],
  x_ai: ['xai', 'x.ai', 'x-ai'],
};

const BY_ALIAS = new Map<string, string>();
for (const [name, aliases] of Object.entries(WELL_KNOWN)) {
  BY_ALIAS.set(name, name);
  for (const alias of aliases) BY_ALIAS.set(alias, name);
}

/** The last provider given and its name: an app names one or two providers, and this runs per call. */
let lastGiven: string | undefined;
let lastName = '';

export function genAiProviderName(given: string): string {
  if (given !== lastGiven) {
    lastName = BY_ALIAS.get(given.trim().toLowerCase()) ?? given;
    lastGiven = given;
  }
  return lastName;
}

/**
 * The deprecated `gen_ai.system`'s value for a `gen_ai.provider.name`: the same but for xAI, which
 * that attribute's list spells `xai` (backends that still key on it match that).
 */
export function genAiSystemName(provider: string): string {
  return provider === 'x_ai' ? 'xai' : provider;
}
