import { chmodSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExecutionTracker, setErrorHandler } from '../src/index';
import { EXIT_FIXTURES } from './helpers/autopsyRun';
import { runNode, type ChildResult } from './helpers/childProcess';
import { logPath, readReport } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * The disk refuses: the agent is not harmed. Each case prints exactly one clear warning line on
 * stderr, runs to its end (AGENT DONE) and exits with its own code.
 *
 * Mechanisms (all real kernel errors, also when the tests run as root):
 * - full disk: the tracker files are symlinks to /dev/full, whose writes fail with ENOSPC;
 * - a path that cannot be created: the run directory's parent is a regular file (ENOTDIR);
 * - no write permission: a 0555 directory, with the agent run as an unprivileged user
 *   (nobody, uid 65534) when the tests run as root, since root ignores permission bits (EACCES);
 * - the run directory deleted mid-run (by the agent itself, after its first events).
 */

const DISK = join(EXIT_FIXTURES, 'disk.mjs');
const newDir = () => tempRunDir('autopsy-disk-');

/**
 * The one warning line, and the agent ran to its end with its own exit code. A run directory that
 * could not be made holds nothing (`created: false`), one whose files fail holds part of the autopsy.
 */
function expectOneWarning(result: ChildResult, exitCode: number, pattern: RegExp, created = true): void {
  expect(result.code).toBe(exitCode);
  expect(result.stdout).toBe('AGENT DONE\n');
  const lines = result.stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(lines[0]).toMatch(created ? /\(the agent keeps running; the autopsy in .* will be incomplete\)$/ : /\(the agent keeps running; no log or autopsy can be written in .*\/Memory\/logs\)$/);
}

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

describe.concurrent('disk problems never harm the agent', () => {
  it('a full disk (writes to /dev/full fail with ENOSPC)', async () => {
    const dir = newDir();
    mkdirSync(join(dir, 'Memory', 'logs'), { recursive: true });
    symlinkSync('/dev/full', logPath(dir, 'execution_tracker.json'));
    symlinkSync('/dev/full', logPath(dir, 'execution_tracker_readable.txt'));
    const result = await runNode(DISK, { args: ['full', dir, '6'] });
    expectOneWarning(result, 6, /^agent-autopsy: cannot write .*\/Memory\/logs\/execution_tracker(_readable)?\.(json|txt): ENOSPC: no space left on device/);
    // Only the logs were on the full device: the report still counts every event.
    expect(readReport(dir).run.total_events).toBe(404);
  });

  it('a run directory that cannot be created (its parent is a regular file: ENOTDIR)', async () => {
    const parent = newDir();
    const file = join(parent, 'not-a-directory');
    writeFileSync(file, 'a file where the run directory should go');
    const result = await runNode(DISK, { args: ['notdir', join(file, 'run'), '0'] });
    expectOneWarning(result, 0, /^agent-autopsy: cannot create .*\/not-a-directory\/run\/Memory\/logs: ENOTDIR: not a directory/, false);
  });

  // Node's recursive mkdir loops forever there (100 % CPU before the app runs): the bound is the
  // test's timeout, not a measured time.
  it.runIf(process.platform === 'linux')('a run directory under /proc, which cannot be made (ENOENT although /proc is there): one line, no hang', { timeout: 20_000 }, async () => {
    const result = await runNode(DISK, { args: ['proc', '/proc/agent-autopsy-run', '0'], timeoutMs: 15_000 });
    expectOneWarning(result, 0, /^agent-autopsy: cannot create \/proc\/agent-autopsy-run\/Memory\/logs: ENOENT: no such file or directory, mkdir '\/proc\/agent-autopsy-run'/, false);
  });

  it('a read-only run directory (mode 0555: EACCES)', async (context) => {
    const dir = newDir();
    chmodSync(dir, 0o555);
    const args = ['readonly', join(dir, 'run'), '7'];
    let result: ChildResult;
    if (isRoot) {
      // nobody must be able to read the fixture and the package (not so when the checkout is private).
      const probe = await runNode(DISK, { args: ['probe'], uid: NOBODY });
      if (probe.stdout !== 'readable\n') context.skip('the checkout is not readable by uid 65534');
      result = await runNode(DISK, { args, uid: NOBODY });
    } else {
      result = await runNode(DISK, { args });
    }
    expectOneWarning(result, 7, /^agent-autopsy: cannot create .*\/run\/Memory\/logs: EACCES: permission denied/, false);
    expect(existsSync(join(dir, 'run'))).toBe(false);
  });

  it('the run directory deleted while the agent runs', async () => {
    const dir = newDir();
    const result = await runNode(DISK, { args: ['delete', dir, '5'] });
    expectOneWarning(result, 5, /^agent-autopsy: cannot write .*\/Memory\/logs\/execution_tracker(_readable)?\.(json|txt): the file was deleted while the agent was running/);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('a handler of your own (setErrorHandler)', () => {
  it('gets each failure, one per file the run cannot write (not per event), where the default prints one line per directory', () => {
    const seen: string[][] = [];
    setErrorHandler((error, context) => seen.push([context, (error as NodeJS.ErrnoException).code ?? '']));
    try {
      const parent = join(tempRunDir('autopsy-disk-'), 'a-file');
      writeFileSync(parent, 'not a directory');
      const logs = join(parent, 'run', 'Memory', 'logs');
      const tracker = new ExecutionTracker(join(parent, 'run'));
      for (let i = 0; i < 5; i++) tracker.track('task_error', { error: 'y' }, 'ERROR');
      tracker.close();
      expect(seen).toEqual([
        [`cannot create ${logs}`, 'ENOTDIR'],
        ...['execution_tracker.json', 'execution_tracker_readable.txt', 'autofix_log.json', 'latent_analysis_report.json', 'autopsy.md', 'autopsy.html'].map((file) => [`cannot write ${join(logs, file)}`, 'ENOTDIR']),
      ]);
    } finally {
      setErrorHandler(undefined);
    }
  });
});

describe("ExecutionTracker's queries when the log cannot be read", () => {
  it('give what could be read and report the problem, never throw into the agent', () => {
    const seen: string[] = [];
    setErrorHandler((error, context) => seen.push(`${context}: ${(error as Error).message}`));
    try {
      const dir = tempRunDir('autopsy-disk-');
      const tracker = new ExecutionTracker(dir);
      tracker.track('task_error', { error: 'x' }, 'ERROR');
      expect(tracker.getErrorEvents().map((event) => event.type)).toEqual(['task_error']);
      rmSync(dir, { recursive: true, force: true });
      expect(tracker.getErrorEvents()).toEqual([]);
      expect(tracker.getEventsByType('task_error')).toEqual([]);
      expect(tracker.getEventsByLevel('INFO')).toEqual([]);
      expect(seen.some((line) => line.startsWith(`cannot read back ${logPath(dir, 'execution_tracker.json')}`))).toBe(true);
      tracker.close();

      // A run directory that cannot even be created (its parent is a regular file).
      const parent = join(tempRunDir('autopsy-disk-'), 'a-file');
      writeFileSync(parent, 'not a directory');
      const nowhere = new ExecutionTracker(join(parent, 'run'));
      nowhere.track('task_error', { error: 'y' }, 'ERROR');
      expect(nowhere.getEventsByType('task_error')).toEqual([]);
      nowhere.close();
    } finally {
      setErrorHandler(undefined);
    }
  });
});
