import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { autofix, codeExec, init, llmCall, shutdown, stage, task } from '../src/index';
import type { TruthEvent } from '../src/types';
import { readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * The spans our wrappers emit, checked against the OpenTelemetry GenAI semantic conventions
 * (semantic-conventions 953276f, docs/gen-ai/gen-ai-spans.md and gen-ai-agent-spans.md, the last
 * version before they moved to open-telemetry/semantic-conventions-genai) so that GenAI-aware
 * backends read them as they read any instrumentation's.
 */

const memory = new InMemorySpanExporter();

beforeAll(async () => {
  // The first init() of a process sets up tracing; the in-memory exporter sees every span from then on.
  init({ outputDir: tempRunDir(), handleExit: false, spanProcessors: [new SimpleSpanProcessor(memory)] });
  await shutdown();
});

afterEach(async () => {
  await shutdown();
  memory.reset();
});

async function record(body: () => Promise<void> | void): Promise<TruthEvent[]> {
  const dir = tempRunDir();
  init({ outputDir: dir, handleExit: false });
  await body();
  await shutdown();
  return readTrackerDocument(dir).events;
}

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
    await record(() => stage('s1', () => 1));
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
