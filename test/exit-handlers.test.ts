import { cpSync, existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTruthLogSync } from '../analyzers/index';
import type { TruthEvent } from '../src/types';
import { expectCompleteRun, expectSameBehaviour, runWithBaseline, type PairResult } from './helpers/autopsyRun';
import { REPO_ROOT, runNode, writeScript, type RunOptions } from './helpers/childProcess';
import { cliReport } from './helpers/cli';
import { tempRunDir } from './helpers/tempDirs';

/**
 * The app's own handlers keep working: its signal handler, the exit code it sets, process.exit()
 * inside its 'exit' listener, its 'uncaughtException' listener and work it does at 'beforeExit'.
 * Each case runs test/fixtures/exit/handlers.mjs with and without the library.
 */

interface HandlerRun extends PairResult {
  /** What the app's handler wrote, in the baseline and the instrumented run. */
  markers: { baseline: string | undefined; instrumented: string | undefined };
}

async function run(variant: string, options: RunOptions = {}): Promise<HandlerRun> {
  const markerOf = (dir: string) => join(dir, 'marker.txt');
  const seen: Record<string, string> = {};
  const pair = await runWithBaseline(
    'handlers.mjs',
    (dir, role) => {
      seen[role] = markerOf(dir);
      return [variant, dir, markerOf(dir)];
    },
    options,
  );
  const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined);
  return { ...pair, markers: { baseline: read(seen.baseline), instrumented: read(seen.instrumented) } };
}

/** Sends `signal` to the app once it prints READY. */
function signalWhenReady(signal: NodeJS.Signals): RunOptions {
  return {
    onStdoutLine: (line, child) => {
      if (line === 'READY') child.kill(signal);
    },
  };
}

describe.concurrent("the app's own handlers still run and decide the exit", () => {
  it('a SIGTERM handler whose graceful shutdown rejects: the rejection ends the process, and the report keeps the signal', async () => {
    const result = await run('sigterm-shutdown-fails', signalWhenReady('SIGTERM'));
    // The error is made inside the app's SIGTERM listener: with agent-autopsy's listener beside it,
    // Node's emit takes its path for several listeners, and the stack's node:events frames differ.
    const ownFrames = (stderr: string) => stderr.replace(/^\s+at .*\(node:(?:events|internal\/async_hooks):\d+:\d+\)\n/gm, '');
    expect({ ...result.instrumented, stderr: ownFrames(result.instrumented.stderr) }).toEqual({ ...result.baseline, stderr: ownFrames(result.baseline.stderr) });
    expect(result.instrumented).toMatchObject({ code: 1, signal: null });
    const { report } = expectCompleteRun(result.dir);
    expect(report.exit).toMatchObject({ reason: 'unhandled_rejection', signal: 'SIGTERM' });
    // Read back from the log (agent-autopsy report), the same ending.
    expect((await cliReport(result.dir)).exit).toMatchObject({ reason: 'unhandled_rejection', signal: 'SIGTERM' });
    // The stage was stopped from outside while it waited on the model.
    expect(report.diagnoses.find((diagnosis) => diagnosis.id === 'stage_hang')?.evidence.examples).toEqual([
      expect.stringMatching(/^serve was still running when the process ended by an unhandled promise rejection \(SIGTERM\); its last event was [\d.]+ s before the end; still waiting on llm "chat m" \(open for [\d.]+ s\)$/),
    ]);
  });

  it('a SIGTERM handler that cleans up and exits 0', async () => {
    const result = await run('sigterm-handler', {
      onStdoutLine: (line, child) => {
        if (line === 'READY') child.kill('SIGTERM');
      },
    });
    expectSameBehaviour(result);
    expect(result.instrumented).toMatchObject({ code: 0, signal: null });
    expect(result.markers).toEqual({ baseline: 'cleaned up', instrumented: 'cleaned up' });
    const { events, report } = expectCompleteRun(result.dir);
    expect(events.find((event) => event.type === 'signal_received')!.data).toEqual({ signal: 'SIGTERM', handled_by_app: true });
    expect(report.exit).toMatchObject({ reason: 'exit', exit_code: 0, signal: 'SIGTERM' });
    expect(report.unfinished.map((span) => span.name)).toEqual(['stage serve', 'chat m']);
  });

  for (const variant of ['signal-exit-v4', 'signal-exit-v3'] as const) {
    it(`SIGTERM with ${variant} loaded: its exit callback runs and the signal still ends the process`, async () => {
      const result = await run(variant, {
        onStdoutLine: (line, child) => {
          if (line === 'READY') child.kill('SIGTERM');
        },
      });
      expectSameBehaviour(result);
      expect(result.instrumented).toMatchObject({ code: null, signal: 'SIGTERM' });
      expect(result.markers).toEqual({ baseline: 'signal-exit cleanup (SIGTERM)', instrumented: 'signal-exit cleanup (SIGTERM)' });
      const { events, report } = expectCompleteRun(result.dir);
      expect(events.find((event) => event.type === 'signal_received')!.data).toEqual({ signal: 'SIGTERM', handled_by_app: false });
      expect(report.exit).toMatchObject({ reason: 'signal', signal: 'SIGTERM' });
    });
  }

  it.for([
    ['stand-back', 'SIGTERM', 0],
    ['stand-back', 'SIGINT', 130],
    ['stand-back-after-init', 'SIGTERM', 0],
  ] as const)('a library that exits on a signal only when it is the only listener (%s, %s): it still does, with the code it gives', async ([variant, signal, code]) => {
    const result = await run(variant, signalWhenReady(signal));
    expectSameBehaviour(result);
    expect(result.instrumented).toMatchObject({ code, signal: null });
    expect(result.markers).toEqual({ baseline: `library exit on ${signal}`, instrumented: `library exit on ${signal}` });
    const { events, report } = expectCompleteRun(result.dir);
    expect(events.find((event) => event.type === 'signal_received')!.data).toEqual({ signal, handled_by_app: true });
    expect(report.exit).toMatchObject({ reason: 'exit', exit_code: code, signal });
    // The call the signal interrupted is what the work was waiting on.
    const hang = report.diagnoses.find((diagnosis) => diagnosis.id === 'stage_hang')!;
    expect(hang.severity).toBe('critical');
    expect(hang.evidence.examples[0]).toMatch(new RegExp(`^serve was still running when the process ended by process\\.exit\\(\\) \\(${signal}\\); its last event was [\\d.]+ s before the end; still waiting on llm "chat m"`));
  });

  it.for([
    ['hidden-relay-before-init', 'SIGINT', 130],
    ['hidden-relay-before-init', 'SIGTERM', 143],
    ['hidden-relay-after-init', 'SIGINT', 130],
    ['hidden-relay-after-init', 'SIGTERM', 143],
  ] as const)("a listener hidden from the count that exits once alone, as tsx's CLI relays signals (%s, %s): it still ends the process", async ([variant, signal, code]) => {
    const result = await run(variant, signalWhenReady(signal));
    expectSameBehaviour(result);
    expect(result.instrumented).toMatchObject({ code, signal: null });
    expect(result.markers).toEqual({ baseline: `relay exit on ${signal}`, instrumented: `relay exit on ${signal}` });
    const { events, report } = expectCompleteRun(result.dir);
    expect(events.find((event) => event.type === 'signal_received')!.data).toEqual({ signal, handled_by_app: false });
    expect(report.exit).toMatchObject({ reason: 'signal', signal });
  });

  it("nodemon's restart: SIGUSR2, taken once by the app to clean up, then raised again, still ends the process by it", async () => {
    const result = await run('nodemon-restart', signalWhenReady('SIGUSR2'));
    expectSameBehaviour(result);
    expect(result.instrumented).toMatchObject({ code: null, signal: 'SIGUSR2' });
    expect(result.markers).toEqual({ baseline: 'cleaned up for the restart', instrumented: 'cleaned up for the restart' });
    const { events, report } = expectCompleteRun(result.dir);
    expect(events.filter((event) => event.type === 'signal_received').map((event) => event.data)).toEqual([
      { signal: 'SIGUSR2', handled_by_app: true },
      { signal: 'SIGUSR2', handled_by_app: false },
    ]);
    expect(report.exit).toMatchObject({ reason: 'signal', signal: 'SIGUSR2' });
    expect(report.diagnoses.find((diagnosis) => diagnosis.id === 'stage_hang')!.evidence.examples[0]).toMatch(/^serve was still running when the process ended by a signal/);
  });

  it('code that counts signal listeners sees those it would see without the library (listenerCount still counts ours)', async () => {
    const result = await run('listeners-seen');
    expectSameBehaviour(result);
    expect(result.markers.instrumented).toBe(result.markers.baseline);
    // Ours of 'unhandledRejection' is there only while the app has one: none is left after the app's.
    expect(JSON.parse(result.markers.instrumented!)).toEqual({ SIGTERM: [1, 1, true], SIGINT: [1, 1, true], SIGHUP: [0, 0, true], SIGUSR2: [0, 0, true], unhandledRejection: [1, 1, true], afterRemoval: 0 });
  });

  it.for([
    ['rejection-listener-exits', 1, 'exit'],
    ['rejection-listener-continues', 0, 'normal'],
  ] as const)("an unhandled rejection an 'unhandledRejection' listener takes is recorded, as the app handled it (%s)", async ([variant, code, reason]) => {
    const result = await run(variant);
    expectSameBehaviour(result);
    expect(result.instrumented.code).toBe(code);
    expect(result.markers).toEqual({ baseline: 'rejection taken: vector store connection lost', instrumented: 'rejection taken: vector store connection lost' });
    const { events, report } = expectCompleteRun(result.dir);
    const rejections = events.filter((event) => event.type === 'unhandled_rejection');
    expect(rejections.map((event) => [event.level, event.data.error, event.data.error_type, event.data.handled_by_app])).toEqual([['ERROR', 'vector store connection lost', 'Error', true]]);
    expect(rejections[0].data.stack).toMatch(/^Error: vector store connection lost\n\s+at /);
    expect(report.exit).toMatchObject({ reason, exit_code: code });
    expect(report.failure_analysis.failures_by_type).toEqual({ unhandled_rejection: 1 });
    const crash = report.diagnoses.find((diagnosis) => diagnosis.id === 'crash');
    if (code === 0) expect(crash).toBeUndefined();
    else expect(crash!.evidence.examples).toContain('Error: vector store connection lost');
  });

  it("under --unhandled-rejections=strict, a rejection an 'uncaughtException' listener took is recorded once", async () => {
    const result = await run('rejection-listener-strict', { nodeArgs: ['--unhandled-rejections=strict'] });
    expectSameBehaviour(result);
    expect(result.instrumented.code).toBe(0);
    expect(result.markers.instrumented).toBe('rejection taken: vector store connection lost');
    const { events } = expectCompleteRun(result.dir);
    expect(events.filter((event) => event.type === 'unhandled_rejection').map((event) => event.data.handled_by_app)).toEqual([true]);
  });

  it.for(['busy-at-the-end', 'busy-at-the-end-before-exit'])('a SIGTERM that arrives during the last synchronous work still ends the process by the signal (%s)', async (variant) => {
    // A JavaScript listener runs when the event loop turns; here the loop had nothing left after
    // the busy step and used to end without reading the signal (exit code 0), and still did when
    // the app listened to 'beforeExit'.
    const result = await run(variant, {
      onStdoutLine: (line, child) => {
        if (!line.startsWith('READY ')) return;
        child.kill('SIGTERM');
        writeFileSync(line.slice('READY '.length), '');
      },
    });
    expect(result.baseline).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(result.instrumented).toMatchObject({ code: null, signal: 'SIGTERM' });
    // Without the library the kernel ends it at once; with it, when the busy step yields.
    expect(result.markers).toEqual({ baseline: undefined, instrumented: 'busy step finished' });
    const { report } = expectCompleteRun(result.dir);
    expect(report.exit).toMatchObject({ reason: 'signal', signal: 'SIGTERM' });
  });

  it('an error the app gives more context after its span recorded it crashes with the new message', async () => {
    const result = await run('rethrow-with-context');
    // The same crash output, up to the stack frames of the context manager (the baseline runs
    // without init(), with OpenTelemetry's no-op one).
    const head = (stderr: string) => stderr.slice(0, stderr.indexOf('\n    at '));
    expect(head(result.instrumented.stderr)).toBe(head(result.baseline.stderr));
    expect([result.instrumented.code, result.baseline.code]).toEqual([1, 1]);
    expect(result.instrumented.stderr).toContain('Error: startup failed: ENOENT: config.json\n');
    const { events, report } = expectCompleteRun(result.dir);
    // The span recorded the error as it was; the crash record has it as the process ended.
    expect(events.find((event) => event.type === 'task_error')!.data.error).toBe('ENOENT: config.json');
    expect(report.exit).toMatchObject({ reason: 'unhandled_rejection' });
    expect(String(events.find((event) => event.type === 'unhandled_rejection')!.data.error)).toContain('startup failed: ENOENT: config.json');
  });

  it('process.exitCode set by the app', async () => {
    const result = await run('exit-code');
    expectSameBehaviour(result);
    expect(result.instrumented.code).toBe(4);
    expect(expectCompleteRun(result.dir).report.exit).toMatchObject({ reason: 'normal', exit_code: 4, signal: null });
  });

  it("process.exit(9) inside the app's own 'exit' listener, registered before init()", async () => {
    const result = await run('exit-in-exit-handler');
    expectSameBehaviour(result);
    expect(result.instrumented.code).toBe(9);
    expect(result.markers).toEqual({ baseline: 'exit handler ran', instrumented: 'exit handler ran' });
    const { report } = expectCompleteRun(result.dir);
    expect(report.exit).toMatchObject({ reason: 'exit', exit_code: 0 });
    expect(report.unfinished.map((span) => span.name)).toEqual(['stage work']);
  });

  it.for(['exit-in-before-exit', 'exit-in-before-exit-wrapped'])("process.exit(7) inside the app's own 'beforeExit' listener is an exit by process.exit() (%s)", async (variant) => {
    const result = await run(variant);
    expectSameBehaviour(result);
    expect(result.instrumented.code).toBe(7);
    expect(result.markers).toEqual({ baseline: 'before exit ran', instrumented: 'before exit ran' });
    const { report } = expectCompleteRun(result.dir);
    expect(report.exit).toMatchObject({ reason: 'exit', exit_code: 7, signal: null, description: 'by process.exit()' });
  });

  it("an 'uncaughtException' listener that handles the error and exits 2", async () => {
    const result = await run('uncaught-handler');
    expectSameBehaviour(result);
    expect(result.instrumented.code).toBe(2);
    expect(result.markers.instrumented).toBe('handled: handled by the app');
    const { events, report } = expectCompleteRun(result.dir);
    const crash = events.find((event) => event.type === 'uncaught_exception')!;
    expect(crash.data).toMatchObject({ error: 'handled by the app', error_type: 'Error', handled_by_app: true });
    expect(report.exit).toMatchObject({ reason: 'exit', exit_code: 2 });
  });

  it.for([
    ['before-exit-calls', 'beforeExit 1\n', 'calls 1'],
    ['before-exit-calls-with-work', 'beforeExit 1\nbeforeExit 2\n', 'calls 2'],
  ])("the app's own 'beforeExit' listener is called as often as without the library (%s)", async ([variant, stdout, marker]) => {
    const result = await run(variant);
    expectSameBehaviour(result);
    expect([result.baseline.stdout, result.instrumented.stdout]).toEqual([stdout, stdout]);
    expect(result.markers).toEqual({ baseline: marker, instrumented: marker });
    expect(expectCompleteRun(result.dir).report.exit).toMatchObject({ reason: 'normal', exit_code: 0 });
  });

  it("an 'uncaughtException' listener that throws in turn: Node exits with 7 and no 'exit' event, and the events up to the crash are in the log", async () => {
    const result = await run('uncaught-handler-throws');
    expectSameBehaviour(result);
    expect(result.instrumented.code).toBe(7);
    // No report (the process never got to write one): the log is read as a run that was killed.
    const events: TruthEvent[] = [];
    readTruthLogSync(join(result.dir, 'Memory', 'logs', 'execution_tracker.json'), (event) => events.push(event));
    expect(events.map((event) => event.type)).toEqual(['stage_start', 'uncaught_exception']);
    expect(events[1].data).toMatchObject({ error: 'first failure', stage: 'work', handled_by_app: true });
  });

  it('two copies of the library in one process (a nested install): a SIGTERM still ends the process, and both runs record it', async () => {
    // A second install, as a plugin's nested dependency or the zero-code flag's global copy would be.
    const copy = tempRunDir('autopsy-copy-');
    cpSync(join(REPO_ROOT, 'dist'), join(copy, 'dist'), { recursive: true });
    cpSync(join(REPO_ROOT, 'package.json'), join(copy, 'package.json'));
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(copy, 'node_modules'));
    const [first, second] = [tempRunDir('autopsy-copies-'), tempRunDir('autopsy-copies-')];
    const script = writeScript(
      `const one = require(${JSON.stringify(join(REPO_ROOT, 'dist', 'index.cjs'))});
const two = require(${JSON.stringify(join(copy, 'dist', 'index.cjs'))});
one.init({ outputDir: process.argv[2], reportFormats: [] });
two.init({ outputDir: process.argv[3], reportFormats: [] });
one.stage('work', () => new Promise((done) => setTimeout(done, 60_000)));
setTimeout(() => process.stdout.write('READY\\n'), 1);
`,
      '.cjs',
    );
    const result = await runNode(script, {
      args: [first, second],
      onStdoutLine: (line, child) => {
        if (line === 'READY') child.kill('SIGTERM');
      },
    });
    expect(result).toMatchObject({ code: null, signal: 'SIGTERM', stderr: '' });
    for (const dir of [first, second]) expect(expectCompleteRun(dir).report.exit).toMatchObject({ reason: 'signal', signal: 'SIGTERM' });
  });

  it("process.exit(5) in an 'exit' listener the app prepends after init(), which runs before ours: the run is still finished, with code 5", async () => {
    const result = await run('exit-in-prepended-exit-listener');
    expectSameBehaviour(result);
    expect(result.instrumented.code).toBe(5);
    expect(result.markers).toEqual({ baseline: 'prepended exit listener ran', instrumented: 'prepended exit listener ran' });
    const { events, report } = expectCompleteRun(result.dir);
    expect(events.map((event) => event.type)).toEqual(['stage_start', 'stage_end']);
    expect(report.exit).toMatchObject({ reason: 'exit', exit_code: 5, description: 'by process.exit()' });
  });

  it('a SIGTERM that arrives while init() opens the run: the process dies by it, and the run is complete (no lock left)', async () => {
    const dir = tempRunDir('autopsy-init-signal-');
    // The signal is sent the moment init() opens the readable log, after the lock and the JSON log.
    const script = writeScript(
      `const fs = require('node:fs');
const open = fs.openSync;
fs.openSync = function (path, ...rest) {
  if (String(path).endsWith('execution_tracker_readable.txt')) process.kill(process.pid, 'SIGTERM');
  return open.call(this, path, ...rest);
};
require(${JSON.stringify(join(REPO_ROOT, 'dist', 'index.cjs'))}).init({ outputDir: process.argv[2], reportFormats: [] });
setTimeout(() => {}, 60_000);
`,
      '.cjs',
    );
    const result = await runNode(script, { args: [dir] });
    expect(result).toMatchObject({ code: null, signal: 'SIGTERM', stderr: '' });
    expect(expectCompleteRun(dir).report.exit).toMatchObject({ reason: 'signal', signal: 'SIGTERM' });
    expect(existsSync(join(dir, 'Memory', 'logs', '.agent-autopsy.lock'))).toBe(false);
  });

  it("work the app does in its own 'beforeExit' listener is recorded", async () => {
    const result = await run('before-exit-work');
    expectSameBehaviour(result);
    expect(result.instrumented.code).toBe(0);
    expect(result.markers.instrumented).toBe('late work done');
    const { events, report } = expectCompleteRun(result.dir);
    expect(events.map((event) => `${event.type} ${event.data.stage}`)).toEqual(['stage_start work', 'stage_end work', 'stage_start late', 'stage_end late']);
    expect(report.exit).toMatchObject({ reason: 'normal', exit_code: 0 });
  });
});
