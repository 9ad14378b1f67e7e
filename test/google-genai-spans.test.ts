import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import * as genai from '@google/genai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GoogleGenAIInstrumentation } from '../src/instrumentation/GoogleGenAIInstrumentation';
// @ts-expect-error: a plain ES module without types
import { startFakeLlmServer } from '../examples/fake-llm-server.mjs';

/**
 * The spans GoogleGenAIInstrumentation makes of the real `@google/genai` against the fake
 * server's Gemini and Vertex AI routes (each way a call ends, under the flag, is in
 * zero-code-google-genai.test.ts): the attributes of settings, usage, finish reasons, captured
 * content, and which methods are calls.
 */

const MODEL = 'gemini-2.5-flash';

describe('GoogleGenAIInstrumentation', () => {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  const instrumentation = new GoogleGenAIInstrumentation({ enabled: false });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let server: any;
  let ai: genai.GoogleGenAI;
  let serverAttributes: Record<string, unknown>;

  beforeAll(async () => {
    instrumentation.setTracerProvider(provider);
    instrumentation.enable();
    for (const definition of instrumentation.getModuleDefinitions()) definition.patch?.(genai, '2.32.0');
    server = await startFakeLlmServer();
    ai = new genai.GoogleGenAI({ apiKey: 'fake', httpOptions: { baseUrl: server.url } });
    serverAttributes = { 'server.address': '127.0.0.1', 'server.port': server.port };
  });
  afterAll(async () => {
    for (const definition of instrumentation.getModuleDefinitions()) definition.unpatch?.(genai, '2.32.0');
    instrumentation.disable();
    await server.close();
  });
  beforeEach(() => {
    memory.reset();
    instrumentation.setConfig({ captureContent: false });
  });

  const spans = () => memory.getFinishedSpans().map((span) => ({ name: span.name, kind: span.kind, attributes: { ...span.attributes }, status: span.status }));

  it("records a call's settings, and its usage with the thinking as output and the cache within the prompt", async () => {
    server.script([
      {
        body: {
          candidates: [
            { content: { role: 'model', parts: [{ text: 'one' }] }, finishReason: 'STOP', index: 0 },
            { content: { role: 'model', parts: [{ text: 'tw' }] }, finishReason: 'MAX_TOKENS', index: 1 },
          ],
          usageMetadata: { promptTokenCount: 20, cachedContentTokenCount: 8, toolUsePromptTokenCount: 2, candidatesTokenCount: 5, thoughtsTokenCount: 7, totalTokenCount: 34 },
          modelVersion: 'gemini-2.5-flash-001',
          responseId: 'resp-1',
        },
      },
    ]);
    const config = { maxOutputTokens: 64, temperature: 0.3, topP: 0.9, topK: 40, candidateCount: 2, seed: 7, presencePenalty: 0.1, frequencyPenalty: 0.2, stopSequences: ['END'], responseMimeType: 'application/json' };
    await ai.models.generateContent({ model: `models/${MODEL}`, contents: 'hi', config });
    expect(spans()).toEqual([
      {
        name: `generate_content ${MODEL}`,
        kind: SpanKind.CLIENT,
        attributes: {
          'gen_ai.operation.name': 'generate_content',
          'gen_ai.provider.name': 'gcp.gemini',
          ...serverAttributes,
          'gen_ai.request.model': MODEL,
          'gen_ai.request.max_tokens': 64,
          'gen_ai.request.temperature': 0.3,
          'gen_ai.request.top_p': 0.9,
          'gen_ai.request.top_k': 40,
          'gen_ai.request.choice.count': 2,
          'gen_ai.request.seed': 7,
          'gen_ai.request.presence_penalty': 0.1,
          'gen_ai.request.frequency_penalty': 0.2,
          'gen_ai.request.stop_sequences': ['END'],
          'gen_ai.output.type': 'json',
          // The tool-use prompt counts as input; cached tokens are part of the prompt's count.
          'gen_ai.usage.input_tokens': 22,
          'gen_ai.usage.output_tokens': 12,
          'gen_ai.usage.reasoning.output_tokens': 7,
          'gen_ai.usage.cache_read.input_tokens': 8,
          'gen_ai.response.finish_reasons': ['stop', 'max_tokens'],
          'gen_ai.response.model': 'gemini-2.5-flash-001',
          'gen_ai.response.id': 'resp-1',
        },
        status: { code: SpanStatusCode.UNSET },
      },
    ]);
  });

  it('with content capture: the system instruction, each turn in parts, and each candidate with its finish reason', async () => {
    instrumentation.setConfig({ captureContent: true });
    server.script([{ body: { candidates: [{ content: { role: 'model', parts: [{ executableCode: { language: 'PYTHON', code: 'print(1)' } }, { codeExecutionResult: { outcome: 'OUTCOME_OK', output: '1' } }, { text: 'It prints 1.' }] }, finishReason: 'STOP', index: 0 }] } }]);
    await ai.models.generateContent({
      model: MODEL,
      contents: ['run this', { fileData: { mimeType: 'video/mp4', fileUri: 'gs://bucket/clip.mp4' } }],
      config: { systemInstruction: { parts: [{ text: 'be brief' }, { text: 'use code' }] } },
    });
    const [span] = spans();
    expect(JSON.parse(String(span.attributes['gen_ai.system_instructions']))).toEqual([
      { type: 'text', content: 'be brief' },
      { type: 'text', content: 'use code' },
    ]);
    // Strings and parts given without a Content are one user turn, as the SDK sends them.
    expect(JSON.parse(String(span.attributes['gen_ai.input.messages']))).toEqual([
      { role: 'user', parts: [{ type: 'text', content: 'run this' }, { type: 'uri', mime_type: 'video/mp4', modality: 'video', uri: 'gs://bucket/clip.mp4' }] },
    ]);
    expect(JSON.parse(String(span.attributes['gen_ai.output.messages']))).toEqual([
      {
        role: 'assistant',
        parts: [
          { type: 'gemini_executable_code', language: 'PYTHON', code: 'print(1)' },
          { type: 'gemini_code_execution_result', outcome: 'OUTCOME_OK', output: '1' },
          { type: 'text', content: 'It prints 1.' },
        ],
        finish_reason: 'stop',
      },
    ]);
  });

  it("Vertex AI: its provider, the model without its resource path, and an embedding's token counts", async () => {
    const vertex = new genai.GoogleGenAI({ vertexai: true, apiKey: 'fake', httpOptions: { baseUrl: server.url } });
    await vertex.models.generateContent({ model: `publishers/google/models/${MODEL}`, contents: 'hello there' });
    await vertex.models.embedContent({ model: 'text-embedding-005', contents: ['hello there', 'hi'], config: { outputDimensionality: 8 } });
    expect(spans().map((span) => [span.name, span.attributes['gen_ai.provider.name'], span.attributes['gen_ai.request.model'], span.attributes['gen_ai.usage.input_tokens'], span.attributes['gen_ai.embeddings.dimension.count']])).toEqual([
      [`generate_content ${MODEL}`, 'gcp.vertex_ai', MODEL, 3, undefined],
      // Vertex AI's predict counts each text's tokens ('hello there' 3, 'hi' 1).
      ['embeddings text-embedding-005', 'gcp.vertex_ai', 'text-embedding-005', 4, 8],
    ]);
    expect(server.requests.at(-1).path).toBe('/v1beta1/publishers/google/models/text-embedding-005:predict');
  });

  it("a call's own retryOptions: its attempts are counted through the fetch it gives, which is the one called", async () => {
    server.script([{ kind: 'server_error' }, { kind: 'server_error' }]);
    const used: string[] = [];
    const fetch = (url: string | URL | Request, init?: RequestInit) => {
      used.push(String(url));
      return globalThis.fetch(url, init);
    };
    const retryOptions = { attempts: 4, initialDelay: 0.01, maxDelay: 0.01, jitter: 0 };
    const config = { httpOptions: { retryOptions, fetch } };
    await ai.models.generateContent({ model: MODEL, contents: 'hello there', config });
    expect(used).toHaveLength(3);
    expect(spans().map((span) => [span.attributes['http.request.resend_count'], span.status.code])).toEqual([[2, SpanStatusCode.UNSET]]);
    // The app's own objects are not changed.
    expect(config).toEqual({ httpOptions: { retryOptions, fetch } });
  });

  it('without retries asked for, each method gets the very parameters it was called with', async () => {
    const received: unknown[] = [];
    class Models {
      async generateContentInternal(params: unknown) {
        received.push(params);
        return {};
      }
    }
    const own = new GoogleGenAIInstrumentation({ enabled: false });
    own.setTracerProvider(provider);
    own.enable();
    own.getModuleDefinitions()[0].patch?.({ Models }, '2.32.0');
    const params = { model: MODEL, contents: 'hi', config: { httpOptions: { timeout: 1000 } } };
    await new Models().generateContentInternal(params);
    own.disable();
    expect(received[0]).toBe(params);
    memory.reset();
  });

  it('counting tokens and a disabled instrumentation make no span', async () => {
    await ai.models.countTokens({ model: MODEL, contents: 'hello there' });
    instrumentation.disable();
    try {
      await ai.models.generateContent({ model: MODEL, contents: 'hi' });
    } finally {
      instrumentation.enable();
    }
    expect(spans()).toEqual([]);
  });

  it("0.x and early 1.x: embedContent is the request (there is no embedContentInternal), ClientError names Google's status; a module without Models is left as it is", async () => {
    class ClientError extends Error {
      override name = 'ClientError';
    }
    class Models {
      async generateContentInternal(params: { model: string }) {
        if (params.model === 'refused') throw new ClientError('got status: 403 Forbidden. {"error":{"code":403,"message":"Permission denied.","status":"PERMISSION_DENIED"}}');
        return { candidates: [{ content: { parts: [{ text: 'x' }] }, finishReason: 'STOP' }], modelVersion: params.model };
      }
      async embedContent(_params: { model: string }) {
        return { embeddings: [{ values: [0.1] }] };
      }
    }
    const standIn = { Models };
    const oneX = new GoogleGenAIInstrumentation({ enabled: false });
    oneX.setTracerProvider(provider);
    oneX.enable();
    const definition = oneX.getModuleDefinitions()[0];
    definition.patch?.(standIn, '1.0.0');
    expect(definition.patch?.({ other: true }, '1.0.0')).toEqual({ other: true });
    const models = new Models();
    await models.embedContent({ model: 'text-embedding-004' });
    await models.generateContentInternal({ model: MODEL });
    await expect(models.generateContentInternal({ model: 'refused' })).rejects.toThrow(ClientError);
    oneX.disable();
    expect(spans().map((span) => [span.name, span.attributes['gen_ai.response.finish_reasons'], span.attributes['error.type'], span.attributes['http.response.status_code']])).toEqual([
      ['embeddings text-embedding-004', undefined, undefined, undefined],
      [`generate_content ${MODEL}`, ['stop'], undefined, undefined],
      ['generate_content refused', undefined, 'PERMISSION_DENIED', 403],
    ]);
    expect(oneX.tracesCalls()).toBe(false);
  });
});
