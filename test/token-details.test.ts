import { context, trace, type Attributes } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeRunSync } from '../analyzers/readRun';
import type { AutopsyReport } from '../analyzers/reportTypes';
import { init, llmCall, shutdown, stage } from '../src/index';
import type { TruthEvent } from '../src/types';
import { writeOtlpFile } from './helpers/otlpFile';
import { readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * The shares of an LLM call's token counts — prompt tokens read from and written to the provider's
 * cache, reasoning tokens of the output — under each convention's name, added up over the requests
 * folded into one llmCall(), and in the report's llm_usage only where some call stated them.
 * (The real clients' own spans: test/llm-usage-tokens.test.ts.)
 */

const tracer = () => trace.getTracer('instrumentation');
const exporter = new InMemorySpanExporter();
let events: TruthEvent[] = [];
let report: AutopsyReport;

function request(name: string, attributes: Attributes, late: Attributes): void {
  const span = tracer().startSpan(name, { attributes }, context.active());
  span.setAttributes(late);
  span.end();
}

beforeAll(async () => {
  const dir = tempRunDir('autopsy-token-details-');
  init({ outputDir: dir, handleExit: false, reportFormats: [], spanProcessors: [new SimpleSpanProcessor(exporter)] });
  await stage('answer', async () => {
    // The GenAI conventions (and @anthropic-ai/sdk's own name for cache writes).
    request('chat semconv', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'semconv' }, {
      'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 10,
      'gen_ai.usage.cache_read.input_tokens': 70, 'gen_ai.usage.cache_creation.input_tokens': 20, 'gen_ai.usage.reasoning.output_tokens': 6,
    });
    request('anthropic.messages.create', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'anthropic' }, {
      'gen_ai.usage.input_tokens': 50, 'gen_ai.usage.output_tokens': 5, 'gen_ai.usage.cache_write.input_tokens': 40,
    });
    // OpenLLMetry.
    request('openai.chat', { 'llm.request.type': 'chat', 'gen_ai.request.model': 'openllmetry' }, {
      'gen_ai.usage.prompt_tokens': 30, 'gen_ai.usage.completion_tokens': 3,
      'gen_ai.usage.cache_read_input_tokens': 12, 'gen_ai.usage.cache_creation_input_tokens': 8, 'gen_ai.usage.reasoning_tokens': 2,
    });
    // OpenInference.
    request('ChatCompletion', { 'openinference.span.kind': 'LLM', 'llm.model_name': 'openinference' }, {
      'llm.token_count.prompt': 60, 'llm.token_count.completion': 9,
      'llm.token_count.prompt_details.cache_read': 25, 'llm.token_count.prompt_details.cache_write': 5, 'llm.token_count.completion_details.reasoning': 7,
    });
    // A count that is not one (a string, a negative number) is left out.
    request('chat bad', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'bad' }, {
      'gen_ai.usage.input_tokens': 1, 'gen_ai.usage.cache_read.input_tokens': '70', 'gen_ai.usage.reasoning.output_tokens': -1,
    });
    // Two requests folded into one call (a tool loop): their shares add up; the app's own count wins.
    await llmCall({ model: 'folded' }, async () => {
      request('chat folded', { 'gen_ai.operation.name': 'chat' }, { 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 10, 'gen_ai.usage.cache_read.input_tokens': 90, 'gen_ai.usage.reasoning.output_tokens': 4 });
      request('chat folded', { 'gen_ai.operation.name': 'chat' }, { 'gen_ai.usage.input_tokens': 120, 'gen_ai.usage.output_tokens': 20, 'gen_ai.usage.cache_read.input_tokens': 100, 'gen_ai.usage.reasoning.output_tokens': 5 });
    });
    await llmCall({ model: 'own_wins' }, async (call) => {
      request('chat own', { 'gen_ai.operation.name': 'chat' }, { 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.cache_read.input_tokens': 90 });
      call.setUsage({ cacheReadInputTokens: 64 });
    });
    // No shares stated at all.
    await llmCall({ model: 'plain' }, (call) => call.setUsage({ inputTokens: 3, outputTokens: 1 }));
  });
  report = (await shutdown())!;
  events = readTrackerDocument(dir).events;
});

const DETAILS = ['model', 'input_tokens', 'output_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens', 'reasoning_tokens'];
const detailsOf = (list: TruthEvent[]) =>
  list
    .filter((event) => event.type === 'llm_call_end')
    .map((event) => Object.fromEntries(DETAILS.filter((key) => event.data[key] !== undefined).map((key) => [key, event.data[key]])));

describe('cached and reasoning tokens', () => {
  it('are read under each convention, added up over folded requests, the app’s own count first', () => {
    expect(detailsOf(events)).toEqual([
      { model: 'semconv', input_tokens: 100, output_tokens: 10, cache_read_input_tokens: 70, cache_creation_input_tokens: 20, reasoning_tokens: 6 },
      { model: 'anthropic', input_tokens: 50, output_tokens: 5, cache_creation_input_tokens: 40 },
      { model: 'openllmetry', input_tokens: 30, output_tokens: 3, cache_read_input_tokens: 12, cache_creation_input_tokens: 8, reasoning_tokens: 2 },
      { model: 'openinference', input_tokens: 60, output_tokens: 9, cache_read_input_tokens: 25, cache_creation_input_tokens: 5, reasoning_tokens: 7 },
      { model: 'bad', input_tokens: 1 },
      { model: 'folded', input_tokens: 220, output_tokens: 30, cache_read_input_tokens: 190, reasoning_tokens: 9 },
      { model: 'own_wins', input_tokens: 100, cache_read_input_tokens: 64 },
      { model: 'plain', input_tokens: 3, output_tokens: 1 },
    ]);
  });

  it('add up in llm_usage and by model, present only where a call stated them', () => {
    expect(report.llm_usage).toMatchObject({ cache_read_input_tokens: 70 + 12 + 25 + 190 + 64, cache_creation_input_tokens: 20 + 40 + 8 + 5, reasoning_tokens: 6 + 2 + 7 + 9 });
    expect(report.llm_usage.by_model.anthropic).toEqual({ calls: 1, errors: 0, input_tokens: 50, output_tokens: 5, cache_creation_input_tokens: 40 });
    expect(report.llm_usage.by_model.plain).toEqual({ calls: 1, errors: 0, input_tokens: 3, output_tokens: 1 });
    expect(report.llm_usage.by_model.bad).toEqual({ calls: 1, errors: 0, input_tokens: 1, output_tokens: 0 });
  });

  it('read back the same from an OTLP file of the spans', () => {
    const fromOtlp: TruthEvent[] = [];
    const read = analyzeRunSync(writeOtlpFile(exporter.getFinishedSpans()), { onEvent: (event) => fromOtlp.push(event) });
    // By model: span times in a file order only ends more than 1 ms apart.
    const byModel = (list: TruthEvent[]) => detailsOf(list).sort((a, b) => String(a.model).localeCompare(String(b.model)));
    expect(byModel(fromOtlp)).toEqual(byModel(events));
    expect({ ...read.report.llm_usage, latency_seconds: null }).toEqual({ ...report.llm_usage, latency_seconds: null });
  });
});
