import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnthropicClientInstrumentation } from '../src/instrumentation/AnthropicClientInstrumentation';
import { OpenAIClientInstrumentation } from '../src/instrumentation/OpenAIClientInstrumentation';

/**
 * The wrapper the flag puts around a client's `create` (src/instrumentation/stainlessCalls.ts),
 * on stand-ins of the clients' modules: the host method runs exactly once and what it throws
 * reaches the app unchanged, whether the call is traced, skipped (a client that traces itself) or
 * its span could not be started; a call the client refuses at once is a failed span, not one left open.
 */

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const anthropic = new AnthropicClientInstrumentation({ enabled: false });
const openai = new OpenAIClientInstrumentation({ enabled: false });

/** A stand-in of a client module whose `create` counts its calls and throws synchronously, as a client refusing an argument does. */
function refusingModule(resource: 'anthropic' | 'openai') {
  const counter = { calls: 0 };
  class Resource {
    create(): never {
      counter.calls++;
      throw new TypeError('max_tokens is too large for a call that is not streamed');
    }
  }
  class Client {
    static Messages = resource === 'anthropic' ? Resource : undefined;
    static Chat = resource === 'openai' ? { Completions: Resource } : undefined;
    buildRequest(): void {}
  }
  const module = resource === 'anthropic' ? { default: Client, Anthropic: Client } : { OpenAI: Client };
  return { module, counter, create: Resource.prototype as unknown as { create: (...args: unknown[]) => unknown } };
}

beforeAll(() => {
  for (const instrumentation of [anthropic, openai]) {
    instrumentation.setTracerProvider(provider);
    instrumentation.enable();
  }
});
afterAll(() => {
  anthropic.disable();
  openai.disable();
});

describe.each([
  ['anthropic', anthropic],
  ['openai', openai],
] as const)('%s', (resource, instrumentation) => {
  const load = () => {
    const stand = refusingModule(resource);
    for (const definition of instrumentation.getModuleDefinitions()) definition.patch?.(stand.module, resource === 'anthropic' ? '0.71.2' : '6.49.0');
    return stand;
  };

  it('a create that throws before sending: called once, the same error to the app, and a failed span', () => {
    exporter.reset();
    const { create, counter } = load();
    const client = { _client: { baseURL: 'http://127.0.0.1:9/v1' } };
    expect(() => create.create.call(client, { model: 'm', max_tokens: 1_000_000 })).toThrow(new TypeError('max_tokens is too large for a call that is not streamed'));
    expect(counter.calls).toBe(1);
    const spans = exporter.getFinishedSpans();
    expect(spans.map((span) => [span.name, span.status.code, span.attributes['error.type']])).toEqual([['chat m', 2, resource === 'anthropic' ? 'client_error' : 'TypeError']]);
  });
});

it('anthropic: a client that traces itself is passed over, and what its create throws is thrown once', () => {
  exporter.reset();
  const stand = refusingModule('anthropic');
  for (const definition of anthropic.getModuleDefinitions()) definition.patch?.(stand.module, '1.14.0');
  const selfTracing = { _client: { _tracer: {}, baseURL: 'http://127.0.0.1:9' } };
  expect(() => stand.create.create.call(selfTracing, { model: 'm' })).toThrow(TypeError);
  expect(stand.counter.calls).toBe(1);
  expect(exporter.getFinishedSpans()).toEqual([]);
});
