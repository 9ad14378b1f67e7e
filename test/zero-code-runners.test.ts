import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runNode, writeScript, type ChildResult } from './helpers/childProcess';
import { readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * With the flag in NODE_OPTIONS every node process gets it: npm, npx, tsx's CLI, build tools, and
 * the agent they start. A zero-code run opens its directory at its first event, so a process that
 * records nothing leaves nothing behind and holds nothing: the agent behind `npm start` records
 * into AGENT_AUTOPSY_DIR itself, not into `processes/<pid>` beside an empty run of npm's.
 */

const REGISTER = join(REPO_ROOT, 'dist', 'register.mjs');
const FLAG = { NODE_OPTIONS: `--import=${REGISTER}` };

/** The agent: two events, then the exit code it is given. */
const AGENT = writeScript(`
  import { track } from 'agent-autopsy';
  track('step', { n: 1 });
  track('step', { n: 2 });
  process.stdout.write(JSON.stringify({ agent: process.pid }) + '\\n');
  process.exitCode = Number(process.argv[2] ?? 0);
`);

/** A runner in front of the agent, as npm is: it records nothing, and exits with the agent's code. */
const RUNNER = writeScript(`
  import { spawnSync } from 'node:child_process';
  const agent = spawnSync(process.execPath, process.argv.slice(2), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(agent.stdout);
  process.stdout.write(JSON.stringify({ runner: process.pid }) + '\\n');
  process.exit(agent.status ?? 1);
`);

function pidsOf(result: ChildResult): Record<string, number> {
  return Object.assign({}, ...result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line)));
}

function eventsOf(dir: string): Array<[string, unknown]> {
  return readTrackerDocument(dir).events.map((event) => [event.type, event.data]);
}

describe('a runner in front of the agent, both given the flag by NODE_OPTIONS', () => {
  it.each([0, 3])('the agent (exit code %i) records into AGENT_AUTOPSY_DIR itself; the runner leaves nothing and says nothing', async (code) => {
    const dir = join(tempRunDir('autopsy-runner-'), 'run');
    const result = await runNode(RUNNER, { args: [AGENT, String(code)], env: { ...FLAG, AGENT_AUTOPSY_DIR: dir }, timeoutMs: 60_000 });
    expect(result.code).toBe(code);
    expect(result.stderr).toBe('');
    expect(eventsOf(dir)).toEqual([
      ['step', { n: 1 }],
      ['step', { n: 2 }],
    ]);
    const report = readReport(dir);
    expect(report.run.output_dir).toBe(dir);
    expect(report.exit.exit_code).toBe(code);
    expect(readdirSync(dir)).toEqual(['Memory']);
  }, 90_000);

  it('without AGENT_AUTOPSY_DIR, only the agent leaves a run (./autopsy-runs/<time>-<pid>)', async () => {
    const cwd = tempRunDir('autopsy-runner-cwd-');
    const result = await runNode(RUNNER, { args: [AGENT], cwd, env: { ...FLAG, AGENT_AUTOPSY_DIR: undefined }, timeoutMs: 60_000 });
    expect(result.code).toBe(0);
    const pids = pidsOf(result);
    const runs = readdirSync(join(cwd, 'autopsy-runs'));
    expect(runs).toEqual([expect.stringMatching(new RegExp(`^\\d{8}-\\d{6}-${pids.agent}$`))]);
    expect(eventsOf(join(cwd, 'autopsy-runs', runs[0]))).toHaveLength(2);
  }, 90_000);
});

describe('a process that records nothing', () => {
  /** A parent that runs two `node -e` children (a build tool's), all with the flag, and records nothing itself. */
  const PARENT = writeScript(`
    import { execFileSync } from 'node:child_process';
    const children = [0, 1].map(() => Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })));
    process.stdout.write(JSON.stringify({ parent: process.pid, children }));
  `);

  it('leaves no directory, and prints where it would have written only when asked (AGENT_AUTOPSY_PRINT)', async () => {
    const quiet = tempRunDir('autopsy-nothing-');
    const result = await runNode(PARENT, { cwd: quiet, env: { ...FLAG, AGENT_AUTOPSY_DIR: undefined } });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(readdirSync(quiet)).toEqual([]);

    const told = tempRunDir('autopsy-nothing-');
    const printed = await runNode(PARENT, { cwd: told, env: { ...FLAG, AGENT_AUTOPSY_DIR: undefined, AGENT_AUTOPSY_PRINT: 'true' } });
    expect(printed.code).toBe(0);
    expect(readdirSync(told)).toEqual([]);
    const { parent, children } = JSON.parse(printed.stdout) as { parent: number; children: number[] };
    const line = (pid: number, name: string) =>
      expect.stringMatching(new RegExp(`^agent-autopsy: process ${pid} \\(${name}\\) recorded nothing; no run was written to ${join(told, 'autopsy-runs')}/\\d{8}-\\d{6}-${pid}$`));
    expect(printed.stderr.split('\n').filter(Boolean)).toEqual([line(children[0], 'node'), line(children[1], 'node'), line(parent, 'script\\.mjs')]);
  }, 60_000);

  /** Waits for a signal; with `handle`, handles SIGINT itself (a runner passing Ctrl-C on to its child) and exits 0. */
  const WAITING = writeScript(`
    if (process.argv[2] === 'handle') process.on('SIGINT', () => process.exit(0));
    setInterval(() => undefined, 1000);
    process.stdout.write('READY\\n');
  `);

  it.each([
    ['SIGINT handled by the app, exit code 0', 'handle', 'SIGINT', { code: 0, signal: null }],
    ['SIGTERM, which ends it', 'default', 'SIGTERM', { code: null, signal: 'SIGTERM' }],
  ] as const)('leaves nothing for a signal alone: %s', async (_label, mode, signal, ending) => {
    const dir = join(tempRunDir('autopsy-nothing-signal-'), 'run');
    const result = await runNode(WAITING, {
      args: [mode],
      env: { ...FLAG, AGENT_AUTOPSY_DIR: dir },
      onStdoutLine: (line, child) => {
        if (line === 'READY') child.kill(signal);
      },
    });
    expect({ code: result.code, signal: result.signal }).toEqual(ending);
    expect(result.stderr).toBe('');
    expect(existsSync(dir)).toBe(false);
  });

  it('that crashes leaves the crash: an uncaught exception is recorded', async () => {
    const dir = join(tempRunDir('autopsy-nothing-crash-'), 'run');
    // From a timer: under --import, a throw at the entry's top level is an unhandled rejection.
    const result = await runNode(writeScript("setTimeout(() => { throw new TypeError('config is missing'); }, 1);"), { env: { ...FLAG, AGENT_AUTOPSY_DIR: dir } });
    expect(result.code).toBe(1);
    expect(eventsOf(dir).map(([type]) => type)).toEqual(['uncaught_exception']);
    expect(readReport(dir).exit).toMatchObject({ reason: 'uncaught_exception', error: { type: 'TypeError', message: 'config is missing' } });
  });
});

describe('a zero-code process whose child recorded into the directory first', () => {
  it("does not truncate the child's finished run: it records into processes/<pid> and says why", async () => {
    const dir = join(tempRunDir('autopsy-newer-'), 'run');
    mkdirSync(dir);
    const parent = writeScript(`
      import { spawnSync } from 'node:child_process';
      import { track } from 'agent-autopsy';
      // The child runs (and finishes) before this process records anything.
      spawnSync(process.execPath, [${JSON.stringify(AGENT)}], { stdio: 'ignore' });
      track('parent_step', {});
    `);
    const result = await runNode(parent, { env: { ...FLAG, AGENT_AUTOPSY_DIR: dir }, timeoutMs: 60_000 });
    expect(result.code).toBe(0);
    expect(eventsOf(dir)).toEqual([
      ['step', { n: 1 }],
      ['step', { n: 2 }],
    ]);
    const childStart = readTrackerDocument(dir).start_time;
    const [own] = readdirSync(join(dir, 'processes'));
    expect(eventsOf(join(dir, 'processes', own))).toEqual([['parent_step', {}]]);
    expect(readTrackerDocument(join(dir, 'processes', own)).start_time < childStart).toBe(true);
    expect(result.stderr).toBe(
      `agent-autopsy: ${dir} holds a run that started after this one (at ${childStart}); this process (${own}) recorded into ${join(dir, 'processes', own)}\n`,
    );
  }, 60_000);
});

describe('an ExecutionTracker on the zero-code run, in a directory another process records', () => {
  it('names where the run really records: processes/<pid>', async () => {
    const dir = join(tempRunDir('autopsy-tracker-'), 'run');
    const child = writeScript(`
      import { ExecutionTracker } from 'agent-autopsy';
      const tracker = new ExecutionTracker(process.env.AGENT_AUTOPSY_DIR);
      tracker.track('child_step', { n: 1 });
      process.stdout.write(JSON.stringify({ child: process.pid, outputDir: tracker.outputDir, jsonLogPath: tracker.jsonLogPath }));
    `);
    const parent = writeScript(`
      import { execFileSync } from 'node:child_process';
      import { track } from 'agent-autopsy';
      track('parent_step', {});
      await new Promise((done) => setTimeout(done, 50)); // its first event opens the directory
      process.stdout.write(execFileSync(process.execPath, [${JSON.stringify(child)}], { encoding: 'utf8' }));
    `);
    const result = await runNode(parent, { env: { ...FLAG, AGENT_AUTOPSY_DIR: dir }, timeoutMs: 60_000 });
    expect(result.code).toBe(0);
    const { child: pid, outputDir, jsonLogPath } = JSON.parse(result.stdout) as { child: number; outputDir: string; jsonLogPath: string };
    const own = join(dir, 'processes', String(pid));
    expect([outputDir, jsonLogPath]).toEqual([own, join(own, 'Memory', 'logs', 'execution_tracker.json')]);
    expect(eventsOf(own)).toEqual([['child_step', { n: 1 }]]);
    expect(eventsOf(dir)).toEqual([['parent_step', {}]]);
  }, 60_000);
});
