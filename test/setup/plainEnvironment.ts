/**
 * The suite runs in the same environment on every machine: the shell's colour settings and its
 * OpenTelemetry, agent-autopsy, Anthropic SDK tracing and AWS variables are cleared before any test file loads, so they reach
 * neither the library in this process nor the child processes the tests start. With FORCE_COLOR
 * set, Node colours the crash output and console.log's values that tests compare as text; an
 * OTEL_EXPORTER_OTLP_ENDPOINT would send the tests' spans to the developer's collector, and an
 * AWS_MAX_ATTEMPTS or AWS_PROFILE would change the Bedrock client's retries. A test that is about
 * one of these variables sets it itself.
 */
const COLOUR_VARIABLES = ['FORCE_COLOR', 'NO_COLOR', 'NODE_DISABLE_COLORS'];

for (const name of Object.keys(process.env)) {
  if (COLOUR_VARIABLES.includes(name) || name.startsWith('OTEL_') || name.startsWith('AGENT_AUTOPSY_') || name.startsWith('ANTHROPIC_OPEN_TELEMETRY') || name.startsWith('AWS_')) delete process.env[name];
}
