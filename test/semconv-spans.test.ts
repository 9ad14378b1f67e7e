import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { analyzeRunSync } from '../analyzers/readRun';
import { autofix, codeExec, llmCall, stage, task, track } from '../src/index';
import type { TruthEvent } from '../src/types';
import { memorySpans } from './helpers/memorySpans';
import { writeOtlpFile } from './helpers/otlpFile';

/**
 * The spans our wrappers emit, checked against the OpenTelemetry GenAI semantic conventions
 * (semantic-conventions 953276f, docs/gen-ai/gen-ai-spans.md and gen-ai-agent-spans.md, the last
 * version before they moved to open-telemetry/semantic-conventions-genai) so that GenAI-aware
 * backends read them as they read any instrumentation's.
 */

const { memory, record } = memorySpans();

function spanNamed(name: string): ReadableSpan {
  const found = memory.getFinishedSpans().filter((span) => span.name === name);
  expect(found, name).toHaveLength(1);
  return found[0];
}

describe('span kind', () => {
  it('an LLM call is a CLIENT span (a request to a model served elsewhere); stage, task, code_exec and autofix spans are INTERNAL', async () => {
    await record(async () => {
      await stage('s1', async () => {
        await task('t1', async () => {
          await llmCall({ model: 'gpt-4o', provider: 'openai' }, async () => 1);
          await llmCall('named call', { model: 'gpt-4o' }, () => 1);
          await codeExec({ language: 'python' }, () => 1);
          await autofix({ type: 'syntax' }, () => true);
        });
      });
    });
    expect(memory.getFinishedSpans().map((span) => [span.name, span.kind])).toEqual([
      ['chat gpt-4o', SpanKind.CLIENT],
      ['named call', SpanKind.CLIENT],
      ['code_exec python', SpanKind.INTERNAL],
      ['autofix syntax', SpanKind.INTERNAL],
      ['task t1', SpanKind.INTERNAL],
      ['stage s1', SpanKind.INTERNAL],
    ]);
  });

  it('a failed LLM call is a CLIENT span too', async () => {
    await record(async () => {
      await llmCall({ model: 'gpt-4o' }, async () => {
        throw new Error('boom');
      }).catch(() => undefined);
    });
    expect(spanNamed('chat gpt-4o').kind).toBe(SpanKind.CLIENT);
  });
});

describe('resource', () => {
  it('the provider agent-autopsy creates names the SDK (telemetry.sdk.*, required by the resource conventions) beside service.name', async () => {
    await record(() => {
      stage('s1', () => 1);
    });
    const resource = spanNamed('stage s1').resource.attributes;
    expect(resource).toMatchObject({ 'service.name': 'agent', 'telemetry.sdk.language': 'nodejs', 'telemetry.sdk.name': 'opentelemetry' });
    expect(resource['telemetry.sdk.version']).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('failed spans', () => {
  it("the exception event's exception.type is the error's class, as error.type is (not error.name, not error.code)", async () => {
    class RateLimitError extends Error {
      code = 'rate_limit_exceeded';
      status = 429;
    }
    class ContextLengthError extends Error {}
    await record(async () => {
      await llmCall('limited', { model: 'gpt-4o' }, async () => {
        throw new RateLimitError('429 Rate limit reached');
      }).catch(() => undefined);
      await llmCall('too long', { model: 'gpt-4o' }, async () => {
        throw new ContextLengthError('prompt is too long');
      }).catch(() => undefined);
    });
    for (const [name, type, message] of [
      ['limited', 'RateLimitError', '429 Rate limit reached'],
      ['too long', 'ContextLengthError', 'prompt is too long'],
    ]) {
      const span = spanNamed(name);
      expect(span.attributes['error.type']).toBe(type);
      const exceptions = span.events.filter((event) => event.name === 'exception');
      expect(exceptions).toHaveLength(1);
      expect(exceptions[0].attributes).toMatchObject({ 'exception.type': type, 'exception.message': message });
      expect(String(exceptions[0].attributes?.['exception.stacktrace'])).toMatch(new RegExp(`^Error: ${message}\\n\\s+at `));
    }
  });
});

describe('span.fail() without an error type', () => {
  it('sets error.type to _OTHER (the conventions ask for error.type on every failed span); the log keeps no error_type, as before', async () => {
    const events = await record(async () => {
      await llmCall({ model: 'gpt-4o' }, async (call) => {
        call.fail('the reply was empty');
      });
      await task('t1', async (span) => {
        span.fail();
      });
      await codeExec({ language: 'python' }, async (exec) => {
        exec.fail('killed', 'Timeout');
      });
      // Thrown, of a class without a name.
      const Nameless = class extends Error {};
      Object.defineProperty(Nameless, 'name', { value: '' });
      await task('t2', async () => {
        throw Object.assign(new Nameless('no class name'), { name: '' });
      }).catch(() => undefined);
    });
    expect(spanNamed('chat gpt-4o').attributes['error.type']).toBe('_OTHER');
    expect(spanNamed('chat gpt-4o').status).toEqual({ code: 2, message: 'the reply was empty' });
    expect(spanNamed('task t1').attributes['error.type']).toBe('_OTHER');
    expect(spanNamed('code_exec python').attributes['error.type']).toBe('Timeout');
    expect(spanNamed('task t2').attributes['error.type']).toBe('_OTHER');
    const errors = events.filter((event) => event.level === 'ERROR').map((event) => [event.type, event.data.error, event.data.error_type]);
    expect(errors).toEqual([
      ['llm_call_error', 'the reply was empty', undefined],
      ['task_error', 'error', undefined],
      ['code_exec_error', 'killed', 'Timeout'],
      ['task_error', 'no class name', undefined],
    ]);
  });

  it('an llmCall() whose streamed request fails without an error type, after the callback returned, gets _OTHER too', async () => {
    await record(async () => {
      const request = await llmCall({ model: 'streamed' }, async () =>
        trace.getTracer('llm-client-instrumentation').startSpan('chat streamed', { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'streamed' } }),
      );
      request.setStatus({ code: SpanStatusCode.ERROR, message: 'stream cut off' });
      request.end();
      await Promise.resolve();
    });
    const call = memory.getFinishedSpans().find((span) => span.attributes['autopsy.kind'] === 'llm')!;
    expect(call.status).toEqual({ code: SpanStatusCode.ERROR, message: 'stream cut off' });
    expect(call.attributes['error.type']).toBe('_OTHER');
  });
});

describe('gen_ai.provider.name', () => {
  it("is the conventions' well-known value when the provider given names one (they MUST be used); another value is kept; the log keeps what was given", async () => {
    const given = ['OpenAI', ' Anthropic ', 'bedrock', 'amazon-bedrock', 'azure', 'Gemini', 'google', 'vertex', 'Mistral', 'xAI', 'watsonx', 'my-gateway', 'openai'];
    const events = await record(() => {
      for (const provider of given) llmCall({ model: 'm', provider }, () => 1);
    });
    const names = memory.getFinishedSpans().map((span) => [span.attributes['gen_ai.provider.name'], span.attributes['gen_ai.system']]);
    const expected = ['openai', 'anthropic', 'aws.bedrock', 'aws.bedrock', 'azure.ai.openai', 'gcp.gemini', 'gcp.gemini', 'gcp.vertex_ai', 'mistral_ai', 'x_ai', 'ibm.watsonx.ai', 'my-gateway', 'openai'];
    // The deprecated gen_ai.system's own list spells xAI `xai`.
    expect(names).toEqual(expected.map((name) => [name, name === 'x_ai' ? 'xai' : name]));
    expect(events.filter((event) => event.type === 'llm_call_start').map((event) => event.data.provider)).toEqual(given);
    // Read back from an OTLP file of the spans, the events say the same.
    const fromOtlp: TruthEvent[] = [];
    analyzeRunSync(writeOtlpFile(memory.getFinishedSpans()), { onEvent: (event) => fromOtlp.push(event) });
    expect(fromOtlp.filter((event) => event.type === 'llm_call_start').map((event) => event.data)).toEqual(
      events.filter((event) => event.type === 'llm_call_start').map((event) => event.data),
    );
  });
});

describe('a task that is a tool call', () => {
  it("task(name, { tool: true }) is an execute_tool span: gen_ai.operation.name, gen_ai.tool.name, its call id, named execute_tool <name>; still a task everywhere else", async () => {
    const events = await record(async () => {
      await stage('s1', async () => {
        await task('web_search', { tool: true, toolCallId: 'call_123', query: 'x' }, async () => 'ok');
        await task('lookup', { tool: 'get_weather' }, async () => {
          throw new Error('tool failed');
        }).catch(() => undefined);
        await task('plain', async () => 1);
      });
    });
    expect(memory.getFinishedSpans().map((span) => [span.name, span.kind, Object.entries(span.attributes)])).toEqual([
      [
        'execute_tool web_search',
        SpanKind.INTERNAL,
        [
          ['autopsy.kind', 'task'],
          ['autopsy.event.type', 'task_start'],
          ['autopsy.task', 'web_search'],
          ['autopsy.data.tool', true],
          ['autopsy.data.toolCallId', 'call_123'],
          ['autopsy.data.query', 'x'],
          ['gen_ai.operation.name', 'execute_tool'],
          ['gen_ai.tool.name', 'web_search'],
          ['gen_ai.tool.call.id', 'call_123'],
        ],
      ],
      [
        'execute_tool get_weather',
        SpanKind.INTERNAL,
        [
          ['autopsy.kind', 'task'],
          ['autopsy.event.type', 'task_start'],
          ['autopsy.task', 'lookup'],
          ['autopsy.data.tool', 'get_weather'],
          ['gen_ai.operation.name', 'execute_tool'],
          ['gen_ai.tool.name', 'get_weather'],
          ['error.type', 'Error'],
        ],
      ],
      ['task plain', SpanKind.INTERNAL, [['autopsy.kind', 'task'], ['autopsy.event.type', 'task_start'], ['autopsy.task', 'plain']]],
      ['stage s1', SpanKind.INTERNAL, [['autopsy.kind', 'stage'], ['autopsy.event.type', 'stage_start'], ['autopsy.stage', 's1']]],
    ]);
    // The log is a task's, with the data as given.
    expect(events.map((event) => [event.type, event.data.task, event.data.tool])).toEqual([
      ['stage_start', undefined, undefined],
      ['task_start', 'web_search', true],
      ['task_end', 'web_search', true],
      ['task_start', 'lookup', 'get_weather'],
      ['task_error', 'lookup', 'get_weather'],
      ['task_start', 'plain', undefined],
      ['task_end', 'plain', undefined],
      ['stage_end', undefined, undefined],
    ]);
    expect(events[1].data.toolCallId).toBe('call_123');
    // Read back from an OTLP file of the spans, the events say the same.
    const fromOtlp: TruthEvent[] = [];
    analyzeRunSync(writeOtlpFile(memory.getFinishedSpans()), { onEvent: (event) => fromOtlp.push(event) });
    const taskData = (list: TruthEvent[]) => list.filter((event) => event.type === 'task_start').map((event) => event.data);
    expect(taskData(fromOtlp)).toEqual(taskData(events));
  });
  it('a tool only when `tool` is true or a name: other values an app left in its data make a plain task', async () => {
    await record(async () => {
      // As plain JavaScript can pass them (the type allows only a boolean or a string).
      for (const tool of [null, 0, '', false, 'get_weather']) await task('t', { tool } as never, async () => 1);
    });
    expect(memory.getFinishedSpans().map((span) => [span.name, span.attributes['gen_ai.operation.name']])).toEqual([
      ['task t', undefined],
      ['task t', undefined],
      ['task t', undefined],
      ['task t', undefined],
      ['execute_tool get_weather', 'execute_tool'],
    ]);
  });
});

describe('span.fail(error)', () => {
  it('records the error as the exception event too (class, message, stack, redacted), once even when the error is thrown on', async () => {
    await record(async () => {
      await task('handled', async (span) => {
        span.fail(new RangeError('index 7 out of range, key sk-live-0123456789abcdefghijkl'));
      });
      await task('rethrown', async (span) => {
        try {
          throw new TypeError('not a function');
        } catch (error) {
          span.fail(error);
          throw error;
        }
      }).catch(() => undefined);
      await task('text', async (span) => {
        span.fail('no exception here');
      });
    });
    const exceptions = (name: string) => spanNamed(name).events.filter((event) => event.name === 'exception').map((event) => event.attributes ?? {});
    const handled = exceptions('task handled');
    expect(handled).toHaveLength(1);
    expect(handled[0]).toMatchObject({ 'exception.type': 'RangeError', 'exception.message': 'index 7 out of range, key sk-[REDACTED]' });
    expect(String(handled[0]['exception.stacktrace'])).toMatch(/^RangeError: index 7 out of range, key sk-\[REDACTED\]\n\s+at /);
    expect(spanNamed('task handled').attributes['error.type']).toBe('RangeError');
    expect(exceptions('task rethrown').map((attributes) => attributes['exception.type'])).toEqual(['TypeError']);
    expect(exceptions('task text')).toEqual([]);
  });

  it('a later fail() that names no type keeps the type the span failed with: the span and its error event agree', async () => {
    const events = await record(async () => {
      await task('error then text', async (span) => {
        span.fail(new TypeError('tool.run is not a function'));
        span.fail('the search tool could not be loaded');
      });
      await task('typed then text', async (span) => {
        span.fail('quota used up', 'QuotaError');
        span.fail('quota used up for the search tool');
      });
      await task('text then typed', async (span) => {
        span.fail('first');
        span.fail(new RangeError('second'));
      });
    });
    expect(['error then text', 'typed then text', 'text then typed'].map((name) => [spanNamed(`task ${name}`).status.message, spanNamed(`task ${name}`).attributes['error.type']])).toEqual([
      ['the search tool could not be loaded', 'TypeError'],
      ['quota used up for the search tool', 'QuotaError'],
      ['second', 'RangeError'],
    ]);
    const errors = events.filter((event) => event.type === 'task_error').map((event) => [event.data.task, event.data.error, event.data.error_type]);
    expect(errors).toEqual([
      ['error then text', 'the search tool could not be loaded', 'TypeError'],
      ['typed then text', 'quota used up for the search tool', 'QuotaError'],
      ['text then typed', 'second', 'RangeError'],
    ]);
  });
});

describe('seed-style track() pairs', () => {
  it("an error's span has the event's error_type as error.type (else _OTHER), and an OTLP file of it reads back with it", async () => {
    const events = await record(() => {
      track('task_start', { task: 'search', stage: 'research' });
      track('task_error', { task: 'search', stage: 'research', error: 'tool timed out', error_type: 'ToolTimeout' }, 'ERROR');
      track('llm_call_start', { model: 'gpt-4o', stage: 'research' });
      track('llm_call_error', { model: 'gpt-4o', stage: 'research', error: 'Rate limit exceeded' }, 'ERROR');
    });
    expect(spanNamed('task search').status).toEqual({ code: 2, message: 'tool timed out' });
    expect(spanNamed('task search').attributes['error.type']).toBe('ToolTimeout');
    expect(spanNamed('chat gpt-4o').attributes['error.type']).toBe('_OTHER');
    const fromOtlp: TruthEvent[] = [];
    analyzeRunSync(writeOtlpFile(memory.getFinishedSpans()), { onEvent: (event) => fromOtlp.push(event) });
    const errors = (list: TruthEvent[]) => list.filter((event) => event.level === 'ERROR').map((event) => [event.type, event.data.error, event.data.error_type]);
    expect(errors(events)).toEqual([
      ['task_error', 'tool timed out', 'ToolTimeout'],
      ['llm_call_error', 'Rate limit exceeded', undefined],
    ]);
    // Sorted: the four spans may share a millisecond, and a file's reader orders events by their spans' times.
    expect(errors(fromOtlp).sort()).toEqual(errors(events).sort());
  });
});
