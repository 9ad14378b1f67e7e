import { exec, execFileSync, execSync, fork, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { init, shutdown, stage, task } from '../src/index';
import type { TruthEvent } from '../src/types';
import { readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * `init({ instrumentChildProcesses: true })`: child processes become code_exec spans in the
 * current stage, with the command, exit code, duration and the tail of stderr, while the app
 * sees exactly what it would see without it (same output, same errors, same events).
 */

const runDir = tempRunDir('autopsy-child-process-');
const scratch = tempRunDir('autopsy-child-scratch-');
let events: TruthEvent[] = [];
const seen: Record<string, unknown> = {};

function waitClose(child: ReturnType<typeof spawn>): Promise<[number | null, NodeJS.Signals | null]> {
  return new Promise((resolve) => child.on('close', (code, signal) => resolve([code, signal])));
}

beforeAll(async () => {
  init({ outputDir: runDir, instrumentChildProcesses: true, handleExit: false, reportFormats: [] });
  const forked = join(scratch, 'forked.cjs');
  writeFileSync(forked, 'process.exit(0);\n');
  await stage('execution', async () => {
    await task('run_python', async () => {
      const child = spawn('python3', ['-c', 'import sys\nprint("out")\nsys.stderr.write("boom: " + "x" * 3000 + "\\nTraceback: ValueError\\n")\nsys.exit(3)']);
      let stderr = '';
      let stdout = '';
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.stdout.on('data', (chunk) => (stdout += chunk));
      seen.python = [await waitClose(child), stdout, stderr.length];
    });
    seen.exec = await new Promise((resolve) => exec(`"${process.execPath}" -e "console.log(40 + 2)"`, (error, stdout) => resolve([error, stdout])));
    try {
      execSync(`"${process.execPath}" -e "process.stderr.write('bad input'); process.exit(2)"`, { stdio: 'pipe' });
    } catch (error) {
      seen.execSync = (error as { status: number }).status;
    }
    seen.spawnSync = spawnSync('bash', ['-c', 'echo hi']).stdout.toString();
    seen.execFileSync = execFileSync(process.execPath, ['-e', 'process.stdout.write("ok")']).toString();
    const missing = spawn('no-such-interpreter-here', ['x.py']);
    seen.enoent = await new Promise((resolve) => missing.on('error', (error: NodeJS.ErrnoException) => resolve(error.code)));
    seen.fork = await waitClose(fork(forked));
  });
  await shutdown();
  events = readTrackerDocument(runDir).events.filter((event) => event.type.startsWith('code_exec'));
});

it('the app sees exactly what it would see without the instrumentation', () => {
  expect(seen).toEqual({
    python: [[3, null], 'out\n', 3000 + 'boom: \nTraceback: ValueError\n'.length],
    exec: [null, '42\n'],
    execSync: 2,
    spawnSync: 'hi\n',
    execFileSync: 'ok',
    enoent: 'ENOENT',
    fork: [0, null],
  });
});

it('records one code_exec span per process, in its stage, in order', () => {
  expect(events.map((event) => [event.type, event.data.language, event.data.stage])).toEqual([
    ['code_exec_start', 'python', 'execution'],
    ['code_exec_error', 'python', 'execution'],
    ['code_exec_start', 'javascript', 'execution'],
    ['code_exec_end', 'javascript', 'execution'],
    ['code_exec_start', 'javascript', 'execution'],
    ['code_exec_error', 'javascript', 'execution'],
    ['code_exec_start', 'shell', 'execution'],
    ['code_exec_end', 'shell', 'execution'],
    ['code_exec_start', 'javascript', 'execution'],
    ['code_exec_end', 'javascript', 'execution'],
    ['code_exec_start', 'no-such-interpreter-here', 'execution'],
    ['code_exec_error', 'no-such-interpreter-here', 'execution'],
    ['code_exec_start', 'javascript', 'execution'],
    ['code_exec_end', 'javascript', 'execution'],
  ]);
});

it('keeps the command, the exit code, the duration and the last 2,000 characters of stderr', () => {
  const python = events[1].data;
  expect(python).toMatchObject({ exit_code: 3, error: 'exit code 3: Traceback: ValueError', error_type: 'NonZeroExitCode' });
  expect(String(python.command)).toMatch(/^python3 -c import sys\nprint\("out"\)/);
  expect(String(python.stderr_tail)).toHaveLength(2000);
  expect(String(python.stderr_tail)).toMatch(/x\nTraceback: ValueError\n$/);
  expect(typeof python.duration).toBe('number');
  // exec() runs execFile() inside: recorded once, with the command line as written.
  expect(events[3].data).toMatchObject({ command: `"${process.execPath}" -e "console.log(40 + 2)"`, exit_code: 0 });
  expect(events[5].data).toMatchObject({ exit_code: 2, stderr_tail: 'bad input', error_type: 'NonZeroExitCode' });
  expect(events[7].data).toMatchObject({ command: 'bash -c echo hi', exit_code: 0 });
  expect(events[11].data).toMatchObject({ command: 'no-such-interpreter-here x.py', error_type: 'Error' });
  expect(String(events[11].data.error)).toContain('ENOENT');
  expect(String(events[13].data.command)).toMatch(/^node .*forked\.cjs$/);
});

it('counts failed executions in the report', () => {
  const report = readReport(runDir);
  expect(report.failure_analysis.failures_by_type).toEqual({ code_exec_error: 3 });
  expect(report.failure_analysis.failures_by_stage).toEqual({ execution: 3 });
});
