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
// It also counts scenario 7's app (zero-code.mjs: sequential openai calls against the fake server)
// per call, plain, with only an AsyncLocalStorage enabled, with `--import agent-autopsy/register`
// and with OpenTelemetry's own openai instrumentation (otel-openai-only.mjs), where that scenario's
// latencies vary between processes by more than the 5 % it judges. Start-up and warm-up are most
// of such a run, and their count moves by ~1 % between runs; over 600 measured calls that moved a
// call's count by up to 20 %, so 1,800 are measured (after 1,800), and a difference of a few %
// still wants a second count. Then the same call without sockets (zero-code.mjs's call loop: the
// client's fetch answers in the process), with the flag and with the reference, through the SDK's
// own `create` and the instrumented one: what tracing a call costs, counted over 6,000 calls (what
// it adds moves by ~±20,000 per call between counts, bench/README.md items 27 and 28).
//
// Not part of `npm run bench`: it needs valgrind, and takes ~3 minutes on 2 cores for the hot path
// (~4 with --against, about three times as long with --cache) and ~15 more for the zero-code app:
//
//   node bench/run.mjs instructions                 the tables, written to bench/results.partial.json
//   node bench/instructions.mjs --cache             with the cache and branch simulation (hot path only)
//   node bench/instructions.mjs --against <lib.cjs> agent-autopsy rows of another build next to these
//   node bench/instructions.mjs --operations 60000   a longer measured window (to compare builds: a
//                                                   full GC moved by a change shifts 20,000 by a few %)
//   node bench/instructions.mjs --no-zero-code       the hot path only
//   node bench/instructions.mjs --zero-code-only     the zero-code app only (--zero-code-calls N to
//                                                   measure N calls, --zero-code-warmup N)
//
// The ratios are reported next to scenario 1's targets for information; the targets themselves are
// judged on CPU time by hot-path.mjs.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { argNumber, argValue, BENCH_DIR, printTable, progress, removeDir, REPO_DIR, round, runChild, scenarioMain, tempDir } from './common.mjs';
import { APP_NODE_ARGS } from './zero-code.mjs';

const HOT_PATH = join(BENCH_DIR, 'hot-path.mjs');
const ZERO_CODE = join(BENCH_DIR, 'zero-code.mjs');
/** V8 without background threads or randomness: the same build gives the same count every run. */
const DETERMINISTIC_V8 = ['--predictable', '--random-seed=7', '--hash-seed=7'];
const VARIANTS = ['autopsy:task', 'otel:task', 'autopsy:llm', 'otel:llm', 'pino:default'];

export function valgrindAvailable() {
  const probe = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
}

/** Totals of one valgrind run of a bench child (`args` to node after `nodeArgs`): `{ Ir, I1mr, D1mr, D1mw, Bcm, Bim, … }`. */
async function countChild(args, { cache = false, nodeArgs = [], env = {} } = {}) {
  const dir = tempDir('instructions');
  const out = join(dir, 'cachegrind.out');
  try {
    const tool = ['--tool=cachegrind', `--cache-sim=${cache ? 'yes' : 'no'}`, `--branch-sim=${cache ? 'yes' : 'no'}`, `--cachegrind-out-file=${out}`];
    await runChild(args, {
      wrapper: ['valgrind', ...tool],
      nodeArgs: [...DETERMINISTIC_V8, ...nodeArgs],
      env,
      timeoutMs: 3_600_000,
    });
    return cachegrindTotals(readFileSync(out, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Totals of one valgrind run of a hot-path child. */
function countOnce(variant, count, { warmup, cache, library }) {
  return countChild([HOT_PATH, '--child', variant, '--warmup', String(warmup), '--count', String(count), '--segments', '1'], {
    cache,
    env: library ? { AUTOPSY_BENCH_LIB: library } : {},
  });
}

/**
 * Instructions per openai call of zero-code.mjs's app (sequential `chat.completions.create` against
 * the fake server in this process), plain, with only an AsyncLocalStorage enabled, with
 * `--import agent-autopsy/register` and with the reference: scenario 7 in counts, where its
 * latencies vary between processes by more than the 5 % it judges. The app warms up for `warmup`
 * calls first: V8 keeps optimizing the client for the first thousand calls or so (per call ~5.6 M
 * instructions over calls 500–700, ~1.9 M after 1,800).
 */
function zeroCodePerCall(variant, { baseURL, warmup, counts }) {
  return perCallCount([ZERO_CODE, '--child', 'app', '--base-url', baseURL, '--warmup', String(warmup)], variant, counts);
}

/**
 * Instructions per call of zero-code.mjs's call loop (an in-process fetch), through the SDK's own
 * or the instrumented create, with the flag or with the reference (OpenTelemetry's own openai
 * instrumentation on a bare SDK, otel-openai-only.mjs).
 */
function zeroCodeLoopPerCall(variant, create, { warmup, counts }) {
  return perCallCount([ZERO_CODE, '--child', 'loop', '--create', create, '--warmup', String(warmup)], variant, counts);
}

/** Two counts of a zero-code.mjs child that differ only in `--calls`: their difference per call. */
async function perCallCount(childArgs, variant, counts) {
  // One run directory per process: two live runs in one directory would make the second record elsewhere.
  const runDirs = counts.map(() => tempDir('instructions-zero-code'));
  try {
    const totals = await Promise.all(
      counts.map((calls, i) => countChild([...childArgs, '--calls', String(calls)], { nodeArgs: APP_NODE_ARGS[variant], env: { AGENT_AUTOPSY_DIR: runDirs[i] } })),
    );
    return (totals[1].Ir - totals[0].Ir) / (counts[1] - counts[0]);
  } finally {
    for (const dir of runDirs) removeDir(dir);
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
  const zeroCodeOnly = process.argv.includes('--zero-code-only');
  const rows = {};
  const runs = zeroCodeOnly ? [] : [...VARIANTS.map((variant) => [variant, variant, undefined]), ...(against ? ['autopsy:task', 'autopsy:llm'].map((variant) => [`${variant} (${against})`, variant, resolve(against)]) : [])];
  for (const [label, variant, library] of runs) {
    progress(`instructions: ${label}`);
    rows[label] = await perOperation(variant, { ...options, library });
  }
  const ratio = (a, b, field = 'Ir') => round(a[field] / b[field], 3);
  const perKind = (zeroCodeOnly ? [] : ['task', 'llm']).map((kind) => {
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
  // The cache simulation is for the hot path: the zero-code app would take an hour under it.
  const zeroCode = process.argv.includes('--no-zero-code') || cache ? undefined : await zeroCodeCounts(quick);
  return {
    scenario: 'instructions',
    description: 'hot-path children under valgrind (cachegrind), V8 deterministic: user-space instructions per operation',
    valgrind: version,
    cache_simulation: cache,
    warmup,
    operations: measured,
    per_operation: Object.fromEntries(Object.entries(rows).map(([label, counts]) => [label, Object.fromEntries(Object.entries(counts).map(([name, value]) => [name, Math.round(value)]))])),
    ratios: perKind,
    ...(zeroCode ? { zero_code: zeroCode } : {}),
    // Informational: scenario 1's targets are judged on CPU time (hot-path.mjs).
    checks: [],
  };
}

/** Scenario 7's app counted per call in each of its variants (zeroCodePerCall), one variant after another. */
async function zeroCodeCounts(quick) {
  const warmup = argNumber('zero-code-warmup', quick ? 300 : 1_500);
  const measured = argNumber('zero-code-calls', quick ? 200 : 1_800);
  const counts = [300, 300 + measured];
  const { startFakeLlmServer } = await import('../examples/fake-llm-server.mjs');
  const server = await startFakeLlmServer();
  try {
    const perCall = {};
    for (const variant of Object.keys(APP_NODE_ARGS)) {
      progress(`instructions: zero-code ${variant}`);
      perCall[variant] = await zeroCodePerCall(variant, { baseURL: server.baseURL, warmup, counts });
    }
    const added = (variant) => round((perCall[variant] - perCall.plain) / perCall.plain, 4);
    // The same call without sockets, with the flag, through the SDK's own create and the instrumented one.
    const loopWarmup = argNumber('zero-code-warmup', quick ? 300 : 2_000);
    const loopMeasured = quick ? 1_000 : 6_000;
    const loop = {};
    const reference = {};
    for (const create of ['original', 'instrumented']) {
      progress(`instructions: zero-code call loop, ${create} create`);
      loop[create] = await zeroCodeLoopPerCall('register', create, { warmup: loopWarmup, counts: [500, 500 + loopMeasured] });
    }
    for (const create of ['original', 'instrumented']) {
      progress(`instructions: zero-code call loop, OpenTelemetry's openai instrumentation, ${create} create`);
      reference[create] = await zeroCodeLoopPerCall('otel-openai', create, { warmup: loopWarmup, counts: [500, 500 + loopMeasured] });
    }
    return {
      warmup_calls: warmup,
      measured_calls: measured,
      instructions_per_call: Object.fromEntries(Object.entries(perCall).map(([variant, value]) => [variant, Math.round(value)])),
      register_added_fraction: added('register'),
      async_context_added_fraction: added('async-context'),
      in_process_fetch: {
        warmup_calls: loopWarmup,
        measured_calls: loopMeasured,
        instructions_per_call: { original: Math.round(loop.original), instrumented: Math.round(loop.instrumented) },
        added_instructions_per_call: Math.round(loop.instrumented - loop.original),
        // Against the call over HTTP (the plain app above): what the 5 % of scenario 7 is a share of.
        added_fraction_of_http_call: round((loop.instrumented - loop.original) / perCall.plain, 4),
        // The same loop under OpenTelemetry's own openai instrumentation on a bare SDK (item 28).
        otel_openai: {
          instructions_per_call: { original: Math.round(reference.original), instrumented: Math.round(reference.instrumented) },
          added_instructions_per_call: Math.round(reference.instrumented - reference.original),
          added_fraction_of_http_call: round((reference.instrumented - reference.original) / perCall.plain, 4),
        },
      },
    };
  } finally {
    await server.close();
  }
}

export function print(result) {
  if (result.skipped) {
    console.log(`\nInstruction counts — skipped: ${result.skipped}`);
    return;
  }
  if (result.ratios.length > 0) printTables(result);
  printZeroCode(result.zero_code);
}

function printTables(result) {
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

function printZeroCode(zeroCode) {
  if (!zeroCode) return;
  const plain = zeroCode.instructions_per_call.plain;
  printTable(
    `Zero-code app (scenario 7), instructions per openai call — ${zeroCode.measured_calls} calls after ${zeroCode.warmup_calls + 300} (for information; scenario 7's target is on latency)`,
    ['app', 'instructions per call', 'added ÷ plain'],
    Object.entries(zeroCode.instructions_per_call).map(([variant, value]) => [variant, value, variant === 'plain' ? '' : round((value - plain) / plain, 4)]),
  );
  const loop = zeroCode.in_process_fetch;
  printTable(
    `The same call with an in-process fetch (no sockets) — ${loop.measured_calls} calls after ${loop.warmup_calls + 500}: tracing a call adds ${loop.added_instructions_per_call.toLocaleString('en-US')} instructions with agent-autopsy (${round(loop.added_fraction_of_http_call * 100, 2)}% of the plain call over HTTP), ${loop.otel_openai.added_instructions_per_call.toLocaleString('en-US')} with OpenTelemetry's own openai instrumentation on a bare SDK (${round(loop.otel_openai.added_fraction_of_http_call * 100, 2)}%)`,
    ['process', 'create', 'instructions per call'],
    [
      ...Object.entries(loop.instructions_per_call).map(([create, value]) => ['--import agent-autopsy/register', create === 'original' ? "the SDK's own" : 'instrumented', value]),
      ...Object.entries(loop.otel_openai.instructions_per_call).map(([create, value]) => ['--import ./bench/otel-openai-only.mjs', create === 'original' ? "the SDK's own" : 'instrumented', value]),
    ],
  );
}

await scenarioMain(import.meta.url, { child: () => Promise.reject(new Error('instructions.mjs has no children of its own')), run, print, rounds: 1 });
