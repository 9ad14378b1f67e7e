import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_FIXTURES, expectCompleteRun } from './helpers/autopsyRun';
import { REPO_ROOT, runNode, writeScript } from './helpers/childProcess';
import { logPath, readReport } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/** Holding the API wrong gives one clear warning per mistake (or an error), never a broken run. */

describe('misuse', () => {
  it('a second init(), shutdown() twice, calls after shutdown and bad track() arguments', async () => {
    const dir = tempRunDir('autopsy-misuse-');
    const other = join(tempRunDir('autopsy-misuse-'), 'never-created');
    const result = await runNode(join(EXIT_FIXTURES, 'misuse.mjs'), { args: [dir, other] });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      shutdownBeforeInit: true,
      secondInitKeepsFirstRun: true,
      stageWithoutFunction: 'TypeError: agent-autopsy: the last argument must be the function to run inside the span',
      secondShutdownSameReport: true,
      spanAfterShutdownStillRuns: 'value',
    });
    // One line per kind of mistake, in the order they were made.
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([
      'agent-autopsy: track() was called before init(); call init({ outputDir }) first (the event was not recorded)',
      'agent-autopsy: shutdown() was called before init(); there is nothing to write',
      `agent-autopsy: init() was called again; the run in ${dir} continues and the new options are ignored`,
      'agent-autopsy: track() needs an event type string as its first argument, got undefined; the event was not recorded',
      'agent-autopsy: track(): data should be an object; other values are recorded under data.value',
      'agent-autopsy: track(): unknown level "LOUD"; use INFO, WARNING or ERROR (recorded as INFO)',
      'agent-autopsy: shutdown() was called again; the report was already written',
      'agent-autopsy: track() was called after shutdown(); the event was not recorded',
      'agent-autopsy: spans started after shutdown() are not recorded (call init() to start a new run)',
    ]);
    expect(existsSync(other)).toBe(false);

    // The run itself is whole: the valid calls, nothing else, and nothing after shutdown.
    const run = expectCompleteRun(dir);
    expect(run.events.map((event) => [event.type, event.level, event.data])).toEqual([
      ['string_data', 'INFO', { value: 'just text' }],
      ['weird_level', 'INFO', {}],
      ['weird_level', 'INFO', {}],
      ['lower_case_level', 'WARNING', {}],
      ['stage_start', 'INFO', { stage: 'stage1' }],
      ['inside', 'INFO', { a: 1, stage: 'stage1' }],
      ['stage_end', 'INFO', { stage: 'stage1', duration: expect.any(Number) }],
    ]);
    expect(run.report.exit).toMatchObject({ reason: 'shutdown' });
  });

  // The SDK flushes each processor under a 30 s timer cleared only when its forceFlush() settles:
  // a processor without one held every exit for 31 s. Vitest's timeout (10 s) is the bound here.
  it('span processors of the app that lack forceFlush() or throw: exit is not held, the run is whole, each failure reported once', { timeout: 25_000 }, async () => {
    const dir = tempRunDir('autopsy-processors-');
    const script = writeScript(`
import { init, stage, task } from 'agent-autopsy';
const seen = [];
init({
  outputDir: process.argv[2],
  spanProcessors: [
    { onStart() {}, onEnd() {}, shutdown: async () => {} },
    {
      onStart() { throw new Error('start boom'); },
      onEnd() { throw new Error('end boom'); },
      forceFlush() { throw new Error('flush boom'); },
    },
    { onStart() {}, onEnd(span) { seen.push(span.name); }, forceFlush: async () => {}, shutdown: async () => {} },
    {},
  ],
});
await stage('stage1', () => task('t1', async () => 1));
await stage('stage2', () => 2);
process.on('exit', () => process.stdout.write(JSON.stringify(seen) + '\\n'));
`);
    const result = await runNode(script, { args: [dir], timeoutMs: 20_000 });
    expect(result.code).toBe(0);
    // The processors after the throwing one saw every span.
    expect(JSON.parse(result.stdout)).toEqual(['task t1', 'stage stage1', 'stage stage2']);
    const suffix = '(the agent keeps running; this part of the autopsy may be incomplete)';
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([
      `agent-autopsy: span processor spanProcessors[1] failed in onStart(): start boom ${suffix}`,
      `agent-autopsy: span processor spanProcessors[1] failed in onEnd(): end boom ${suffix}`,
      `agent-autopsy: span processor spanProcessors[1] failed in forceFlush(): flush boom ${suffix}`,
    ]);
    const run = expectCompleteRun(dir);
    expect(run.events.map((event) => event.type)).toEqual(['stage_start', 'task_start', 'task_end', 'stage_end', 'stage_start', 'stage_end']);
    expect(run.report.exit).toMatchObject({ reason: 'normal', exit_code: 0 });
  });

  // The SDK would wait 30 s for it; without the library nothing flushes the app's processors at
  // exit at all. Vitest's timeout (10 s) is the bound here, not a measured time.
  it('an app processor whose forceFlush() never settles holds neither the end of the process nor shutdown() for 30 s', { timeout: 25_000 }, async () => {
    const agent = (end: string) => `
import { init, stage, shutdown } from 'agent-autopsy';
process.on('exit', (code) => process.stdout.write('exit ' + code + '\\n'));
init({ outputDir: process.argv[2], reportFormats: [], spanProcessors: [{ onStart() {}, onEnd() {}, forceFlush: () => new Promise(() => {}) }] });
await stage('stage1', () => 1);
${end}`;
    const drained = tempRunDir('autopsy-processors-');
    const explicit = tempRunDir('autopsy-processors-');
    const [normal, shutDown] = await Promise.all([
      runNode(writeScript(agent('')), { args: [drained], timeoutMs: 20_000 }),
      runNode(writeScript(agent("await shutdown(); console.log('after shutdown');")), { args: [explicit], timeoutMs: 20_000 }),
    ]);
    const line = 'agent-autopsy: span processor spanProcessors[0] failed in forceFlush(): it did not settle within 3 s, and the run ended without waiting for it (the agent keeps running; this part of the autopsy may be incomplete)';
    expect(normal).toMatchObject({ code: 0, stdout: 'exit 0\n', stderr: `${line}\n` });
    expect(shutDown).toMatchObject({ code: 0, stdout: 'after shutdown\nexit 0\n', stderr: `${line}\n` });
    expect(expectCompleteRun(drained).report.exit).toMatchObject({ reason: 'normal', exit_code: 0 });
    expect(expectCompleteRun(explicit).report.exit).toMatchObject({ reason: 'shutdown' });
  });

  it('the same processor listed twice in one init() joins once: it gets each span once', async () => {
    const dir = tempRunDir('autopsy-processors-');
    const script = writeScript(`
import { init, stage, task, shutdown } from 'agent-autopsy';
const ended = [];
const processor = { onStart() {}, onEnd(span) { ended.push(span.name); }, forceFlush: async () => {}, shutdown: async () => {} };
init({ outputDir: process.argv[2], reportFormats: [], spanProcessors: [processor, processor] });
await stage('s', () => task('t', () => 1));
await shutdown();
console.log(JSON.stringify(ended));
`);
    const result = await runNode(script, { args: [dir] });
    expect(result).toMatchObject({ code: 0, stderr: '', stdout: '["task t","stage s"]\n' });
  });

  it('a huge unknown level or event type: the warning quotes 100 characters, the files hold the clipped type', async () => {
    const dir = tempRunDir('autopsy-misuse-');
    const script = writeScript(`
import { init, track, task } from 'agent-autopsy';
init({ outputDir: process.argv[2], reportFormats: [] });
track('odd_level', {}, 'L'.repeat(1_000_000));
track('T'.repeat(1_000_000), { n: 1 });
await task('t', (span) => span.set('S'.repeat(1_000_000)));
`);
    const result = await runNode(script, { args: [dir] });
    expect(result.code).toBe(0);
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([
      `agent-autopsy: track(): unknown level "${'L'.repeat(100)}…[truncated 999900 chars]"; use INFO, WARNING or ERROR (recorded as INFO)`,
      'agent-autopsy: span.set(): data should be an object; other values are recorded under data.value',
    ]);
    const run = expectCompleteRun(dir);
    expect(run.events.map((event) => [event.type, event.level, event.data])).toEqual([
      ['odd_level', 'INFO', {}],
      [`${'T'.repeat(16_384)}…[truncated ${1_000_000 - 16_384} chars]`, 'INFO', { n: 1 }],
      ['task_start', 'INFO', { task: 't' }],
      ['task_end', 'INFO', { task: 't', value: `${'S'.repeat(16_384)}…[truncated ${1_000_000 - 16_384} chars]`, duration: expect.any(Number) }],
    ]);
  });
});

describe('a closed stderr', () => {
  it('a warning written when the reader of stderr is gone does not crash the app (EPIPE)', async () => {
    const dir = tempRunDir('autopsy-misuse-');
    const script = writeScript(
      `
      const { init } = require('agent-autopsy');
      init({ outputDir: ${JSON.stringify(dir)}, reportFormats: [] });
      setTimeout(() => {
        init({ outputDir: ${JSON.stringify(dir)} }); // warns on stderr: a second init()
        setTimeout(() => process.stdout.write('still working\\n'), 100);
      }, 300);
    `,
      '.cjs',
    );
    const child = spawn(process.execPath, [script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    // The reader of stderr goes away before the warning is written (\`node app 2>&1 | head -1\`).
    child.stderr.destroy();
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const code = await new Promise<number | null>((done) => child.on('close', (exitCode) => done(exitCode)));
    expect(code).toBe(0);
    expect(stdout).toBe('still working\n');
  });
});

describe('settings that cannot be honoured', () => {
  it('an unknown locale or report format is named on stderr and the run goes on with the default', async () => {
    const dir = tempRunDir('autopsy-misuse-');
    const script = writeScript(
      `
      const { init, track } = require('agent-autopsy');
      init({ outputDir: ${JSON.stringify(dir)}, locale: 'fr', reportFormats: ['pdf', 'html'] });
      track('task_error', { error: 'x' }, 'ERROR');
    `,
      '.cjs',
    );
    const result = await runNode(script);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      'agent-autopsy: unknown locale "fr"; the report is written in English (supported: en, zh-CN)\n' +
        "agent-autopsy: reportFormats: \"pdf\" ignored; the formats are 'md' and 'html' (latent_analysis_report.json is always written)\n",
    );
    expect(readReport(dir).run.locale).toBe('en');
    expect(existsSync(logPath(dir, 'autopsy.html'))).toBe(true);
    expect(existsSync(logPath(dir, 'autopsy.md'))).toBe(false);
  });

  // Plain JavaScript has no type checks: a misspelled option, a string for a boolean, a number for
  // a path. Each made init() throw (outputDir: 123, a serviceName whose toString throws), killed
  // span recording (otlpEndpoint: 42), recorded prompt content (captureContent: 'false' is truthy)
  // or was dropped without a word (outputdir, maxStringLength: -1, spanProcessors: {}).
  it('options of the wrong type or misspelled: init() goes on with the defaults and names each one on stderr', async () => {
    const cwd = tempRunDir('autopsy-misuse-');
    const dir = tempRunDir('autopsy-misuse-');
    const script = writeScript(
      `
      const { init, stage, shutdown } = require('agent-autopsy');
      const handles = [];
      handles.push(init({
        outputdir: 'lost', captureContnet: true, colour: 'red', outputDir: 123, serviceName: { toString() { throw new Error('boom'); } },
        captureContent: 'false', handleExit: 'false', maxStringLength: -1, flushIntervalMs: 1e12,
        otlpEndpoint: 42, otlpHeaders: { ok: 'yes', bad: 1 }, spanProcessors: [42, {}], locale: 7,
      }));
      (async () => {
        const value = await stage('s', async () => 'x'.repeat(20000));
        await shutdown();
        process.env.AGENT_AUTOPSY_DIR = ${JSON.stringify(join(dir, 'from-env'))};
        handles.push(init('runs/here'));
        await shutdown();
        handles.push(init({ outputDir: ${JSON.stringify(dir)}, maxStringLength: '100', instrumentChildProcesses: 1 }));
        await stage('s2', () => 1);
        await shutdown();
        console.log(JSON.stringify({ value: value.length, dirs: handles.map((h) => h.outputDir) }));
      })();
    `,
      '.cjs',
    );
    const result = await runNode(script, { env: { AGENT_AUTOPSY_DIR: '' }, cwd });
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out.value).toBe(20000);
    expect(out.dirs[0]).toMatch(new RegExp(`^${cwd}/autopsy-runs/\\d{8}-\\d{6}-\\d+$`));
    expect(out.dirs.slice(1)).toEqual([join(dir, 'from-env'), dir]);
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([
      'agent-autopsy: unknown option "outputdir" ignored (did you mean outputDir?)',
      'agent-autopsy: unknown option "captureContnet" ignored (did you mean captureContent?)',
      'agent-autopsy: unknown option "colour" ignored',
      'agent-autopsy: option outputDir should be a directory path (a non-empty string), got 123; the default is used',
      'agent-autopsy: option serviceName should be a string, got an object; the default is used',
      "agent-autopsy: option locale should be a string ('en' or 'zh-CN'), got 7; the default is used",
      'agent-autopsy: option captureContent should be true or false, got "false" (a string); the default is used',
      'agent-autopsy: option maxStringLength should be a whole number above 0, got -1; the default is used',
      'agent-autopsy: option otlpEndpoint should be a URL string, got 42; the default is used',
      'agent-autopsy: option handleExit should be true or false, got "false" (a string); the default is used',
      'agent-autopsy: option flushIntervalMs should be a number of milliseconds above 0 and at most 2147483647, got 1000000000000; the default is used',
      'agent-autopsy: otlpHeaders: the header "bad" should be a string, got 1; it is not sent',
      'agent-autopsy: spanProcessors[0] should be a span processor (an object with onStart and onEnd), got 42; it is left out',
      `agent-autopsy: the options should be an object (such as { outputDir: 'runs/today' }), got "runs/here" (a string); the defaults are used`,
      'agent-autopsy: option maxStringLength should be a whole number above 0, got "100" (a string); the default is used',
      'agent-autopsy: option instrumentChildProcesses should be true or false, got 1; the default is used',
    ]);
    // Nothing went to the working directory itself (an empty AGENT_AUTOPSY_DIR is unset) or to 'lost'.
    expect(existsSync(join(cwd, 'Memory'))).toBe(false);
    expect(existsSync(join(cwd, 'lost'))).toBe(false);
    // The first run recorded its spans (tracing was set up) with the default string length and the default service name.
    const first = expectCompleteRun(out.dirs[0]);
    expect(first.events.map((event) => event.type)).toEqual(['stage_start', 'stage_end']);
    expect(first.report.run.service_name).toBe('agent');
    expect(expectCompleteRun(dir).events.map((event) => event.type)).toEqual(['stage_start', 'stage_end']);
  });

  // The default directory is named by the second and the pid: a second run of the process in the
  // same second (init() after shutdown()) truncated the first run's files.
  it('without outputDir, runs one after another in one process each get their own directory', async () => {
    const cwd = tempRunDir('autopsy-misuse-');
    const script = writeScript(`
import { init, track, shutdown } from 'agent-autopsy';
const dirs = [];
for (const name of ['first', 'second', 'third']) {
  dirs.push(init({ reportFormats: [] }).outputDir);
  track(name, {});
  await shutdown();
}
console.log(JSON.stringify(dirs));
`);
    const result = await runNode(script, { cwd, env: { AGENT_AUTOPSY_DIR: undefined } });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const dirs: string[] = JSON.parse(result.stdout);
    expect(new Set(dirs).size).toBe(3);
    expect(dirs.map((dir) => expectCompleteRun(dir).events.map((event) => event.type))).toEqual([['first'], ['second'], ['third']]);
  });

  // Token counts from a JSON body read as strings, a NaN from arithmetic, a handle kept past its
  // callback: each was dropped (or a negative count summed into the report) without a word.
  it('setUsage() with counts that are not numbers of tokens, and a span handle used after its span ended: named once on stderr', async () => {
    const dir = tempRunDir('autopsy-misuse-');
    const script = writeScript(`
import { init, llmCall, task, shutdown } from 'agent-autopsy';
init({ outputDir: process.argv[2], reportFormats: [] });
let kept;
const values = [];
values.push(await llmCall({ model: 'm' }, (call) => { call.setUsage({ inputTokens: '10', outputTokens: 5 }); return 1; }));
values.push(await llmCall({ model: 'm' }, (call) => { call.setUsage({ inputTokens: -3, outputTokens: NaN }); call.setUsage('lots'); return 2; }));
values.push(await task('t', async (span) => { kept = span; return 3; }));
kept.set({ late: true });
kept.fail('late');
kept.setUsage({ inputTokens: 1 });
const report = await shutdown();
console.log(JSON.stringify({ values, tokens: [report.llm_usage.input_tokens, report.llm_usage.output_tokens] }));
`);
    const result = await runNode(script, { args: [dir] });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ values: [1, 2, 3], tokens: [0, 5] });
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([
      'agent-autopsy: span.setUsage(): inputTokens should be a number of tokens (0 or more), got "10"; it was not recorded',
      'agent-autopsy: span.setUsage(): outputTokens should be a number of tokens (0 or more), got NaN; it was not recorded',
      'agent-autopsy: span.setUsage() takes an object such as { inputTokens, outputTokens }; nothing was recorded',
      'agent-autopsy: span.set() was called after its span ended (its callback had returned or its promise settled); nothing was recorded',
    ]);
    const run = expectCompleteRun(dir);
    expect(run.events.filter((event) => event.type !== 'llm_call_start').map((event) => [event.type, event.level, { ...event.data, duration: 0 }])).toEqual([
      ['llm_call_end', 'INFO', { model: 'm', output_tokens: 5, tokens_used: 5, duration: 0 }],
      ['llm_call_end', 'INFO', { model: 'm', duration: 0 }],
      ['task_start', 'INFO', { task: 't', duration: 0 }],
      ['task_end', 'INFO', { task: 't', duration: 0 }],
    ]);
  });

  it('ExecutionTracker: track() after close() says so once; a missing directory is named by the constructor', async () => {
    const dir = tempRunDir('autopsy-misuse-');
    const script = writeScript(`
import { ExecutionTracker } from 'agent-autopsy';
const tracker = new ExecutionTracker(process.argv[2]);
tracker.track('before', {});
tracker.close();
tracker.track('after', {});
tracker.track('after', {});
let thrown;
try { new ExecutionTracker(); } catch (error) { thrown = error.constructor.name + ': ' + error.message; }
console.log(thrown);
`);
    const result = await runNode(script, { args: [dir] });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('TypeError: agent-autopsy: new ExecutionTracker(outputDir) needs the run directory as a string, got undefined\n');
    expect(result.stderr).toBe('agent-autopsy: ExecutionTracker.track() was called after its run ended (close() or shutdown()); the event was not recorded\n');
    expect(expectCompleteRun(dir).events.map((event) => event.type)).toEqual(['before']);
  });

  // stage(i, fn) from a loop was recorded as stage "stage"; stage('stage1', 'Problem Analysis', fn)
  // dropped its second argument without a word.
  it('a name that is a number, or attributes that are not an object: the span keeps the name, and each is named once on stderr', async () => {
    const dir = tempRunDir('autopsy-misuse-');
    const script = writeScript(`
import { init, stage, task } from 'agent-autopsy';
init({ outputDir: process.argv[2], reportFormats: [] });
const values = [];
for (let i = 1; i <= 2; i++) values.push(await stage(i, async () => i * 10));
values.push(await task('t', 'not attributes', () => 'v'));
console.log(JSON.stringify(values));
`);
    const result = await runNode(script, { args: [dir] });
    expect(result).toMatchObject({ code: 0, stdout: '[10,20,"v"]\n' });
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([
      'agent-autopsy: stage(): the name should be a string, got number 1; it is recorded as "1"',
      'agent-autopsy: task(): the attributes should be an object, got a string; they were not recorded',
    ]);
    expect(expectCompleteRun(dir).events.map((event) => [event.type, event.data.stage ?? event.data.task])).toEqual([
      ['stage_start', '1'],
      ['stage_end', '1'],
      ['stage_start', '2'],
      ['stage_end', '2'],
      ['task_start', 't'],
      ['task_end', 't'],
    ]);
  });
});
