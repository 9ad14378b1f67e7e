// Shared helpers of the benchmarks: child processes, timing, medians, tables, machine info.
//
// Every measurement runs in a child process (`node bench/<scenario>.mjs --child <variant>`), and
// the variants a ratio compares are run interleaved, round after round, in the same `npm run
// bench`: on a shared, noisy machine both sides of a ratio see the same conditions. Fresh children
// per round (interleave) for whole-run figures; long-lived children measured segment by segment
// (pairedRounds) where a ratio of per-operation costs is wanted.

import { fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_DIR = resolve(BENCH_DIR, '..');
const RESULT_PREFIX = '@@bench-result ';

/** The library under test: the built package (`npm run build` first), or AUTOPSY_BENCH_LIB. */
export async function loadLibrary() {
  const target = process.env.AUTOPSY_BENCH_LIB ? pathToFileURL(resolve(process.env.AUTOPSY_BENCH_LIB)).href : 'agent-autopsy';
  const mod = await import(target);
  return mod.default && !mod.init ? mod.default : mod;
}

export async function loadAnalyzers() {
  const target = process.env.AUTOPSY_BENCH_ANALYZERS ? pathToFileURL(resolve(process.env.AUTOPSY_BENCH_ANALYZERS)).href : 'agent-autopsy/analyzers';
  const mod = await import(target);
  return mod.default && !mod.readTruthLogSync ? mod.default : mod;
}

/** dist/cli.cjs, or AUTOPSY_BENCH_CLI. */
export function cliPath() {
  return resolve(process.env.AUTOPSY_BENCH_CLI ?? join(REPO_DIR, 'dist', 'cli.cjs'));
}

export function tempDir(label) {
  return mkdtempSync(join(os.tmpdir(), `autopsy-bench-${label}-`));
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/** True when `metaUrl` is the script node was started with. */
export function isMain(metaUrl) {
  return process.argv[1] !== undefined && metaUrl === pathToFileURL(resolve(process.argv[1])).href;
}

/** `--name value` from argv. */
export function argValue(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && index + 1 < process.argv.length ? process.argv[index + 1] : fallback;
}

export function argNumber(name, fallback) {
  const value = Number(argValue(name, undefined));
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

/** Child side: hands the measurement to the parent. */
export function sendResult(result) {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

/**
 * Runs one measurement in a fresh Node process and resolves to what it sent with sendResult().
 * `args` go to node (script first); rejects when the child fails or sends nothing.
 */
export function runChild(args, { env = {}, cwd = REPO_DIR, nodeArgs = [], timeoutMs = 600_000, wrapper = [] } = {}) {
  // `wrapper` runs node under another program (valgrind in instructions.mjs).
  const [command, ...commandArgs] = [...wrapper, process.execPath, ...nodeArgs, ...args];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, commandArgs, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((text) => text.startsWith(RESULT_PREFIX));
      if (code !== 0 || !line) {
        reject(new Error(`child ${args.join(' ')} ended with ${signal ?? code}${line ? '' : ' without a result'}\n${stderr.slice(-2000)}`));
        return;
      }
      resolvePromise(JSON.parse(line.slice(RESULT_PREFIX.length)));
    });
  });
}

/**
 * Runs every variant `rounds` times, interleaved (a, b, c, a, b, c, …), each in a fresh child, and
 * returns `{ [variant]: [result, …] }`.
 */
export async function interleave(rounds, variants, runOne, onProgress) {
  const results = Object.fromEntries(variants.map((variant) => [variant, []]));
  for (let round = 0; round < rounds; round++) {
    for (const variant of variants) {
      results[variant].push(await runOne(variant, round));
      onProgress?.(variant, round);
    }
  }
  return results;
}

export function median(values) {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The first and third quartile of per-round values (ratios, fractions): how much one round varies. */
export function quartiles(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return [round(at(0.25), 3), round(at(0.75), 3)];
}

/** Median of one field over a list of child results. */
export function medianOf(results, field) {
  return median(results.map((result) => result[field]));
}

/** CPU time (user + system, all threads of this process) and wall time of a block, in µs. */
export function startClock() {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  return () => {
    const used = process.cpuUsage(cpu);
    return { cpuUs: used.user + used.system, wallUs: (performance.now() - wall) * 1000 };
  };
}

/**
 * Times `segments` runs of `op(count)` after a warm-up and returns the median cost per operation
 * (µs of CPU and of wall time). `op` may return a promise.
 */
export async function timeSegments(op, { warmup, count, segments }) {
  await op(warmup);
  const cpu = [];
  const wall = [];
  for (let i = 0; i < segments; i++) {
    const stop = startClock();
    await op(count);
    const { cpuUs, wallUs } = stop();
    cpu.push(cpuUs / count);
    wall.push(wallUs / count);
  }
  return { cpuUsPerOp: median(cpu), wallUsPerOp: median(wall), cpuUsPerOpMin: Math.min(...cpu), segments: cpu.length, countPerSegment: count };
}

/**
 * Child side of pairedRounds(): once set up, the child runs `op` as the parent asks, one segment at
 * a time, and answers with its cost per operation; it resolves when the parent says stop. A segment
 * first runs `leadIn` operations unmeasured: whatever the previous segment left to background
 * threads (GC, the compiler) then lands in this segment's clock, as it would in a longer run.
 */
export function serveSegments(op) {
  return new Promise((resolvePromise) => {
    const onMessage = async (message) => {
      if (message.stop) {
        process.off('message', onMessage);
        process.disconnect();
        resolvePromise();
        return;
      }
      if (message.leadIn > 0) await op(message.leadIn);
      const stop = startClock();
      await op(message.count);
      const { cpuUs, wallUs } = stop();
      process.send({ cpuUsPerOp: cpuUs / message.count, wallUsPerOp: wallUs / message.count });
    };
    process.on('message', onMessage);
    process.send({ ready: true });
  });
}

/** A child's measurement: served segment by segment under pairedRounds(), else timeSegments(). */
export function measureSegments(op, plan) {
  return process.argv.includes('--serve') ? serveSegments(op) : timeSegments(op, plan);
}

/**
 * Measures every variant in its own long-lived child (`script --child <variant> --serve`), in
 * rounds: each round runs one segment of `count` operations in each child, one child at a time, in
 * a shuffled order. The variants a ratio compares are then measured within a second of each other:
 * on this machine the same code runs up to twice as slow for seconds at a time (other tenants of the
 * host, bench/README.md item 25), which a ratio of two separate processes would take for a
 * difference between them. Every child first runs `warmup` operations, one child at a time.
 * Resolves to `{ [variant]: [{ cpuUsPerOp, wallUsPerOp }, …] }`, one entry per round. A child that
 * is not ready within `readyTimeoutMs` (default `replyTimeoutMs`), or sends nothing for
 * `replyTimeoutMs` during a segment, fails the run, naming it (the first in `variants` where several
 * fail), and every child is killed: a hung child never hangs the bench.
 */
export async function pairedRounds({ script, variants, rounds, warmup, count, leadIn = Math.ceil(count / 5), onProgress, seed = 7, replyTimeoutMs = 600_000, readyTimeoutMs = replyTimeoutMs }) {
  const children = new Map();
  try {
    // Every start is awaited, failed or not, so that `finally` sees (and kills) every child started.
    const started = await Promise.allSettled(variants.map(async (variant) => children.set(variant, await startServer(script, variant, replyTimeoutMs, readyTimeoutMs))));
    const failed = started.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    for (const variant of variants) await children.get(variant).segment({ count: warmup, leadIn: 0 });
    const results = Object.fromEntries(variants.map((variant) => [variant, []]));
    const random = seededRandom(seed);
    for (let round = 0; round < rounds; round++) {
      for (const variant of shuffled(variants, random)) results[variant].push(await children.get(variant).segment({ count, leadIn }));
      onProgress?.(round);
    }
    await Promise.all([...children.values()].map((child) => child.stop()));
    return results;
  } finally {
    for (const child of children.values()) child.kill();
  }
}

const STUCK = Symbol('stuck');

function startServer(script, variant, replyTimeoutMs, readyTimeoutMs) {
  const child = fork(script, ['--child', variant, '--serve'], { cwd: REPO_DIR, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  let waiting;
  const failure = () => new Error(`child ${variant} ended with ${child.signalCode ?? child.exitCode} during a measurement\n${stderr}`);
  const exited = new Promise((resolveExit) => child.on('exit', resolveExit));
  exited.then(() => waiting?.reject(failure()));
  child.on('message', (message) => waiting?.resolve(message));
  const next = (what, timeoutMs = replyTimeoutMs) =>
    new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        waiting = undefined;
        reject(new Error(`child ${variant} sent nothing for ${timeoutMs / 1000} s ${what}\n${stderr}`));
      }, timeoutMs);
      waiting = {
        resolve: (message) => {
          clearTimeout(timer);
          waiting = undefined;
          resolvePromise(message);
        },
        reject: (error) => {
          clearTimeout(timer);
          waiting = undefined;
          reject(error);
        },
      };
    });
  const server = {
    segment: (request) => {
      const reply = next(`during a segment of ${request.count} operations`);
      child.send(request);
      return reply;
    },
    stop: async () => {
      waiting = undefined;
      child.send({ stop: true });
      let timer;
      const stuck = new Promise((resolveStuck) => {
        timer = setTimeout(() => resolveStuck(STUCK), replyTimeoutMs);
      });
      const code = await Promise.race([exited, stuck]);
      clearTimeout(timer);
      if (code === STUCK) throw new Error(`child ${variant} did not exit within ${replyTimeoutMs / 1000} s of being told to stop\n${stderr}`);
      if (code !== 0) throw new Error(`child ${variant} ended with ${child.signalCode ?? code} after its measurements\n${stderr}`);
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
  // A child that never got ready is not in pairedRounds' list of children to kill: kill it here.
  return next('before it was ready', readyTimeoutMs).then(
    () => server,
    (error) => {
      server.kill();
      throw error;
    },
  );
}

/** Mulberry32: the same shuffles in every run. */
function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled(values, random) {
  const copy = [...values];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

/** The hot path's loops of `n` spans of each kind through the API (hot-path.mjs, old-generation.mjs). */
export function spanLoops(lib) {
  return {
    stage: (n) => {
      for (let i = 0; i < n; i++) lib.stage('plan', () => i);
    },
    task: (n) => {
      for (let i = 0; i < n; i++) lib.task('work', () => i);
    },
    llm: (n) => {
      for (let i = 0; i < n; i++) {
        lib.llmCall({ model: 'gpt-4o', provider: 'openai' }, (call) => {
          call.setUsage({ inputTokens: 10, outputTokens: 20 });
          return i;
        });
      }
    },
  };
}

export function yieldToLoop() {
  return new Promise((done) => setImmediate(done));
}

export function rssMb() {
  return process.memoryUsage.rss() / (1024 * 1024);
}

export function machineInfo() {
  const cpus = os.cpus();
  return {
    cpu_model: cpus[0]?.model ?? 'unknown',
    cpus: cpus.length,
    total_memory_gb: Math.round(os.totalmem() / 1024 ** 3),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    load_average_at_start: os.loadavg().map((value) => Math.round(value * 100) / 100),
  };
}

export function round(value, digits = 2) {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** A target check: `{ target, value, pass }` printed as PASS / MISS. */
export function check(description, value, comparison, limit) {
  const pass = comparison === '<=' ? value <= limit : comparison === '<' ? value < limit : comparison === '>=' ? value >= limit : value > limit;
  return { target: `${description} ${comparison} ${limit}`, value: round(value, 3), pass };
}

/** Prints rows (arrays of cells) as an aligned text table. */
export function printTable(title, header, rows) {
  const cells = [header, ...rows].map((row) => row.map((cell) => (typeof cell === 'number' ? formatNumber(cell) : String(cell))));
  const widths = header.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  const line = (row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ');
  console.log(`\n${title}`);
  console.log(line(cells[0]));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of cells.slice(1)) console.log(line(row));
}

export function printChecks(checks) {
  for (const item of checks) {
    const verdict = item.inconclusive ? 'N/A ' : item.pass ? 'PASS' : 'MISS';
    console.log(`  ${verdict}  ${item.target}  (measured ${item.value}${item.inconclusive ? `; inconclusive: ${item.inconclusive}` : ''})`);
  }
}

function formatNumber(value) {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** Progress on stderr (the tables go to stdout). */
export function progress(message) {
  if (process.env.AUTOPSY_BENCH_QUIET) return;
  process.stderr.write(`  … ${message}\n`);
}

/**
 * The bottom of every scenario file. `--child <variant>` runs one measurement (this process is the
 * fresh child); otherwise the whole scenario runs, prints its table and, with `--out <file>`,
 * writes its result there. `--rounds N` (or AUTOPSY_BENCH_ROUNDS) and `--quick` as in run.mjs.
 */
export async function scenarioMain(metaUrl, { child, run, print, rounds }) {
  if (!isMain(metaUrl)) return;
  const variant = argValue('child', undefined);
  if (variant) {
    await child(variant);
    return;
  }
  const result = await run({ rounds: argNumber('rounds', Number(process.env.AUTOPSY_BENCH_ROUNDS) || rounds), quick: process.argv.includes('--quick') });
  print(result);
  const out = argValue('out', undefined);
  if (out) writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
}
