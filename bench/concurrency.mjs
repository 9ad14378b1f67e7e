// Scenario 6 — parallel load.
//
// 50 async workers, each in its own stage, each making `calls` LLM calls (llmCall + a task inside
// it + a track() event, with awaits between them as real I/O would have), run either one after
// another (sequential) or all at once (Promise.all: 50 concurrent async tasks, their spans
// interleaved). Throughput is events per second of CPU and of wall time. Afterwards the tracker
// JSON is read back: every event must be there, and every llm/task event must carry the stage of
// the worker that made it (the model name says which worker that was).
// Target (issue 7): concurrent throughput within 20% of sequential; nothing lost.

import { join } from 'node:path';
import {
  argNumber,
  check,
  interleave,
  loadAnalyzers,
  loadLibrary,
  medianOf,
  printChecks,
  printTable,
  progress,
  removeDir,
  round,
  runChild,
  scenarioMain,
  sendResult,
  startClock,
  tempDir,
} from './common.mjs';

const SCRIPT = new URL(import.meta.url).pathname;
const WORKERS = 50;
/** Events per call: llm_call_start/end, task_start/end, one track() event. */
const EVENTS_PER_CALL = 5;

async function worker(lib, id, calls) {
  await lib.stage(`worker${id}`, async () => {
    for (let i = 0; i < calls; i++) {
      await lib.llmCall({ model: `model-${id}`, provider: 'openai' }, async (call) => {
        await null;
        lib.task('parse', () => i);
        call.setUsage({ inputTokens: 100, outputTokens: 20 });
        return i;
      });
      lib.track('progress', { worker: id, call: i });
      await new Promise((done) => setImmediate(done));
    }
  });
}

async function child(mode) {
  const calls = argNumber('calls', 400);
  const lib = await loadLibrary();
  const dir = tempDir('concurrency');
  lib.init({ outputDir: dir, handleExit: false, reportFormats: [] });
  // Warm-up outside the measurement (its events are counted in the check below).
  await Promise.all(Array.from({ length: 5 }, (_, id) => worker(lib, 1000 + id, 50)));
  const stop = startClock();
  if (mode === 'concurrent') await Promise.all(Array.from({ length: WORKERS }, (_, id) => worker(lib, id, calls)));
  else for (let id = 0; id < WORKERS; id++) await worker(lib, id, calls);
  const { cpuUs, wallUs } = stop();
  await lib.shutdown();

  const measured = WORKERS * (calls * EVENTS_PER_CALL + 2);
  const expected = measured + 5 * (50 * EVENTS_PER_CALL + 2);
  const analyzers = await loadAnalyzers();
  let events = 0;
  let misattributed = 0;
  let checked = 0;
  analyzers.readTruthLogSync(join(dir, 'Memory', 'logs', 'execution_tracker.json'), (event) => {
    events++;
    const model = event.data?.model;
    if (typeof model === 'string' && model.startsWith('model-')) {
      checked++;
      if (event.data.stage !== `worker${model.slice(6)}`) misattributed++;
    }
    if (event.type === 'progress') {
      checked++;
      if (event.data.stage !== `worker${event.data.worker}`) misattributed++;
    }
  });
  removeDir(dir);
  sendResult({ mode, measured_events: measured, expected_events: expected, events_in_file: events, checked, misattributed, cpu_events_per_second: measured / (cpuUs / 1e6), wall_events_per_second: measured / (wallUs / 1e6) });
}

export async function run({ rounds = 5, quick = false } = {}) {
  const calls = quick ? 100 : 400;
  const results = await interleave(rounds, ['sequential', 'concurrent'], (mode) => runChild([SCRIPT, '--child', mode, '--calls', String(calls)]), (mode, round) =>
    progress(`concurrency: ${mode} (round ${round + 1}/${rounds})`),
  );
  const rows = ['sequential', 'concurrent'].map((mode) => ({
    mode: mode === 'concurrent' ? `${WORKERS} concurrent workers` : `${WORKERS} workers one after another`,
    events: results[mode][0].measured_events,
    events_per_second_cpu: Math.round(medianOf(results[mode], 'cpu_events_per_second')),
    events_per_second_wall: Math.round(medianOf(results[mode], 'wall_events_per_second')),
    lost: results[mode].reduce((sum, r) => sum + (r.expected_events - r.events_in_file), 0),
    misattributed: results[mode].reduce((sum, r) => sum + r.misattributed, 0),
    checked: results[mode].reduce((sum, r) => sum + r.checked, 0),
  }));
  const ratioCpu = rows[1].events_per_second_cpu / rows[0].events_per_second_cpu;
  const ratioWall = rows[1].events_per_second_wall / rows[0].events_per_second_wall;
  const checks = [
    check('concurrent ÷ sequential throughput (CPU)', ratioCpu, '>=', 0.8),
    check('concurrent ÷ sequential throughput (wall)', ratioWall, '>=', 0.8),
    { target: 'no event lost, every event attributed to its own worker stage', value: `${rows[1].lost + rows[0].lost} lost, ${rows[1].misattributed + rows[0].misattributed} misattributed of ${rows[0].checked + rows[1].checked} checked`, pass: rows.every((row) => row.lost === 0 && row.misattributed === 0) },
  ];
  return { scenario: 'concurrency', description: `${WORKERS} async workers emitting events, concurrently vs one after another`, rounds, rows, ratio_cpu: round(ratioCpu, 3), ratio_wall: round(ratioWall, 3), checks };
}

export function print(result) {
  printTable(
    `Parallel load — median of ${result.rounds} processes each; concurrent ÷ sequential = ${result.ratio_cpu} (CPU), ${result.ratio_wall} (wall)`,
    ['mode', 'events', 'events/s CPU', 'events/s wall', 'lost', 'misattributed'],
    result.rows.map((row) => [row.mode, row.events, row.events_per_second_cpu, row.events_per_second_wall, row.lost, `${row.misattributed}/${row.checked}`]),
  );
  printChecks(result.checks);
}

await scenarioMain(import.meta.url, { child: child, run, print, rounds: 5 });
