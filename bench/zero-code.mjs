// Scenario 7 — zero-code overhead on the real `openai` SDK.
//
// The local fake LLM server (examples/fake-llm-server.mjs) runs in this process; an app in a fresh
// child process makes sequential chat.completions.create() calls with the official `openai` client,
// either plainly (`node app`) or with `node --import agent-autopsy/register app` (the zero-code
// path: the client is instrumented, every call becomes an llm span and two Truth-Mode events).
// Latency is timed per call in the app; the variants run interleaved, round after round.
// Afterwards the instrumented runs' logs are read: every measured call must be in them.
// The reference is OpenTelemetry's own openai instrumentation on a bare SDK, exporting nowhere
// (otel-openai-only.mjs): what tracing the call costs before anything is recorded (item 28).
// Target (issue 7): added latency per call < 5% of the uninstrumented call.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  argNumber,
  argValue,
  check,
  interleave,
  loadAnalyzers,
  median,
  printChecks,
  printTable,
  progress,
  quartiles,
  removeDir,
  REPO_DIR,
  round,
  runChild,
  scenarioMain,
  sendResult,
  tempDir,
} from './common.mjs';

const SCRIPT = new URL(import.meta.url).pathname;
const ASYNC_CONTEXT_ONLY = new URL('./async-context-only.mjs', import.meta.url).pathname;
const OTEL_OPENAI_ONLY = new URL('./otel-openai-only.mjs', import.meta.url).pathname;

/** The app's variants and how node starts each (bench/instructions.mjs counts the same ones). */
export const APP_NODE_ARGS = {
  plain: [],
  'async-context': ['--import', ASYNC_CONTEXT_ONLY],
  register: ['--import', 'agent-autopsy/register'],
  'otel-openai': ['--import', OTEL_OPENAI_ONLY],
};

async function app(baseURL) {
  const { default: OpenAI } = await import('openai');
  const client = new OpenAI({ baseURL, apiKey: 'sk-bench-local-fake-server', maxRetries: 0 });
  const call = () => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Summarize the plan in one line.' }] });
  if (argNumber('paired-rounds', 0) > 0) {
    sendResult(await inProcessPairs(OpenAI.Chat.Completions.prototype, call));
    return;
  }
  const warmup = argNumber('warmup', 100);
  const calls = argNumber('calls', 500);
  for (let i = 0; i < warmup; i++) await call();
  const latencies = [];
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await call();
    latencies.push(performance.now() - t);
  }
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  sendResult({ calls: warmup + calls, median_ms: median(latencies), mean_ms: wallMs / calls, cpu_us_per_call: (used.user + used.system) / calls });
}

/**
 * The same app with the flag, in one process: blocks of calls through the instrumented `create`
 * and through the SDK's own (the instrumentation wraps it with shimmer, which keeps it as
 * `__original`), in the order ABBA, then BAAB, round after round. A round's fraction compares
 * blocks run within a second of each other in one process, so the differences between processes
 * that make the comparison of separate processes N/A (bench/README.md item 27) drop out. What
 * it leaves out is what the flag costs a process whether or not a call is traced (the loader
 * hook, the library in memory), which item 27 counts separately.
 */
async function inProcessPairs(prototype, call) {
  const instrumented = prototype.create;
  const original = instrumented?.__original;
  if (typeof original !== 'function') throw new Error('chat.completions.create is not wrapped: run the app with --import agent-autopsy/register (or otel-openai-only.mjs)');
  const rounds = argNumber('paired-rounds', 24);
  const block = argNumber('block', 150);
  const warmup = argNumber('warmup', 1500);
  let instrumentedCalls = 0;
  const through = async (create, calls) => {
    prototype.create = create;
    if (create === instrumented) instrumentedCalls += calls;
    const latencies = [];
    const cpu = process.cpuUsage();
    for (let i = 0; i < calls; i++) {
      const started = performance.now();
      await call();
      latencies.push(performance.now() - started);
    }
    const used = process.cpuUsage(cpu);
    return { median_ms: median(latencies), cpu_us_per_call: (used.user + used.system) / calls };
  };
  try {
    // Both paths warm up alike: V8 keeps optimizing the SDK for a thousand calls and more.
    for (let i = 0; i < warmup; i += 50) await through(i % 100 === 0 ? instrumented : original, 50);
    const fractions = [];
    const addedCpu = [];
    const plainMs = [];
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? [instrumented, original, original, instrumented] : [original, instrumented, instrumented, original];
      const blocks = { instrumented: [], original: [] };
      for (const create of order) blocks[create === instrumented ? 'instrumented' : 'original'].push(await through(create, block));
      const mean = (list, field) => (list[0][field] + list[1][field]) / 2;
      const plain = mean(blocks.original, 'median_ms');
      fractions.push((mean(blocks.instrumented, 'median_ms') - plain) / plain);
      addedCpu.push(mean(blocks.instrumented, 'cpu_us_per_call') - mean(blocks.original, 'cpu_us_per_call'));
      plainMs.push(plain);
    }
    return { rounds, block, instrumented_calls: instrumentedCalls, fractions, added_cpu_us: addedCpu, plain_median_ms: median(plainMs) };
  } finally {
    prototype.create = instrumented;
  }
}

/**
 * The app's call without sockets, for bench/instructions.mjs: the client's `fetch` answers in this
 * process with a fixed chat completion, so a count holds the SDK and the instrumentation and none
 * of the network stack or the server's timing (bench/README.md item 27). `--create original`
 * calls through the SDK's own `create` (shimmer's `__original`), in a process with the flag (or
 * the reference, otel-openai-only.mjs) all the same: the difference is what tracing one call costs.
 */
async function callLoop() {
  const { default: OpenAI } = await import('openai');
  const prototype = OpenAI.Chat.Completions.prototype;
  if (argValue('create', 'instrumented') === 'original') {
    const original = prototype.create.__original;
    if (typeof original !== 'function') throw new Error('chat.completions.create is not wrapped: run the loop with --import agent-autopsy/register (or otel-openai-only.mjs)');
    prototype.create = original;
  }
  const reply = JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1764115200,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Load, clean, then summarize.' }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 12, completion_tokens: 6, total_tokens: 18 },
  });
  const fetch = async () => new Response(reply, { status: 200, headers: { 'content-type': 'application/json' } });
  const client = new OpenAI({ baseURL: 'http://127.0.0.1:9/v1', apiKey: 'sk-bench-in-process', maxRetries: 0, fetch });
  const calls = argNumber('warmup', 2_000) + argNumber('calls', 500);
  for (let i = 0; i < calls; i++) await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Summarize the plan in one line.' }] });
  sendResult({ calls });
}

async function countLlmEvents(dir) {
  const file = join(dir, 'Memory', 'logs', 'execution_tracker.json');
  if (!existsSync(file)) return { llm_call_end: 0, file: false };
  const analyzers = await loadAnalyzers();
  let ends = 0;
  analyzers.readTruthLogSync(file, (event) => {
    if (event.type === 'llm_call_end') ends++;
  });
  return { llm_call_end: ends, file: true };
}

export async function run({ rounds = 7, quick = false } = {}) {
  const register = join(REPO_DIR, 'dist', 'register.mjs');
  if (!existsSync(register)) {
    return { scenario: 'zero-code', skipped: 'dist/register.mjs does not exist (run `npx tsup`)', rows: [], checks: [] };
  }
  const { startFakeLlmServer } = await import('../examples/fake-llm-server.mjs');
  const server = await startFakeLlmServer();
  const dirs = [];
  const childArgs = quick ? ['--warmup', '30', '--calls', '150'] : [];
  try {
    const results = await interleave(
      rounds,
      Object.keys(APP_NODE_ARGS),
      async (mode) => {
        const args = [SCRIPT, '--child', 'app', '--base-url', server.baseURL, ...childArgs];
        if (mode !== 'register') return runChild(args, { nodeArgs: APP_NODE_ARGS[mode] });
        const dir = tempDir('zero-code');
        dirs.push(dir);
        const result = await runChild(args, { nodeArgs: APP_NODE_ARGS.register, env: { AGENT_AUTOPSY_DIR: dir } });
        return { ...result, ...(await countLlmEvents(dir)) };
      },
      (mode, round) => progress(`zero-code: ${mode} (round ${round + 1}/${rounds})`),
    );
    const { inProcess, reference, inProcessRecorded } = await inProcessComparison(server.baseURL, quick, dirs);
    const inProcessAdded = median(inProcess.fractions);
    const referenceAdded = median(reference.fractions);
    const APP = {
      plain: 'node app.mjs',
      'async-context': 'node --import ./bench/async-context-only.mjs app.mjs',
      register: 'node --import agent-autopsy/register app.mjs',
      'otel-openai': 'node --import ./bench/otel-openai-only.mjs app.mjs',
    };
    const summary = (mode) => ({
      mode: APP[mode],
      median_ms: round(median(results[mode].map((r) => r.median_ms)), 3),
      mean_ms: round(median(results[mode].map((r) => r.mean_ms)), 3),
      cpu_us_per_call: round(median(results[mode].map((r) => r.cpu_us_per_call)), 1),
    });
    const plain = summary('plain');
    const asyncContext = summary('async-context');
    const instrumented = summary('register');
    const otelOpenai = summary('otel-openai');
    const added = instrumented.median_ms - plain.median_ms;
    const addedByAsyncContext = asyncContext.median_ms - plain.median_ms;
    // Each round ran the variants back to back: the per-round difference is the paired estimate.
    const pairedFractions = results.register.map((r, i) => (r.median_ms - results.plain[i].median_ms) / results.plain[i].median_ms);
    // How much the same uninstrumented app varied between processes: a verdict finer than this is noise.
    const plainMedians = results.plain.map((r) => r.median_ms);
    const plainSpread = (Math.max(...plainMedians) - Math.min(...plainMedians)) / plain.median_ms;
    const resolvable = plainSpread <= 0.05;
    const pairedAdded = median(pairedFractions);
    const recorded = results.register.map((r) => r.llm_call_end);
    const expected = results.register.map((r) => r.calls);
    const complete = recorded.every((count, i) => count === expected[i]);
    return {
      scenario: 'zero-code',
      description: 'openai SDK chat.completions.create against the local fake server, with and without --import agent-autopsy/register; the reference: OpenTelemetry\'s own openai instrumentation on a bare SDK',
      rounds,
      rows: [plain, asyncContext, instrumented, otelOpenai],
      added_ms_per_call: round(added, 3),
      added_fraction: round(added / plain.median_ms, 4),
      // What an enabled AsyncLocalStorage alone adds (any OpenTelemetry context manager on Node 20),
      // and what agent-autopsy adds on top of it.
      async_context_added_ms_per_call: round(addedByAsyncContext, 3),
      beyond_async_context_ms_per_call: round(added - addedByAsyncContext, 3),
      beyond_async_context_fraction: round((added - addedByAsyncContext) / plain.median_ms, 4),
      added_cpu_us_per_call: round(instrumented.cpu_us_per_call - plain.cpu_us_per_call, 1),
      paired_added_fraction: round(pairedAdded, 4),
      paired_added_fractions: pairedFractions.map((value) => round(value, 4)),
      plain_spread_between_processes: round(plainSpread, 4),
      // Between processes the verdict is only informative when the plain app held still (≤ 5 %).
      between_processes_resolvable: resolvable,
      in_process: {
        rounds: inProcess.rounds,
        block: inProcess.block,
        plain_median_ms: round(inProcess.plain_median_ms, 3),
        added_fraction: round(inProcessAdded, 4),
        added_fraction_quartiles: quartiles(inProcess.fractions),
        added_cpu_us_per_call: round(median(inProcess.added_cpu_us), 1),
        fractions: inProcess.fractions.map((value) => round(value, 4)),
        llm_call_end_events: inProcessRecorded,
        instrumented_calls: inProcess.instrumented_calls,
        // The same blocks with OpenTelemetry's own openai instrumentation on a bare SDK (its processes
        // alternate with these): what tracing the call costs before anything is recorded.
        otel_openai: {
          plain_median_ms: round(reference.plain_median_ms, 3),
          added_fraction: round(referenceAdded, 4),
          added_fraction_quartiles: quartiles(reference.fractions),
          added_cpu_us_per_call: round(median(reference.added_cpu_us), 1),
          fractions: reference.fractions.map((value) => round(value, 4)),
        },
        // agent-autopsy's added latency over the reference's (medians of their rounds).
        added_vs_otel_openai: round(inProcessAdded / referenceAdded, 3),
      },
      llm_call_end_events: recorded,
      checks: [
        // Judged in one process (instrumented and plain blocks side by side): between processes
        // the plain app alone varies by more than 5 % (item 10), see between_processes_* above.
        check(`added latency per call ÷ uninstrumented call (one process, median of ${inProcess.rounds} rounds of paired blocks)`, inProcessAdded, '<', 0.05),
        {
          target: 'every instrumented call is an llm_call_end event in its log',
          value: `${[...recorded, inProcessRecorded].join(', ')} of ${[...expected, inProcess.instrumented_calls].join(', ')}`,
          pass: complete && inProcessRecorded === inProcess.instrumented_calls,
        },
      ],
    };
  } finally {
    await server.close();
    for (const dir of dirs) removeDir(dir);
  }
}

/**
 * The in-process comparison (inProcessPairs) with the flag and with the reference
 * (otel-openai-only.mjs), in alternating processes: flag, reference, flag, reference, each with
 * half the rounds, so both see the same minutes of this shared machine. Each flag process records
 * into a directory of its own (a second run in one directory would start its log afresh).
 */
async function inProcessComparison(baseURL, quick, dirs) {
  const rounds = quick ? 2 : 60;
  const pairedArgs = ['--paired-rounds', String(rounds), '--block', '30', '--warmup', quick ? '100' : '1500'];
  const runs = { register: [], 'otel-openai': [] };
  let recorded = 0;
  for (let half = 0; half < 2; half++) {
    for (const variant of ['register', 'otel-openai']) {
      progress(`zero-code: instrumented and plain calls in one process, ${variant} (${half + 1}/2)`);
      const dir = tempDir('zero-code-paired');
      dirs.push(dir);
      runs[variant].push(await runChild([SCRIPT, '--child', 'app', '--base-url', baseURL, ...pairedArgs], { nodeArgs: APP_NODE_ARGS[variant], env: { AGENT_AUTOPSY_DIR: dir } }));
      if (variant === 'register') recorded += (await countLlmEvents(dir)).llm_call_end;
    }
  }
  const combine = (list) => ({
    rounds: list.reduce((sum, r) => sum + r.rounds, 0),
    block: list[0].block,
    instrumented_calls: list.reduce((sum, r) => sum + r.instrumented_calls, 0),
    fractions: list.flatMap((r) => r.fractions),
    added_cpu_us: list.flatMap((r) => r.added_cpu_us),
    plain_median_ms: median(list.map((r) => r.plain_median_ms)),
  });
  return { inProcess: combine(runs.register), reference: combine(runs['otel-openai']), inProcessRecorded: recorded };
}

export function print(result) {
  if (result.skipped) {
    console.log(`\nZero-code overhead — skipped: ${result.skipped}`);
    return;
  }
  printTable(
    `Zero-code overhead — per call, median of ${result.rounds} processes; added ${result.added_ms_per_call} ms = ${round(result.added_fraction * 100, 2)}% (paired rounds: ${round(result.paired_added_fraction * 100, 2)}%; CPU +${result.added_cpu_us_per_call} µs), of which an enabled AsyncLocalStorage alone ${result.async_context_added_ms_per_call} ms; beyond it ${round(result.beyond_async_context_fraction * 100, 2)}%; the uninstrumented app varied by ${round(result.plain_spread_between_processes * 100, 1)}% between processes`,
    ['app', 'median ms/call', 'mean ms/call', 'CPU µs/call'],
    result.rows.map((row) => [row.mode, row.median_ms, row.mean_ms, row.cpu_us_per_call]),
  );
  const inProcess = result.in_process;
  console.log(
    `In one process (${inProcess.rounds} rounds of ${inProcess.block}-call blocks, instrumented and plain): plain call ${inProcess.plain_median_ms} ms, added ${percent(inProcess.added_fraction)} (rounds' quartiles ${inProcess.added_fraction_quartiles.map(percent).join(' – ')}), CPU +${inProcess.added_cpu_us_per_call} µs per call`,
  );
  const reference = inProcess.otel_openai;
  console.log(
    `The same with OpenTelemetry's own openai instrumentation on a bare SDK, exporting nowhere: added ${percent(reference.added_fraction)} (quartiles ${reference.added_fraction_quartiles.map(percent).join(' – ')}); agent-autopsy ÷ it: ${inProcess.added_vs_otel_openai}`,
  );
  printChecks(result.checks);
}

const percent = (fraction) => `${round(fraction * 100, 2)}%`;

const CHILDREN = { app: () => app(argValue('base-url')), loop: callLoop };

await scenarioMain(import.meta.url, { child: (mode) => CHILDREN[mode]?.() ?? Promise.reject(new Error(`unknown child ${mode}`)), run, print, rounds: 7 });
