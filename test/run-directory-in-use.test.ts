import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runNode, writeScript, type ChildResult } from './helpers/childProcess';
import { runCli } from './helpers/cli';
import { logPath, readAutofixLog, readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * Two live processes never write into one run directory: the first one locks it
 * (Memory/logs/.agent-autopsy.lock), a second one records into `<dir>/processes/<pid>` and says so
 * once on stderr. Above all the child processes of a zero-code agent, which inherit its flag and
 * AGENT_AUTOPSY_DIR: they used to truncate the parent's log while it was being written.
 */

const LOCK = '.agent-autopsy.lock';
const newDir = () => tempRunDir('autopsy-in-use-');

function lockPath(dir: string): string {
  return logPath(dir, LOCK);
}

function eventsOf(dir: string): Array<[string, Record<string, unknown>]> {
  const document = readTrackerDocument(dir);
  expect(document.total_events).toBe(document.events.length);
  return document.events.map((event) => [event.type, event.data]);
}

function inUseLine(dir: string, owner: number, pid: number, verb: 'records' | 'recorded'): string {
  return `agent-autopsy: ${dir} is being recorded by process ${owner} (lock file ${lockPath(dir)}); this process (${pid}) ${verb} into ${join(dir, 'processes', String(pid))}`;
}

function stderrLines(result: ChildResult): string[] {
  return result.stderr.split('\n').filter(Boolean);
}

describe('child processes of a zero-code agent', () => {
  it("record into processes/<pid>; the parent's log stays one complete document with all its events", async () => {
    const dir = newDir();
    const script = writeScript(
      `const { execFileSync, fork } = require('node:child_process');
       const { writeFileSync } = require('node:fs');
       const { join } = require('node:path');
       const { track } = require('agent-autopsy');
       const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
       const forked = join(__dirname, 'forked.cjs');
       writeFileSync(forked, "require('agent-autopsy').track('child_step', { via: 'fork' }); process.send(process.pid);");
       (async () => {
         for (let i = 0; i < 50; i++) track('parent_step', { i });
         await sleep(60); // the first events are on disk when the children start
         // NODE_OPTIONS carries the flag to any node child; fork() also passes the parent's own flags.
         const env = { ...process.env, NODE_OPTIONS: '--require agent-autopsy/register' };
         const recording = execFileSync(process.execPath, ['-e', "const { track } = require('agent-autopsy'); track('child_step', { via: 'execFileSync' }); track('child_step', { via: 'execFileSync', n: 2 }); process.stdout.write(String(process.pid));"], { env, encoding: 'utf8' });
         const quiet = execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { env, encoding: 'utf8' });
         const child = fork(forked);
         const forkedPid = await new Promise((done) => child.on('message', done));
         await new Promise((done) => child.on('exit', done));
         for (let i = 50; i < 100; i++) track('parent_step', { i });
         process.stdout.write(JSON.stringify({ parent: process.pid, recording: Number(recording), quiet: Number(quiet), forked: forkedPid }));
       })();`,
      '.cjs',
    );
    const result = await runNode(script, { nodeArgs: ['--require', 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: dir, NODE_OPTIONS: undefined } });
    expect(result.code).toBe(0);
    const pids = JSON.parse(result.stdout) as { parent: number; recording: number; quiet: number; forked: number };

    const parentEvents = Array.from({ length: 100 }, (_, i) => ['parent_step', { i }]);
    expect(eventsOf(dir)).toEqual(parentEvents);
    expect(readReport(dir).run.total_events).toBe(100);
    expect(readReport(dir).exit.reason).toBe('normal');

    // Each child that recorded something has a run of its own; one that recorded nothing left nothing.
    expect(readdirSync(join(dir, 'processes')).sort()).toEqual([String(pids.recording), String(pids.forked)].sort());
    const recording = join(dir, 'processes', String(pids.recording));
    const forked = join(dir, 'processes', String(pids.forked));
    expect(eventsOf(recording)).toEqual([
      ['child_step', { via: 'execFileSync' }],
      ['child_step', { via: 'execFileSync', n: 2 }],
    ]);
    expect(eventsOf(forked)).toEqual([['child_step', { via: 'fork' }]]);
    expect(readReport(recording).exit.reason).toBe('normal');
    expect(readReport(recording).run.output_dir).toBe(recording);

    // Said once by each child that kept a run, at its end; nothing from the quiet one.
    expect(stderrLines(result).sort()).toEqual([inUseLine(dir, pids.parent, pids.recording, 'recorded'), inUseLine(dir, pids.parent, pids.forked, 'recorded')].sort());
    // Every lock was released.
    for (const run of [dir, recording, forked]) expect(readdirSync(logPath(run, '.')).filter((name) => name.startsWith('.agent-autopsy.lock'))).toEqual([]);

    // The report of the directory is the parent's; stderr says where the children's are.
    const newest = [recording, forked].sort((a, b) => statSync(logPath(a, 'execution_tracker.json')).mtimeMs - statSync(logPath(b, 'execution_tracker.json')).mtimeMs)[1];
    for (const given of [dir, logPath(dir, '.')]) {
      const report = await runCli(['report', given, '-f', 'md']);
      expect(report.code).toBe(0);
      expect(report.stderr).toBe(`agent-autopsy: this is the run of one process; ${dir} also holds the runs of 2 other processes in processes/, the newest: agent-autopsy report ${newest}\n`);
    }
    expect((await runCli(['report', recording])).stderr).toBe('');
  });
});

/** An agent that records `who`'s first event, prints its pid and run directory, and waits for `go` to exist. */
const WAITING_AGENT = `
  import { existsSync } from 'node:fs';
  import { init, track } from 'agent-autopsy';
  const [dir, go, who] = process.argv.slice(2);
  const handle = init({ outputDir: dir, reportFormats: [] });
  track('step', { who, n: 1 });
  process.stdout.write(JSON.stringify({ who, pid: process.pid, outputDir: handle.outputDir }) + '\\n');
  while (!existsSync(go)) await new Promise((done) => setTimeout(done, 10));
  track('step', { who, n: 2 });
`;

describe('two processes calling init() on the same directory', () => {
  it('both live: the first keeps it, the second records into processes/<pid> and says so at its start', async () => {
    const dir = newDir();
    const go = join(newDir(), 'go');
    const script = writeScript(WAITING_AGENT);
    const started: Array<{ who: string; pid: number; outputDir: string }> = [];
    const onStdoutLine = (line: string) => {
      started.push(JSON.parse(line));
      // Both have opened their run: let them finish.
      if (started.length === 2) writeFileSync(go, '');
    };
    const [a, b] = await Promise.all([runNode(script, { args: [dir, go, 'a'], onStdoutLine }), runNode(script, { args: [dir, go, 'b'], onStdoutLine })]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const owner = started.find((run) => run.outputDir === dir)!;
    const second = started.find((run) => run.outputDir !== dir)!;
    expect(second.outputDir).toBe(join(dir, 'processes', String(second.pid)));
    const results = { a, b } as Record<string, ChildResult>;
    expect(results[owner.who].stderr).toBe('');
    expect(stderrLines(results[second.who])).toEqual([inUseLine(dir, owner.pid, second.pid, 'records')]);
    expect(eventsOf(dir)).toEqual([
      ['step', { who: owner.who, n: 1 }],
      ['step', { who: owner.who, n: 2 }],
    ]);
    expect(eventsOf(second.outputDir)).toEqual([
      ['step', { who: second.who, n: 1 }],
      ['step', { who: second.who, n: 2 }],
    ]);
    expect(existsSync(lockPath(dir))).toBe(false);
    expect(existsSync(lockPath(second.outputDir))).toBe(false);
  });
});

/** `<boot id>/<start time in ticks>` of a live process, read from /proc. */
function processStart(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return `${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}/${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
}

/** Runs the waiting agent in `dir` and kills it with SIGKILL once it has recorded; its pid and start. */
async function killedRun(dir: string, script: string, go: string): Promise<{ pid: number; start: string }> {
  let pid = 0;
  let start = '';
  const killed = await runNode(script, {
    args: [dir, go, 'killed'],
    onStdoutLine: (line, child) => {
      const said = JSON.parse(line) as { pid: number; outputDir: string };
      pid = said.pid;
      start = processStart(pid);
      // Killed once its first event is on disk (within flushIntervalMs, 25 ms, on an idle machine).
      const log = join(said.outputDir, 'Memory', 'logs', 'execution_tracker.json');
      const killOnceWritten = () => {
        if (existsSync(log) && readFileSync(log, 'utf8').includes('"type":"step"')) child.kill('SIGKILL');
        else setTimeout(killOnceWritten, 10);
      };
      killOnceWritten();
    },
  });
  expect(killed.signal).toBe('SIGKILL');
  return { pid, start };
}

/** The next run in `dir` takes it over: it records there, and releases the lock at its end. */
async function expectTakenOver(dir: string, script: string, go: string): Promise<void> {
  writeFileSync(go, '');
  const next = await runNode(script, { args: [dir, go, 'next'] });
  expect(next.code).toBe(0);
  expect(next.stderr).toBe('');
  expect(JSON.parse(next.stdout).outputDir).toBe(dir);
  expect(eventsOf(dir)).toEqual([
    ['step', { who: 'next', n: 1 }],
    ['step', { who: 'next', n: 2 }],
  ]);
  expect(existsSync(lockPath(dir))).toBe(false);
  expect(existsSync(join(dir, 'processes'))).toBe(false);
}

describe('a lock left behind by kill -9', () => {
  it('names the dead process, reports the run as killed, and is taken over by the next run', async () => {
    const dir = newDir();
    const go = join(newDir(), 'never');
    const script = writeScript(WAITING_AGENT);
    const { pid, start } = await killedRun(dir, script, go);
    const lock = JSON.parse(readFileSync(lockPath(dir), 'utf8'));
    const started = readFileSync(logPath(dir, 'execution_tracker.json'), 'utf8').match(/"start_time": "([^"]+)"/)![1];
    expect(lock).toEqual({ pid, hostname: hostname(), started, process_start: start });

    const report = await runCli(['report', dir]);
    expect(report.stderr).toBe('');
    expect(JSON.parse(report.stdout).exit).toMatchObject({ reason: 'killed' });
    await expectTakenOver(dir, script, go);
  });

  it('is stale once its pid belongs to another live process (a restarted container reuses pids)', async () => {
    const dir = newDir();
    const go = join(newDir(), 'never');
    const script = writeScript(WAITING_AGENT);
    await killedRun(dir, script, go);
    // Another process now has the dead process's pid: this test's parent stands in for it.
    const lock = JSON.parse(readFileSync(lockPath(dir), 'utf8'));
    writeFileSync(lockPath(dir), `${JSON.stringify({ ...lock, pid: process.ppid })}\n`);

    const report = await runCli(['report', dir]);
    expect(report.stderr).toBe('');
    expect(JSON.parse(report.stdout).exit).toMatchObject({ reason: 'killed' });
    await expectTakenOver(dir, script, go);
  });
});

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

describe('a log directory where no lock can be written', () => {
  it('is recorded as before (its existing files are rewritten)', async (context) => {
    const dir = newDir();
    const logs = logPath(dir, '.');
    mkdirSync(logs, { recursive: true });
    for (const file of ['execution_tracker.json', 'execution_tracker_readable.txt']) writeFileSync(join(logs, file), 'an older run\n', { mode: 0o600 });
    const script = writeScript(`import { init, track } from 'agent-autopsy';
      init({ outputDir: process.argv[2], reportFormats: [] });
      for (let i = 0; i < 3; i++) track('step', { i });`);
    // The files may be written, the directory may not: no lock (and no report) can be created there.
    chmodSync(dirname(script), 0o755);
    chmodSync(dir, 0o755);
    let uid: number | undefined;
    if (isRoot) {
      uid = NOBODY;
      for (const file of ['execution_tracker.json', 'execution_tracker_readable.txt']) chownSync(join(logs, file), NOBODY, NOBODY);
      const probe = newDir();
      chmodSync(probe, 0o777);
      const probed = await runNode(script, { args: [probe], uid });
      if (probed.code !== 0 || probed.stderr !== '') context.skip('the checkout is not readable by uid 65534');
    }
    chmodSync(logs, 0o555);
    const result = await runNode(script, { args: [dir], uid });
    chmodSync(logs, 0o755);
    expect(result.code).toBe(0);
    expect(eventsOf(dir)).toEqual([0, 1, 2].map((i) => ['step', { i }]));
    expect(readdirSync(logs).sort()).toEqual(['execution_tracker.json', 'execution_tracker_readable.txt']);
    // The one line about the report that could not be written, as before.
    expect(stderrLines(result)).toHaveLength(1);
    expect(stderrLines(result)[0]).toMatch(/^agent-autopsy: cannot write .*EACCES/);
  });
});

describe('a run directory deleted while its run goes on', () => {
  it('is not written again when another run has made it anew: that run keeps its own report and autofix log', async () => {
    const dir = newDir();
    const script = writeScript(`import { existsSync, rmSync } from 'node:fs';
      import { join } from 'node:path';
      import { autofix, init, stage, track } from 'agent-autopsy';
      const [dir, role] = process.argv.slice(2);
      const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
      init({ outputDir: dir, reportFormats: [] });
      await stage(role, async () => {
        track('step', { role });
        await autofix({ layer: 1, type: role }, async () => true);
        if (role !== 'first') return;
        await sleep(50);
        rmSync(dir, { recursive: true, force: true });
        process.stdout.write('DELETED\\n');
        // Wait until the second process has finished its run in the same directory.
        while (!existsSync(join(dir, 'Memory', 'logs', 'latent_analysis_report.json'))) await sleep(10);
        await autofix({ layer: 2, type: 'late' }, async () => false);
        track('late_step', { role });
      });
      process.exitCode = 3;`);
    let second: Promise<ChildResult> | undefined;
    const first = await runNode(script, {
      args: [dir, 'first'],
      onStdoutLine: (line) => {
        if (line === 'DELETED') second = runNode(script, { args: [dir, 'second'] });
      },
    });
    const secondResult = await second!;
    expect([first.code, secondResult.code]).toEqual([3, 3]);
    expect(stderrLines(first)).toHaveLength(1);
    expect(stderrLines(first)[0]).toMatch(/the file was deleted while the agent was running/);
    expect(secondResult.stderr).toBe('');
    // Every file there is the second run's, and they agree with each other.
    const document = readTrackerDocument(dir);
    expect(eventsOf(dir).map(([type]) => type)).toEqual(['stage_start', 'step', 'autofix_start', 'autofix_end', 'stage_end']);
    const report = readReport(dir);
    expect(report.run.start_time).toBe(document.start_time);
    expect(report.stages.map((stage) => stage.stage)).toEqual(['second']);
    expect(report.autofix_statistics).toMatchObject({ total_attempts: 1, successful_fixes: 1, failed_fixes: 0 });
    expect(readAutofixLog(dir)).toMatchObject({ total_attempts: 1, fixes_by_type: { second: 1 } });
    expect(existsSync(lockPath(dir))).toBe(false);
  });
});
