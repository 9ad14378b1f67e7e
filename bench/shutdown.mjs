// Scenario 4 — exit after a long run.
//
// A fresh process records the agent-shaped workload (bench/workload.mjs), then `await shutdown()`
// is timed: close both logs (closing line, fsync), build the report from the streaming aggregates
// and write latent_analysis_report.json, autopsy.md and autopsy.html (the default formats).
// Side by side in the same run: the same shutdown after 10,000 events — the report does not
// re-read the log, so the two should take about as long — and after 10,000 distinct stages of one
// task each: the report lists every stage, and no diagnosis may compare them pairwise (one did:
// bench/README.md item 14).
// Target (issue 7): shutdown() after 1,000,000 events < 200 ms.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  check,
  interleave,
  loadLibrary,
  median,
  printChecks,
  printTable,
  progress,
  removeDir,
  round,
  runChild,
  scenarioMain,
  sendResult,
  tempDir,
} from './common.mjs';
import { EVENTS_PER_STAGE, runWorkload } from './workload.mjs';

const SCRIPT = new URL(import.meta.url).pathname;

/** `count` distinct stages (item-0, item-1, …) of one task each: 4 events per stage. */
async function distinctStages(lib, count) {
  for (let i = 0; i < count; i++) await lib.stage(`item-${i}`, () => lib.task('work', () => i));
  return count * 4;
}

async function child(spec) {
  const lib = await loadLibrary();
  const dir = tempDir('shutdown');
  lib.init({ outputDir: dir, handleExit: false });
  const [kind, size] = spec.split(':');
  const recorded = kind === 'stages' ? await distinctStages(lib, Number(size)) : await runWorkload(lib, Math.max(1, Math.round(Number(size) / EVENTS_PER_STAGE)));
  const started = performance.now();
  const report = await lib.shutdown();
  const ms = performance.now() - started;
  const logs = join(dir, 'Memory', 'logs');
  const written = ['latent_analysis_report.json', 'autopsy.md', 'autopsy.html'].filter((name) => existsSync(join(logs, name)));
  removeDir(dir);
  sendResult({ events: recorded, shutdown_ms: ms, report_total_events: report?.run?.total_events ?? null, report_files: written });
}

export async function run({ rounds = 3, quick = false } = {}) {
  const full = quick ? 200_000 : 1_000_000;
  const small = 10_000;
  const stages = 10_000;
  const specs = [`events:${full}`, `events:${small}`, `stages:${stages}`];
  const results = await interleave(
    rounds,
    specs,
    (spec) => runChild([SCRIPT, '--child', spec]),
    (spec, round) => progress(`shutdown: after ${spec} (round ${round + 1}/${rounds})`),
  );
  const rows = specs.map((spec) => {
    const list = results[spec];
    const [kind, size] = spec.split(':');
    return {
      run: kind === 'stages' ? `${Number(size).toLocaleString('en-US')} distinct stages` : `${Number(size).toLocaleString('en-US')} events`,
      events: list[0].events,
      shutdown_ms: round(median(list.map((r) => r.shutdown_ms)), 1),
      shutdown_ms_each: list.map((r) => round(r.shutdown_ms, 1)),
      report_total_events: list[0].report_total_events,
      report_files: list[0].report_files,
    };
  });
  const checks = [
    check(`shutdown() after ${full.toLocaleString('en-US')} events, ms (median of ${rounds} processes)`, rows[0].shutdown_ms, '<', 200),
    {
      target: 'the report counts every event and all three report files are written',
      value: rows.every((row) => row.report_total_events === row.events && row.report_files.length === 3),
      pass: rows.every((row) => row.report_total_events === row.events && row.report_files.length === 3),
    },
  ];
  return { scenario: 'shutdown', description: 'await shutdown() after a run: logs closed, report built and written', rounds, rows, ratio_full_vs_small: round(rows[0].shutdown_ms / rows[1].shutdown_ms, 2), checks };
}

export function print(result) {
  printTable(
    `shutdown() — ms (median of ${result.rounds} processes); after ${result.rows[0].events.toLocaleString('en-US')} ÷ after ${result.rows[1].events.toLocaleString('en-US')} events = ${result.ratio_full_vs_small}`,
    ['run before shutdown', 'events', 'shutdown ms', 'each process', 'report total_events'],
    result.rows.map((row) => [row.run, row.events, row.shutdown_ms, row.shutdown_ms_each.join(' / '), row.report_total_events]),
  );
  printChecks(result.checks);
}

await scenarioMain(import.meta.url, { child, run, print, rounds: 3 });
