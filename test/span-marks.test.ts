import { existsSync, readFileSync } from 'node:fs';
import { trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { init, shutdown, stage, task, track } from '../src/index';
import { runNode, writeScript } from './helpers/childProcess';
import { logPath, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

// The span processor queues a mark of each span's start and end (src/SpanMark.ts); the events are
// made from the marks when the run's queue drains, so its work is off the agent's path. These tests
// pin what that must not change: times, what a start event says, order, stages, and the queue bound.

afterEach(async () => {
  await shutdown();
});

function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    /* the event loop does not turn: nothing drains */
  }
}

describe('span marks', () => {
  it("a span's events carry the times it started and ended, not the time the queue drained", async () => {
    const dir = tempRunDir();
    init({ outputDir: dir, handleExit: false, reportFormats: [] });
    task('slow', () => busyWait(40));
    // The queue drains when the event loop turns: well after the span ended.
    busyWait(60);
    track('later', {});
    await shutdown();
    const events = readTrackerDocument(dir).events;
    expect(events.map((event) => event.type)).toEqual(['task_start', 'task_end', 'later']);
    const [start, end, later] = events;
    expect(end.elapsed_seconds - start.elapsed_seconds).toBeGreaterThanOrEqual(0.04);
    expect(end.data.duration).toBeCloseTo(end.elapsed_seconds - start.elapsed_seconds, 5);
    expect(later.elapsed_seconds - end.elapsed_seconds).toBeGreaterThanOrEqual(0.06);
  });

  it('a start event says what the span was when it started, whatever it became before the queue drained', async () => {
    const dir = tempRunDir();
    init({ outputDir: dir, handleExit: false, reportFormats: [] });
    const span = trace.getTracer('another-instrumentation').startSpan('chat model-a', {
      attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'model-a' },
    });
    span.updateName('renamed while running');
    span.setAttribute('gen_ai.request.model', 'model-b');
    span.setAttribute('gen_ai.usage.input_tokens', 7);
    span.end();
    await shutdown();
    const [start, end] = readTrackerDocument(dir).events;
    expect(start.type).toBe('llm_call_start');
    expect(start.data).toEqual({ model: 'model-a', provider: 'openai', operation: 'chat', span: 'chat model-a' });
    // The end event starts from the start's data and adds what the span ended with.
    expect(end.type).toBe('llm_call_end');
    expect(end.data).toMatchObject({ model: 'model-a', span: 'chat model-a', input_tokens: 7, tokens_used: 7 });
  });

  it('spans and track() events in one turn of the event loop keep call order, and track() knows its stage', async () => {
    const dir = tempRunDir();
    init({ outputDir: dir, handleExit: false, reportFormats: [] });
    stage('s1', () => {
      track('inside', {});
      task('t1', () => track('in_task', {}));
      track('after_task', {});
    });
    track('outside', {});
    await shutdown();
    const events = readTrackerDocument(dir).events;
    expect(events.map((event) => [event.type, event.data.stage])).toEqual([
      ['stage_start', 's1'],
      ['inside', 's1'],
      ['task_start', 's1'],
      ['in_task', 's1'],
      ['task_end', 's1'],
      ['after_task', 's1'],
      ['stage_end', 's1'],
      ['outside', undefined],
    ]);
    for (let i = 1; i < events.length; i++) expect(events[i].timestamp >= events[i - 1].timestamp).toBe(true);
  });

  it('a loop of spans that never yields writes as it goes: marks count towards the queue bound', async () => {
    const dir = tempRunDir();
    init({ outputDir: dir, handleExit: false, reportFormats: [] });
    const total = 2000;
    for (let i = 0; i < total; i++) task('work', () => i);
    const file = logPath(dir, 'execution_tracker.json');
    const onDisk = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((line) => line.startsWith('{"timestamp"')) : [];
    const lineLength = onDisk[0]?.length ?? 200;
    // Not on disk yet: at most the queue (256 marks or events) and the file sink's 64 KiB buffer.
    expect(onDisk.length).toBeGreaterThanOrEqual(2 * total - 256 - Math.ceil((64 * 1024) / lineLength));
    await shutdown();
    const events = readTrackerDocument(dir).events;
    expect(events).toHaveLength(2 * total);
    expect(events.filter((event) => event.type === 'task_end')).toHaveLength(total);
  });

  it('a crash in the same turn as its stage started belongs to that stage (the marks are settled first)', async () => {
    const stages = await crashedRunStages(`
      stage('s1', () => task('parse', () => {
        throw new Error('thrown out of the stage before the event loop turned');
      }));
    `);
    expect(stages).toEqual([
      ['stage_start', 's1'],
      ['task_start', 's1'],
      ['task_error', 's1'],
      ['stage_error', 's1'],
      ['uncaught_exception', 's1'],
    ]);
  });

  it('a crash thrown from a nextTick inside a stage, before the event loop turned, belongs to that stage', async () => {
    const stages = await crashedRunStages(`
      stage('s2', () => {
        process.nextTick(() => {
          throw new Error('thrown in a tick the stage scheduled');
        });
      });
    `);
    // The error failed no span: only the active span (the stage's, ended) says where it belongs.
    expect(stages).toEqual([
      ['stage_start', 's2'],
      ['stage_end', 's2'],
      ['uncaught_exception', 's2'],
    ]);
  });
});

/** Runs `body` after init() in a child process that must crash (exit code 1): each event's type and stage. */
async function crashedRunStages(body: string): Promise<Array<[string, unknown]>> {
  const dir = tempRunDir();
  const script = writeScript(
    `
      const { init, stage, task } = require('agent-autopsy');
      init({ outputDir: ${JSON.stringify(dir)}, reportFormats: [] });
      ${body}
    `,
    '.cjs',
  );
  const result = await runNode(script);
  expect(result.code).toBe(1);
  return readTrackerDocument(dir).events.map((event) => [event.type, event.data.stage]);
}
