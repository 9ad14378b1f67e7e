import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import * as clientModule from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { analyzeRunSync } from '../analyzers';
import { McpClientInstrumentation } from '../src/instrumentation/McpClientInstrumentation';
import type { TruthEvent } from '../src/types';
import { writeOtlpFile } from './helpers/otlpFile';

/**
 * The spans McpClientInstrumentation makes of the real MCP SDK's client (1.x) talking to a real
 * MCP server in the same process (each way a call ends under the flag, 1.x and 2.x, over stdio, is
 * in zero-code-mcp-client.test.ts): attributes as OpenTelemetry's MCP conventions name them, a
 * tool's failure returned as a result, content capture, a tool call inside another tool call's span,
 * and the HTTP transport's server and session.
 */

const { Client } = clientModule;

/** An MCP server with one tool: `get_weather` answers, refuses an unknown city (isError) or takes its time. */
function weatherServer(): McpServer {
  const server = new McpServer({ name: 'weather', version: '2.1.0' });
  server.registerTool('get_weather', { description: 'the weather in a city', inputSchema: { city: z.string() } }, async ({ city }) => {
    if (city === 'Atlantis') return { isError: true, content: [{ type: 'text', text: 'no such city: Atlantis' }] };
    if (city === 'slow') await new Promise((resolve) => setTimeout(resolve, 500));
    return { content: [{ type: 'text', text: `sunny in ${city}` }] };
  });
  return server;
}

async function connectedClient(server: { connect(transport: InMemoryTransport): Promise<void> }): Promise<InstanceType<typeof Client>> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'agent', version: '1.0.0' });
  await client.connect(clientSide);
  return client;
}

describe('McpClientInstrumentation', () => {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  const instrumentation = new McpClientInstrumentation({ enabled: false });
  const files = () => instrumentation.getModuleDefinitions().flatMap((definition) => definition.files);

  const contextManager = new AsyncLocalStorageContextManager();

  beforeAll(() => {
    // The active span is read through the global context API, as in an app with tracing set up.
    context.setGlobalContextManager(contextManager.enable());
    instrumentation.setTracerProvider(provider);
    instrumentation.enable();
    // The ES module build of 1.x's client module, as the ESM loader hook hands it over.
    const esm = files().find((file) => file.name.includes('/dist/esm/'));
    esm?.patch?.(clientModule, '1.32.2');
  });
  afterAll(() => {
    files()
      .find((file) => file.name.includes('/dist/esm/'))
      ?.unpatch?.(clientModule, '1.32.2');
    instrumentation.disable();
    contextManager.disable();
    context.disable();
  });
  beforeEach(() => {
    instrumentation.setConfig({ captureContent: false });
  });
  afterEach(() => memory.reset());

  const spans = () => memory.getFinishedSpans().map((span) => ({ name: span.name, kind: span.kind, attributes: { ...span.attributes }, status: span.status }));

  it('connect is a task span; a tool call is an execute_tool span with the MCP method, and a failed result fails it', async () => {
    const client = await connectedClient(weatherServer());
    const ok = await client.callTool({ name: 'get_weather', arguments: { city: 'Paris' } });
    const refused = await client.callTool({ name: 'get_weather', arguments: { city: 'Atlantis' } });
    // The app gets the SDK's results, unchanged.
    expect(ok).toEqual({ content: [{ type: 'text', text: 'sunny in Paris' }] });
    expect(refused).toEqual({ isError: true, content: [{ type: 'text', text: 'no such city: Atlantis' }] });
    await client.close();
    const [connect, paris, atlantis] = spans();
    // An in-memory transport has no address: named after its class.
    expect(connect).toEqual({
      name: 'mcp connect InMemoryTransport',
      kind: SpanKind.CLIENT,
      attributes: {
        'autopsy.kind': 'task',
        'autopsy.event.type': 'task_start',
        'autopsy.task': 'mcp connect InMemoryTransport',
        // The log's data (the server's name and version, as it introduced itself), for an OTLP file read back.
        'autopsy.data.mcp_server': 'weather',
        'autopsy.data.mcp_server_version': '2.1.0',
      },
      status: { code: SpanStatusCode.UNSET },
    });
    expect(paris).toEqual({
      name: 'tools/call get_weather',
      kind: SpanKind.CLIENT,
      attributes: {
        'autopsy.kind': 'task',
        'autopsy.event.type': 'task_start',
        'autopsy.task': 'get_weather',
        'autopsy.data.tool': 'get_weather',
        'autopsy.data.mcp_server': 'weather',
        // Without content capture the arguments are kept as a digest only (tool_loop compares them).
        'autopsy.data.arguments_sha256': 'sha256:6e1e312d537bc71b',
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': 'get_weather',
        'mcp.method.name': 'tools/call',
      },
      status: { code: SpanStatusCode.UNSET },
    });
    expect(atlantis.attributes['error.type']).toBe('tool_error');
    expect(atlantis.status).toEqual({ code: SpanStatusCode.ERROR, message: 'no such city: Atlantis' });
  });

  it('an OTLP file of the spans reads back as the log has them: the connection and the tool calls, the failed one a tool_error', async () => {
    const client = await connectedClient(weatherServer());
    await client.callTool({ name: 'get_weather', arguments: { city: 'Paris' } });
    await client.callTool({ name: 'get_weather', arguments: { city: 'Atlantis' } });
    await client.close();
    const events: TruthEvent[] = [];
    const read = analyzeRunSync(writeOtlpFile(memory.getFinishedSpans()), { onEvent: (event) => events.push(event) });
    const fields = ['task', 'tool', 'mcp_server', 'arguments_sha256', 'error', 'error_type'];
    const picked = (event: TruthEvent) => [event.type, Object.fromEntries(fields.filter((key) => event.data?.[key] !== undefined).map((key) => [key, event.data![key]]))];
    // Each span's start and end (an OTLP file's times are the SDK's milliseconds: a call that
    // starts as the one before ends may be read first).
    const bySpan = (span: string | undefined) => events.filter((event) => event.span_id === span);
    const spans = [...new Set(events.map((event) => event.span_id))];
    expect(spans.flatMap((span) => bySpan(span).map(picked))).toEqual([
      // A span's attributes are read as it ended: the server's name, known once connected, is in its start too.
      ['task_start', { task: 'mcp connect InMemoryTransport', mcp_server: 'weather' }],
      ['task_end', { task: 'mcp connect InMemoryTransport', mcp_server: 'weather' }],
      ['task_start', { task: 'get_weather', tool: 'get_weather', mcp_server: 'weather', arguments_sha256: 'sha256:6e1e312d537bc71b' }],
      ['task_end', { task: 'get_weather', tool: 'get_weather', mcp_server: 'weather', arguments_sha256: 'sha256:6e1e312d537bc71b' }],
      ['task_start', { task: 'get_weather', tool: 'get_weather', mcp_server: 'weather', arguments_sha256: 'sha256:703dc6ccf71cce7d' }],
      ['task_error', { task: 'get_weather', tool: 'get_weather', mcp_server: 'weather', arguments_sha256: 'sha256:703dc6ccf71cce7d', error: 'no such city: Atlantis', error_type: 'tool_error' }],
    ]);
    expect(read.report.diagnoses.map((diagnosis) => diagnosis.id)).toContain('tool_errors');
  });

  it('a JSON-RPC error is the failure, with its code; a call the app aborted is none', async () => {
    // A server that answers tools/call with an error, as a server built on the low-level API may.
    const server = new Server({ name: 'strict', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [] }));
    server.setRequestHandler(CallToolRequestSchema, async (request) => {
      if (request.params.name === 'slow') await new Promise((resolve) => setTimeout(resolve, 500));
      throw new McpError(ErrorCode.InvalidParams, `unknown tool ${request.params.name}`);
    });
    const client = await connectedClient(server);
    await expect(client.callTool({ name: 'lookup', arguments: {} })).rejects.toThrow('MCP error -32602: unknown tool lookup');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    await expect(client.callTool({ name: 'slow', arguments: {} }, undefined, { signal: controller.signal })).rejects.toThrow('This operation was aborted');
    await client.close();
    const [, refused, aborted] = spans();
    expect(refused.attributes).toMatchObject({ 'error.type': '-32602', 'rpc.response.status_code': '-32602' });
    // The client wraps the server's message in its own McpError: the app gets the prefix twice, and so does the span.
    expect(refused.status).toEqual({ code: SpanStatusCode.ERROR, message: 'MCP error -32602: MCP error -32602: unknown tool lookup' });
    expect(aborted.name).toBe('tools/call slow');
    expect(aborted.status).toEqual({ code: SpanStatusCode.UNSET });
    expect(aborted.attributes['error.type']).toBeUndefined();
  });

  it('with content capture: the arguments and the result', async () => {
    instrumentation.setConfig({ captureContent: true });
    const client = await connectedClient(weatherServer());
    await client.callTool({ name: 'get_weather', arguments: { city: 'Paris' } });
    await client.close();
    const [, call] = spans();
    expect(call.attributes['gen_ai.tool.call.arguments']).toBe('{"city":"Paris"}');
    expect(call.attributes['gen_ai.tool.call.result']).toBe('{"content":[{"type":"text","text":"sunny in Paris"}]}');
  });

  it("inside another tool call's span: that span is the call, with the MCP attributes, and a failed result fails it", async () => {
    const client = await connectedClient(weatherServer());
    memory.reset();
    const tracer = provider.getTracer('framework');
    const runTool = (city: string) => {
      // A framework's tool span (the GenAI execute_tool convention), ended by the framework.
      const span = tracer.startSpan(`execute_tool get_weather`, { attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'get_weather' } });
      return context.with(trace.setSpan(context.active(), span), () => client.callTool({ name: 'get_weather', arguments: { city } })).finally(() => span.end());
    };
    await runTool('Paris');
    await runTool('Atlantis');
    await client.close();
    const [paris, atlantis] = spans();
    expect(spans()).toHaveLength(2);
    expect(paris).toEqual({
      name: 'execute_tool get_weather',
      kind: SpanKind.INTERNAL,
      attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'get_weather', 'mcp.method.name': 'tools/call' },
      status: { code: SpanStatusCode.UNSET },
    });
    expect(atlantis.attributes['error.type']).toBe('tool_error');
    expect(atlantis.status).toEqual({ code: SpanStatusCode.ERROR, message: 'no such city: Atlantis' });
  });

  it("puts the call's trace context in the request's _meta for the server, on a copy of the app's parameters", async () => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    try {
      // A server that notes the _meta each tools/call request came with.
      const seen: unknown[] = [];
      const server = new Server({ name: 'echo', version: '1.0.0' }, { capabilities: { tools: {} } });
      server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [] }));
      server.setRequestHandler(CallToolRequestSchema, async (request) => {
        seen.push(request.params._meta);
        return { content: [] };
      });
      const client = await connectedClient(server);
      const params = { name: 'lookup', arguments: { q: 'x' }, _meta: { note: 'kept' } };
      await client.callTool(params);
      await client.close();
      const call = memory.getFinishedSpans().find((span) => span.name === 'tools/call lookup')!;
      const { traceId, spanId } = call.spanContext();
      expect(seen).toEqual([{ note: 'kept', traceparent: `00-${traceId}-${spanId}-01` }]);
      expect(params).toEqual({ name: 'lookup', arguments: { q: 'x' }, _meta: { note: 'kept' } });
    } finally {
      propagation.disable();
    }
  });

  describe('over streamable HTTP', () => {
    let http: HttpServer;
    let url: URL;
    beforeAll(async () => {
      // One MCP server per session, as the SDK's stateful example serves them.
      const sessions = new Map<string, StreamableHTTPServerTransport>();
      http = createServer(async (request, response) => {
        const id = request.headers['mcp-session-id'];
        let transport = typeof id === 'string' ? sessions.get(id) : undefined;
        if (!transport) {
          transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => `session-${sessions.size + 1}`, onsessioninitialized: (session) => void sessions.set(session, transport!) });
          await weatherServer().connect(transport);
        }
        await transport.handleRequest(request, response);
      });
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      url = new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp?key=secret`);
    });
    afterAll(() => new Promise<void>((resolve) => http.close(() => resolve())));

    it("the server's address and port, the transport, the session and the protocol version; the connect span has no query", async () => {
      const client = new Client({ name: 'agent', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(url));
      await client.callTool({ name: 'get_weather', arguments: { city: 'Paris' } });
      await client.close();
      const [connect, call] = spans();
      const server = { 'network.transport': 'tcp', 'server.address': '127.0.0.1', 'server.port': Number(url.port) };
      expect(connect.name).toBe(`mcp connect 127.0.0.1:${url.port}`);
      expect(connect.attributes).toEqual({
        'autopsy.kind': 'task',
        'autopsy.event.type': 'task_start',
        'autopsy.task': `mcp connect 127.0.0.1:${url.port}`,
        'autopsy.data.url': `http://127.0.0.1:${url.port}/mcp`,
        'autopsy.data.mcp_server': 'weather',
        'autopsy.data.mcp_server_version': '2.1.0',
        'autopsy.data.protocol_version': '2025-11-25',
        ...server,
        'mcp.protocol.version': '2025-11-25',
        'mcp.session.id': 'session-1',
      });
      expect(call.attributes).toMatchObject({ ...server, 'mcp.session.id': 'session-1', 'mcp.protocol.version': '2025-11-25' });
    });
  });

  it('disabled: no spans, and the calls work as they do without it', async () => {
    instrumentation.disable();
    try {
      const client = await connectedClient(weatherServer());
      expect(await client.callTool({ name: 'get_weather', arguments: { city: 'Oslo' } })).toEqual({ content: [{ type: 'text', text: 'sunny in Oslo' }] });
      await client.close();
      expect(spans()).toEqual([]);
    } finally {
      instrumentation.enable();
    }
  });
});
