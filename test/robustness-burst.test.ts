import { describe, expect, it } from 'vitest';
import { init, shutdown, stage, task, track } from '../src/index';
import { expectCompleteRun } from './helpers/autopsyRun';
import { tempRunDir } from './helpers/tempDirs';

/** A burst of 100,000 events from 50 concurrent async tasks: none is lost, every count agrees. */

const WORKERS = 50;
const PER_WORKER = 2_000;

describe('bursts', () => {
  it('100,000 events from 50 concurrent tasks: tracker JSON, readable log and report agree', async () => {
    const dir = tempRunDir('autopsy-burst-');
    init({ outputDir: dir, handleExit: false, reportFormats: [] });
    await stage('burst', async () => {
      await Promise.all(
        Array.from({ length: WORKERS }, (_, worker) =>
          task(`worker_${worker}`, async () => {
            for (let i = 0; i < PER_WORKER; i++) {
              track('burst_event', { worker, i }, i % 500 === 499 ? 'WARNING' : 'INFO');
              // Interleave the workers: yield every few events, sometimes to the timer queue.
              if (i % 50 === 0) await (i % 200 === 0 ? new Promise((done) => setImmediate(done)) : Promise.resolve());
            }
          }),
        ),
      );
    });
    await shutdown();

    const run = expectCompleteRun(dir);
    const burst = run.events.filter((event) => event.type === 'burst_event');
    expect(burst).toHaveLength(WORKERS * PER_WORKER);
    // 100,000 events + stage start/end + 50 task starts and ends.
    expect(run.events).toHaveLength(WORKERS * PER_WORKER + 2 + 2 * WORKERS);
    expect(run.readable).toHaveLength(run.events.length);
    expect(run.report.run.total_events).toBe(run.events.length);
    // Each worker's events are all there, in its own order, attributed to the stage.
    const next = new Array<number>(WORKERS).fill(0);
    const outOfOrder: unknown[] = [];
    for (const event of burst) {
      const { worker, i, stage } = event.data as { worker: number; i: number; stage: string };
      if (i !== next[worker] || stage !== 'burst') outOfOrder.push(event.data);
      next[worker]++;
    }
    expect(outOfOrder).toEqual([]);
    expect(next).toEqual(new Array(WORKERS).fill(PER_WORKER));
    // Interleaved, not one worker after the other.
    expect(burst.slice(0, 500).some((event) => event.data.worker !== 0)).toBe(true);
    expect(run.events.filter((event) => event.level === 'WARNING')).toHaveLength(WORKERS * (PER_WORKER / 500));
    expect(run.report.stages.map((entry) => [entry.stage, entry.outcome])).toEqual([['burst', 'ok']]);
  });
});
