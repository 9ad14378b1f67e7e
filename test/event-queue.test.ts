import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ExecutionTracker } from '../src/ExecutionTracker';
import { init, shutdown, track } from '../src/index';
import { runNode, writeScript } from './helpers/childProcess';
import { logPath, readReadableLines, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

// record() queues an event; the run writes and analyzes queued events in record order when the
// event loop turns, when 256 are waiting, and before anything reads the files or the analysis
// (src/AutopsyRun.ts). These tests pin what a user can see of that.

afterEach(async () => {
  await shutdown();
});

/** Lines of execution_tracker.json that hold an event (the file may still be a torn document). */
function eventLinesOnDisk(dir: string): string[] {
  const file = logPath(dir, 'execution_tracker.json');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{"timestamp"'));
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await new Promise((done) => setTimeout(done, 10));
  }
  throw new Error(`never happened: ${what}`);
}

describe('the event queue', () => {
  it('events reach both logs without flush() or shutdown(), as the agent goes on (tail -f)', async () => {
    const dir = tempRunDir();
    init({ outputDir: dir, handleExit: false, flushIntervalMs: 5 });
    track('first', { n: 1 });
    track('second', { n: 2 });
    await until(() => eventLinesOnDisk(dir).length === 2, 'both events on disk');
    expect(eventLinesOnDisk(dir).map((line) => JSON.parse(line.replace(/,$/, '')).type)).toEqual(['first', 'second']);
    await until(() => existsSync(logPath(dir, 'execution_tracker_readable.txt')) && readReadableLines(dir).length === 2, 'both readable lines');
  });

  it('a busy loop that never yields still writes as it goes (at most 256 events wait in the queue)', async () => {
    const dir = tempRunDir();
    init({ outputDir: dir, handleExit: false });
    const total = 3000;
    for (let i = 0; i < total; i++) track('work', { i, note: 'busy loop' });
    // Still in the same turn of the event loop: what is not on disk is at most the queue (256
    // events) plus the file sink's buffer (64 KiB of text).
    const onDisk = eventLinesOnDisk(dir);
    const lineLength = onDisk[0]?.length ?? 100;
    expect(onDisk.length).toBeGreaterThanOrEqual(total - 256 - Math.ceil((64 * 1024) / lineLength));
    expect(onDisk.map((line) => JSON.parse(line.replace(/,$/, '')).data.i)).toEqual([...Array(onDisk.length).keys()]);
    await shutdown();
    expect(readTrackerDocument(dir).events.map((event) => event.data.i)).toEqual([...Array(total).keys()]);
  });

  it('keeps record order, with no event lost or written twice, when a rule records an event while the queue drains', async () => {
    const dir = tempRunDir();
    init({
      outputDir: dir,
      handleExit: false,
      rules: [
        {
          id: 'rule_that_tracks',
          title: 'A rule whose predicate records an event',
          suggestion: 'none',
          match: (event) => {
            if (event.type === 'trigger') track('from_rule', { seen: event.data.n });
            return false;
          },
        },
      ],
    });
    for (let n = 0; n < 600; n++) track(n % 100 === 0 ? 'trigger' : 'work', { n });
    await shutdown();
    const events = readTrackerDocument(dir).events;
    const recorded = events.filter((event) => event.type !== 'from_rule');
    expect(recorded.map((event) => event.data.n)).toEqual([...Array(600).keys()]);
    expect(events.filter((event) => event.type === 'from_rule').map((event) => event.data.seen)).toEqual([0, 100, 200, 300, 400, 500]);
    // A rule's event follows the event that triggered it, as it was recorded after it.
    for (let i = 1; i < events.length; i++) expect(events[i].timestamp >= events[i - 1].timestamp).toBe(true);
  });

  it('get_summary() counts events recorded in the same turn of the event loop', () => {
    const dir = tempRunDir();
    const tracker = new ExecutionTracker(dir);
    tracker.track('a', {});
    tracker.track('b', {}, 'ERROR');
    const summary = tracker.getSummary();
    expect(summary.total_events).toBe(2);
    expect(summary.events_by_level).toEqual({ INFO: 1, ERROR: 1 });
    expect(tracker.getEventsByType('b')).toHaveLength(1);
    tracker.close();
  });

  it('an agent that crashes in the same turn as its last events keeps them, before the crash record', async () => {
    const dir = tempRunDir();
    const script = writeScript(
      `
      const { init, track } = require('agent-autopsy');
      init({ outputDir: ${JSON.stringify(dir)}, reportFormats: [] });
      for (let i = 0; i < 10; i++) track('step', { i });
      throw new Error('crashed right after its events');
    `,
      '.cjs',
    );
    const result = await runNode(script);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('crashed right after its events');
    const events = readTrackerDocument(dir).events;
    expect(events.map((event) => event.type)).toEqual([...Array(10).fill('step'), 'uncaught_exception']);
    expect(events.slice(0, 10).map((event) => event.data.i)).toEqual([...Array(10).keys()]);
  });

  it('events recorded in a timer callback reach the disk while the process waits, and survive kill -9', async () => {
    // An unref'd setImmediate does not wake a waiting event loop: these events used to sit in the
    // queue until the next timer, here the kill 1.5 s later, and were lost with the process.
    const dir = tempRunDir();
    const script = writeScript(
      `
      const { init, track, stage } = require('agent-autopsy');
      init({ outputDir: ${JSON.stringify(dir)}, flushIntervalMs: 5 });
      track('first', { n: 1 });
      let finishStage;
      const staged = stage('stage1', () => new Promise((resolve) => (finishStage = resolve)));
      setTimeout(() => {
        track('from_a_timer', { n: 2 });
        finishStage('done');
      }, 100);
      staged.then(() => setTimeout(() => process.kill(process.pid, 'SIGKILL'), 1500));
    `,
      '.cjs',
    );
    const result = await runNode(script);
    expect(result.signal).toBe('SIGKILL');
    const lines = readFileSync(logPath(dir, 'execution_tracker.json'), 'utf8').split('\n').filter((line) => line.startsWith('{"timestamp"'));
    expect(lines.map((line) => JSON.parse(line.replace(/,$/, '')).type)).toEqual(['first', 'stage_start', 'from_a_timer', 'stage_end']);
    expect(readReadableLines(dir).map((line) => line.split('] ')[2].split(':')[0])).toEqual(['first', 'stage_start', 'from_a_timer', 'stage_end']);
  });
});
