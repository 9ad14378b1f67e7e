import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNode, writeScript } from './helpers/childProcess';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './helpers/otlpReceiver';
import { tempRunDir } from './helpers/tempDirs';

/**
 * The zero-code openai spans carry the request's parameters under the GenAI conventions' names
 * (semantic-conventions 953276f, docs/gen-ai/gen-ai-spans.md: Inference and Embeddings spans),
 * as @opentelemetry/instrumentation-openai writes them, and the conversation a Responses call
 * belongs to. Sent over OTLP to a receiver on 127.0.0.1, from a real `openai` client talking to
 * the fake LLM server.
 */

const APP = `
import OpenAI from 'openai';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer();
const openai = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test-0123456789abcdefghij', maxRetries: 0 });
const messages = [{ role: 'user', content: 'hello' }];
await openai.chat.completions.create({
  model: 'gpt-4o', messages, n: 2, seed: 7, stop: 'END', frequency_penalty: 0.5, presence_penalty: -0.25,
  temperature: 0.3, top_p: 0.9, max_completion_tokens: 50, response_format: { type: 'json_object' },
});
await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, n: 1, stop: ['a', 'b'], response_format: { type: 'text' } });
await openai.embeddings.create({ model: 'text-embedding-3-small', input: 'embed me', encoding_format: 'float', dimensions: 8 });
await openai.responses.create({ model: 'gpt-4o-mini', input: 'hello', conversation: 'conv_123', text: { format: { type: 'json_schema', name: 'x', schema: { type: 'object' } } } });
await openai.responses.create({ model: 'gpt-4o', input: 'hello', conversation: { id: 'conv_456' } });
// The model asks for a tool (as every tool turn of the OpenAI Agents SDK does).
server.script([{ body: {
  id: 'resp_tool', object: 'response', created_at: 1764000000, status: 'completed', model: 'gpt-4o-2024-08-06', error: null, incomplete_details: null,
  output: [{ id: 'fc_1', type: 'function_call', status: 'completed', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
  usage: { input_tokens: 20, output_tokens: 8, total_tokens: 28 },
} }]);
await openai.responses.create({ model: 'gpt-4o', input: 'weather in Paris?', tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' } }] });
await server.close();
`;

let receiver: OtlpReceiver;
let spans: ReceivedSpan[];

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const result = await runNode(writeScript(APP), {
    nodeArgs: ['--import', 'agent-autopsy/register'],
    env: { AGENT_AUTOPSY_DIR: tempRunDir('autopsy-openai-request-'), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
    timeoutMs: 60_000,
  });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  // Batches may arrive in any order: put the spans back in the order they started.
  spans = [...receiver.spans].sort((a, b) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : a.startTimeUnixNano > b.startTimeUnixNano ? 1 : 0));
});

afterAll(async () => {
  await receiver.close();
});

/** The request's attributes of a span (what is known when it starts), without the response's. */
function requestAttributes(span: ReceivedSpan): Record<string, unknown> {
  return Object.fromEntries(Object.entries(span.attributes).filter(([key]) => /^gen_ai\.(request|output|embeddings|conversation|operation|provider)\./.test(key)));
}

describe('zero-code openai spans', () => {
  it('are one CLIENT span per call, named {operation} {model}', () => {
    expect(spans.map((span) => [span.name, span.kind])).toEqual([
      ['chat gpt-4o', 3],
      ['chat gpt-4o-mini', 3],
      ['embeddings text-embedding-3-small', 3],
      ['chat gpt-4o-mini', 3],
      ['chat gpt-4o', 3],
      ['chat gpt-4o', 3],
    ]);
  });

  it("give a Responses answer its finish reason: stop, or tool_calls when the model asked for a tool (a status is all the API gives)", () => {
    expect(spans.slice(3).map((span) => span.attributes['gen_ai.response.finish_reasons'])).toEqual([['stop'], ['stop'], ['tool_calls']]);
  });

  it('carry the chat request: penalties, seed, stop sequences, choice count (when not 1), output type', () => {
    expect(requestAttributes(spans[0])).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.request.max_tokens': 50,
      'gen_ai.request.temperature': 0.3,
      'gen_ai.request.top_p': 0.9,
      'gen_ai.request.frequency_penalty': 0.5,
      'gen_ai.request.presence_penalty': -0.25,
      'gen_ai.request.seed': 7,
      'gen_ai.request.stop_sequences': ['END'],
      'gen_ai.request.choice.count': 2,
      'gen_ai.output.type': 'json',
    });
    expect(spans[0].attributes['gen_ai.response.finish_reasons']).toEqual(['stop', 'stop']);
    expect(requestAttributes(spans[1])).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.request.stop_sequences': ['a', 'b'],
      'gen_ai.output.type': 'text',
    });
  });

  it('carry the embeddings request: encoding formats, dimension count', () => {
    expect(requestAttributes(spans[2])).toEqual({
      'gen_ai.operation.name': 'embeddings',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'text-embedding-3-small',
      'gen_ai.request.encoding_formats': ['float'],
      'gen_ai.embeddings.dimension.count': 8,
    });
  });

  it('carry the conversation of a Responses call, given as an id or as an object, and its output type', () => {
    expect(requestAttributes(spans[3])).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.conversation.id': 'conv_123',
      'gen_ai.output.type': 'json',
    });
    expect(requestAttributes(spans[4])).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.conversation.id': 'conv_456',
    });
  });
});
