import { SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BedrockRuntimeInstrumentation } from '../src/instrumentation/BedrockRuntimeInstrumentation';

/**
 * What BedrockRuntimeInstrumentation reads from each model family's InvokeModel bodies (the real
 * SDK against the fake server, which answers as Claude, is in zero-code-bedrock.test.ts): a
 * stand-in module with the client's shape, its `send` answering with each family's body.
 */

class Command {
  constructor(readonly input: Record<string, unknown>) {}
}
class InvokeModelCommand extends Command {}
class InvokeModelWithResponseStreamCommand extends Command {}
class ConverseCommand extends Command {}
class ListAsyncInvokesCommand extends Command {}

let answer: unknown;
class BedrockRuntimeClient {
  async send(_command: Command): Promise<unknown> {
    if (answer instanceof Error) throw answer;
    return answer;
  }
}
const module = { BedrockRuntimeClient, InvokeModelCommand, InvokeModelWithResponseStreamCommand, ConverseCommand, ListAsyncInvokesCommand };

const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe('BedrockRuntimeInstrumentation', () => {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  const instrumentation = new BedrockRuntimeInstrumentation({ enabled: false });
  const client = new BedrockRuntimeClient();

  beforeAll(() => {
    instrumentation.setTracerProvider(provider);
    instrumentation.enable();
    for (const definition of instrumentation.getModuleDefinitions()) definition.patch?.(module, '3.1164.0');
  });
  afterAll(() => instrumentation.disable());

  const spans = () => {
    const ended = memory.getFinishedSpans();
    memory.reset();
    return ended.map((span) => ({ name: span.name, attributes: span.attributes, status: span.status }));
  };

  it.each([
    [
      'Titan',
      { inputText: 'hi', textGenerationConfig: { maxTokenCount: 64, temperature: 0.1, topP: 0.9, stopSequences: ['User:'] } },
      { inputTextTokenCount: 5, results: [{ tokenCount: 7, outputText: 'hello', completionReason: 'FINISH' }] },
      { 'gen_ai.request.max_tokens': 64, 'gen_ai.request.temperature': 0.1, 'gen_ai.request.top_p': 0.9, 'gen_ai.request.stop_sequences': ['User:'], 'gen_ai.usage.input_tokens': 5, 'gen_ai.usage.output_tokens': 7, 'gen_ai.response.finish_reasons': ['FINISH'] },
    ],
    [
      'Llama',
      { prompt: 'hi', max_gen_len: 32, temperature: 0.5 },
      { generation: 'hello', prompt_token_count: 4, generation_token_count: 6, stop_reason: 'stop' },
      { 'gen_ai.request.max_tokens': 32, 'gen_ai.request.temperature': 0.5, 'gen_ai.usage.input_tokens': 4, 'gen_ai.usage.output_tokens': 6, 'gen_ai.response.finish_reasons': ['stop'] },
    ],
    [
      'Nova',
      { messages: [], inferenceConfig: { max_new_tokens: 16, top_p: 0.8 } },
      { output: { message: { role: 'assistant', content: [{ text: 'hello' }] } }, stopReason: 'end_turn', usage: { inputTokens: 3, outputTokens: 2, cacheReadInputTokenCount: 1 } },
      { 'gen_ai.request.max_tokens': 16, 'gen_ai.request.top_p': 0.8, 'gen_ai.usage.input_tokens': 4, 'gen_ai.usage.output_tokens': 2, 'gen_ai.usage.cache_read.input_tokens': 1, 'gen_ai.response.finish_reasons': ['end_turn'] },
    ],
    [
      'Claude, its cache read and written',
      { anthropic_version: 'bedrock-2023-05-31', max_tokens: 50, top_k: 5, messages: [] },
      { content: [], stop_reason: 'max_tokens', usage: { input_tokens: 2, cache_read_input_tokens: 10, cache_creation_input_tokens: 5, output_tokens: 3 } },
      { 'gen_ai.request.max_tokens': 50, 'gen_ai.request.top_k': 5, 'gen_ai.usage.input_tokens': 17, 'gen_ai.usage.output_tokens': 3, 'gen_ai.usage.cache_read.input_tokens': 10, 'gen_ai.usage.cache_creation.input_tokens': 5, 'gen_ai.response.finish_reasons': ['max_tokens'] },
    ],
    ['Mistral: no counts in its body', { prompt: 'hi', max_tokens: 20 }, { outputs: [{ text: 'hello', stop_reason: 'stop' }] }, { 'gen_ai.request.max_tokens': 20, 'gen_ai.response.finish_reasons': ['stop'] }],
  ])('InvokeModel, %s', async (_family, request, response, read) => {
    answer = { body: bytes(response), $metadata: { attempts: 1 } };
    await client.send(new InvokeModelCommand({ modelId: 'some.model-v1:0', body: JSON.stringify(request) }));
    expect(spans()).toEqual([
      {
        name: 'chat some.model-v1:0',
        attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'aws.bedrock', 'gen_ai.request.model': 'some.model-v1:0', ...read },
        status: { code: SpanStatusCode.UNSET },
      },
    ]);
  });

  it("InvokeModel of an embedding model: an embeddings span, with the input's tokens", async () => {
    answer = { body: bytes({ embedding: [0.1, 0.2], inputTextTokenCount: 6 }) };
    await client.send(new InvokeModelCommand({ modelId: 'amazon.titan-embed-text-v2:0', body: JSON.stringify({ inputText: 'embed me' }) }));
    expect(spans()).toEqual([
      {
        name: 'embeddings amazon.titan-embed-text-v2:0',
        attributes: { 'gen_ai.operation.name': 'embeddings', 'gen_ai.provider.name': 'aws.bedrock', 'gen_ai.request.model': 'amazon.titan-embed-text-v2:0', 'gen_ai.usage.input_tokens': 6 },
        status: { code: SpanStatusCode.UNSET },
      },
    ]);
  });

  it('InvokeModelWithResponseStream of Llama: the first generated text is the answer, the tokens those Bedrock adds to the last chunk', async () => {
    const chunks = [{ generation: '', prompt_token_count: 4 }, { generation: 'hel' }, { generation: 'lo', stop_reason: 'stop', 'amazon-bedrock-invocationMetrics': { inputTokenCount: 4, outputTokenCount: 2 } }];
    answer = {
      body: {
        async *[Symbol.asyncIterator]() {
          for (const chunk of chunks) yield { chunk: { bytes: bytes(chunk) } };
        },
      },
    };
    const output = (await client.send(new InvokeModelWithResponseStreamCommand({ modelId: 'meta.llama3-8b-instruct-v1:0', body: '{"prompt":"hi"}' }))) as { body: AsyncIterable<unknown> };
    const read: unknown[] = [];
    for await (const event of output.body) read.push(event);
    expect(read).toHaveLength(3);
    const [span] = spans();
    expect(span.attributes).toMatchObject({ 'gen_ai.request.stream': true, 'gen_ai.usage.input_tokens': 4, 'gen_ai.usage.output_tokens': 2, 'gen_ai.response.finish_reasons': ['stop'] });
  });

  it('a request body over 256 KiB is not parsed for its settings; a command that calls no model has no span; an exception is the failure', async () => {
    answer = { body: bytes({ generation: 'x', prompt_token_count: 1, generation_token_count: 1 }) };
    await client.send(new InvokeModelCommand({ modelId: 'm', body: JSON.stringify({ prompt: 'x'.repeat(300 * 1024), max_gen_len: 32 }) }));
    expect(spans()[0].attributes['gen_ai.request.max_tokens']).toBeUndefined();
    answer = { asyncInvokeSummaries: [] };
    await client.send(new ListAsyncInvokesCommand({}));
    expect(spans()).toEqual([]);
    answer = Object.assign(new Error('Model has timed out in processing the request. Try your request again.'), { name: 'ModelTimeoutException', $metadata: { httpStatusCode: 408, attempts: 3 } });
    await expect(client.send(new ConverseCommand({ modelId: 'm', messages: [] }))).rejects.toThrow('Model has timed out');
    expect(spans()).toEqual([
      {
        name: 'chat m',
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': 'aws.bedrock',
          'gen_ai.request.model': 'm',
          'http.request.resend_count': 2,
          'error.type': 'ModelTimeoutException',
          'http.response.status_code': 408,
        },
        status: { code: SpanStatusCode.ERROR, message: 'Model has timed out in processing the request. Try your request again.' },
      },
    ]);
  });
});
