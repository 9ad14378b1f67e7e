import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import * as legacy from '@google/generative-ai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GoogleGenerativeAIInstrumentation } from '../src/instrumentation/GoogleGenerativeAIInstrumentation';
// @ts-expect-error: a plain ES module without types
import { startFakeLlmServer } from '../examples/fake-llm-server.mjs';

/**
 * The spans GoogleGenerativeAIInstrumentation makes of the real `@google/generative-ai` (0.24)
 * against the fake server (each way a call ends, under the flag, is in
 * zero-code-google-generative-ai.test.ts): which settings a call runs with, the system
 * instruction, and how a stream result's span ends.
 */

const MODEL = 'gemini-1.5-flash';

describe('GoogleGenerativeAIInstrumentation', () => {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  const instrumentation = new GoogleGenerativeAIInstrumentation({ enabled: false });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let server: any;
  let model: legacy.GenerativeModel;

  beforeAll(async () => {
    instrumentation.setTracerProvider(provider);
    instrumentation.enable();
    for (const definition of instrumentation.getModuleDefinitions()) definition.patch?.(legacy, '0.24.1');
    server = await startFakeLlmServer();
    const config = { model: MODEL, generationConfig: { maxOutputTokens: 100, temperature: 0.2, topK: 8 }, systemInstruction: 'be brief' };
    model = new legacy.GoogleGenerativeAI('fake').getGenerativeModel(config, { baseUrl: server.url });
  });
  afterAll(async () => {
    for (const definition of instrumentation.getModuleDefinitions()) definition.unpatch?.(legacy, '0.24.1');
    instrumentation.disable();
    await server.close();
  });
  beforeEach(() => {
    memory.reset();
    instrumentation.setConfig({ captureContent: false });
  });

  const spans = () => memory.getFinishedSpans().map((span) => ({ name: span.name, kind: span.kind, attributes: { ...span.attributes }, status: span.status }));

  it("a call runs with the model's settings, or with its own request's; the server is the app's baseUrl", async () => {
    await model.generateContent('hello there');
    await model.generateContent({ contents: [{ role: 'user', parts: [{ text: 'hello there' }] }], generationConfig: { temperature: 0.9 } });
    const [first, second] = spans();
    expect(first).toEqual({
      name: `generate_content ${MODEL}`,
      kind: SpanKind.CLIENT,
      attributes: {
        'gen_ai.operation.name': 'generate_content',
        'gen_ai.provider.name': 'gcp.gemini',
        'server.address': '127.0.0.1',
        'server.port': server.port,
        'gen_ai.request.model': MODEL,
        'gen_ai.request.max_tokens': 100,
        'gen_ai.request.temperature': 0.2,
        'gen_ai.request.top_k': 8,
        // The system instruction is part of the prompt ('be brief' and 'hello there': 5 tokens to the fake server).
        'gen_ai.usage.input_tokens': 5,
        'gen_ai.usage.output_tokens': 11,
        'gen_ai.response.finish_reasons': ['stop'],
        'gen_ai.response.model': MODEL,
        'gen_ai.response.id': 'fake000000',
      },
      status: { code: SpanStatusCode.UNSET },
    });
    // The SDK sends the request's generationConfig in place of the model's, not merged with it.
    expect([second.attributes['gen_ai.request.temperature'], second.attributes['gen_ai.request.max_tokens']]).toEqual([0.9, undefined]);
  });

  it("with content capture: the model's system instruction, and a request's contents", async () => {
    instrumentation.setConfig({ captureContent: true });
    await model.generateContent(['look', { inlineData: { mimeType: 'image/jpeg', data: '/9j/4AAQ' } }]);
    const [span] = spans();
    expect(JSON.parse(String(span.attributes['gen_ai.system_instructions']))).toEqual([{ type: 'text', content: 'be brief' }]);
    expect(JSON.parse(String(span.attributes['gen_ai.input.messages']))).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'look' }, { type: 'blob', mime_type: 'image/jpeg', modality: 'image' }] }]);
  });

  // The time to the first chunk each way is checked under the flag (zero-code-google-generative-ai.test.ts): it needs the run's clock.
  it('a stream result: its span ends with the whole answer, whether the app reads the stream or awaits the response; stopped, with what had come', async () => {
    const read = await model.generateContentStream('hello there');
    for await (const _ of read.stream);
    const awaited = await model.generateContentStream('hello there');
    await awaited.response;
    // Its chunks 30 ms apart: the app stops reading before the rest has come.
    server.script([{ chunkDelayMs: 30 }]);
    const stopped = await model.generateContentStream('hello there');
    for await (const _ of stopped.stream) break;
    // The SDK reads its own copy of the stream for the response: the answer still arrives.
    await stopped.response;
    expect(spans().map((span) => [span.attributes['gen_ai.usage.input_tokens'], span.attributes['gen_ai.usage.output_tokens'], span.status.code])).toEqual([
      [5, 11, SpanStatusCode.UNSET],
      [5, 11, SpanStatusCode.UNSET],
      // Stopped after its first chunk: ended there, with what had come (the prompt's count).
      [5, undefined, SpanStatusCode.UNSET],
    ]);
  });
});
