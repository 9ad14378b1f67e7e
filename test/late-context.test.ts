import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { timelineFromReport } from '../exporters/htmlTimeline';
import { init, llmCall, shutdown, stage, task, track } from '../src/index';
import type { TruthEvent } from '../src/types';
import { runNode, writeScript } from './helpers/childProcess';
import { readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

// Work that a stage starts but that runs after the stage ended (a timer, a nextTick, a stream's
// read(), a task left running) still runs in the stage's async context: its events are under the
// stage's span in the trace, and belong to that stage in the report.

afterEach(async () => {
  await shutdown();
});

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function record(body: () => Promise<void> | void): Promise<{ events: TruthEvent[]; dir: string }> {
  const dir = tempRunDir();
  init({ outputDir: dir, handleExit: false, reportFormats: [] });
  await body();
  await shutdown();
  return { events: readTrackerDocument(dir).events, dir };
}

const byType = (events: TruthEvent[], type: string) => events.filter((event) => event.type === type);

describe('work started in a stage that runs after the stage ended', () => {
  it('keeps the stage: timers, nextTick, setImmediate, a stream read, and spans started there', async () => {
    // The late task, once its timer has started it: the run ends only after it (a fixed wait
    // was not enough on a loaded machine, where the timer fired after the run had ended).
    let startedLateTask: (value: Promise<unknown>) => void = () => undefined;
    const lateTaskStarted = new Promise<Promise<unknown>>((resolve) => (startedLateTask = resolve));
    const { events, dir } = await record(async () => {
      await stage('s1', async () => {
        setTimeout(() => {
          track('timer_fired');
          startedLateTask(
            task('late_task', async () => {
              await sleep(1);
              await llmCall({ model: 'm' }, async () => {
                throw Object.assign(new Error('429 Rate limit reached'), { status: 429 });
              });
            }).catch(() => undefined),
          );
        }, 5);
        process.nextTick(() => track('tick_fired'));
        setImmediate(() => track('immediate_fired'));
        new Readable({
          read() {
            track('read_called');
            this.push(null);
          },
        }).resume();
      });
      // s2 is open while the late work runs: the work still belongs to s1.
      await stage('s2', async () => {
        await (await lateTaskStarted);
      });
    });
    const s1 = byType(events, 'stage_start').find((event) => event.data.stage === 's1')!;
    for (const type of ['timer_fired', 'tick_fired', 'immediate_fired', 'read_called']) {
      expect(byType(events, type).map((event) => event.data.stage)).toEqual(['s1']);
    }
    const lateTask = byType(events, 'task_start')[0];
    expect(lateTask.data).toEqual({ task: 'late_task', stage: 's1' });
    expect(lateTask.parent_span_id).toBe(s1.span_id);
    expect(lateTask.trace_id).toBe(s1.trace_id);
    // A span started under a span that has ended (the llm call under the task) inherits through it.
    for (const type of ['llm_call_start', 'llm_call_error', 'task_error']) expect(byType(events, type)[0].data.stage).toBe('s1');
    const report = readReport(dir);
    expect(report.failure_analysis.failures_by_stage).toEqual({ s1: 2 });
    expect(report.failure_analysis.critical_failures.map((failure) => failure.stage)).toEqual(['s1', 's1']);
  });

  it('an uncaught exception from a timer set in a stage that has ended is that stage’s failure', async () => {
    const dir = tempRunDir();
    const script = writeScript(`
      import { init, stage } from 'agent-autopsy';
      init({ outputDir: process.argv[2], reportFormats: [] });
      await stage('s2', async () => {
        setTimeout(() => { throw new TypeError('late tool output was not JSON'); }, 20);
      });
    `);
    const result = await runNode(script, { args: [dir] });
    expect(result.code).toBe(1);
    const crash = readTrackerDocument(dir).events.find((event) => event.type === 'uncaught_exception')!;
    expect(crash.data).toMatchObject({ error: 'late tool output was not JSON', stage: 's2' });
    expect(readReport(dir).failure_analysis.failures_by_stage).toEqual({ s2: 1 });
  });

  it('an error that escapes a stage and crashes the process (top-level await) is that stage’s failure', async () => {
    const dir = tempRunDir();
    const script = writeScript(`
      import { init, stage, task } from 'agent-autopsy';
      init({ outputDir: process.argv[2], reportFormats: [] });
      await stage('s1', () => task('parse', async () => { throw new TypeError('tool output was not JSON'); }));
    `);
    const result = await runNode(script, { args: [dir] });
    expect(result.code).toBe(1);
    const events = readTrackerDocument(dir).events;
    expect(events.filter((event) => event.level === 'ERROR').map((event) => [event.type, event.data.stage])).toEqual([
      ['task_error', 's1'],
      ['stage_error', 's1'],
      ['unhandled_rejection', 's1'],
    ]);
    expect(readReport(dir).failure_analysis.failures_by_stage).toEqual({ s1: 3 });
  });
});

describe('stages with the same id running at once (a service: stage("answer", { request_id }, fn))', () => {
  it('are one row of the timeline that ends with the last of them and failed when one of them failed', async () => {
    const { events, dir } = await record(async () => {
      await Promise.allSettled([
        stage('answer', { request_id: 1 }, async () => {
          await sleep(30);
        }),
        stage('answer', { request_id: 2 }, async () => {
          await sleep(5);
          await task('lookup', async () => {
            throw new Error('vector store refused the connection');
          });
        }),
      ]);
    });
    // The failing request ends first; the one that succeeds ends last.
    expect(events.filter((event) => event.type.startsWith('stage_')).map((event) => [event.type, event.data.request_id])).toEqual([
      ['stage_start', 1],
      ['stage_start', 2],
      ['stage_error', 2],
      ['stage_end', 1],
    ]);
    // From the first start to the last end; the duration is the longest run's (request 1's).
    expect(readReport(dir).stages).toEqual([
      // The error is the failed run's, though another run ended the row.
      { stage: 'answer', started: events[0].timestamp, ended: events.at(-1)!.timestamp, duration_seconds: events.at(-1)!.data.duration, outcome: 'error', failures: 2, error: 'vector store refused the connection' },
    ]);
    // autopsy.html draws the row from its start to its end.
    const bar = timelineFromReport(readReport(dir)).spans.find((span) => span.kind === 'stage')!;
    expect([bar.startMs, bar.endMs, bar.outcome]).toEqual([Date.parse(events[0].timestamp), Date.parse(events.at(-1)!.timestamp), 'error']);
  });

  it('are unfinished while one of them still runs', async () => {
    const { dir } = await record(async () => {
      void stage('answer', { request_id: 1 }, () => new Promise(() => {}));
      await stage('answer', { request_id: 2 }, () => sleep(1));
    });
    const report = readReport(dir);
    expect(report.stages).toMatchObject([{ stage: 'answer', outcome: 'unfinished', ended: null, duration_seconds: null }]);
    expect(report.unfinished.map((span) => span.stage)).toEqual(['answer']);
  });
});

describe('a worker thread', () => {
  it('track() in a worker of a process whose main thread called init() says the worker needs its own init()', async () => {
    const dir = tempRunDir();
    const script = writeScript(`
      import { Worker } from 'node:worker_threads';
      import { init, shutdown, stage } from 'agent-autopsy';
      init({ outputDir: process.argv[2], reportFormats: [] });
      await stage('main', () => new Promise((done, fail) => {
        const worker = new Worker("const { stage, track } = require('agent-autopsy'); stage('w', () => track('from_worker', { n: 1 }));", { eval: true });
        worker.on('exit', done);
        worker.on('error', fail);
      }));
      await shutdown();
    `);
    const result = await runNode(script, { args: [dir] });
    expect(result.code).toBe(0);
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([
      'agent-autopsy: track() was called in a worker thread that has not called init(); the run of the main thread records nothing from workers, so call init() in the worker (the event was not recorded)',
    ]);
    expect(readTrackerDocument(dir).events.map((event) => event.type)).toEqual(['stage_start', 'stage_end']);
  });
});

describe('a worker thread that records into a directory in use', () => {
  // The main thread and its workers are one process: "being recorded by process 305 (…); this
  // process (305) records into …/processes/305-1" named that one process as two.
  const SCRIPT = `
    import { Worker } from 'node:worker_threads';
    import { init, shutdown, stage } from 'agent-autopsy';
    const [dir, first] = process.argv.slice(2);
    // The worker records into dir, says so, and waits for the main thread's word to end its run.
    const code = "const { parentPort, workerData } = require('node:worker_threads'); const { init, shutdown, stage } = require('agent-autopsy'); init({ outputDir: workerData, reportFormats: [] }); stage('w', () => 1); parentPort.postMessage('recording'); parentPort.once('message', () => { shutdown().then(() => parentPort.close()); });";
    if (first === 'main') init({ outputDir: dir, reportFormats: [] });
    const worker = new Worker(code, { eval: true, workerData: dir });
    await new Promise((done) => worker.once('message', done));
    if (first === 'worker') init({ outputDir: dir, reportFormats: [] });
    stage('main', () => 1);
    worker.postMessage('end');
    await new Promise((done) => worker.on('exit', done));
    await shutdown();
    process.stdout.write(String(process.pid));
  `;

  it.each([
    ['main', (dir: string, pid: number) => `agent-autopsy: ${dir} is being recorded by process ${pid} (lock file ${join(dir, 'Memory', 'logs', '.agent-autopsy.lock')}); this worker thread (process ${pid}, thread 1) records into ${join(dir, 'processes', `${pid}-1`)}`],
    ['worker', (dir: string, pid: number) => `agent-autopsy: ${dir} is being recorded by process ${pid} (worker thread 1) (lock file ${join(dir, 'Memory', 'logs', '.agent-autopsy.lock')}); this process (${pid}) records into ${join(dir, 'processes', String(pid))}`],
  ])('the %s thread first: the line names the worker thread, not the same process twice', async (first, line) => {
    const dir = tempRunDir();
    const result = await runNode(writeScript(SCRIPT), { args: [dir, first] });
    expect(result.code).toBe(0);
    const pid = Number(result.stdout);
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([line(dir, pid)]);
  });
});

describe('an llmCall cancelled by an AbortSignal', () => {
  it('is recorded with the abort’s own type (AbortError, TimeoutError), not DOMException, in the events and llm_usage', async () => {
    const { events, dir } = await record(async () => {
      const controller = new AbortController();
      const waitFor = (signal: AbortSignal) =>
        new Promise((_done, fail) => {
          signal.addEventListener('abort', () => fail(signal.reason));
        });
      const cancelled = stage('answer', () => llmCall({ model: 'm' }, () => waitFor(controller.signal)));
      setTimeout(() => controller.abort(), 5);
      await cancelled.catch(() => undefined);
      await stage('answer', () => llmCall({ model: 'm' }, () => waitFor(AbortSignal.timeout(5)))).catch(() => undefined);
      await stage('answer', () => llmCall({ model: 'm' }, (call) => call.fail(new DOMException('stopped by the user', 'AbortError'))));
    });
    expect(byType(events, 'llm_call_error').map((event) => [event.data.error, event.data.error_type])).toEqual([
      ['This operation was aborted', 'AbortError'],
      ['The operation was aborted due to timeout', 'TimeoutError'],
      ['stopped by the user', 'AbortError'],
    ]);
    expect(byType(events, 'stage_error').map((event) => event.data.error_type)).toEqual(['AbortError', 'TimeoutError']);
    const report = readReport(dir);
    expect(report.llm_usage.errors_by_type).toEqual({ AbortError: 2, TimeoutError: 1 });
    expect(report.diagnoses.map((diagnosis) => diagnosis.id)).toEqual(['llm_timeout']);
  });

  it('a timeout nobody caught crashes the process as a TimeoutError in the report', async () => {
    const dir = tempRunDir();
    const script = writeScript(`
      import { init, stage } from 'agent-autopsy';
      init({ outputDir: process.argv[2], reportFormats: [] });
      stage('answer', () => new Promise((_done, fail) => { const signal = AbortSignal.timeout(5); signal.addEventListener('abort', () => fail(signal.reason)); }));
      setTimeout(() => {}, 2000);
    `);
    const result = await runNode(script, { args: [dir] });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('DOMException [TimeoutError]: The operation was aborted due to timeout');
    const report = readReport(dir);
    expect(report.exit).toMatchObject({ reason: 'unhandled_rejection', error: { type: 'TimeoutError', message: 'The operation was aborted due to timeout' } });
    const crash = readTrackerDocument(dir).events.find((event) => event.type === 'unhandled_rejection')!;
    expect(crash.data).toMatchObject({ error_type: 'TimeoutError', stage: 'answer' });
  });
});

describe('seed-style track() pairs', () => {
  it('carry the parent_span_id of the span they are nested in, as the trace has it', async () => {
    const { events } = await record(() => {
      track('stage_start', { stage: 's1' });
      track('task_start', { task: 't', stage: 's1' });
      track('llm_call_start', { model: 'gpt-4o', stage: 's1' });
      track('llm_call_error', { model: 'gpt-4o', stage: 's1', error: 'Rate limit exceeded' }, 'ERROR');
      track('task_error', { task: 't', stage: 's1', error: 'Rate limit exceeded' }, 'ERROR');
      track('stage_end', { stage: 's1' });
    });
    const id = (type: string) => byType(events, type)[0].span_id;
    expect(events.map((event) => [event.type, event.parent_span_id])).toEqual([
      ['stage_start', undefined],
      ['task_start', id('stage_start')],
      ['llm_call_start', id('task_start')],
      ['llm_call_error', id('task_start')],
      ['task_error', id('stage_start')],
      ['stage_end', undefined],
    ]);
    expect(new Set(events.map((event) => event.trace_id)).size).toBe(1);
  });

  it('mixed with stage(): the newer of the open tracked span and the active span is the parent, so an error counts once', async () => {
    const message = 'Error code: 401 - Incorrect API key provided: xyz';
    const { events, dir } = await record(async () => {
      track('stage_start', { stage: 'setup' });
      // A stage() opened after the tracked stage: events inside it are its own (stage and parent).
      await stage('wrapped', async () => {
        track('task_start', { task: 'call' });
        track('task_error', { task: 'call', error: message }, 'ERROR');
        throw new Error(message);
      }).catch(() => undefined);
      // A tracked stage opened inside a stage(): newer than the stage(), so it is the parent.
      await stage('outer', async () => {
        track('stage_start', { stage: 'inner' });
        track('task_start', { task: 'deep' });
        track('task_end', { task: 'deep' });
        track('stage_end', { stage: 'inner' });
      });
      track('stage_end', { stage: 'setup' });
    });
    const startOf = (type: string, field: string, name: string) => events.find((event) => event.type === type && event.data[field] === name)!;
    const wrapped = startOf('stage_start', 'stage', 'wrapped');
    const call = startOf('task_start', 'task', 'call');
    expect([call.data.stage, call.parent_span_id, call.trace_id]).toEqual(['wrapped', wrapped.span_id, wrapped.trace_id]);
    const callError = byType(events, 'task_error')[0];
    expect([callError.span_id, callError.parent_span_id]).toEqual([call.span_id, wrapped.span_id]);
    const inner = startOf('stage_start', 'stage', 'inner');
    const outer = startOf('stage_start', 'stage', 'outer');
    expect(inner.parent_span_id).toBe(outer.span_id);
    expect(startOf('task_start', 'task', 'deep').parent_span_id).toBe(inner.span_id);
    // The task's error and the stage's (the same error, propagated) are one failure at its origin.
    const auth = readReport(dir).diagnoses.find((diagnosis: { id: string }) => diagnosis.id === 'auth_failure');
    expect(auth?.evidence.count).toBe(1);
  });

  it('a wrapper inside a tracked stage (llmCall() after track(\'stage_start\')) is its child and belongs to it; a stage() opened later is nearer', async () => {
    const { events, dir } = await record(async () => {
      track('stage_start', { stage: 'seed' });
      await llmCall({ model: 'gpt-4o' }, async () => {
        track('inside_call', {});
        throw new Error('429 Rate limit reached');
      }).catch(() => undefined);
      await task('tool', async () => undefined);
      await stage('later', async () => {
        await task('nested', async () => undefined);
      });
      track('stage_end', { stage: 'seed' });
      // Once it has ended, a wrapper belongs to no stage again.
      await task('after', async () => undefined);
    });
    const seed = events.find((event) => event.type === 'stage_start' && event.data.stage === 'seed')!;
    const later = events.find((event) => event.type === 'stage_start' && event.data.stage === 'later')!;
    const summary = events
      .filter((event) => event.type !== 'stage_start' || event.data.stage === 'later')
      .filter((event) => !event.type.startsWith('stage_'))
      .map((event) => [event.type, event.data.stage, event.parent_span_id, event.trace_id === seed.trace_id]);
    expect(summary).toEqual([
      ['llm_call_start', 'seed', seed.span_id, true],
      // A plain event carries no span ids, only its stage.
      ['inside_call', 'seed', undefined, false],
      ['llm_call_error', 'seed', seed.span_id, true],
      ['task_start', 'seed', seed.span_id, true],
      ['task_end', 'seed', seed.span_id, true],
      ['task_start', 'later', later.span_id, false],
      ['task_end', 'later', later.span_id, false],
      ['task_start', undefined, undefined, false],
      ['task_end', undefined, undefined, false],
    ]);
    expect(readReport(dir).failure_analysis.failures_by_stage).toEqual({ seed: 1 });
  });
});
