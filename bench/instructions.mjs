// Instruction counts — the hot path of scenario 1 measured with valgrind instead of a clock.
//
// On a shared machine the same child process takes anywhere from 1× to 2× its best CPU time from
// one minute to the next, which hides any change under ~10 %. Counting instructions varies far
// less: valgrind runs the hot-path children of hot-path.mjs (agent-autopsy, bare OpenTelemetry,
// pino) on a simulated CPU, with V8 made deterministic (`--predictable`, fixed random and hash
// seeds). Two runs of the same build still differ by up to ~4 %: the children's timers (log
// flush, queue drain) and V8's heap sizing follow valgrind's speed (bench/README.md item 25). The cost of one operation is
// the difference between two runs that differ only in the number of operations measured after the
// same warm-up, divided by that difference (start-up, warm-up and shutdown cancel out).
//
// What it counts is user-space work: the kernel's side of write() is not in it (pino makes one
// write per line, agent-autopsy one per 64 KiB), and neither is what a cycle costs. With `--cache`
// valgrind also simulates the caches and the branch predictor (slower, about 3×): instruction-cache
// misses, data-cache misses and mispredicted branches, which is where agent-autopsy's instructions
// cost more than OpenTelemetry's and pino's (bench/README.md item 15).
//
// Not part of `npm run bench`: it needs valgrind, and takes ~3 minutes on 2 cores (~4 with --against,
// about three times as long with --cache):
//
//   node bench/run.mjs instructions                 the table, written to bench/results.partial.json
//   node bench/instructions.mjs --cache             with the cache and branch simulation
//   node bench/instructions.mjs --against <lib.cjs> agent-autopsy rows of another build next to these
//   node bench/instructions.mjs --operations 60000   a longer measured window (to compare builds: a
//                                                   full GC moved by a change shifts 20,000 by a few %)
//
// The ratios are reported next to scenario 1's targets for information; the targets themselves are
// judged on CPU time by hot-path.mjs.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { argNumber, argValue, BENCH_DIR, printTable, progress, REPO_DIR, round, runChild, scenarioMain, tempDir } from './common.mjs';

const HOT_PATH = join(BENCH_DIR, 'hot-path.mjs');
/** V8 without background threads or randomness: the same build gives the same count every run. */
const DETERMINISTIC_V8 = ['--predictable', '--random-seed=7', '--hash-seed=7'];
const VARIANTS = ['autopsy:task', 'otel:task', 'autopsy:llm', 'otel:llm', 'pino:default'];

export function valgrindAvailable() {
  const probe = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
}

/** Totals of one valgrind run of a hot-path child: `{ Ir, I1mr, D1mr, D1mw, Bcm, Bim, … }`. */
async function countOnce(variant, count, { warmup, cache, library }) {
  const dir = tempDir('instructions');
  const out = join(dir, 'cachegrind.out');
  try {
    const tool = ['--tool=cachegrind', `--cache-sim=${cache ? 'yes' : 'no'}`, `--branch-sim=${cache ? 'yes' : 'no'}`, `--cachegrind-out-file=${out}`];
    await runChild([HOT_PATH, '--child', variant, '--warmup', String(warmup), '--count', String(count), '--segments', '1'], {
      wrapper: ['valgrind', ...tool],
      nodeArgs: DETERMINISTIC_V8,
      env: library ? { AUTOPSY_BENCH_LIB: library } : {},
      timeoutMs: 3_600_000,
    });
    return cachegrindTotals(readFileSync(out, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The `events:` and `summary:` lines of a cachegrind output file, as a record. */
export function cachegrindTotals(text) {
  const events = /^events: (.+)$/m.exec(text)?.[1].trim().split(/\s+/);
  const summary = /^summary: (.+)$/m.exec(text)?.[1].trim().split(/\s+/).map(Number);
  if (!events || !summary || events.length !== summary.length) throw new Error('no totals in the cachegrind output');
  return Object.fromEntries(events.map((name, i) => [name, summary[i]]));
}

/** Per-operation counts of one variant: two runs, `counts[1] - counts[0]` operations apart, both at once. */
async function perOperation(variant, options) {
  const [small, large] = await Promise.all(options.counts.map((count) => countOnce(variant, count, options)));
  const operations = options.counts[1] - options.counts[0];
  return Object.fromEntries(Object.keys(large).map((name) => [name, (large[name] - small[name]) / operations]));
}

export async function run({ quick = false } = {}) {
  const version = valgrindAvailable();
  if (!version) return { scenario: 'instructions', skipped: 'valgrind is not installed (Debian: apt-get install valgrind)', rows: [], checks: [] };
  if (!process.env.AUTOPSY_BENCH_LIB && !existsSync(join(REPO_DIR, 'dist', 'index.cjs'))) throw new Error('dist/ is missing: run `npm run build` first');
  const cache = process.argv.includes('--cache');
  const against = argValue('against', undefined);
  const warmup = argNumber('warmup', quick ? 5_000 : 20_000);
  const measured = argNumber('operations', quick ? 5_000 : 20_000);
  const options = { warmup, cache, counts: [2_000, 2_000 + measured] };
  const rows = {};
  const runs = [...VARIANTS.map((variant) => [variant, variant, undefined]), ...(against ? ['autopsy:task', 'autopsy:llm'].map((variant) => [`${variant} (${against})`, variant, resolve(against)]) : [])];
  for (const [label, variant, library] of runs) {
    progress(`instructions: ${label}`);
    rows[label] = await perOperation(variant, { ...options, library });
  }
  const ratio = (a, b, field = 'Ir') => round(a[field] / b[field], 3);
  const perKind = ['task', 'llm'].map((kind) => {
    const ours = rows[`autopsy:${kind}`];
    const otel = rows[`otel:${kind}`];
    return {
      kind,
      instructions_per_span: Math.round(ours.Ir),
      otel_instructions_per_span: Math.round(otel.Ir),
      span_vs_otel: ratio(ours, otel),
      event_vs_pino_line: round(ours.Ir / 2 / rows['pino:default'].Ir, 3),
    };
  });
  return {
    scenario: 'instructions',
    description: 'hot-path children under valgrind (cachegrind), V8 deterministic: user-space instructions per operation',
    valgrind: version,
    cache_simulation: cache,
    warmup,
    operations: measured,
    per_operation: Object.fromEntries(Object.entries(rows).map(([label, counts]) => [label, Object.fromEntries(Object.entries(counts).map(([name, value]) => [name, Math.round(value)]))])),
    ratios: perKind,
    // Informational: scenario 1's targets are judged on CPU time (hot-path.mjs).
    checks: [],
  };
}

export function print(result) {
  if (result.skipped) {
    console.log(`\nInstruction counts — skipped: ${result.skipped}`);
    return;
  }
  const fields = result.cache_simulation ? ['Ir', 'I1mr', 'D1mr', 'D1mw', 'Bcm', 'Bim'] : ['Ir'];
  const names = { Ir: 'instructions', I1mr: 'I-cache misses', D1mr: 'D-cache read misses', D1mw: 'D-cache write misses', Bcm: 'mispredicted branches', Bim: 'mispredicted indirect' };
  printTable(
    `Instruction counts per operation (span, or pino line) — ${result.valgrind}, ${result.operations} operations after ${result.warmup} of warm-up`,
    ['variant', ...fields.map((field) => names[field])],
    Object.entries(result.per_operation).map(([label, counts]) => [label, ...fields.map((field) => counts[field])]),
  );
  printTable(
    'Ratios by instructions (for information; the targets are judged on CPU time in scenario 1)',
    ['span', 'instructions', 'bare OpenTelemetry', 'span ÷ OTel (target ≤ 2 by CPU)', 'event ÷ pino line (target ≤ 1 by CPU)'],
    result.ratios.map((row) => [row.kind, row.instructions_per_span, row.otel_instructions_per_span, row.span_vs_otel, row.event_vs_pino_line]),
  );
}

await scenarioMain(import.meta.url, { child: () => Promise.reject(new Error('instructions.mjs has no children of its own')), run, print, rounds: 1 });
