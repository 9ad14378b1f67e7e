// Scenario 5 — offline analysis: `agent-autopsy report` over a 1,000,000-event tracker JSON.
//
// The log is recorded first by the library itself (the agent-shaped workload of
// bench/workload.mjs, in a child process that is not timed). Then the built CLI (dist/cli.cjs) runs
// `report <file> --format json --out <file>` in fresh processes; wall time is from spawn to exit
// (Node's start-up included) and peak RSS comes from the process itself (bench/maxrss.cjs).
// Side by side in the same run: the CLI over a 100,000-event log (flat memory: the peak should not
// grow with the log), the naive reader — JSON.parse of the whole file, then a loop over the
// events — and the floor of any line reader — JSON.parse of each line, no analysis — on the same
// 1,000,000-event file.
// Target (issue 7): ≥ 500,000 events/s with flat memory.

import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { join } from 'node:path';
import {
  argNumber,
  argValue,
  check,
  cliPath,
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
const MAXRSS = join(new URL('.', import.meta.url).pathname, 'maxrss.cjs');

/** Child: records a run of `events` events into `dir`. */
async function record(dir, events) {
  const lib = await loadLibrary();
  lib.init({ outputDir: dir, handleExit: false, reportFormats: [] });
  const recorded = await runWorkload(lib, Math.max(1, Math.round(events / EVENTS_PER_STAGE)));
  await lib.shutdown();
  sendResult({ events: recorded });
}

/**
 * Child: the floor of a line reader — read the file and JSON.parse every event line, nothing else.
 * `linesPerParse` 1: each line alone; 64: runs of 64 lines as one JSON array, as the CLI's reader
 * does (bench/README.md, item 22).
 */
function parseOnly(file, linesPerParse) {
  const fd = openSync(file, 'r');
  const buffer = Buffer.allocUnsafe(1 << 16);
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let events = 0;
  for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) {
    const text = carry + decoder.write(buffer.subarray(0, n));
    let start = 0;
    let runStart = -1;
    let runLines = 0;
    let runEnd = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      const comma = text.charCodeAt(end - 1) === 44;
      const event = text.charCodeAt(start) === 123 && text.charCodeAt(start + 1) === 34 && text.charCodeAt(start + 2) === 116;
      if (event && comma && linesPerParse > 1) {
        if (runStart === -1) runStart = start;
        runEnd = end - 1;
        if (++runLines === linesPerParse) {
          events += JSON.parse(`[${text.slice(runStart, runEnd)}]`).length;
          runStart = -1;
          runLines = 0;
        }
      } else if (event) {
        JSON.parse(text.slice(start, comma ? end - 1 : end));
        events++;
      }
      start = end + 1;
    }
    if (runLines > 0) events += JSON.parse(`[${text.slice(runStart, runEnd)}]`).length;
    carry = text.slice(start);
  }
  closeSync(fd);
  return events;
}

/** Child: what a reader without streaming does. */
function naive(file) {
  const document = JSON.parse(readFileSync(file, 'utf8'));
  let errors = 0;
  for (const event of document.events) if (event.level === 'ERROR') errors++;
  return { events: document.events.length, errors };
}

async function timedChild(args, nodeArgs) {
  const started = performance.now();
  const result = await runChild(args, { nodeArgs });
  return { ...result, wall_ms: performance.now() - started };
}

export async function run({ rounds = 3, quick = false } = {}) {
  const full = quick ? 200_000 : 1_000_000;
  const small = full / 10;
  const dir = tempDir('report');
  try {
    const files = {};
    for (const size of [full, small]) {
      progress(`report: recording a ${size.toLocaleString('en-US')}-event run (not timed)`);
      const runDir = join(dir, `run-${size}`);
      await runChild([SCRIPT, '--child', 'record', '--dir', runDir, '--events', String(size)]);
      files[size] = join(runDir, 'Memory', 'logs', 'execution_tracker.json');
    }
    const out = join(dir, 'report.json');
    const plans = {
      [`cli-${full}`]: () => timedChild([cliPath(), 'report', files[full], '--format', 'json', '--out', out, '--no-progress'], ['--require', MAXRSS]),
      [`cli-${small}`]: () => timedChild([cliPath(), 'report', files[small], '--format', 'json', '--out', out, '--no-progress'], ['--require', MAXRSS]),
      [`naive-${full}`]: () => timedChild([SCRIPT, '--child', 'naive', '--file', files[full]], ['--require', MAXRSS]),
      [`parse-only-${full}`]: () => timedChild([SCRIPT, '--child', 'parse-only', '--file', files[full]], ['--require', MAXRSS]),
      [`parse-batched-${full}`]: () => timedChild([SCRIPT, '--child', 'parse-batched', '--file', files[full]], ['--require', MAXRSS]),
    };
    const results = await interleave(rounds, Object.keys(plans), (name) => plans[name](), (name, round) => progress(`report: ${name} (round ${round + 1}/${rounds})`));
    const report = JSON.parse(readFileSync(out, 'utf8'));
    const rows = Object.keys(plans).map((name) => {
      const events = name.startsWith('cli-') ? Number(name.slice(4)) : full;
      const wall = median(results[name].map((r) => r.wall_ms));
      return {
        reader: name,
        events,
        wall_ms: round(wall, 0),
        events_per_second: Math.round(events / (wall / 1000)),
        max_rss_mb: round(median(results[name].map((r) => r.max_rss_mb)), 1),
      };
    });
    const [big, little, whole, floor, batchedFloor] = rows;
    const checks = [
      check(`agent-autopsy report over ${full.toLocaleString('en-US')} events, events/s (wall, Node start-up included)`, big.events_per_second, '>=', 500_000),
      check(`peak RSS over ${full.toLocaleString('en-US')} events ÷ over ${small.toLocaleString('en-US')} events (flat memory)`, big.max_rss_mb / little.max_rss_mb, '<', 1.25),
      { target: 'the report counts every event of the log', value: report.run?.total_events, pass: report.run?.total_events === small },
    ];
    return {
      scenario: 'report-cli',
      description: 'agent-autopsy report (dist/cli.cjs) over a recorded tracker JSON; the naive whole-file JSON.parse alongside',
      rounds,
      rows,
      speed_vs_naive: round(big.events_per_second / whole.events_per_second, 2),
      speed_vs_parse_only: round(big.events_per_second / floor.events_per_second, 2),
      speed_vs_parse_batched: round(big.events_per_second / batchedFloor.events_per_second, 2),
      memory_vs_naive: round(big.max_rss_mb / whole.max_rss_mb, 3),
      checks,
    };
  } finally {
    removeDir(dir);
  }
}

export function print(result) {
  printTable(
    `agent-autopsy report — median of ${result.rounds} processes; speed ÷ naive JSON.parse = ${result.speed_vs_naive}, ÷ JSON.parse of each line alone = ${result.speed_vs_parse_only}, ÷ of 64 lines at a time = ${result.speed_vs_parse_batched}; peak RSS ÷ naive = ${result.memory_vs_naive}`,
    ['reader', 'events', 'wall ms', 'events/s', 'peak RSS MB'],
    result.rows.map((row) => [row.reader, row.events, row.wall_ms, row.events_per_second, row.max_rss_mb]),
  );
  printChecks(result.checks);
}

await scenarioMain(import.meta.url, { child: (mode) => (mode === 'record' ? record(argValue('dir'), argNumber('events', 1_000_000)) : mode === 'naive' ? naive(argValue('file')) : parseOnly(argValue('file'), mode === 'parse-batched' ? 64 : 1)), run, print, rounds: 3 });
