/**
 * Zero-code setup: `node --require agent-autopsy/register app.cjs` and (through register.mjs)
 * `node --import agent-autopsy/register app.mjs`. Configured from the environment only:
 * AGENT_AUTOPSY_DIR, AGENT_AUTOPSY_LOCALE, AGENT_AUTOPSY_CAPTURE_CONTENT,
 * AGENT_AUTOPSY_CHILD_PROCESSES, AGENT_AUTOPSY_LLM_REQUESTS, OTEL_SERVICE_NAME,
 * OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, OTEL_EXPORTER_OTLP_(TRACES_)HEADERS, OTEL_SDK_DISABLED.
 *
 * In order: the ESM loader hook (import-in-the-middle) so `import OpenAI from 'openai'` can be
 * instrumented, then `init()` (tracing, run directory, exit hooks), then the LLM client
 * instrumentations. `--require` registers the loader hook too, so it also covers ESM apps.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire, register as registerLoader } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { envFlag } from './config';
import { reportError } from './errorHandler';
import { enableLlmInstrumentations, HOOKED_ESM_MODULES } from './instrumentation/llm';
import { anthropicTracingOff, anthropicVersionTracesItself } from './instrumentation/llmRequests';
import { preloadVerdict, realPath } from './preloadFlag';
import { currentRun, initFromEnvironment, warnOnce } from './runtime';
import { activeTracing } from './tracing';

const REGISTERED = Symbol.for('agent-autopsy.register');

function registerEsmLoaderHook(): void {
  if (typeof registerLoader !== 'function') return;
  // The hook must come from the import-in-the-middle copy that @opentelemetry/instrumentation
  // uses: the registry of hooked modules belongs to that copy.
  const fromInstrumentation = createRequire(require.resolve('@opentelemetry/instrumentation'));
  const hook = fromInstrumentation.resolve('import-in-the-middle/hook.mjs');
  const createHook = join(dirname(hook), 'create-hook.mjs');
  // An instance of that hook of our own (see esm-loader-hook.mjs), when this copy has createHook.
  const ownInstance = join(__dirname, 'esm-loader-hook.mjs');
  if (existsSync(createHook) && existsSync(ownInstance)) {
    const data = { hookUrl: pathToFileURL(hook).href, createHookUrl: pathToFileURL(createHook).href, include: HOOKED_ESM_MODULES };
    registerLoader(pathToFileURL(ownInstance).href, pathToFileURL(__filename).href, { data });
    return;
  }
  registerLoader(pathToFileURL(hook).href, pathToFileURL(__filename).href, { data: { include: HOOKED_ESM_MODULES } });
}

/**
 * An app's static imports are all loaded before the first of them runs: `import
 * 'agent-autopsy/register'` on its first line comes after `openai` was loaded, too late for the
 * loader hooks, and the autopsy would silently have its calls only as HTTP requests (without model
 * or tokens), or not at all. Said once, when the ES module entry was not a preload flag (see
 * preloadFlag.ts).
 */
function warnIfImportedByApp(esmEntryUrl: string): void {
  const registerFiles = () => {
    const dist = dirname(fileURLToPath(esmEntryUrl));
    return ['register.mjs', 'register.cjs'].map((file) => realPath(join(dist, file)));
  };
  if (preloadVerdict(process.execArgv, process.env.NODE_OPTIONS, registerFiles, process.cwd()) !== 'imported') return;
  warnOnce(
    'register-imported',
    "agent-autopsy/register was imported by the app, not preloaded: the modules imported beside it (openai …) were loaded before it and are not instrumented, so their LLM calls are recorded only from their HTTP requests, without tokens, and without the model where the request path does not name it (those of the AWS SDK's Bedrock client, on HTTP/2, and an MCP client's tool calls not at all); start the app with node --import agent-autopsy/register app.mjs (or NODE_OPTIONS='--import agent-autopsy/register', also for tsx and other runners)",
  );
}

/**
 * `require('agent-autopsy/register')` after `require('openai')` (or a Google SDK, or an
 * @anthropic-ai/sdk that does not trace itself, before 0.134): the client's module was loaded
 * before the require hook was there, and the instrumentation patches a module as it is loaded, so its calls are silently
 * recorded as HTTP requests only (OpenTelemetry's own check says so only to a diag logger). Said
 * once. An Anthropic SDK from 0.134 on traces itself through the global API: its order does not
 * matter. The AWS SDK's Bedrock Runtime client loaded first is not recorded at all (HTTP/2, which
 * the request record cannot see): said in a warning of its own, as is an MCP client loaded first
 * (its tool calls are not recorded at all).
 */
function warnIfClientsLoadedFirst(): void {
  const files = Object.keys(require.cache);
  const loaded: string[] = [];
  if (files.some((file) => OPENAI_MODULE_FILE.test(file))) loaded.push('openai');
  const anthropic = files.map((file) => ANTHROPIC_MODULE_ROOT.exec(file)?.[0]).find((root) => root !== undefined);
  if (anthropic !== undefined && !anthropicTracesItself(anthropic)) loaded.push('@anthropic-ai/sdk');
  if (files.some((file) => GOOGLE_GENAI_MODULE_FILE.test(file))) loaded.push('@google/genai');
  if (files.some((file) => GOOGLE_GENERATIVE_AI_MODULE_FILE.test(file))) loaded.push('@google/generative-ai');
  if (files.some((file) => BEDROCK_MODULE_FILE.test(file))) {
    warnOnce(
      'register-after-bedrock',
      'agent-autopsy/register was required after @aws-sdk/client-bedrock-runtime was loaded: that client is not instrumented, and its calls (HTTP/2) are not recorded at all; require agent-autopsy/register before @aws-sdk/client-bedrock-runtime, or start the app with node --require agent-autopsy/register app.cjs',
    );
  }
  if (files.some((file) => MCP_CLIENT_MODULE_FILE.test(file))) {
    warnOnce(
      'register-after-mcp',
      "agent-autopsy/register was required after the MCP SDK's client was loaded: it is not instrumented, and its tool calls and connections to MCP servers are not recorded; require agent-autopsy/register before @modelcontextprotocol/sdk (or @modelcontextprotocol/client), or start the app with node --require agent-autopsy/register app.cjs",
    );
  }
  if (loaded.length === 0) return;
  const listed = loaded.length === 1 ? loaded[0] : `${loaded.slice(0, -1).join(', ')} and ${loaded[loaded.length - 1]}`;
  const [names, were, clients] = loaded.length === 1 ? [listed, 'was', 'that client is'] : [listed, 'were', 'those clients are'];
  warnOnce(
    'register-after-openai',
    `agent-autopsy/register was required after ${names} ${were} loaded: ${clients} not instrumented, so ${loaded.length === 1 ? 'its' : 'their'} LLM calls are recorded only from their HTTP requests, without tokens, and without the model where the request path does not name it; require agent-autopsy/register before ${names}, or start the app with node --require agent-autopsy/register app.cjs`,
  );
}

/** A file of the AWS SDK's Bedrock Runtime client, as require.cache names it. */
const BEDROCK_MODULE_FILE = /[\\/]node_modules[\\/]@aws-sdk[\\/]client-bedrock-runtime[\\/]/;
/** A file of the Google Gen AI SDK, as require.cache names it. */
const GOOGLE_GENAI_MODULE_FILE = /[\\/]node_modules[\\/]@google[\\/]genai[\\/]/;
/** A file of the earlier Gemini SDK, as require.cache names it. */
const GOOGLE_GENERATIVE_AI_MODULE_FILE = /[\\/]node_modules[\\/]@google[\\/]generative-ai[\\/]/;
/** The MCP client's module (1.x: a file of @modelcontextprotocol/sdk; 2.x: its own package), as require.cache names it. */
const MCP_CLIENT_MODULE_FILE = /[\\/]node_modules[\\/]@modelcontextprotocol[\\/](?:sdk[\\/]dist[\\/]cjs[\\/]client[\\/]index\.js$|client[\\/])/;
/** A file of the `openai` package, as require.cache names it. */
const OPENAI_MODULE_FILE = /[\\/]node_modules[\\/]openai[\\/]/;
/** The folder of the `@anthropic-ai/sdk` package a file in require.cache belongs to. */
const ANTHROPIC_MODULE_ROOT = /^.*[\\/]node_modules[\\/]@anthropic-ai[\\/]sdk(?=[\\/])/;

/**
 * Whether the @anthropic-ai/sdk in `root` traces its calls itself: 0.134 on, unless its tracing is
 * turned off for the process (`ANTHROPIC_OPEN_TELEMETRY=false`, as Sentry 11 sets it: then only
 * the flag's instrumentation would record its calls). False when its version cannot be read.
 */
function anthropicTracesItself(root: string): boolean {
  try {
    if (anthropicTracingOff()) return false;
    const version: unknown = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
    return typeof version === 'string' && anthropicVersionTracesItself(version);
  } catch {
    return false;
  }
}

/**
 * Sets everything up from the environment; dist/register.cjs calls it when loaded, and
 * dist/register.mjs with its own URL (`esmEntryUrl`), to say when it was imported too late. Runs once.
 */
export function registerZeroCode(esmEntryUrl?: string): void {
  const registry = globalThis as Record<symbol, unknown>;
  // Node also runs `--require` preloads in its loader thread, and workers inherit the flags: the
  // autopsy belongs to the main thread, once. (The app importing it after a preload flag did is
  // one of these repeats: nothing to say.)
  if (!isMainThread || registry[REGISTERED]) return;
  registry[REGISTERED] = true;
  try {
    if (esmEntryUrl !== undefined) warnIfImportedByApp(esmEntryUrl);
    else warnIfClientsLoadedFirst();
  } catch (error) {
    reportError(error, 'could not tell whether agent-autopsy/register was preloaded');
  }
  try {
    registerEsmLoaderHook();
  } catch (error) {
    reportError(error, 'the ESM loader hook could not be registered (ESM imports of openai are not instrumented)');
  }
  // The Anthropic SDK records message content on its own spans only when asked to.
  if (envFlag(process.env.AGENT_AUTOPSY_CAPTURE_CONTENT) && process.env.ANTHROPIC_OPEN_TELEMETRY_TRACES_CONTENT_MODE === undefined) {
    process.env.ANTHROPIC_OPEN_TELEMETRY_TRACES_CONTENT_MODE = 'content';
  }
  initFromEnvironment();
  const tracing = activeTracing();
  if (tracing) enableLlmInstrumentations(tracing.provider, currentRun()?.config.captureContent ?? false);
}
