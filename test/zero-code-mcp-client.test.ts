import { describe, expect, it } from 'vitest';
import { runNode, runZeroCode, writeScript } from './helpers/childProcess';
import { readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * The zero-code flag records an agent's MCP tool calls: the real MCP SDK's client (1.x, and 2.x's
 * `@modelcontextprotocol/client`), ESM and CommonJS, talking over stdio to a real MCP server in a
 * child process of its own. Each way a call ends: answered, a failure the tool returns as a result,
 * a JSON-RPC error, the client's timeout, the app's abort, a server that died, a server that could
 * not be started.
 */

/** An MCP server (1.x's McpServer) with one tool, whose city says how it ends. */
const SERVER = `
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
const server = new McpServer({ name: 'weather', version: '1.0.0' });
server.registerTool('get_weather', { description: 'the weather in a city', inputSchema: { city: z.string() } }, async ({ city }) => {
  if (city === 'Atlantis') return { isError: true, content: [{ type: 'text', text: 'no such city: Atlantis' }] };
  if (city === 'Boom') throw new Error('database unreachable');
  if (city === 'slow') await new Promise((resolve) => setTimeout(resolve, 1000));
  if (city === 'crash') process.exit(3);
  return { content: [{ type: 'text', text: 'sunny in ' + city }] };
});
await server.connect(new StdioServerTransport());
`;

/** The agent's steps, after `Client`, `StdioClientTransport`, `stage` and `callTool(params, options)` are defined. */
const STEPS = (serverPath: string) => `
const outcomes = [];
async function step(name, fn) {
  try {
    const result = await fn();
    outcomes.push([name, result?.isError ? 'isError' : 'ok']);
  } catch (error) {
    outcomes.push([name, error.constructor.name, String(error.code ?? '')]);
  }
}
const client = new Client({ name: 'agent', version: '1.0.0' });
await step('connect', () => stage('research', () => client.connect(new StdioClientTransport({ command: process.execPath, args: [${JSON.stringify(serverPath)}] }))));
await step('answered', () => stage('research', () => callTool({ name: 'get_weather', arguments: { city: 'Paris' } })));
await step('refused', () => callTool({ name: 'get_weather', arguments: { city: 'Atlantis' } }));
await step('threw', () => callTool({ name: 'get_weather', arguments: { city: 'Boom' } }));
await step('unknown', () => callTool({ name: 'get_forecast', arguments: { city: 'Paris' } }));
await step('timeout', () => callTool({ name: 'get_weather', arguments: { city: 'slow' } }, { timeout: 100 }));
const controller = new AbortController();
setTimeout(() => controller.abort(), 50);
await step('aborted', () => callTool({ name: 'get_weather', arguments: { city: 'slow' } }, { signal: controller.signal }));
await step('crash', () => callTool({ name: 'get_weather', arguments: { city: 'crash' } }));
await step('missing', () => new Client({ name: 'agent', version: '1.0.0' }).connect(new StdioClientTransport({ command: 'no-such-mcp-server', args: ['--port', '1'] })));
process.stdout.write(JSON.stringify(outcomes) + '\\n');
`;

/** `[label, extension, source]`: each SDK line as an ES module app and as a CommonJS one. */
function apps(serverPath: string): ReadonlyArray<readonly [string, '.mjs' | '.cjs', string]> {
  const lines = [
    // 1.x takes the request options third (after a result schema), 2.x second.
    { line: '1.x', client: '@modelcontextprotocol/sdk/client/index.js', stdio: '@modelcontextprotocol/sdk/client/stdio.js', options: 'undefined, options' },
    { line: '2.x', client: '@modelcontextprotocol/client', stdio: '@modelcontextprotocol/client/stdio', options: 'options' },
  ];
  return lines.flatMap(({ line, client, stdio, options }) => {
    const body = `const callTool = (params, options) => client.callTool(params, ${options});\n${STEPS(serverPath)}`;
    return [
      [`${line}, ESM app`, '.mjs', `import { Client } from '${client}';\nimport { StdioClientTransport } from '${stdio}';\nimport { stage } from 'agent-autopsy';\n${body}`],
      [`${line}, CommonJS app`, '.cjs', `const { Client } = require('${client}');\nconst { StdioClientTransport } = require('${stdio}');\nconst { stage } = require('agent-autopsy');\n(async () => {\n${body}\n})();`],
    ] as const;
  });
}

const serverPath = writeScript(SERVER, '.mjs');

/** The task events of a run: type, task, stage, and the error's type and message where it failed. */
function taskEvents(runDir: string): unknown[][] {
  return readTrackerDocument(runDir)
    .events.filter((event) => event.type.startsWith('task_'))
    .map((event) => [event.type, event.data.task, event.data.stage ?? null, event.data.mcp_server ?? null, event.data.error_type ?? null, event.data.error ?? null]);
}

describe('the zero-code flag with an MCP client', () => {
  it.each(apps(serverPath))('%s: connections and tool calls are tasks, and a tool that failed is a failure', async (label, extension, source) => {
    const v2 = label.startsWith('2.x');
    const { result, runDir } = await runZeroCode(source, 'autopsy-mcp-', extension, { NODE_OPTIONS: '' });
    expect([result.code, result.stderr]).toEqual([0, '']);
    // The app gets what it gets without the flag: MCP returns a tool's failure as a result.
    expect(JSON.parse(result.stdout)).toEqual([
      ['connect', 'ok'],
      ['answered', 'ok'],
      ['refused', 'isError'],
      ['threw', 'isError'],
      ['unknown', 'isError'],
      v2 ? ['timeout', 'SdkError', 'REQUEST_TIMEOUT'] : ['timeout', 'McpError', '-32001'],
      // Both lines raise an abort as their timeout's error; the flag tells it apart by the app's signal.
      v2 ? ['aborted', 'SdkError', 'REQUEST_TIMEOUT'] : ['aborted', 'McpError', '-32001'],
      v2 ? ['crash', 'SdkError', 'CONNECTION_CLOSED'] : ['crash', 'McpError', '-32000'],
      ['missing', 'Error', 'ENOENT'],
    ]);
    const connect = 'mcp connect node script.mjs';
    // The server's name is known once connected: a connection's start has none.
    const started = (task: string, stage: string | null = null) => ['task_start', task, stage, task.startsWith('mcp connect') ? null : 'weather', null, null];
    const failed = (errorType: string, error: string) => ['task_error', 'get_weather', null, 'weather', errorType, error];
    expect(taskEvents(runDir)).toEqual([
      started(connect, 'research'),
      ['task_end', connect, 'research', 'weather', null, null],
      started('get_weather', 'research'),
      ['task_end', 'get_weather', 'research', 'weather', null, null],
      started('get_weather'),
      failed('tool_error', 'no such city: Atlantis'),
      // McpServer returns what a tool threw as a failed result.
      started('get_weather'),
      failed('tool_error', 'database unreachable'),
      started('get_forecast'),
      ['task_error', 'get_forecast', null, 'weather', 'tool_error', 'MCP error -32602: Tool get_forecast not found'],
      started('get_weather'),
      v2 ? failed('REQUEST_TIMEOUT', 'Request timed out') : failed('-32001', 'MCP error -32001: Request timed out'),
      // The app aborted it: no failure.
      started('get_weather'),
      ['task_end', 'get_weather', null, 'weather', null, null],
      started('get_weather'),
      v2 ? failed('CONNECTION_CLOSED', 'Connection closed') : failed('-32000', 'MCP error -32000: Connection closed'),
      started('mcp connect no-such-mcp-server'),
      ['task_error', 'mcp connect no-such-mcp-server', null, null, 'Error', 'spawn no-such-mcp-server ENOENT'],
    ]);
    const report = readReport(runDir);
    const diagnoses = Object.fromEntries(report.diagnoses.map((diagnosis) => [diagnosis.id, diagnosis.title]));
    expect(diagnoses).toMatchObject({
      tool_errors: 'A tool call failed: get_weather failed 3 times, and 1 other tool failed too',
      dependency_unreachable: 'A service the agent calls could not be reached (MCP server weather, task get_weather, and others)',
    });
  }, 60_000);

  it('with AGENT_AUTOPSY_CAPTURE_CONTENT=true: the arguments and the result; without it, a digest of the arguments', async () => {
    const app = (capture: boolean) => `
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
const client = new Client({ name: 'agent', version: '1.0.0' });
await client.connect(new StdioClientTransport({ command: process.execPath, args: [${JSON.stringify(serverPath)}] }));
await client.callTool({ name: 'get_weather', arguments: { city: 'Paris' } });
await client.close();
process.stdout.write(${JSON.stringify(String(capture))} + '\\n');
`;
    const ends = async (capture: boolean) => {
      const { result, runDir } = await runZeroCode(app(capture), 'autopsy-mcp-capture-', '.mjs', { NODE_OPTIONS: '', AGENT_AUTOPSY_CAPTURE_CONTENT: String(capture) });
      expect([result.code, result.stderr]).toEqual([0, '']);
      const end = readTrackerDocument(runDir).events.find((event) => event.type === 'task_end' && event.data.tool === 'get_weather');
      return { arguments: end?.data.arguments, arguments_sha256: end?.data.arguments_sha256, result: end?.data.result };
    };
    expect(await ends(true)).toEqual({ arguments: { city: 'Paris' }, arguments_sha256: undefined, result: '{"content":[{"type":"text","text":"sunny in Paris"}]}' });
    expect(await ends(false)).toEqual({ arguments: undefined, arguments_sha256: 'sha256:6e1e312d537bc71b', result: undefined });
  }, 60_000);

  it("beside OpenLLMetry's MCP instrumentation, whose tool span is the same call: each tool call once", async () => {
    // @traceloop/instrumentation-mcp 0.27's shape: it wraps the client's request(), starts a span
    // `{tool}.tool` under its own session span (not under the active one), and says it is a tool
    // after it started.
    const app = `
const { context, trace } = require('@opentelemetry/api');
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StdioClientTransport } = require('@modelcontextprotocol/sdk/client/stdio.js');
const tracer = trace.getTracer('openllmetry-like');
const session = tracer.startSpan('mcp.client.session');
session.setAttribute('traceloop.span.kind', 'session');
const sessionContext = trace.setSpan(context.active(), session);
const request = Client.prototype.request;
Client.prototype.request = function (message, ...rest) {
  if (message.method !== 'tools/call') return request.call(this, message, ...rest);
  const span = tracer.startSpan(message.params.name + '.tool', {}, sessionContext);
  span.setAttribute('traceloop.span.kind', 'tool');
  span.setAttribute('traceloop.entity.name', message.params.name);
  return context.with(trace.setSpan(context.active(), span), () => request.call(this, message, ...rest)).finally(() => span.end());
};
(async () => {
  const client = new Client({ name: 'agent', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [${JSON.stringify(serverPath)}] }));
  await client.callTool({ name: 'get_weather', arguments: { city: 'Paris' } });
  await client.callTool({ name: 'get_weather', arguments: { city: 'Atlantis' } });
  await client.close();
  session.end();
})();
`;
    const { result, runDir } = await runZeroCode(app, 'autopsy-mcp-openllmetry-', '.cjs', { NODE_OPTIONS: '' });
    expect([result.code, result.stderr]).toEqual([0, '']);
    const tools = readTrackerDocument(runDir).events.filter((event) => event.type.startsWith('task_') && event.data.tool === 'get_weather');
    expect(tools.map((event) => [event.type, event.data.mcp_server, event.data.error_type ?? null])).toEqual([
      ['task_start', 'weather', null],
      ['task_end', 'weather', null],
      ['task_start', 'weather', null],
      ['task_error', 'weather', 'tool_error'],
    ]);
  }, 60_000);

  it("required before agent-autopsy/register: said once, since the client's tool calls cannot be recorded", async () => {
    const app = `
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
require('agent-autopsy/register');
`;
    const runDir = tempRunDir('autopsy-mcp-late-');
    const result = await runNode(writeScript(app, '.cjs'), { env: { AGENT_AUTOPSY_DIR: runDir, NODE_OPTIONS: '' }, timeoutMs: 60_000 });
    expect([result.code, result.stderr]).toEqual([
      0,
      "agent-autopsy: agent-autopsy/register was required after the MCP SDK's client was loaded: it is not instrumented, and its tool calls and connections to MCP servers are not recorded; require agent-autopsy/register before @modelcontextprotocol/sdk (or @modelcontextprotocol/client), or start the app with node --require agent-autopsy/register app.cjs\n",
    ]);
  }, 60_000);
});

describe("the zero-code flag with the AI SDK's MCP client (@ai-sdk/mcp)", () => {
  const calls = `
const client = await createMCPClient({ transport: new Experimental_StdioMCPTransport({ command: process.execPath, args: [${JSON.stringify(serverPath)}] }) });
const tools = await client.tools();
const outcomes = [];
for (const city of ['Paris', 'Atlantis']) outcomes.push((await tools.get_weather.execute({ city }, { toolCallId: 'call_1', messages: [] })).isError);
outcomes.push((await client.callTool({ name: 'get_forecast', args: { city: 'Paris' } })).isError);
await client.close();
process.stdout.write(JSON.stringify(outcomes) + '\\n');
`;
  const imports = { client: '@ai-sdk/mcp', stdio: '@ai-sdk/mcp/mcp-stdio' };
  it.each([
    ['ESM app', '.mjs', `import { createMCPClient } from '${imports.client}';\nimport { Experimental_StdioMCPTransport } from '${imports.stdio}';\n${calls}`],
    // Its CommonJS build exports getters that cannot be redefined: the app gets a copy of the module with the wrapper.
    ['CommonJS app', '.cjs', `const { createMCPClient } = require('${imports.client}');\nconst { Experimental_StdioMCPTransport } = require('${imports.stdio}');\n(async () => {\n${calls}\n})();`],
  ] as const)('%s: the connection and each tool call, through its tools() too; a failed result is a tool_error', async (_label, extension, source) => {
    const { result, runDir } = await runZeroCode(source, 'autopsy-ai-sdk-mcp-', extension, { NODE_OPTIONS: '' });
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(JSON.parse(result.stdout)).toEqual([false, true, true]);
    expect(taskEvents(runDir)).toEqual([
      ['task_start', 'mcp connect node script.mjs', null, null, null, null],
      ['task_end', 'mcp connect node script.mjs', null, 'weather', null, null],
      ['task_start', 'get_weather', null, 'weather', null, null],
      ['task_end', 'get_weather', null, 'weather', null, null],
      ['task_start', 'get_weather', null, 'weather', null, null],
      ['task_error', 'get_weather', null, 'weather', 'tool_error', 'no such city: Atlantis'],
      ['task_start', 'get_forecast', null, 'weather', null, null],
      ['task_error', 'get_forecast', null, 'weather', 'tool_error', 'MCP error -32602: Tool get_forecast not found'],
    ]);
    // 1.x takes the arguments as `args`: the log keeps their digest.
    const starts = readTrackerDocument(runDir).events.filter((event) => event.type === 'task_start' && event.data.tool !== undefined);
    expect(starts.map((event) => event.data.arguments_sha256)).toEqual(['sha256:6e1e312d537bc71b', 'sha256:703dc6ccf71cce7d', 'sha256:6e1e312d537bc71b']);
  }, 60_000);

  it("inside generateText with telemetry: the AI SDK's ai.toolCall span is the call, and a failed result fails it", async () => {
    // A model that asks for the tool once (the AI SDK's own mock), with the MCP client's tools.
    const app = `
import { generateText } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { createMCPClient } from '@ai-sdk/mcp';
import { Experimental_StdioMCPTransport } from '@ai-sdk/mcp/mcp-stdio';
const client = await createMCPClient({ transport: new Experimental_StdioMCPTransport({ command: process.execPath, args: [${JSON.stringify(serverPath)}] }) });
const usage = { inputTokens: { total: 3, noCache: 3, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: 5, text: 5, reasoning: undefined } };
const model = new MockLanguageModelV3({
  doGenerate: async () => ({ content: [{ type: 'tool-call', toolCallId: 'call_1', toolName: 'get_weather', input: JSON.stringify({ city: 'Atlantis' }) }], finishReason: { unified: 'tool-calls', raw: 'tool_calls' }, usage, warnings: [] }),
});
const result = await generateText({ model, prompt: 'weather in Atlantis?', tools: await client.tools(), experimental_telemetry: { isEnabled: true } });
await client.close();
process.stdout.write(JSON.stringify(result.toolResults.map((toolResult) => toolResult.output.isError)) + '\\n');
`;
    const { result, runDir } = await runZeroCode(app, 'autopsy-ai-sdk-mcp-telemetry-', '.mjs', { NODE_OPTIONS: '' });
    expect([result.code, result.stderr, result.stdout]).toEqual([0, '', '[true]\n']);
    const tools = readTrackerDocument(runDir).events.filter((event) => event.type.startsWith('task_') && event.data.tool === 'get_weather');
    expect(tools.map((event) => [event.type, event.data.span, event.data.error_type ?? null, event.data.error ?? null])).toEqual([
      ['task_start', 'ai.toolCall', null, null],
      ['task_error', 'ai.toolCall', 'tool_error', 'no such city: Atlantis'],
    ]);
  }, 60_000);
});
