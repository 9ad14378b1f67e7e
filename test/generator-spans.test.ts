import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AutopsyReport } from '../analyzers/reportTypes';
import { init, llmCall, shutdown, stage, task, track } from '../src/index';
import type { TruthEvent } from '../src/types';
import { readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * A wrapper whose callback is a generator (`stage('s', async function* () { … })`, an agent that
 * streams its steps): the body runs as the generator is read, in the wrapper's span — what it
 * records belongs to that stage and trace, whoever reads it — and the span ends when the
 * generator is done, stopped early or failed.
 */

const exporter = new InMemorySpanExporter();
let events: TruthEvent[] = [];
let report: AutopsyReport;
const outcomes: unknown[] = [];

async function* steps(label: string, count: number) {
  for (let i = 0; i < count; i++) {
    await Promise.resolve();
    track('step', { label, i });
    yield i;
  }
  return `${label} done`;
}

beforeAll(async () => {
  const dir = tempRunDir('autopsy-generators-');
  init({ outputDir: dir, handleExit: false, reportFormats: [], spanProcessors: [new SimpleSpanProcessor(exporter)] });

  // Made in one stage, read in another: the body still records under its own.
  const produced = stage('producer', async function* () {
    yield* steps('producer', 2);
    await task('inner', async () => undefined);
  });
  await stage('consumer', async () => {
    track('before_reading', {});
    for await (const value of produced) outcomes.push(['producer', value]);
    track('after_reading', {});
  });

  // Stopped early: `break` returns the generator, which ends the span.
  await stage('reader', async () => {
    for await (const value of stage('stopped', () => steps('stopped', 5))) {
      outcomes.push(['stopped', value]);
      if (value === 1) break;
    }
  });

  // Failing half way: the stage fails with the error, which reaches the reader unchanged.
  try {
    for await (const value of stage('failing', async function* () {
      yield 1;
      throw new TypeError('bad chunk');
    })) outcomes.push(['failing', value]);
  } catch (error) {
    outcomes.push(['failing', (error as Error).message]);
  }

  // A synchronous generator, and an async callback that resolves to a generator.
  outcomes.push(['sync', [...task('listing', function* () {
    track('listing_step', {});
    yield 'a';
    yield 'b';
  })]]);
  const resolved = await task('resolved', async () => steps('resolved', 1));
  for await (const value of resolved) outcomes.push(['resolved', value]);

  // An LLM call that streams its own chunks and states its usage at the end.
  const chunks: string[] = [];
  for await (const chunk of llmCall({ model: 'local' }, async function* (call) {
    yield 'he';
    yield 'llo';
    call.setUsage({ inputTokens: 3, outputTokens: 2 });
  })) chunks.push(chunk);
  outcomes.push(['llm', chunks.join('')]);

  // Never read: its stage is still open at exit.
  stage('never_read', async function* () {
    yield 1;
  });

  report = (await shutdown())!;
  events = readTrackerDocument(dir).events;
});

/** The events without their times (the streamed call's time to first chunk is one: test/llm-call-first-chunk.test.ts). */
const outline = () =>
  events.map((event) => {
    const { duration: _duration, age_seconds: _age, time_to_first_chunk: _firstChunk, ...data } = event.data;
    return [event.type, data];
  });

describe('a generator as a wrapper\'s callback', () => {
  it('returns what the generator yields and returns, and its failure unchanged', () => {
    expect(outcomes).toEqual([
      ['producer', 0],
      ['producer', 1],
      ['stopped', 0],
      ['stopped', 1],
      ['failing', 1],
      ['failing', 'bad chunk'],
      ['sync', ['a', 'b']],
      ['resolved', 0],
      ['llm', 'hello'],
    ]);
  });

  it('records the body in the span it was made in, and ends the span when the generator ends', () => {
    expect(outline()).toEqual([
      ['stage_start', { stage: 'producer' }],
      ['stage_start', { stage: 'consumer' }],
      ['before_reading', { stage: 'consumer' }],
      ['step', { label: 'producer', i: 0, stage: 'producer' }],
      ['step', { label: 'producer', i: 1, stage: 'producer' }],
      ['task_start', { task: 'inner', stage: 'producer' }],
      ['task_end', { task: 'inner', stage: 'producer' }],
      ['stage_end', { stage: 'producer' }],
      ['after_reading', { stage: 'consumer' }],
      ['stage_end', { stage: 'consumer' }],
      ['stage_start', { stage: 'reader' }],
      ['stage_start', { stage: 'stopped' }],
      ['step', { label: 'stopped', i: 0, stage: 'stopped' }],
      ['step', { label: 'stopped', i: 1, stage: 'stopped' }],
      ['stage_end', { stage: 'stopped' }],
      ['stage_end', { stage: 'reader' }],
      ['stage_start', { stage: 'failing' }],
      ['stage_error', { stage: 'failing', error: 'bad chunk', error_type: 'TypeError' }],
      ['task_start', { task: 'listing' }],
      ['listing_step', {}],
      ['task_end', { task: 'listing' }],
      ['task_start', { task: 'resolved' }],
      ['step', { label: 'resolved', i: 0 }],
      ['task_end', { task: 'resolved' }],
      ['llm_call_start', { model: 'local' }],
      ['llm_call_end', { model: 'local', input_tokens: 3, output_tokens: 2, tokens_used: 5 }],
      ['stage_start', { stage: 'never_read' }],
      ['stage_unfinished', { stage: 'never_read', unfinished: true }],
    ]);
  });

  it('parents the spans the body starts to the generator\'s span', () => {
    const spans = exporter.getFinishedSpans();
    const named = (name: string) => spans.find((span) => span.name === name)!;
    expect(named('task inner').parentSpanContext?.spanId).toBe(named('stage producer').spanContext().spanId);
    expect(report.failure_analysis.failures_by_stage).toEqual({ failing: 1 });
    expect(report.unfinished.map((span) => span.name)).toEqual(['stage never_read']);
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});
