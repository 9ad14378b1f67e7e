import diagnosticsChannel from 'node:diagnostics_channel';
import http from 'node:http';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { headerValue, LlmRequestInstrumentation } from '../src/instrumentation/LlmRequestInstrumentation';
import { llmEndpointOf } from '../src/instrumentation/llmEndpoints';
import { analyzeRunSync } from '../analyzers/readRun';
import { init, llmCall, shutdown, stage } from '../src/index';
import type { TruthEvent } from '../src/types';
import { startFakeLlmServer, type FakeLlmServer } from './helpers/fakeLlmServer';
import { llmEventsBySpan } from './helpers/llmEvents';
import { writeOtlpFile } from './helpers/otlpFile';
import { readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/** Which HTTP requests the zero-code flag records as LLM calls, from method, origin and path alone. */
describe('llmEndpointOf', () => {
  it.each([
    ['https://api.openai.com', '/v1/chat/completions', { operation: 'chat', provider: 'openai' }],
    ['https://api.openai.com', '/v1/responses', { operation: 'chat', provider: 'openai' }],
    ['https://api.openai.com', '/v1/embeddings', { operation: 'embeddings', provider: 'openai' }],
    ['https://api.openai.com', '/v1/completions', { operation: 'text_completion', provider: 'openai' }],
    ['https://api.anthropic.com', '/v1/messages', { operation: 'chat', provider: 'anthropic' }],
    ['https://my-res.openai.azure.com', '/openai/deployments/prod-gpt4o/chat/completions?api-version=2024-10-21', { operation: 'chat', provider: 'azure.ai.openai', model: 'prod-gpt4o' }],
    ['https://generativelanguage.googleapis.com', '/v1beta/models/gemini-2.0-flash:generateContent?key=AIzaSECRET', { operation: 'generate_content', provider: 'gcp.gemini', model: 'gemini-2.0-flash' }],
    ['https://generativelanguage.googleapis.com', '/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse', { operation: 'generate_content', provider: 'gcp.gemini', model: 'gemini-2.0-flash' }],
    ['https://generativelanguage.googleapis.com', '/v1beta/models/text-embedding-004:batchEmbedContents', { operation: 'embeddings', provider: 'gcp.gemini', model: 'text-embedding-004' }],
    ['https://us-central1-aiplatform.googleapis.com', '/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro:generateContent', { operation: 'generate_content', provider: 'gcp.vertex_ai', model: 'gemini-2.5-pro' }],
    // Gemini's Interactions API: the model is in its body.
    ['https://generativelanguage.googleapis.com', '/v1beta/interactions', { operation: 'chat', provider: 'gcp.gemini' }],
    ['https://us-central1-aiplatform.googleapis.com', '/v1beta1/projects/p/locations/us-central1/interactions', { operation: 'chat', provider: 'gcp.vertex_ai' }],
    ['https://bedrock-runtime.us-east-1.amazonaws.com', '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse', { operation: 'chat', provider: 'aws.bedrock', model: 'anthropic.claude-3-5-sonnet-20240620-v1:0' }],
    ['https://api.groq.com', '/openai/v1/chat/completions', { operation: 'chat', provider: 'groq' }],
    ['https://openrouter.ai', '/api/v1/chat/completions', { operation: 'chat', provider: 'openrouter' }],
    ['https://api.mistral.ai', '/v1/chat/completions', { operation: 'chat', provider: 'mistral_ai' }],
    ['https://api.cohere.com', '/v2/chat', { operation: 'chat', provider: 'cohere' }],
    ['https://us-east5-aiplatform.googleapis.com', '/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:streamRawPredict', { operation: 'chat', provider: 'gcp.vertex_ai', model: 'claude-sonnet-4@20250514' }],
    ['http://localhost:11434', '/api/chat', { operation: 'chat', provider: 'ollama' }],
    ['http://localhost:11434', '/v1/chat/completions', { operation: 'chat' }],
    // An OpenAI-compatible server anywhere (vLLM, LiteLLM, a test server): the path says it.
    ['http://127.0.0.1:8000', '/v1/chat/completions', { operation: 'chat' }],
  ])('%s%s', (origin, path, endpoint) => {
    const { address: _address, port: _port, ...call } = llmEndpointOf('POST', origin, path) ?? { address: '', port: 0 };
    expect(call).toEqual(endpoint);
  });

  it("undici's own request() sends the method as given: a lower-case post is one too", () => {
    expect(llmEndpointOf('post', 'https://api.openai.com', '/v1/chat/completions')).toMatchObject({ operation: 'chat' });
  });

  it("names the request's server: host name, and port (the scheme's default when the origin has none)", () => {
    const server = (origin: string) => {
      const endpoint = llmEndpointOf('POST', origin, '/v1/chat/completions');
      return [endpoint?.address, endpoint?.port];
    };
    expect(server('https://api.openai.com')).toEqual(['api.openai.com', 443]);
    expect(server('http://gateway.internal')).toEqual(['gateway.internal', 80]);
    expect(server('http://[::1]:11434')).toEqual(['[::1]', 11434]);
    expect(server('not a url')).toEqual([undefined, undefined]);
  });

  it("Anthropic's Messages path: on its host, or anywhere with the anthropic-version header every Anthropic client sends", () => {
    const withVersion = (name: string) => (name === 'anthropic-version' ? '2023-06-01' : undefined);
    expect(llmEndpointOf('POST', 'https://api.anthropic.com', '/v1/messages')).toEqual({ operation: 'chat', provider: 'anthropic', address: 'api.anthropic.com', port: 443 });
    expect(llmEndpointOf('POST', 'http://127.0.0.1:4010', '/v1/messages', withVersion)).toEqual({ operation: 'chat', provider: 'anthropic', address: '127.0.0.1', port: 4010 });
    // Any app's own messages route.
    expect(llmEndpointOf('POST', 'https://chat.example.com', '/v1/messages')).toBeUndefined();
  });

  it("Gemini's Interactions path: on Google's hosts, or anywhere from the Google Gen AI SDK (its x-goog-api-client)", () => {
    const fromSdk = (name: string) => (name === 'x-goog-api-client' ? 'google-genai-sdk/2.32.0 gl-node/v20.20.2' : undefined);
    expect(llmEndpointOf('POST', 'http://127.0.0.1:4010', '/v1beta/interactions', fromSdk)).toEqual({ operation: 'chat', provider: 'gcp.gemini', address: '127.0.0.1', port: 4010 });
    // Any app's own interactions route.
    expect(llmEndpointOf('POST', 'https://app.example.com', '/v1/interactions')).toBeUndefined();
  });

  it.each([
    ['POST', 'http://127.0.0.1:3000', '/api/chat'], // any app's chat route: Ollama's only on its port
    ['POST', 'https://example.com', '/v2/chat'], // Cohere's route elsewhere
    ['GET', 'https://api.openai.com', '/v1/models'],
    ['GET', 'https://api.openai.com', '/v1/chat/completions'], // listing stored completions
    ['POST', 'https://api.openai.com', '/v1/files'],
    ['POST', 'https://api.openai.com', '/v1/chat/completions/abc123'], // updating a stored one
    ['POST', 'https://hooks.example.com', '/webhook'],
  ])('%s %s%s is not an LLM call', (method, origin, path) => {
    expect(llmEndpointOf(method, origin, path)).toBeUndefined();
  });
});

describe('headerValue', () => {
  it("reads Node's fetch array form and older undici's string form, names compared without case", () => {
    expect(headerValue(['content-type', 'application/json', 'X-Stainless-Lang', 'js'], 'x-stainless-lang')).toBe('js');
    expect(headerValue('content-type: application/json\r\nanthropic-version: 2023-06-01\r\n', 'anthropic-version')).toBe('2023-06-01');
    expect(headerValue(['user-agent', 'node'], 'traceparent')).toBeUndefined();
    expect(headerValue(undefined, 'user-agent')).toBeUndefined();
  });
});

/** The spans themselves, in this process: an in-memory exporter, a real fetch to the fake LLM server. */
describe('LlmRequestInstrumentation', () => {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  const skipped: string[] = [];
  const instrumentation = new LlmRequestInstrumentation({
    enabled: false,
    clientTracesCalls: (header) => {
      const client = header('x-test-client');
      if (client !== undefined) skipped.push(client);
      return client === 'traced';
    },
  });
  let server: FakeLlmServer & { url?: string };
  let port = 0;

  beforeAll(async () => {
    server = await startFakeLlmServer();
    port = Number(new URL(server.baseURL).port);
    instrumentation.setTracerProvider(provider);
    instrumentation.enable();
  });
  afterAll(async () => {
    instrumentation.disable();
    await server.close();
  });

  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    await response.text();
    return response.status;
  };
  const spans = () => {
    const ended = memory.getFinishedSpans().map((span) => ({ name: span.name, kind: span.kind, attributes: span.attributes, status: span.status, scope: span.instrumentationScope.name }));
    memory.reset();
    return ended;
  };
  const attributes = (extra: Record<string, unknown> = {}) => ({
    'gen_ai.operation.name': 'chat',
    'server.address': '127.0.0.1',
    'server.port': port,
    'http.request.method': 'POST',
    'url.path': '/v1/chat/completions',
    'http.response.status_code': 200,
    ...extra,
  });

  it('a call that succeeds: one CLIENT span, ended with its body, named by operation and host', async () => {
    expect(await post('/v1/chat/completions', { model: 'gpt-4o', messages: [] })).toBe(200);
    expect(spans()).toEqual([{ name: 'chat 127.0.0.1', kind: SpanKind.CLIENT, attributes: attributes(), status: { code: SpanStatusCode.UNSET }, scope: 'agent-autopsy/llm-requests' }]);
  });

  it("an error response fails the span with its status; the path's model is kept and its query is not; an Anthropic request", async () => {
    server.script(['rate_limit', 'not_found']);
    expect(await post('/v1/chat/completions', {})).toBe(429);
    expect(await post('/v1beta/models/gemini-2.0-flash:generateContent?key=AIzaSECRET', {})).toBe(404);
    expect(spans()).toEqual([
      { name: 'chat 127.0.0.1', kind: SpanKind.CLIENT, attributes: attributes({ 'http.response.status_code': 429, 'error.type': '429' }), status: { code: SpanStatusCode.ERROR, message: 'HTTP 429 Too Many Requests' }, scope: 'agent-autopsy/llm-requests' },
      {
        name: 'generate_content gemini-2.0-flash',
        kind: SpanKind.CLIENT,
        attributes: attributes({ 'gen_ai.operation.name': 'generate_content', 'gen_ai.request.model': 'gemini-2.0-flash', 'url.path': '/v1beta/models/gemini-2.0-flash:generateContent', 'http.response.status_code': 404, 'error.type': '404' }),
        status: { code: SpanStatusCode.ERROR, message: 'HTTP 404 Not Found' },
        scope: 'agent-autopsy/llm-requests',
      },
    ]);
    // Without the header, the same path on this host is any app's route.
    expect(await post('/v1/messages', { model: 'claude-sonnet-4-6', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })).toBe(200);
    expect(await post('/v1/messages', { model: 'claude-sonnet-4-6', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }, { 'anthropic-version': '2023-06-01' })).toBe(200);
    expect(spans().map((span) => [span.name, span.attributes['gen_ai.provider.name']])).toEqual([['chat 127.0.0.1', 'anthropic']]);
  });

  it('a dropped connection fails the span with the socket error; a stream the app stops reading ends it without one', async () => {
    server.script([{ kind: 'reset', midStream: true }]);
    await expect(post('/v1/chat/completions', { stream: true, messages: [] })).rejects.toThrow('terminated');
    const response = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ stream: true, messages: [] }) });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const [cut, stopped] = spans();
    expect(cut.status).toEqual({ code: SpanStatusCode.ERROR, message: 'other side closed' });
    expect(cut.attributes['error.type']).toBe('SocketError');
    expect(stopped.status).toEqual({ code: SpanStatusCode.UNSET });
  });

  it('leaves alone what is no LLM call, and the requests of a client that traces its calls', async () => {
    await (await fetch(`http://127.0.0.1:${port}/v1/models`)).text();
    expect(await post('/v1/chat/completions', {}, { 'x-test-client': 'traced' })).toBe(200);
    expect(await post('/v1/chat/completions', {}, { 'x-test-client': 'other' })).toBe(200);
    expect(skipped).toEqual(['traced', 'other']);
    expect(spans().map((span) => span.name)).toEqual(['chat 127.0.0.1']);
  });

  it("an undici package's own messages: a URL origin, headers as one string, a default port", () => {
    const request = { origin: new URL('https://api.openai.com'), method: 'POST', path: '/v1/embeddings', headers: 'content-type: application/json\r\nuser-agent: my-app\r\n' };
    diagnosticsChannel.channel('undici:request:create').publish({ request });
    diagnosticsChannel.channel('undici:request:headers').publish({ request, response: { statusCode: 200, statusText: 'OK', headers: [] } });
    diagnosticsChannel.channel('undici:request:trailers').publish({ request, trailers: [] });
    expect(spans()).toEqual([
      {
        name: 'embeddings api.openai.com',
        kind: SpanKind.CLIENT,
        attributes: attributes({ 'gen_ai.operation.name': 'embeddings', 'gen_ai.provider.name': 'openai', 'server.address': 'api.openai.com', 'server.port': 443, 'url.path': '/v1/embeddings' }),
        status: { code: SpanStatusCode.UNSET },
        scope: 'agent-autopsy/llm-requests',
      },
    ]);
  });

  /** A POST through node:http, as axios and node-fetch send it; the body read to its end unless `stopAfter` chunks. */
  const httpPost = (path: string, body: unknown, options: { headers?: Record<string, string>; stopAfter?: number; destroyAfterMs?: number; onResponse?: () => void } = {}) =>
    new Promise<number>((resolve, reject) => {
      const request = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json', ...options.headers } }, (response) => {
        options.onResponse?.();
        let chunks = 0;
        response.on('data', () => {
          if (++chunks === options.stopAfter) response.destroy();
        });
        response.on('error', reject);
        // A stream the app destroys closes without an end; the span ends with that close.
        response.on('close', () => setImmediate(() => resolve(response.statusCode ?? 0)));
      });
      request.on('error', reject);
      if (options.destroyAfterMs !== undefined) setTimeout(() => request.destroy(Object.assign(new Error('timeout of 50ms exceeded'), { code: 'ECONNABORTED' })), options.destroyAfterMs);
      request.end(JSON.stringify(body));
    });

  it('node:http (axios, node-fetch): the same span, ended with the body or failed with the status', async () => {
    expect(await httpPost('/v1/chat/completions', { model: 'gpt-4o', messages: [] })).toBe(200);
    server.script(['rate_limit']);
    expect(await httpPost('/v1/chat/completions', {})).toBe(429);
    expect(spans()).toEqual([
      { name: 'chat 127.0.0.1', kind: SpanKind.CLIENT, attributes: attributes(), status: { code: SpanStatusCode.UNSET }, scope: 'agent-autopsy/llm-requests' },
      { name: 'chat 127.0.0.1', kind: SpanKind.CLIENT, attributes: attributes({ 'http.response.status_code': 429, 'error.type': '429' }), status: { code: SpanStatusCode.ERROR, message: 'HTTP 429 Too Many Requests' }, scope: 'agent-autopsy/llm-requests' },
    ]);
    // Still open when the headers came: a stream ends with its last chunk, not its headers.
    server.script([{ firstChunkDelayMs: 50 }]);
    let endedAtHeaders: unknown[] | undefined;
    expect(await httpPost('/v1/chat/completions', { stream: true, messages: [] }, { onResponse: () => (endedAtHeaders = memory.getFinishedSpans().map((span) => span.name)) })).toBe(200);
    expect(endedAtHeaders).toEqual([]);
    expect(spans().map((span) => [span.name, span.status])).toEqual([['chat 127.0.0.1', { code: SpanStatusCode.UNSET }]]);
  });

  it('node:http: a connection cut mid-stream and a request destroyed before its answer fail the span; a stream the app destroys ends it without failure', async () => {
    server.script([{ kind: 'reset', midStream: true }]);
    await expect(httpPost('/v1/chat/completions', { stream: true, messages: [] })).rejects.toThrow('aborted');
    server.script([{ delayMs: 1000 }]);
    await expect(httpPost('/v1/chat/completions', {}, { destroyAfterMs: 50 })).rejects.toThrow('timeout of 50ms exceeded');
    expect(await httpPost('/v1/chat/completions', { stream: true, messages: [] }, { stopAfter: 1 })).toBe(200);
    const [cut, destroyed, stopped] = spans();
    expect(cut.status).toEqual({ code: SpanStatusCode.ERROR, message: 'aborted' });
    expect(cut.attributes['error.type']).toBe('ECONNRESET');
    expect(destroyed.status).toEqual({ code: SpanStatusCode.ERROR, message: 'timeout of 50ms exceeded' });
    expect(destroyed.attributes['error.type']).toBe('ECONNABORTED');
    expect(destroyed.attributes['http.response.status_code']).toBeUndefined();
    expect(stopped.status).toEqual({ code: SpanStatusCode.UNSET });
  });

  it("node:http on a Node without the error channel: a request that closes without a response fails the span", async () => {
    const onHttpError = (instrumentation as unknown as { onHttpError: (message: unknown) => void }).onHttpError;
    diagnosticsChannel.unsubscribe('http.client.request.error', onHttpError);
    try {
      server.script(['reset']);
      await expect(httpPost('/v1/chat/completions', {})).rejects.toThrow('socket hang up');
      // The request closes after its error.
      await vi.waitFor(() => expect(memory.getFinishedSpans()).toHaveLength(1));
    } finally {
      diagnosticsChannel.subscribe('http.client.request.error', onHttpError);
    }
    expect(spans().map((span) => [span.status, span.attributes['error.type']])).toEqual([[{ code: SpanStatusCode.ERROR, message: 'the request closed before a response came' }, 'RequestClosed']]);
  });

  it('node:http: a request through a plain HTTP proxy (absolute path) names the real host; clients that trace their calls and other requests are left alone', async () => {
    // A stand-in proxy: it answers whatever it is sent.
    const proxy = http.createServer((request, response) => {
      request.resume();
      request.on('end', () => response.end('{}'));
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const proxyPort = (proxy.address() as { port: number }).port;
      await new Promise<void>((resolve, reject) => {
        const request = http.request({ host: '127.0.0.1', port: proxyPort, method: 'POST', path: 'http://api.mistral.ai/v1/chat/completions?debug=1', headers: { host: 'api.mistral.ai' } }, (response) => {
          response.resume();
          response.on('close', () => setImmediate(resolve));
        });
        request.on('error', reject);
        request.end('{}');
      });
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
    skipped.length = 0;
    expect(await httpPost('/v1/chat/completions', {}, { headers: { 'x-test-client': 'traced' } })).toBe(200);
    await new Promise<void>((resolve, reject) => http.get(`http://127.0.0.1:${port}/v1/models`, (response) => response.resume().on('close', resolve)).on('error', reject));
    expect(skipped).toEqual(['traced']);
    expect(spans()).toEqual([
      {
        name: 'chat api.mistral.ai',
        kind: SpanKind.CLIENT,
        attributes: attributes({ 'gen_ai.provider.name': 'mistral_ai', 'server.address': 'api.mistral.ai', 'server.port': 80 }),
        status: { code: SpanStatusCode.UNSET },
        scope: 'agent-autopsy/llm-requests',
      },
    ]);
  });

  it('disable() stops recording', async () => {
    instrumentation.disable();
    expect(await post('/v1/chat/completions', {})).toBe(200);
    expect(spans()).toEqual([]);
    instrumentation.enable();
    expect(await post('/v1/chat/completions', {})).toBe(200);
    expect(spans()).toHaveLength(1);
  });
});

/** In a run: the events of request spans, live and read back from an OTLP file of the same spans. */
describe('LLM request spans in a run (init({ recordLlmRequests: true }))', () => {
  it('are calls of their own, or folded into the llmCall() they are made in, live and from an OTLP file', async () => {
    const memory = new InMemorySpanExporter();
    const dir = tempRunDir('autopsy-llm-requests-');
    // The process's first init() sets up tracing, and with it the request instrumentation.
    init({ outputDir: dir, handleExit: false, reportFormats: [], spanProcessors: [new SimpleSpanProcessor(memory)], recordLlmRequests: true });
    const server = await startFakeLlmServer({ script: ['rate_limit', 'server_error', 'ok'] });
    const post = async () => {
      const response = await fetch(`${server.baseURL}/chat/completions`, { method: 'POST', body: '{}' });
      await response.text();
      return response.ok;
    };
    try {
      await stage('answer', async () => {
        await post(); // 429: a failed call of its own
        await llmCall({ model: 'gpt-4o' }, async () => {
          while (!(await post()));
        });
      });
    } finally {
      await server.close();
    }
    const live = (await shutdown())!;
    const liveEvents = readTrackerDocument(dir).events;
    const fromOtlp: TruthEvent[] = [];
    const read = analyzeRunSync(writeOtlpFile(memory.getFinishedSpans()), { onEvent: (event) => fromOtlp.push(event) });
    const calls = liveEvents.filter((event) => event.type.startsWith('llm_call_'));
    expect(calls.map((call) => [call.type, call.data.stage, call.data.model, call.data.error, call.data.failed_attempts, call.data.last_attempt_error])).toEqual([
      ['llm_call_start', 'answer', undefined, undefined, undefined, undefined],
      ['llm_call_error', 'answer', undefined, 'HTTP 429 Too Many Requests', undefined, undefined],
      ['llm_call_start', 'answer', 'gpt-4o', undefined, undefined, undefined],
      ['llm_call_end', 'answer', 'gpt-4o', undefined, 1, 'HTTP 500 Internal Server Error'],
    ]);
    expect(llmEventsBySpan(fromOtlp)).toEqual(llmEventsBySpan(liveEvents));
    expect(read.report.llm_usage).toMatchObject({ calls: 2, errors: 1, retried_calls: 1, failed_attempts: 1 });
    expect(live.llm_usage).toMatchObject({ calls: 2, errors: 1, retried_calls: 1, failed_attempts: 1 });
  });
});
