/**
 * The suite runs in the same environment on every machine: the shell's colour settings and its
 * OpenTelemetry, agent-autopsy, Anthropic SDK tracing, AWS and Google Gen AI SDK variables are cleared before any test file loads, so they reach
 * neither the library in this process nor the child processes the tests start. With FORCE_COLOR
 * set, Node colours the crash output and console.log's values that tests compare as text; an
 * OTEL_EXPORTER_OTLP_ENDPOINT would send the tests' spans to the developer's collector, and an
 * AWS_MAX_ATTEMPTS or AWS_PROFILE would change the Bedrock client's retries, a
 * GOOGLE_GENAI_USE_VERTEXAI would turn the tests' Gemini clients into Vertex AI ones. A test that is about
 * one of these variables sets it itself.
 */
const COLOUR_VARIABLES = ['FORCE_COLOR', 'NO_COLOR', 'NODE_DISABLE_COLORS'];
/** What @google/genai reads besides its keys (the tests give theirs): the platform and base URLs. */
const GOOGLE_GENAI_VARIABLES = ['GOOGLE_GEMINI_BASE_URL', 'GOOGLE_VERTEX_BASE_URL', 'GOOGLE_CLOUD_PROJECT', 'GOOGLE_CLOUD_LOCATION'];

for (const name of Object.keys(process.env)) {
  if (COLOUR_VARIABLES.includes(name) || name.startsWith('OTEL_') || name.startsWith('AGENT_AUTOPSY_') || name.startsWith('ANTHROPIC_OPEN_TELEMETRY') || name.startsWith('AWS_') || name.startsWith('GOOGLE_GENAI_') || GOOGLE_GENAI_VARIABLES.includes(name)) delete process.env[name];
}
