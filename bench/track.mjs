// Scenario 2 — track() alone, the seed-style API.
//
// Events per second through `track(type, data, level)`, both files included (every segment ends
// with the logs flushed to disk). Two workloads:
//   plain  — events that are not span starts/ends (checkpoint_save, a custom type, warnings):
//            what the original tracker's callers log most;
//   paired — task_start / task_end calls, which track() also pairs into OpenTelemetry spans.
// Next to them, in the same run: pino writing the same data, one line per event.
// Target (issue 7): ≥ 300,000 events/s for track() on this 2-core machine.

import { join } from 'node:path';
import {
  argNumber,
  check,
  interleave,
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
  tempDir,
  timeSegments,
  yieldToLoop,
} from './common.mjs';

const SCRIPT = new URL(import.meta.url).pathname;
const CHUNK = 1000;

/** Plain seed-style events, cycled. */
const PLAIN = [
  ['checkpoint_save', { stage: 'stage2', checkpoint: 'model_v1', size_kb: 42 }, 'INFO'],
  ['data_loaded', { stage: 'stage1', rows: 1200, source: 'problem.csv' }, 'INFO'],
  ['retry_scheduled', { stage: 'stage2', attempt: 2, delay_seconds: 0.5 }, 'WARNING'],
  ['syntax_error', { stage: 'stage3', error: 'invalid syntax at line 3' }, 'ERROR'],
];

function eventsOf(workload) {
  if (workload === 'paired') {
    return [
      ['task_start', { task: 'solve', stage: 'stage2' }, 'INFO'],
      ['task_end', { task: 'solve', stage: 'stage2', result: 'ok' }, 'INFO'],
    ];
  }
  return PLAIN;
}

async function measureTrack(workload, plan) {
  const lib = await loadLibrary();
  const { trace } = await import('@opentelemetry/api');
  const dir = tempDir('track');
  lib.init({ outputDir: dir, handleExit: false, reportFormats: [] });
  const provider = trace.getTracerProvider();
  const events = eventsOf(workload);
  const op = async (count) => {
    for (let done = 0; done < count; done += CHUNK) {
      const n = Math.min(CHUNK, count - done);
      for (let i = 0; i < n; i++) {
        const [type, data, level] = events[i % events.length];
        lib.track(type, data, level);
      }
      await yieldToLoop();
    }
    await (provider.getDelegate?.() ?? provider).forceFlush?.();
  };
  const result = await timeSegments(op, plan);
  await lib.shutdown();
  removeDir(dir);
  return result;
}

async function measurePino(plan) {
  const { default: pino } = await import('pino');
  const dir = tempDir('pino');
  const destination = pino.destination(join(dir, 'pino.log'));
  const logger = pino(destination);
  await new Promise((done) => (destination.fd >= 0 ? done() : destination.once('ready', done)));
  const levels = { INFO: 'info', WARNING: 'warn', ERROR: 'error' };
  const op = async (count) => {
    for (let done = 0; done < count; done += CHUNK) {
      const n = Math.min(CHUNK, count - done);
      for (let i = 0; i < n; i++) {
        const [type, data, level] = PLAIN[i % PLAIN.length];
        logger[levels[level]]({ type, data });
      }
      await yieldToLoop();
    }
    await new Promise((done) => logger.flush(() => done()));
  };
  const result = await timeSegments(op, plan);
  destination.flushSync();
  destination.end();
  removeDir(dir);
  return result;
}

async function child(variant) {
  const plan = { warmup: argNumber('warmup', 20_000), count: argNumber('count', 100_000), segments: argNumber('segments', 5) };
  const result = variant === 'pino' ? await measurePino(plan) : await measureTrack(variant, plan);
  sendResult({ variant, ...result });
}

export async function run({ rounds = 9, quick = false } = {}) {
  const variants = ['plain', 'paired', 'pino'];
  const childArgs = quick ? ['--warmup', '5000', '--count', '20000', '--segments', '3'] : [];
  const results = await interleave(rounds, variants, (variant) => runChild([SCRIPT, '--child', variant, ...childArgs]), (variant, round) =>
    progress(`track: ${variant} (round ${round + 1}/${rounds})`),
  );
  const perSecond = (variant, field) => 1e6 / medianOf(results[variant], field);
  const rows = variants.map((variant) => ({
    workload: variant === 'pino' ? 'pino, one line per event' : `track() ${variant}`,
    events_per_second_wall: Math.round(perSecond(variant, 'wallUsPerOp')),
    events_per_second_cpu: Math.round(perSecond(variant, 'cpuUsPerOp')),
    us_per_event_cpu: round(medianOf(results[variant], 'cpuUsPerOp')),
  }));
  const plainWall = rows[0].events_per_second_wall;
  const checks = [
    check('track() plain events per second (wall clock, both files)', plainWall, '>=', 300_000),
    check('track() start/end pairs per second (wall clock, both files, spans too)', rows[1].events_per_second_wall, '>=', 300_000),
  ];
  return {
    scenario: 'track',
    description: 'track() events per second, both log files written; pino writing the same events alongside',
    rounds,
    rows,
    ratio_plain_vs_pino: round(rows[0].events_per_second_cpu / rows[2].events_per_second_cpu, 3),
    checks,
  };
}

export function print(result) {
  printTable(
    `track() — events per second (median of ${result.rounds} processes); plain track() ÷ pino = ${result.ratio_plain_vs_pino} (CPU)`,
    ['workload', 'events/s (wall)', 'events/s (CPU)', 'µs CPU/event'],
    result.rows.map((row) => [row.workload, row.events_per_second_wall, row.events_per_second_cpu, row.us_per_event_cpu]),
  );
  printChecks(result.checks);
}

await scenarioMain(import.meta.url, { child: child, run, print, rounds: 9 });
