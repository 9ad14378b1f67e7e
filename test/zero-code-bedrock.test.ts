import { describe, expect, it } from 'vitest';
import { runNode, STEP_HELPER, writeScript } from './helpers/childProcess';
import { llmCallEnds } from './helpers/llmEvents';
import { startOtlpReceiver } from './helpers/otlpReceiver';
import { readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * The zero-code flag records the model calls of the AWS SDK's Bedrock Runtime client (HTTP/2,
 * which the request record cannot see): the real `@aws-sdk/client-bedrock-runtime` against the
 * fake server's HTTP/2 listener, each command and each way a call ends, ESM and CommonJS.
 */

const MODEL = 'anthropic.claude-3-5-sonnet-20240620-v1:0';

/** The calls, shared by the ESM and CommonJS apps (`sdk` is the module, `server` the fake). */
const CALLS = `
const { BedrockRuntimeClient, BedrockRuntime, ConverseCommand, ConverseStreamCommand, InvokeModelCommand, InvokeModelWithResponseStreamCommand } = sdk;
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
// The SDK's default retries, stated: a profile in ~/.aws/config could change them.
const retries = { maxAttempts: 3, retryMode: 'standard' };
const client = new BedrockRuntimeClient({ region: 'us-east-1', endpoint: server.bedrockEndpoint, credentials, ...retries });
const modelId = '${MODEL}';
const messages = [{ role: 'user', content: [{ text: 'hello there' }] }];
const claude = JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 50, temperature: 0.5, messages: [{ role: 'user', content: 'hi' }] });
const throttled = { kind: 'rate_limit', retryAfter: 0 };
${STEP_HELPER}

await step('converse', [], () => stage('research', () => client.send(new ConverseCommand({ modelId, messages, inferenceConfig: { maxTokens: 100, temperature: 0.2 } }))));
await step('converse_stream', [], async () => {
  const output = await client.send(new ConverseStreamCommand({ modelId, messages }));
  for await (const _ of output.stream);
});
await step('invoke', [], () => client.send(new InvokeModelCommand({ modelId, body: claude })));
await step('invoke_stream', [], async () => {
  const output = await client.send(new InvokeModelWithResponseStreamCommand({ modelId, body: claude }));
  for await (const _ of output.body);
});
await step('throttled', [throttled, throttled, throttled], () => client.send(new ConverseCommand({ modelId, messages })));
// The aggregated client's methods send the same commands.
await step('retried', [throttled], () => new BedrockRuntime({ region: 'us-east-1', endpoint: server.bedrockEndpoint, credentials, ...retries }).converse({ modelId, messages }));
await step('denied', ['auth'], () => client.send(new ConverseCommand({ modelId, messages })));
await step('stream_error', [{ kind: 'overloaded', midStream: true }], async () => {
  const output = await client.send(new ConverseStreamCommand({ modelId, messages }));
  for await (const _ of output.stream);
});
await step('stream_stopped', [], async () => {
  const output = await client.send(new ConverseStreamCommand({ modelId, messages }));
  for await (const _ of output.stream) break;
});
await step('aborted', [{ delayMs: 2000 }], () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  return client.send(new ConverseCommand({ modelId, messages }), { abortSignal: controller.signal });
});
// One attempt, 300 ms without data: a request that hangs, a connection dropped before the answer.
const quick = new BedrockRuntimeClient({ region: 'us-east-1', endpoint: server.bedrockEndpoint, credentials, maxAttempts: 1, requestHandler: { requestTimeout: 300 } });
await step('timeout', ['timeout'], () => quick.send(new ConverseCommand({ modelId, messages })));
await step('reset', ['reset'], () => quick.send(new ConverseCommand({ modelId, messages })));
await step('callback', [], () => new Promise((resolve, reject) => client.send(new ConverseCommand({ modelId, messages }), (error, data) => (error ? reject(error) : resolve(data)))));
// On HTTP/1.1 (the app's own handler) the request is seen too, and left to the call's span.
const http1 = new BedrockRuntimeClient({ region: 'us-east-1', endpoint: server.url, requestHandler: new NodeHttpHandler(), credentials, ...retries });
await step('http1', [], () => http1.send(new ConverseCommand({ modelId, messages })));
await step('not_a_call', [], () => client.send(new sdk.ListAsyncInvokesCommand({})));
await server.close();
process.stdout.write(JSON.stringify(outcomes) + '\\n');
`;

const ESM_APP = `
import * as sdk from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { stage } from 'agent-autopsy';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer();
${CALLS}
`;

const CJS_APP = `
const sdk = require('@aws-sdk/client-bedrock-runtime');
const { NodeHttpHandler } = require('@smithy/node-http-handler');
const { stage } = require('agent-autopsy');
(async () => {
const { startFakeLlmServer } = await import('../../examples/fake-llm-server.mjs');
const server = await startFakeLlmServer();
${CALLS}
})();
`;

const OUTCOMES = [
  ['converse', 'ok'],
  ['converse_stream', 'ok'],
  ['invoke', 'ok'],
  ['invoke_stream', 'ok'],
  ['throttled', 'ThrottlingException', null],
  ['retried', 'ok'],
  // An exception the client has no class of its own for: its name is its code (the event's error_type).
  ['denied', 'BedrockRuntimeServiceException', null],
  ['stream_error', 'ServiceUnavailableException', null],
  ['stream_stopped', 'ok'],
  ['aborted', 'Error', null], // the SDK's AbortError (its name), an Error
  ['timeout', 'Error', null], // named TimeoutError
  ['reset', 'Error', null],
  ['callback', 'ok'],
  ['http1', 'ok'],
  ['not_a_call', 'BedrockRuntimeServiceException', null], // the fake server has no such route
];

const FIELDS = ['span', 'provider', 'model', 'stage', 'input_tokens', 'output_tokens', 'cache_read_input_tokens', 'finish_reasons', 'failed_attempts', 'error', 'error_type', 'http_status'];
const call = (fields: Record<string, unknown> = {}) => ({ type: 'llm_call_end', span: `chat ${MODEL}`, provider: 'aws.bedrock', model: MODEL, ...fields });
const answered = (fields: Record<string, unknown> = {}) => call({ input_tokens: 3, output_tokens: 12, finish_reasons: ['end_turn'], ...fields });
// Claude's body through InvokeModel: its prompt is shorter ('hi'), its usage has the cache's fields.
const invoked = (fields: Record<string, unknown> = {}) => call({ input_tokens: 1, output_tokens: 10, finish_reasons: ['end_turn'], ...fields });

const ENDS = [
  answered({ stage: 'research' }),
  answered(),
  invoked({ cache_read_input_tokens: 0 }),
  // The tokens Bedrock puts in the stream's last chunk.
  invoked(),
  call({ type: 'llm_call_error', failed_attempts: 2, error: 'Too many requests, please wait before trying again.', error_type: 'ThrottlingException', http_status: 429 }),
  answered({ failed_attempts: 1 }),
  call({ type: 'llm_call_error', error: 'The security token included in the request is invalid.', error_type: 'UnrecognizedClientException', http_status: 403 }),
  // An exception event in the stream, after its headers' 200.
  call({ type: 'llm_call_error', error: 'Bedrock is unable to process your request.', error_type: 'ServiceUnavailableException' }),
  // Stopped before the usage came; an aborted call is no failure.
  call(),
  call(),
  call({ type: 'llm_call_error', error: 'Stream timed out because of no activity for 300 ms', error_type: 'TimeoutError' }),
  call({ type: 'llm_call_error', error: 'Unexpected error: http2 request did not get a response', error_type: 'Error' }),
  answered(),
  answered(),
];

async function runApp(source: string, extension: '.mjs' | '.cjs', env: Record<string, string> = {}) {
  const runDir = tempRunDir('autopsy-bedrock-');
  const flag = extension === '.mjs' ? '--import' : '--require';
  // The SDK says on stderr that its releases from 2027 need Node 22.
  const result = await runNode(writeScript(source, extension), { nodeArgs: [flag, 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: runDir, NODE_OPTIONS: '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env }, timeoutMs: 60_000 });
  return { result, runDir };
}

describe('the zero-code flag with the AWS SDK Bedrock Runtime client', () => {
  it.each([
    ['ESM', ESM_APP, '.mjs'],
    ['CommonJS', CJS_APP, '.cjs'],
  ] as const)('%s: every model call once, with model, tokens, finish reason, retries and the SDK exception', async (_name, source, extension) => {
    const { result, runDir } = await runApp(source, extension);
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(JSON.parse(result.stdout)).toEqual(OUTCOMES);
    const events = readTrackerDocument(runDir).events;
    expect(llmCallEnds(events, FIELDS)).toEqual(ENDS);
    expect(events.filter((event) => event.type === 'llm_call_start')).toHaveLength(ENDS.length);
    // The streams' time to their first delta.
    const streamed = events.filter((event) => event.type === 'llm_call_end' && event.data.time_to_first_chunk !== undefined);
    expect(streamed).toHaveLength(2);
    const report = readReport(runDir);
    expect(report.llm_usage).toMatchObject({ calls: 14, errors: 5, retried_calls: 2, failed_attempts: 3, errors_by_status: { '403': 1, '429': 1 } });
    expect(report.unfinished).toEqual([]);
    expect(report.diagnoses.map((diagnosis) => diagnosis.id)).toEqual(expect.arrayContaining(['rate_limited', 'auth_failure', 'llm_timeout']));
  }, 60_000);

  it("records the prompts and replies of Converse, and of Claude's InvokeModel bodies, in parts, with AGENT_AUTOPSY_CAPTURE_CONTENT=true", async () => {
    const { result, runDir } = await runApp(ESM_APP, '.mjs', { AGENT_AUTOPSY_CAPTURE_CONTENT: 'true' });
    expect(result.code).toBe(0);
    const content = readTrackerDocument(runDir)
      .events.filter((event) => event.type === 'llm_call_end')
      .map((event) => [event.data.prompt, event.data.response]);
    const user = JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'hello there' }] }]);
    const reply = JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'Fake reply to: "hello there". The answer is 42.' }] }]);
    expect(content[0]).toEqual([user, reply]);
    // A stream's reply, gathered from its deltas.
    expect(content[1]).toEqual([user, reply]);
    // Claude's Messages through InvokeModel, its streamed reply gathered from its chunks' deltas.
    const claudeUser = JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'hi' }] }]);
    const claudeReply = JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'Fake reply to: "hi". The answer is 42.' }] }]);
    expect(content[2]).toEqual([claudeUser, claudeReply]);
    expect(content[3]).toEqual([claudeUser, claudeReply]);
  }, 60_000);

  it("beside OpenTelemetry's AWS SDK instrumentation: its wrapper of the shared client's send stays, and each call counts once", async () => {
    const receiver = await startOtlpReceiver();
    const app = `
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { AwsInstrumentation } = require('@opentelemetry/instrumentation-aws-sdk');
registerInstrumentations({ instrumentations: [new AwsInstrumentation()] });
const sdk = require('@aws-sdk/client-bedrock-runtime');
(async () => {
  const { startFakeLlmServer } = await import('../../examples/fake-llm-server.mjs');
  const server = await startFakeLlmServer({ script: ['ok', 'auth'] });
  const client = new sdk.BedrockRuntimeClient({ region: 'us-east-1', endpoint: server.bedrockEndpoint, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const messages = [{ role: 'user', content: [{ text: 'hello there' }] }];
  await client.send(new sdk.ConverseCommand({ modelId: '${MODEL}', messages }));
  await client.send(new sdk.ConverseCommand({ modelId: '${MODEL}', messages })).catch(() => {});
  await server.close();
})();
`;
    const { result, runDir } = await runApp(app, '.cjs', { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_TIMEOUT: '20000' }).finally(() => receiver.close());
    expect([result.code, result.stderr]).toEqual([0, '']);
    const scopes: Record<string, number> = {};
    for (const span of receiver.spans) if (span.attributes['gen_ai.operation.name'] === 'chat') scopes[span.scope.name] = (scopes[span.scope.name] ?? 0) + 1;
    expect(scopes).toEqual({ '@opentelemetry/instrumentation-aws-sdk': 2, 'agent-autopsy/bedrock': 2 });
    // Its span runs inside this one's: folded into the call.
    expect(llmCallEnds(readTrackerDocument(runDir).events, ['span', 'input_tokens', 'error_type'])).toEqual([
      { type: 'llm_call_end', span: `chat ${MODEL}`, input_tokens: 3 },
      { type: 'llm_call_error', span: `chat ${MODEL}`, error_type: 'UnrecognizedClientException' },
    ]);
  }, 60_000);

  it("inside another instrumentation's span of the same call (OpenLLMetry's Bedrock instrumentation wraps send): each call once, the flag's span is the call", async () => {
    // As @traceloop/instrumentation-bedrock 0.27 wraps the client's send (InvokeModel only): checked with it by hand.
    const app = `
const { context, trace } = require('@opentelemetry/api');
const sdk = require('@aws-sdk/client-bedrock-runtime');
const send = sdk.BedrockRuntimeClient.prototype.send;
const tracer = trace.getTracer('@traceloop/instrumentation-bedrock');
sdk.BedrockRuntimeClient.prototype.send = function (command, ...rest) {
  if (!(command instanceof sdk.InvokeModelCommand)) return send.call(this, command, ...rest);
  const span = tracer.startSpan('bedrock.completions', { attributes: { 'gen_ai.provider.name': 'aws.bedrock', 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'claude-3-5-sonnet-20240620-v1:0' } });
  return context.with(trace.setSpan(context.active(), span), () => send.call(this, command, ...rest)).finally(() => span.end());
};
(async () => {
  const { startFakeLlmServer } = await import('../../examples/fake-llm-server.mjs');
  const server = await startFakeLlmServer({ script: ['ok', 'rate_limit'] });
  const client = new sdk.BedrockRuntimeClient({ region: 'us-east-1', endpoint: server.bedrockEndpoint, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
  const body = JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
  await client.send(new sdk.InvokeModelCommand({ modelId: '${MODEL}', body }));
  await client.send(new sdk.InvokeModelCommand({ modelId: '${MODEL}', body })).catch(() => {});
  await server.close();
})();
`;
    const { result, runDir } = await runApp(app, '.cjs');
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(llmCallEnds(readTrackerDocument(runDir).events, ['span', 'output_tokens', 'error_type'])).toEqual([
      { type: 'llm_call_end', span: `chat ${MODEL}`, output_tokens: 10 },
      { type: 'llm_call_error', span: `chat ${MODEL}`, error_type: 'ThrottlingException' },
    ]);
  }, 60_000);

  it('required before agent-autopsy/register: not instrumented, and said once', async () => {
    const runDir = tempRunDir('autopsy-bedrock-late-');
    const app = writeScript(`require('@aws-sdk/client-bedrock-runtime');\nrequire('agent-autopsy/register');\n`, '.cjs');
    const result = await runNode(app, { env: { AGENT_AUTOPSY_DIR: runDir, NODE_OPTIONS: '' }, timeoutMs: 60_000 });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      'agent-autopsy: agent-autopsy/register was required after @aws-sdk/client-bedrock-runtime was loaded: that client is not instrumented, and its calls (HTTP/2) are not recorded at all; require agent-autopsy/register before @aws-sdk/client-bedrock-runtime, or start the app with node --require agent-autopsy/register app.cjs\n',
    );
  }, 60_000);
});
