import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeRun } from '../analyzers/readRun';
import type { ExitInfo, UnfinishedSpan } from '../analyzers/reportTypes';
import type { TruthEvent } from '../src/types';
import { expectCompleteRun, expectSameBehaviour, expectUnfinished, runWithBaseline, type PairResult } from './helpers/autopsyRun';
import { runNode, writeScript, type RunOptions } from './helpers/childProcess';
import { tempRunDir } from './helpers/tempDirs';

/**
 * Every way a process can end leaves a complete autopsy, and the process ends exactly as it would
 * without the library. Each case runs test/fixtures/exit/ending.mjs twice, at the same time: once
 * as a baseline without init(), once recording.
 */

function killOnReady(signal: NodeJS.Signals): RunOptions {
  return {
    onStdoutLine: (line, child) => {
      if (line === 'READY') child.kill(signal);
    },
  };
}

async function end(ending: string, options: RunOptions = {}): Promise<PairResult> {
  return runWithBaseline('ending.mjs', (dir) => [ending, dir], options);
}

const BACKGROUND = [
  { name: 'stage stage_bg', kind: 'stage', stage: 'stage_bg' },
  { name: 'chat slow-model', kind: 'llm', stage: 'stage_bg' },
];
const MAIN_STAGE = { name: 'stage stage_main', kind: 'stage', stage: 'stage_main' };

function exitOf(report: { exit: ExitInfo }): Omit<ExitInfo, 'at' | 'description' | 'error'> {
  const { reason, exit_code, signal } = report.exit;
  return { reason, exit_code, signal };
}

describe.concurrent('every ending writes a complete autopsy and keeps Node behaviour', () => {
  it('normal drain of the event loop', async () => {
    const pair = await end('drain');
    expectSameBehaviour(pair);
    expect(pair.instrumented.code).toBe(0);
    const run = expectCompleteRun(pair.dir);
    expectUnfinished(run, BACKGROUND);
    expect(exitOf(run.report)).toEqual({ reason: 'normal', exit_code: 0, signal: null });
    expect(run.events.map((event) => event.type)).toEqual([
      'stage_start',
      'llm_call_start',
      'stage_start',
      'task_start',
      'checkpoint_save',
      'task_end',
      'llm_call_start',
      'llm_call_end',
      'stage_end',
      'stage_unfinished',
      'llm_call_unfinished',
    ]);
  });

  it('shutdown() before the end', async () => {
    const pair = await end('shutdown');
    expectSameBehaviour(pair);
    const run = expectCompleteRun(pair.dir);
    expectUnfinished(run, BACKGROUND);
    expect(exitOf(run.report)).toEqual({ reason: 'shutdown', exit_code: null, signal: null });
  });

  for (const code of [0, 3]) {
    it(`process.exit(${code}) in the middle of a stage`, async () => {
      const pair = await end(`exit${code}`);
      expectSameBehaviour(pair);
      expect(pair.instrumented.code).toBe(code);
      const run = expectCompleteRun(pair.dir);
      expectUnfinished(run, [...BACKGROUND, MAIN_STAGE]);
      expect(exitOf(run.report)).toEqual({ reason: 'exit', exit_code: code, signal: null });
    });
  }

  it("process.exit('7'), a string as Node accepts it: the report's exit_code is the number 7", async () => {
    const pair = await end('exit-string');
    expectSameBehaviour(pair);
    expect(pair.instrumented.code).toBe(7);
    const run = expectCompleteRun(pair.dir);
    expect(exitOf(run.report)).toEqual({ reason: 'exit', exit_code: 7, signal: null });
  });

  it('a top-level await that never settles: Node exits with 13, and the report says so', async () => {
    const pair = await end('unsettled');
    expectSameBehaviour(pair);
    expect(pair.instrumented.code).toBe(13);
    const run = expectCompleteRun(pair.dir);
    expectUnfinished(run, [...BACKGROUND, MAIN_STAGE, { name: 'task wait_for_callback', kind: 'task', stage: 'stage_main' }]);
    expect(exitOf(run.report)).toEqual({ reason: 'normal', exit_code: 13, signal: null });
    const [hang, crash] = run.report.diagnoses;
    expect([hang.id, crash.id]).toEqual(['stage_hang', 'crash']);
    expect(crash.evidence.examples).toEqual([
      'The process ended normally (event loop drained), exit code 13',
      'Exit code 13 is Node\'s "unsettled top-level await": the entry module was still awaiting a promise that never settled when nothing was left to run',
    ]);
    expect(crash.suggestion.startsWith('Most likely a consequence of stage_hang: fix that first.')).toBe(true);
  });

  it('a stage inside a stage that never settles: the outer stage is said to wait on what the inner one waits on, live and read back', async () => {
    const pair = await end('unsettled-nested');
    expectSameBehaviour(pair);
    expect(pair.instrumented.code).toBe(13);
    const run = expectCompleteRun(pair.dir);
    const inner = { name: 'stage stage_answer', kind: 'stage', stage: 'stage_answer' };
    expectUnfinished(run, [...BACKGROUND, MAIN_STAGE, inner, { name: 'task wait_for_callback', kind: 'task', stage: 'stage_answer' }]);
    const [, , main, answer, wait] = run.report.unfinished;
    expect([answer.parent_span_id, wait.parent_span_id]).toEqual([main.span_id, answer.span_id]);
    const waitingOn = (report: typeof run.report) =>
      report.diagnoses.find((diagnosis) => diagnosis.id === 'stage_hang')!.evidence.examples.map((example) => example.replace(/ \(open for [\d.]+ s\)$/, '').replace(/ was still running .*; still waiting on /, ' → '));
    const expected = ['stage_bg → llm "chat slow-model"', 'stage_main → task "task wait_for_callback"', 'stage_answer → task "task wait_for_callback"'];
    expect(waitingOn(run.report)).toEqual(expected);
    // Read back from the files (agent-autopsy report): the unfinished events carry the parent ids.
    const rebuilt = (await analyzeRun(pair.dir)).report;
    expect(rebuilt.unfinished.map((span) => span.parent_span_id)).toEqual(run.report.unfinished.map((span) => span.parent_span_id));
    expect(waitingOn(rebuilt)).toEqual(expected);
  });

  it('an uncaught exception', async () => {
    const pair = await end('uncaught');
    expectSameBehaviour(pair);
    expect(pair.instrumented.code).toBe(1);
    expect(pair.instrumented.stderr).toContain('TypeError: tool output was not JSON');
    const run = expectCompleteRun(pair.dir);
    expectUnfinished(run, [...BACKGROUND, MAIN_STAGE]);
    expect(exitOf(run.report)).toEqual({ reason: 'uncaught_exception', exit_code: 1, signal: null });
    expect(run.report.exit.error).toMatchObject({ type: 'TypeError', message: 'tool output was not JSON' });
    expect(run.report.exit.error!.stack).toMatch(/^TypeError: tool output was not JSON\n {4}at Timeout\._onTimeout \(.*ending\.mjs:\d+:\d+\)/);
    const crash = run.events.find((event) => event.type === 'uncaught_exception')!;
    expect(crash.level).toBe('ERROR');
    expect(crash.data).toMatchObject({ error: 'tool output was not JSON', error_type: 'TypeError' });
    // The timer that threw was set inside stage_main: the crash is that stage's failure.
    expect(crash.data.stage).toBe('stage_main');
    expect(run.report.failure_analysis.failures_by_stage).toEqual({ stage_main: 1 });
  });

  it('an uncaught Proxy whose traps throw: recorded as the crash, nothing added to stderr', async () => {
    const pair = await end('uncaught-proxy');
    expectSameBehaviour(pair);
    expect(pair.instrumented.code).toBe(1);
    const run = expectCompleteRun(pair.dir);
    expect(exitOf(run.report)).toEqual({ reason: 'uncaught_exception', exit_code: 1, signal: null });
    const crash = run.events.find((event) => event.type === 'uncaught_exception')!;
    expect(crash.data).toMatchObject({ stage: 'stage_main', error: 'unknown error' });
    expect(run.report.failure_analysis.failures_by_stage).toEqual({ stage_main: 1 });
  });

  it('an unhandled rejection', async () => {
    const pair = await end('rejection');
    expectSameBehaviour(pair);
    expect(pair.instrumented.code).toBe(1);
    const run = expectCompleteRun(pair.dir);
    expectUnfinished(run, [...BACKGROUND, MAIN_STAGE]);
    expect(exitOf(run.report)).toEqual({ reason: 'unhandled_rejection', exit_code: 1, signal: null });
    expect(run.report.exit.error).toMatchObject({ type: 'RangeError', message: 'a promise nobody awaited' });
    const crash = run.events.find((event) => event.type === 'unhandled_rejection')!;
    expect(crash.data.stage).toBe('stage_main');
    expect(run.report.failure_analysis.failures_by_stage).toEqual({ stage_main: 1 });
  });

  // With source maps on (`--enable-source-maps`; tsx turns them on too) Node formats stacks itself.
  it.for([{ flags: 'plain', nodeArgs: [] }, { flags: 'with --enable-source-maps', nodeArgs: ['--enable-source-maps'] }])('an exception thrown inside a stage while other async branches still run ($flags)', async ({ nodeArgs }) => {
    const pair = await end('stage-throw', { nodeArgs });
    // The crash output points at the throwing line of the app, exactly as without the library.
    expectSameBehaviour(pair);
    expect(pair.instrumented.stderr).toMatch(/ending\.mjs:\d+\n.*throw new Error\('stage exploded half-way'\);\n\s+\^\n\nError: stage exploded half-way\n/);
    const run = expectCompleteRun(pair.dir);
    expectUnfinished(run, [...BACKGROUND, { name: 'task parallel_work', kind: 'task', stage: 'stage_main' }]);
    const stageError = run.events.find((event) => event.type === 'stage_error')!;
    expect(stageError.data).toMatchObject({ stage: 'stage_main', error: 'stage exploded half-way' });
    expect(exitOf(run.report)).toEqual({ reason: 'unhandled_rejection', exit_code: 1, signal: null });
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal}: the autopsy is written and the signal still ends the process`, async () => {
      const pair = await end('signal', killOnReady(signal));
      expectSameBehaviour(pair);
      expect(pair.instrumented).toMatchObject({ code: null, signal });
      const run = expectCompleteRun(pair.dir);
      expectUnfinished(run, [...BACKGROUND, MAIN_STAGE]);
      expect(exitOf(run.report)).toEqual({ reason: 'signal', exit_code: null, signal });
      const received = run.events.find((event) => event.type === 'signal_received')!;
      expect([received.level, received.data]).toEqual(['WARNING', { signal, handled_by_app: false }]);
    });
  }
});

/**
 * A seed-style agent on a bare ExecutionTracker (no init(): no tracer provider, so its
 * `<kind>_start` / `_end` calls make no spans) ending with a stage and two of its LLM calls still
 * open: test/fixtures/exit/bare-tracker.cjs, run beside its baseline without the tracker.
 */
async function endBare(ending: string, options: RunOptions = {}): Promise<PairResult> {
  return runWithBaseline('bare-tracker.cjs', (dir) => [ending, dir], options);
}

/** A pair left open: how the report lists it, and the start event it was opened by. */
interface OpenPair {
  name: string;
  kind: string;
  stage: string;
  start: { type: string; data: Record<string, unknown> };
}

const STAGE2: OpenPair = { name: 'stage stage2', kind: 'stage', stage: 'stage2', start: { type: 'stage_start', data: { stage: 'stage2', name: 'Modelling' } } };
// Of three calls the middle one ended: the first and the last are open.
const BARE_CALLS: OpenPair[] = [
  { name: 'chat gpt-4o', kind: 'llm', stage: 'stage2', start: { type: 'llm_call_start', data: { stage: 'stage2', model: 'gpt-4o' } } },
  { name: 'chat claude-sonnet', kind: 'llm', stage: 'stage2', start: { type: 'llm_call_start', data: { stage: 'stage2', model: 'claude-sonnet' } } },
];

/**
 * The report written at the end lists exactly `expected` as unfinished, each dated by its start
 * event and aged to its `<kind>_unfinished` WARNING event, which the logs hold after everything
 * else, oldest first; and the report analyzeRun rebuilds from the directory lists the same spans,
 * once each, with the same diagnoses (`diagnoses`, by id).
 */
async function expectBareUnfinished(dir: string, expected: OpenPair[], diagnoses: string[]): Promise<void> {
  const run = expectCompleteRun(dir);
  const prefix: Record<string, string> = { stage: 'stage', llm: 'llm_call', code_exec: 'code_exec' };
  const unfinishedEvents = run.events.slice(-expected.length);
  const listed: UnfinishedSpan[] = [];
  for (const [index, pair] of expected.entries()) {
    const starts = run.events.filter((event) => event.type === pair.start.type && JSON.stringify(event.data) === JSON.stringify(pair.start.data));
    expect(starts).toHaveLength(1);
    const event: TruthEvent = unfinishedEvents[index];
    const age = event.data.age_seconds as number;
    // No span ids: there are no spans.
    expect(event).toEqual({
      timestamp: event.timestamp,
      elapsed_seconds: event.elapsed_seconds,
      type: `${prefix[pair.kind]}_unfinished`,
      level: 'WARNING',
      data: { ...pair.start.data, unfinished: true, age_seconds: age },
    });
    expect(Math.abs(Date.parse(event.timestamp) - Date.parse(starts[0].timestamp) - age * 1000)).toBeLessThan(1.01);
    listed.push({ name: pair.name, kind: pair.kind, stage: pair.stage, started: starts[0].timestamp, age_seconds: age });
  }
  expect(run.events.filter((event) => event.type.endsWith('_unfinished'))).toHaveLength(expected.length);
  expect(run.report.unfinished).toEqual(listed);
  expect(run.report.diagnoses.map((diagnosis) => diagnosis.id)).toEqual(diagnoses);
  const rebuilt = (await analyzeRun(dir)).report;
  expect(rebuilt.unfinished).toEqual(run.report.unfinished);
  expect(rebuilt.diagnoses.map((diagnosis) => diagnosis.id)).toEqual(diagnoses);
  // The stage_hang's evidence too: the rebuilt report counts each stage once.
  expect(rebuilt.diagnoses).toEqual(run.report.diagnoses);
}

describe.concurrent('a bare ExecutionTracker: pairs left open are unfinished in the report at exit, as in the one rebuilt from its log', () => {
  it('normal end with a stage still open', async () => {
    const pair = await endBare('drain');
    expectSameBehaviour(pair);
    expect(pair.instrumented.code).toBe(0);
    await expectBareUnfinished(pair.dir, [STAGE2, ...BARE_CALLS], ['stage_hang']);
    expect(exitOf(expectCompleteRun(pair.dir).report)).toEqual({ reason: 'normal', exit_code: 0, signal: null });
  });

  it('close() with a stage still open (and a LatentReporter report before it)', async () => {
    const pair = await endBare('close');
    expectSameBehaviour(pair);
    expect(pair.instrumented.code).toBe(3);
    // Ended by the app's call, as shutdown() ends a run: the stage it interrupted was busy, not hung.
    await expectBareUnfinished(pair.dir, [STAGE2, ...BARE_CALLS], []);
    // The live state lists the same open pairs, aged to the moment it was taken.
    const { report } = expectCompleteRun(pair.dir);
    // Not "normally (event loop drained)" with exit code 0: the process went on, and exited with 3.
    expect(exitOf(report)).toEqual({ reason: 'shutdown', exit_code: null, signal: null });
    expect((await analyzeRun(pair.dir)).report.exit).toEqual(report.exit);
    const live = JSON.parse(pair.instrumented.stdout) as UnfinishedSpan[];
    expect(live.map(({ age_seconds: _, ...span }) => span)).toEqual(report.unfinished.map(({ age_seconds: _, ...span }) => span));
  });

  it('an uncaught exception inside a tracked stage', async () => {
    const pair = await endBare('uncaught');
    expectSameBehaviour(pair);
    expect(pair.instrumented.code).toBe(1);
    expect(pair.instrumented.stderr).toContain('TypeError: solver output was not JSON');
    const codeExec: OpenPair = { name: 'code_exec python', kind: 'code_exec', stage: 'stage2', start: { type: 'code_exec_start', data: { stage: 'stage2', language: 'python' } } };
    // The exception interrupted the stage, which was busy a moment before: a crash, not a hang.
    await expectBareUnfinished(pair.dir, [STAGE2, ...BARE_CALLS, codeExec], ['crash']);
    const { events, report } = expectCompleteRun(pair.dir);
    expect(exitOf(report)).toEqual({ reason: 'uncaught_exception', exit_code: 1, signal: null });
    expect(events.map((event) => event.type).slice(-6)).toEqual(['code_exec_start', 'uncaught_exception', 'stage_unfinished', 'llm_call_unfinished', 'llm_call_unfinished', 'code_exec_unfinished']);
  });

  it('SIGTERM while a stage is open', async () => {
    const pair = await endBare('signal', killOnReady('SIGTERM'));
    expectSameBehaviour(pair);
    expect(pair.instrumented).toMatchObject({ code: null, signal: 'SIGTERM' });
    await expectBareUnfinished(pair.dir, [STAGE2, ...BARE_CALLS], ['stage_hang', 'crash']);
    expect(exitOf(expectCompleteRun(pair.dir).report)).toEqual({ reason: 'signal', exit_code: null, signal: 'SIGTERM' });
  });
});

/** A TypeScript agent, compiled with an inline source map as tsc or tsx would, that crashes in a task. */
const TS_AGENT = `import { init, stage, task } from 'agent-autopsy';

interface Step {
  name: string;
}

if (process.env.AUTOPSY_BASELINE !== '1') init({ outputDir: process.argv[2], reportFormats: [] });

class Planner {
  async run(step: Step): Promise<number> {
    await new Promise((done) => setTimeout(done, 2));
    throw new Error(\`step \${step.name} failed\`);
  }
}

async function main(): Promise<void> {
  const planner = new Planner();
  await stage('plan', () => task('first step', () => planner.run({ name: 'one' })));
}

main();
`;

describe('a TypeScript agent run with source maps', () => {
  it('crashes with the same output (the original source line), and the autopsy has the same mapped stack', async () => {
    const ts = await import('typescript');
    const compiled = ts.transpileModule(TS_AGENT, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, inlineSourceMap: true, inlineSources: true },
      fileName: 'agent.ts',
    }).outputText;
    const script = writeScript(compiled);
    const dir = tempRunDir('autopsy-exit-');
    const options = { nodeArgs: ['--enable-source-maps'] };
    const [baseline, instrumented] = await Promise.all([
      runNode(script, { ...options, args: [tempRunDir('autopsy-baseline-')], env: { AUTOPSY_BASELINE: '1' } }),
      runNode(script, { ...options, args: [dir] }),
    ]);
    expectSameBehaviour({ baseline, instrumented, dir, baselineDir: '' });
    const source = join(dirname(script), 'agent.ts');
    // Node points at the TypeScript line, through the source map.
    expect(instrumented.stderr.startsWith(`${source}:12\n    throw new Error(\`step \${step.name} failed\`);\n          ^\n`)).toBe(true);
    const { report, events } = expectCompleteRun(dir);
    const stack = report.exit.error!.stack!;
    expect(stack).toMatch(new RegExp(`^Error: step one failed\\n {4}at Planner\\.run \\(${source.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:12:11\\)\\n`));
    // The same text as Node's own, frame for frame.
    expect(instrumented.stderr).toContain(`\n${stack}\n`);
    expect(events.find((event) => event.type === 'task_error')!.data).toMatchObject({ task: 'first step', error: 'step one failed' });
  });
});
