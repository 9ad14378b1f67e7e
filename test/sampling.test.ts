import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { init, llmCall, shutdown, stage, task } from '../src/index';
import { readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

// The sampler decides what is exported, not what the flight recorder sees: agent-autopsy's own
// provider records the spans of a trace its sampler (OTEL_TRACES_SAMPLER, or an upstream service
// that did not sample the request) drops, and exports none of them.

const previous = process.env.OTEL_TRACES_SAMPLER;
process.env.OTEL_TRACES_SAMPLER = 'parentbased_always_off';
afterAll(() => {
  if (previous === undefined) delete process.env.OTEL_TRACES_SAMPLER;
  else process.env.OTEL_TRACES_SAMPLER = previous;
});

describe('a sampler that drops the trace (agent-autopsy’s own provider)', () => {
  it('OTEL_TRACES_SAMPLER=parentbased_always_off: every stage, task and LLM call is in the log and the report; nothing is exported', async () => {
    const memory = new InMemorySpanExporter();
    const dir = tempRunDir();
    init({ outputDir: dir, handleExit: false, reportFormats: [], spanProcessors: [new SimpleSpanProcessor(memory)] });
    await stage('s1', () =>
      task('t', () =>
        llmCall({ model: 'gpt-4o' }, async () => {
          throw Object.assign(new Error('429 Rate limit reached'), { status: 429 });
        }),
      ),
    ).catch(() => undefined);
    // A request whose upstream service did not sample it (traceparent flags 00).
    const upstream = propagation.extract(ROOT_CONTEXT, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00' });
    await context.with(upstream, () => stage('s2', () => llmCall({ model: 'gpt-4o' }, async () => 'ok')));
    await shutdown();
    const events = readTrackerDocument(dir).events;
    expect(events.map((event) => [event.type, event.data.stage])).toEqual([
      ['stage_start', 's1'],
      ['task_start', 's1'],
      ['llm_call_start', 's1'],
      ['llm_call_error', 's1'],
      ['task_error', 's1'],
      ['stage_error', 's1'],
      ['stage_start', 's2'],
      ['llm_call_start', 's2'],
      ['llm_call_end', 's2'],
      ['stage_end', 's2'],
    ]);
    const s2 = events.find((event) => event.type === 'stage_start' && event.data.stage === 's2')!;
    expect([s2.trace_id, s2.parent_span_id]).toEqual(['0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331']);
    expect(readReport(dir).failure_analysis.failures_by_stage).toEqual({ s1: 3 });
    expect(memory.getFinishedSpans()).toEqual([]);
  });
});
