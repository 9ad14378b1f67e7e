import { basename } from 'node:path';
import { context, propagation, SpanKind, trace, type Attributes, type Span } from '@opentelemetry/api';
import { InstrumentationNodeModuleDefinition, InstrumentationNodeModuleFile, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { enclosingToolSpan } from '../activeSpan';
import { AgentSpan } from '../AgentSpan';
import { withSpanIfObserved } from '../AutopsyContextManager';
import { recordFailureAndEnd } from '../api';
import { follow } from '../observePromise';
import { redactString } from '../redact';
import { currentRun } from '../runtime';
import { DEFAULT_MAX_STRING_LENGTH, safeString } from '../safeValue';
import * as sc from '../semconv';
import { startWithData } from '../spanData';
import { sendingMcpToolCallRequest } from '../supersededSpans';
import { ownSpanAttributes } from '../ownSpanAttributes';
import { keepToolArguments } from '../spanMapping';
import type { EventData } from '../types';
import { VERSION } from '../version';
import { guard } from './observedStream';
import { onRequireById } from './requireById';
import { SafeInstrumentationBase } from './SafeInstrumentationBase';

export interface McpClientInstrumentationConfig extends InstrumentationConfig {
  /** Put a tool call's arguments and result on its span and in the log (`gen_ai.tool.call.arguments` / `.result`). Default false. */
  captureContent?: boolean;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyFunction = (...args: any[]) => any;

/** The SDK's `Client` methods wrapped here. */
const METHODS = ['callTool', 'connect'] as const;
/** The AI SDK's functions that make an MCP client (`experimental_` the name before 6). */
const AI_SDK_CREATE_FUNCTIONS = ['createMCPClient', 'experimental_createMCPClient'];
/** The ids by which CommonJS code requires 1.x's client module (its package exports `./client` and `./*`). */
const V1_COMMONJS_CLIENT_IDS = ['@modelcontextprotocol/sdk/client/index.js', '@modelcontextprotocol/sdk/client'];
/** Characters of a failed tool's result text kept as the failure's message. */
const MAX_TOOL_ERROR_LENGTH = 2000;

/**
 * Spans for an MCP (Model Context Protocol) client's tool calls, as OpenTelemetry's MCP
 * conventions have them, for the official TypeScript SDK: `@modelcontextprotocol/sdk` 1.x
 * (`Client` of `@modelcontextprotocol/sdk/client/index.js`) and its 2.x split, the
 * `@modelcontextprotocol/client` package; and for the Vercel AI SDK's own client, `@ai-sdk/mcp`
 * (its `createMCPClient()`, then the class of the client it makes). LangChain's MCP adapters, the
 * OpenAI Agents SDK and Mastra call tools through the SDK's `Client`; without this an agent's MCP
 * tools left no trace, and a tool that failed looked like one that worked: MCP returns a tool's
 * failure as a result (`isError: true`), not as an error.
 *
 * - `callTool` is a tool call: a task span `tools/call {tool}` (CLIENT) with the GenAI
 *   `execute_tool` operation and tool name, `mcp.method.name`, the session, the transport (`pipe`
 *   for stdio, `tcp` for HTTP, with the server's address and port) and the MCP server's name in the
 *   log. A result with `isError: true` fails it with the result's text (`error.type`
 *   `tool_error`); a JSON-RPC error with its code (`-32602`, `-32001` for the SDK's request
 *   timeout, `-32000` for a connection that closed); a call the app aborted is no failure. The
 *   arguments and result are kept only with content capture; without it the log keeps a digest of
 *   the arguments, so that tool_loop can still tell calls apart. The SDK's client sends a copy
 *   of the parameters with the call's trace context in `_meta`, as the conventions propagate it.
 * - Inside another tool call's span (the app's `task(name, { tool: true })`, an AI SDK
 *   `ai.toolCall`, OpenInference's or OpenLLMetry's tool span) that span is the tool call, as the
 *   MCP conventions ask: no span of its own, the MCP attributes go on that span, and a result with
 *   `isError: true` marks it failed.
 * - `connect` is a task span `mcp connect {server}`: starting the transport (spawning a stdio
 *   server) and the protocol's handshake. A server that cannot be started or answers nothing fails
 *   it (`spawn … ENOENT`, `MCP error -32000: Connection closed`), before any tool call.
 */
export class McpClientInstrumentation extends SafeInstrumentationBase<McpClientInstrumentationConfig> {
  /** The SDK's `Client` prototypes patched here, each once whichever hook handed its module over. */
  private readonly patchedClients = new WeakSet<object>();
  /** 1.x's CommonJS client modules the require hook handed over (patched again when re-enabled). */
  private readonly commonJsModules = new Set<object>();
  private requireHooked = false;

  constructor(config: McpClientInstrumentationConfig = {}) {
    // InstrumentationBase enables from its constructor, before this class's fields exist.
    super(sc.MCP_CLIENT_SCOPE, VERSION, { ...config, enabled: false });
    if (config.enabled !== false) this.enable();
  }

  protected moduleDefinitions(): InstrumentationNodeModuleDefinition[] {
    const patch = (module: any) => {
      this.patchClient(module);
      return module;
    };
    const unpatch = (module: any) => this.unpatchClient(module);
    const v1 = ['>=1.0.0 <2'];
    return [
      // 1.x's client is one module of the package. Its ES module build comes through the ESM loader
      // hook (HOOKED_ESM_MODULES names its file); its CommonJS build through the require hook below.
      new InstrumentationNodeModuleDefinition('@modelcontextprotocol/sdk', v1, undefined, undefined, [
        new InstrumentationNodeModuleFile('@modelcontextprotocol/sdk/dist/esm/client/index.js', v1, patch, unpatch),
        // The first releases had an ES module build only, in dist/.
        new InstrumentationNodeModuleFile('@modelcontextprotocol/sdk/dist/client/index.js', v1, patch, unpatch),
      ]),
      new InstrumentationNodeModuleDefinition('@modelcontextprotocol/client', ['>=2.0.0 <3'], patch, unpatch),
      // The Vercel AI SDK's own MCP client (not the SDK's): its clients come from createMCPClient().
      new InstrumentationNodeModuleDefinition(
        '@ai-sdk/mcp',
        ['>=0.0.4 <3'],
        (module: any) => this.patchAiSdkModule(module),
        (module: any) => {
          for (const name of AI_SDK_CREATE_FUNCTIONS) if (module) this._unwrap(module, name);
        },
      ),
    ];
  }

  /**
   * Also hooks `require()` of 1.x's client module. OpenTelemetry's require hook never hands over a
   * file of `@modelcontextprotocol/sdk`: it tells a package's files from its main module by
   * resolving the package's name, and the SDK's `"."` export names a file the package does not
   * have (`dist/cjs/index.js`), so every file of it is skipped. This hook matches the ids an app
   * requires (`@modelcontextprotocol/sdk/client/index.js`, or `…/client`).
   */
  override enable(): void {
    super.enable();
    for (const module of this.commonJsModules) this.patchClient(module);
    if (this.requireHooked) return;
    this.requireHooked = true;
    try {
      onRequireById(V1_COMMONJS_CLIENT_IDS, (exports) => {
        try {
          if (exports === null || typeof exports !== 'object') return;
          this.commonJsModules.add(exports);
          if (this.isEnabled()) this.patchClient(exports);
        } catch (error) {
          this._diag.error('MCP client: the client module could not be patched', error);
        }
      });
    } catch (error) {
      this._diag.error('MCP client: the require hook could not be set, CommonJS tool calls of 1.x are not traced', error);
    }
  }

  override disable(): void {
    super.disable();
    for (const module of this.commonJsModules) this.unpatchClient(module);
  }

  private patchClient(module: any): void {
    const owner = module?.Client?.prototype;
    if (!owner || typeof owner.callTool !== 'function') {
      this._diag.warn('MCP client: no Client.callTool found, tool calls are not traced');
      return;
    }
    if (this.patchedClients.has(owner)) return;
    this.patchedClients.add(owner);
    try {
      this._wrap(owner, 'callTool', (original: AnyFunction) => this.traced(original, 'tool call', (client, args) => this.startToolCall(client, args)));
      if (typeof owner.connect === 'function') this._wrap(owner, 'connect', (original: AnyFunction) => this.traced(original, 'connect', (client, args) => this.startConnect(client, args[0])));
    } catch (error) {
      // OpenTelemetry's require hook does not catch what a patch throws: the app's require would fail.
      this._diag.error('MCP client: Client could not be patched, its tool calls are not traced', error);
    }
  }

  /**
   * Wraps the AI SDK's createMCPClient. Its CommonJS build (1.x) exports getters that cannot be
   * redefined (esbuild's): the module's exports are then a copy with the wrapper, which the
   * require hook hands to the app. Never throws: a module that cannot be patched is left as it is.
   */
  private patchAiSdkModule(module: any): any {
    try {
      if (module === null || typeof module !== 'object') return module;
      const names = AI_SDK_CREATE_FUNCTIONS.filter((name) => typeof module[name] === 'function');
      const fixed = names.some((name) => {
        const descriptor = Object.getOwnPropertyDescriptor(module, name);
        return descriptor !== undefined && !descriptor.configurable && !descriptor.writable;
      });
      const target = fixed ? redefinableCopy(module) : module;
      for (const name of names) this._wrap(target, name, (original: AnyFunction) => this.traced(original, 'connect', (_, args) => this.startAiSdkConnect(args[0])));
      return target;
    } catch (error) {
      this._diag.error('MCP client: @ai-sdk/mcp could not be patched, its tool calls are not traced', error);
      return module;
    }
  }

  /**
   * The class of an AI SDK MCP client (not exported: known from the first client made), whose
   * `callTool` is what the `execute` of each of its `tools()` calls. Patched once; never unpatched
   * (the module's unpatch restores createMCPClient, and a disabled instrumentation's wrapper only
   * passes the call on).
   */
  private patchAiSdkClient(client: any): void {
    const owner = client !== null && typeof client === 'object' ? Object.getPrototypeOf(client) : undefined;
    if (!owner || typeof owner.callTool !== 'function' || this.patchedClients.has(owner)) return;
    this.patchedClients.add(owner);
    try {
      this._wrap(owner, 'callTool', (original: AnyFunction) => this.traced(original, 'tool call', (self, args) => this.startToolCall(self, args)));
    } catch (error) {
      this._diag.error('MCP client: the AI SDK client could not be patched, its tool calls are not traced', error);
    }
  }

  private unpatchClient(module: any): void {
    const owner = module?.Client?.prototype;
    if (!owner || !this.patchedClients.has(owner)) return;
    this.patchedClients.delete(owner);
    for (const method of METHODS) this._unwrap(owner, method);
  }

  /**
   * The wrapper of a `Client` method: the SDK's call always runs, once, and the app gets a promise
   * that settles as the SDK's does. A failure of the telemetry never changes the call.
   */
  private traced(original: AnyFunction, what: string, start: (client: any, args: any[]) => Traced | undefined): AnyFunction {
    const instrumentation = this;
    return function tracedMcpClientMethod(this: any, ...args: any[]) {
      if (!instrumentation.isEnabled()) return original.apply(this, args);
      let traced: Traced | undefined;
      try {
        traced = start(this, args);
      } catch (error) {
        instrumentation._diag.error(`MCP client: the ${what} span could not be started`, error);
      }
      if (traced === undefined) return original.apply(this, args);
      const call = traced;
      let result: unknown;
      try {
        result = call.run(() => original.apply(this, args));
      } catch (error) {
        call.failed(error);
        throw error;
      }
      // The methods are async: anything else (a stub of the app's) is its result as it is.
      if (!isThenable(result)) {
        guard(() => call.returned(result));
        return result;
      }
      return follow(
        result,
        (value) => call.returned(value),
        (error) => call.failed(error),
      );
    };
  }

  private startToolCall(client: any, args: any[]): ToolCall | undefined {
    const params = args[0];
    if (typeof params?.name !== 'string' || params.name === '') return undefined;
    const max = currentRun()?.config.maxStringLength ?? DEFAULT_MAX_STRING_LENGTH;
    // A name the model chose: cut as the names of the app's spans are.
    const tool = safeString(params.name, max);
    const transport = transportAttributes(client?.transport, client);
    // 1.x: callTool(params, resultSchema, options); 2.x: callTool(params, options).
    const signal = signalOf(args);
    const outer = enclosingToolSpan();
    if (outer) {
      outer.setAttributes({ [sc.ATTR_MCP_METHOD_NAME]: 'tools/call', ...transport });
      return new ToolCall(undefined, outer, signal);
    }
    const capture = this.getConfig().captureContent === true;
    const data: EventData = { task: tool, tool };
    const server = serverName(client);
    if (server !== undefined) data.mcp_server = server;
    // The AI SDK's client before 2.x takes them as `args`.
    const toolArguments = params.arguments ?? params.args;
    if (toolArguments !== undefined) {
      data.arguments = toolArguments;
      keepToolArguments(data, capture);
    }
    // The log's data on the span too (autopsy.data.*), as the API's task() puts it: an OTLP file of the spans reads back the events.
    const attributes = ownSpanAttributes('task', data, ['task', 'arguments'], sc.ATTR_AUTOPSY_TASK, tool);
    attributes[sc.ATTR_GEN_AI_OPERATION_NAME] = sc.GEN_AI_OPERATION_EXECUTE_TOOL;
    attributes[sc.ATTR_GEN_AI_TOOL_NAME] = tool;
    attributes[sc.ATTR_MCP_METHOD_NAME] = 'tools/call';
    Object.assign(attributes, transport);
    if (capture && toolArguments !== undefined) attributes[sc.ATTR_GEN_AI_TOOL_CALL_ARGUMENTS] = safeString(jsonText(toolArguments), max);
    const span = startWithData(data, () => this.tracer.startSpan(`tools/call ${tool}`, { kind: SpanKind.CLIENT, attributes }));
    // The SDK's client sends the parameters as given (the AI SDK's builds its own request).
    if (typeof client?.getServerVersion === 'function') args[0] = withTraceContext(params, span);
    return new ToolCall(span, undefined, signal, capture ? max : undefined);
  }

  /** The AI SDK's createMCPClient(config): a connection, whose client is what it resolves to. */
  private startAiSdkConnect(config: any): Connection | undefined {
    return this.startConnect(undefined, config?.transport, (client) => this.patchAiSdkClient(client));
  }

  /** `connect`'s span: starting the transport and the handshake. */
  private startConnect(client: any, transport: any, onClient?: (client: unknown) => void): Connection | undefined {
    // A transport with a session already is a reconnection: the SDK skips the handshake.
    if (transport === null || typeof transport !== 'object' || transport.sessionId !== undefined) return undefined;
    const max = currentRun()?.config.maxStringLength ?? DEFAULT_MAX_STRING_LENGTH;
    const target = describeTransport(transport);
    const name = safeString(`mcp connect ${target.name}`, max);
    const data: EventData = { task: name, ...target.data };
    const attributes = Object.assign(ownSpanAttributes('task', data, ['task'], sc.ATTR_AUTOPSY_TASK, name), transportAttributes(transport, undefined));
    return new Connection(
      startWithData(data, () => this.tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes })),
      client,
      onClient,
    );
  }
}

/** A module's exports as an object whose properties can be redefined (values read through the original's getters as they are used). */
function redefinableCopy(module: object): object {
  const copy = {};
  for (const key of Reflect.ownKeys(module)) {
    const descriptor = Object.getOwnPropertyDescriptor(module, key);
    if (descriptor) Object.defineProperty(copy, key, { ...descriptor, configurable: true });
  }
  return copy;
}

/** A call of a wrapped method: runs it, and is told how it ended. */
interface Traced {
  run<T>(call: () => T): T;
  returned(value: unknown): void;
  failed(error: unknown): void;
}

/**
 * A connection: its span ends with the server's name and versions, or with the failure. The
 * client is the one connecting, or (the AI SDK's createMCPClient) the one the call resolves to.
 */
class Connection implements Traced {
  constructor(
    private readonly span: Span,
    private readonly client: any,
    /** Told of the client the call resolved to, before the app gets it. */
    private readonly onClient?: (client: unknown) => void,
  ) {}

  run<T>(call: () => T): T {
    return withSpanIfObserved(this.span, call);
  }

  returned(value: unknown): void {
    const client = this.client ?? value;
    try {
      this.onClient?.(client);
    } finally {
      endConnect(this.span, client);
    }
  }

  failed(error: unknown): void {
    recordFailureAndEnd(this.span, error);
  }
}

/** One tool call: its own span, or the enclosing tool call's (`outer`), which is only marked failed. */
class ToolCall implements Traced {
  constructor(
    private readonly span: Span | undefined,
    private readonly outer: Span | undefined,
    private readonly signal: any,
    /** With content capture: the longest result text kept. */
    private readonly captureMax?: number,
  ) {}

  run<T>(call: () => T): T {
    const span = this.span;
    return span ? sendingMcpToolCallRequest(() => withSpanIfObserved(span, call)) : call();
  }

  returned(result: any): void {
    const failed = result?.isError === true;
    if (this.outer) {
      if (failed && this.outer.isRecording()) new AgentSpan(this.outer, 'task').fail(toolErrorText(result), sc.ERROR_TYPE_TOOL_ERROR);
      return;
    }
    const span = this.span!;
    const handle = new AgentSpan(span, 'task');
    if (this.captureMax !== undefined && result !== undefined) {
      const text = safeString(jsonText(resultContent(result)), this.captureMax);
      span.setAttribute(sc.ATTR_GEN_AI_TOOL_CALL_RESULT, text);
      handle.set({ result: text });
    }
    if (failed) handle.fail(toolErrorText(result), sc.ERROR_TYPE_TOOL_ERROR);
    span.end();
  }

  failed(error: any): void {
    // The enclosing tool call's span sees the error as the app does: its instrumentation records it.
    if (this.outer) return;
    const span = this.span!;
    if (this.signal?.aborted === true) {
      span.end();
      return;
    }
    recordFailureAndEnd(span, error, mcpErrorType(span, error));
  }
}

/**
 * A failed request's `error.type`: the JSON-RPC error code (`-32602`; 1.x raises its own timeout
 * and closed connection as `-32001` and `-32000` too), also as `rpc.response.status_code`; or the
 * code 2.x gives the errors it raises itself (`REQUEST_TIMEOUT`, `CONNECTION_CLOSED`); else none
 * (the error's class is used).
 */
function mcpErrorType(span: Span, error: any): string | undefined {
  const code = error?.code;
  if (typeof code === 'number' && Number.isInteger(code)) {
    span.setAttribute(sc.ATTR_RPC_RESPONSE_STATUS_CODE, String(code));
    return String(code);
  }
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code) ? code : undefined;
}

function isThenable(value: any): boolean {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function';
}

/**
 * The tool call's parameters with the span's trace context in their `_meta` (`traceparent`,
 * `tracestate`, `baggage`, as the MCP conventions propagate it), so that an instrumented MCP
 * server's spans join the call's trace. A copy: the app's object is not changed. The parameters as
 * they are when the propagator writes nothing (none registered) or they are no plain object.
 */
function withTraceContext(params: any, span: Span): any {
  if (Object.getPrototypeOf(params) !== Object.prototype) return params;
  const meta = params._meta;
  if (meta !== undefined && (meta === null || typeof meta !== 'object')) return params;
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), carrier);
  if (Object.keys(carrier).length === 0) return params;
  return { ...params, _meta: { ...meta, ...carrier } };
}

/** The `signal` of a call's request options, wherever the client takes them (the AI SDK's: in its one argument). */
function signalOf(args: any[]): any {
  const own = args[0]?.options?.signal;
  if (own !== undefined) return own;
  for (let i = 1; i < args.length; i++) {
    const signal = args[i]?.signal;
    if (signal !== undefined) return signal;
  }
  return undefined;
}

/** The text of a failed tool's result: its text parts joined, redacted and clipped; else a note. */
function toolErrorText(result: any): string {
  const content = Array.isArray(result?.content) ? result.content : [];
  const text = content
    .filter((part: any) => part?.type === 'text' && typeof part.text === 'string')
    .map((part: any) => part.text)
    .join('\n')
    .trim();
  if (text === '') return 'the tool returned an error result (isError) with no text';
  return redactString(text.length > MAX_TOOL_ERROR_LENGTH ? `${text.slice(0, MAX_TOOL_ERROR_LENGTH)}…` : text);
}

/** What a result holds for the model: its content and structured content (the protocol's `_meta` left out). */
function resultContent(result: any): unknown {
  if (result === null || typeof result !== 'object') return result;
  const { _meta, ...rest } = result;
  return rest;
}

function jsonText(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** What the server said of itself in the handshake: the SDK's getServerVersion(), the AI SDK's `serverInfo`. */
function serverInfo(client: any): any {
  return typeof client?.getServerVersion === 'function' ? client.getServerVersion() : client?.serverInfo;
}

/** The MCP server's name as it introduced itself in the handshake. */
function serverName(client: any): string | undefined {
  try {
    const name = serverInfo(client)?.name;
    return typeof name === 'string' && name !== '' ? name : undefined;
  } catch {
    return undefined;
  }
}

/** The transport's attributes as the MCP conventions name them: stdio is a `pipe`, HTTP `tcp` to the server's address. */
function transportAttributes(transport: any, client: any): Attributes {
  const attributes: Attributes = {};
  if (transport === null || typeof transport !== 'object') return attributes;
  const url = urlOf(transport);
  if (url) {
    attributes[sc.ATTR_NETWORK_TRANSPORT] = 'tcp';
    attributes[sc.ATTR_SERVER_ADDRESS] = url.hostname;
    attributes[sc.ATTR_SERVER_PORT] = url.port === '' ? (url.protocol === 'https:' || url.protocol === 'wss:' ? 443 : 80) : Number(url.port);
  } else if (stdioParams(transport)) {
    attributes[sc.ATTR_NETWORK_TRANSPORT] = 'pipe';
  }
  const session = transport.sessionId;
  if (typeof session === 'string' && session !== '') attributes[sc.ATTR_MCP_SESSION_ID] = session;
  const version = protocolVersion(transport, client);
  if (version !== undefined) attributes[sc.ATTR_MCP_PROTOCOL_VERSION] = version;
  return attributes;
}

/** The protocol version the client and server agreed on (2.x says it; 1.x's HTTP transports keep it). */
function protocolVersion(transport: any, client: any): string | undefined {
  try {
    const version = client?.getNegotiatedProtocolVersion?.() ?? transport?.protocolVersion;
    return typeof version === 'string' && version !== '' ? version : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An HTTP (streamable, SSE) or WebSocket transport's server URL: the SDK keeps it as `_url`, the
 * AI SDK as `url`, and its transport config (`{ type: 'http', url }`) names it as text.
 */
function urlOf(transport: any): URL | undefined {
  const url = transport._url ?? transport.url;
  if (url instanceof URL) return url;
  if (typeof url !== 'string') return undefined;
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/** A stdio transport's server command: the SDK keeps it as `_serverParams`, the AI SDK as `serverParams`. */
function stdioParams(transport: any): { command: string; args: string[] } | undefined {
  const params = transport._serverParams ?? transport.serverParams;
  if (params === null || typeof params !== 'object' || typeof params.command !== 'string') return undefined;
  return { command: params.command, args: Array.isArray(params.args) ? params.args.filter((arg: unknown) => typeof arg === 'string') : [] };
}

/** Programs that run a server named by an argument: the connect span is named after both. */
const LAUNCHERS = new Set(['node', 'nodejs', 'bun', 'bunx', 'deno', 'npx', 'pnpx', 'pnpm', 'yarn', 'npm', 'uv', 'uvx', 'python', 'python3', 'py', 'pipx', 'docker', 'podman', 'java', 'ruby', 'php', 'go', 'dotnet', 'tsx', 'ts-node']);
/** A launcher's words before the server's name (`uv run server.py`, `pnpm dlx`, `docker run`). */
const SUBCOMMANDS = new Set(['run', 'exec', 'x', 'dlx', 'tool']);

/**
 * What a connect span says of its server: a stdio server by its command (`node weather.mjs`,
 * `npx server-github`, `my-server`; the whole command line, redacted, in the log), an HTTP one by its host and
 * path (no query: it may hold a key).
 */
function describeTransport(transport: any): { name: string; data: EventData } {
  const url = urlOf(transport);
  if (url) return { name: url.host, data: { url: redactString(`${url.protocol}//${url.host}${url.pathname}`) } };
  const stdio = stdioParams(transport);
  if (stdio) {
    const program = basename(stdio.command);
    // A launcher's (node, npx, uvx, docker …) server is the first argument that is no option or subcommand.
    const script = LAUNCHERS.has(program.replace(/\.(?:exe|cmd)$/i, '')) ? stdio.args.find((arg) => !arg.startsWith('-') && !SUBCOMMANDS.has(arg)) : undefined;
    const command = redactString([stdio.command, ...stdio.args].join(' '));
    return { name: script === undefined ? program : `${program} ${basename(script)}`, data: { command: command.length > 1000 ? `${command.slice(0, 1000)}…` : command } };
  }
  const kind = transport?.constructor?.name;
  return { name: typeof kind === 'string' && kind !== '' && kind !== 'Object' ? kind : 'server', data: {} };
}

/** A connection that was made: the server's name, version and protocol version, on the span and in the log. */
function endConnect(span: Span, client: any): void {
  try {
    const handle = new AgentSpan(span, 'task');
    const name = serverName(client);
    const version = serverInfo(client)?.version;
    const protocol = protocolVersion(client?.transport, client);
    const data: EventData = {};
    if (name !== undefined) data.mcp_server = name;
    if (typeof version === 'string') data.mcp_server_version = version;
    if (protocol !== undefined) {
      data.protocol_version = protocol;
      span.setAttribute(sc.ATTR_MCP_PROTOCOL_VERSION, protocol);
    }
    const session = client?.transport?.sessionId;
    if (typeof session === 'string' && session !== '') span.setAttribute(sc.ATTR_MCP_SESSION_ID, session);
    handle.set(data);
  } finally {
    span.end();
  }
}
