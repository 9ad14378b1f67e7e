// Scenario 3 — memory over 1,000,000 events in one run.
//
// A fresh process records the agent-shaped workload (bench/workload.mjs) through the public API.
// Resident memory is sampled every 1,000 events; growth = peak − the value after the first 10,000
// events (after a GC). Then the files are read back: both must hold every event.
// Side by side in the same run: the same workload with 100,000 events (flat means the growth does
// not scale with events), a failure storm of 1,000,000 events (every LLM call fails: ~500,000
// critical failures, which the report must list), the original tracker's design — every
// event kept in a list in memory — for 1,000,000 events, and the workload as a long-running
// service writes it (high-cardinality: task names, error messages, commands and track() data new
// per request; stage and model names, the report's keys, as before).
// Target (issue 7): RSS growth < 50 MB, and the files hold all 1,000,000 events.

import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  argNumber,
  check,
  interleave,
  loadAnalyzers,
  loadLibrary,
  median,
  printChecks,
  printTable,
  progress,
  removeDir,
  round,
  rssMb,
  runChild,
  scenarioMain,
  sendResult,
  tempDir,
  yieldToLoop,
} from './common.mjs';
import { EVENTS_PER_STAGE, runFailureStorm, runWorkload } from './workload.mjs';

const SCRIPT = new URL(import.meta.url).pathname;

function collect() {
  globalThis.gc?.();
  globalThis.gc?.();
}

/** Counts '\n' in a file without holding it in memory. */
export async function countLines(path) {
  let lines = 0;
  for await (const chunk of createReadStream(path)) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
  }
  return lines;
}

/** Reads a run's files back: events in execution_tracker.json, lines in the readable log. */
export async function verifyRun(dir) {
  const analyzers = await loadAnalyzers();
  const logs = join(dir, 'Memory', 'logs');
  let events = 0;
  const read = analyzers.readTruthLogSync(join(logs, 'execution_tracker.json'), () => {
    events++;
  });
  return {
    tracker_events: events,
    tracker_complete: read.complete,
    tracker_declared_total: read.declaredTotal,
    readable_lines: await countLines(join(logs, 'execution_tracker_readable.txt')),
  };
}

/** Critical failures the run's report lists (read after the measurement). */
function reportedCriticalFailures(dir) {
  const report = JSON.parse(readFileSync(join(dir, 'Memory', 'logs', 'latent_analysis_report.json'), 'utf8'));
  return report.failure_analysis.critical_failures.length;
}

async function measureAutopsy(stages, storm = false, unique = false) {
  const lib = await loadLibrary();
  const dir = tempDir('memory');
  lib.init({ outputDir: dir, handleExit: false });
  let baseline;
  let baselineHeap;
  let peak = 0;
  const started = performance.now();
  const onChunk = (soFar) => {
    if (baseline === undefined && soFar >= EVENTS_PER_STAGE - 10) {
      collect();
      baseline = rssMb();
      baselineHeap = process.memoryUsage().heapUsed / 2 ** 20;
    }
    if (baseline !== undefined) peak = Math.max(peak, rssMb());
  };
  const events = storm ? await runFailureStorm(lib, stages * EVENTS_PER_STAGE, onChunk) : await runWorkload(lib, stages, onChunk, unique);
  const seconds = (performance.now() - started) / 1000;
  peak = Math.max(peak, rssMb());
  collect();
  const retainedHeap = process.memoryUsage().heapUsed / 2 ** 20 - baselineHeap;
  const shutdownStarted = performance.now();
  await lib.shutdown();
  const shutdownMs = performance.now() - shutdownStarted;
  // Peak RSS includes shutdown(): the report is written from streaming aggregates.
  peak = Math.max(peak, rssMb());
  const files = await verifyRun(dir);
  const critical = reportedCriticalFailures(dir);
  removeDir(dir);
  return { events, seconds, shutdown_ms: shutdownMs, baseline_rss_mb: baseline, peak_rss_mb: peak, rss_growth_mb: peak - baseline, retained_heap_mb: retainedHeap, reported_critical_failures: critical, ...files };
}

/** The seed tracker's way: `self.events.append(event)` for the whole run. */
async function measureInMemoryList(total) {
  const list = [];
  const start = Date.now();
  let baseline;
  let peak = 0;
  for (let i = 0; i < total; i++) {
    list.push({
      timestamp: new Date(start + i).toISOString(),
      elapsed_seconds: i / 1e4,
      type: i % 2 ? 'llm_call_end' : 'llm_call_start',
      level: 'INFO',
      data: { model: 'gpt-4o', provider: 'openai', stage: 'stage1', input_tokens: 812, output_tokens: 164 },
    });
    if (i % 1000 === 999) {
      if (i === EVENTS_PER_STAGE - 1) {
        collect();
        baseline = rssMb();
      }
      if (baseline !== undefined) peak = Math.max(peak, rssMb());
      await yieldToLoop();
    }
  }
  return { events: list.length, baseline_rss_mb: baseline, peak_rss_mb: peak, rss_growth_mb: peak - baseline };
}

async function child(variant) {
  const events = argNumber('events', 1_000_000);
  const stages = Math.max(1, Math.round(events / EVENTS_PER_STAGE));
  const result = variant === 'in-memory-list' ? await measureInMemoryList(stages * EVENTS_PER_STAGE) : await measureAutopsy(stages, variant === 'failure-storm', variant === 'high-cardinality');
  sendResult({ variant, ...result });
}

export async function run({ rounds = 3, quick = false } = {}) {
  const full = quick ? 200_000 : 1_000_000;
  const small = full / 10;
  const plans = {
    [`autopsy-${full}`]: ['autopsy', full],
    [`autopsy-${small}`]: ['autopsy', small],
    [`failure-storm-${full}`]: ['failure-storm', full],
    [`in-memory-list-${full}`]: ['in-memory-list', full],
    [`high-cardinality-${full}`]: ['high-cardinality', full],
  };
  const results = await interleave(
    rounds,
    Object.keys(plans),
    (name) => runChild([SCRIPT, '--child', plans[name][0], '--events', String(plans[name][1])], { nodeArgs: ['--expose-gc'] }),
    (name, round) => progress(`memory: ${name} (round ${round + 1}/${rounds})`),
  );
  const summary = (name) => {
    const list = results[name];
    return {
      run: name,
      events: list[0].events,
      rss_growth_mb: round(median(list.map((r) => r.rss_growth_mb)), 1),
      peak_rss_mb: round(median(list.map((r) => r.peak_rss_mb)), 1),
      retained_heap_mb: list[0].retained_heap_mb === undefined ? null : round(median(list.map((r) => r.retained_heap_mb)), 2),
      events_per_second: list[0].seconds ? Math.round(list[0].events / median(list.map((r) => r.seconds))) : null,
      shutdown_ms: list[0].shutdown_ms === undefined ? null : round(median(list.map((r) => r.shutdown_ms)), 0),
      reported_critical_failures: list[0].reported_critical_failures ?? null,
      files: list[0].tracker_events === undefined ? null : list.map((r) => ({ tracker_events: r.tracker_events, complete: r.tracker_complete, declared_total: r.tracker_declared_total, readable_lines: r.readable_lines })),
    };
  };
  const rows = Object.keys(plans).map(summary);
  const [big, little, storm, list, unique] = rows;
  const complete = (name) => results[name].every((r) => r.tracker_events === full && r.readable_lines === full && r.tracker_complete && r.tracker_declared_total === full);
  const allFilesComplete = complete(`autopsy-${full}`);
  // The storm's calls fail one per two events, between its stage_start and stage_end.
  const stormCritical = (full - 2) / 2;
  const stormListed = results[`failure-storm-${full}`].every((r) => r.reported_critical_failures === stormCritical);
  const checks = [
    check(`RSS growth over ${full.toLocaleString('en-US')} events, MB (median of ${rounds} processes)`, big.rss_growth_mb, '<', 50),
    { target: `both files hold all ${full.toLocaleString('en-US')} events, in every process`, value: allFilesComplete, pass: allFilesComplete },
    check(`RSS growth over a ${full.toLocaleString('en-US')}-event failure storm (shutdown included), MB`, storm.rss_growth_mb, '<', 50),
    {
      target: `the storm's files hold every event and its report lists all ${stormCritical.toLocaleString('en-US')} critical failures, in every process`,
      value: `${storm.reported_critical_failures}`,
      pass: stormListed && complete(`failure-storm-${full}`),
    },
    check(`RSS growth over ${full.toLocaleString('en-US')} high-cardinality events (a task name, error message and id per request), MB`, unique.rss_growth_mb, '<', 50),
  ];
  return {
    scenario: 'memory',
    description: 'RSS growth while recording events (peak − after the first 10,000 events), files read back',
    rounds,
    rows,
    growth_ratio_full_vs_tenth: round(big.rss_growth_mb / Math.max(little.rss_growth_mb, 1), 2),
    growth_ratio_vs_in_memory_list: round(big.rss_growth_mb / list.rss_growth_mb, 3),
    checks,
  };
}

export function print(result) {
  printTable(
    `Memory — RSS growth (median of ${result.rounds} processes); agent-autopsy ÷ in-memory event list = ${result.growth_ratio_vs_in_memory_list}`,
    ['run', 'events', 'RSS growth MB', 'peak RSS MB', 'retained heap MB', 'events/s', 'shutdown ms', 'critical failures listed', 'files hold'],
    result.rows.map((row) => [
      row.run,
      row.events,
      row.rss_growth_mb,
      row.peak_rss_mb,
      row.retained_heap_mb ?? '-',
      row.events_per_second ?? '-',
      row.shutdown_ms ?? '-',
      row.reported_critical_failures ?? '-',
      row.files ? row.files.map((f) => `${f.tracker_events}/${f.readable_lines}${f.complete ? '' : ' (open)'}`).join(', ') : '-',
    ]),
  );
  printChecks(result.checks);
}

await scenarioMain(import.meta.url, { child: child, run, print, rounds: 3 });
