import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
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
  return Object.assign({}, ...result.stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line)));
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

  it('leaves no directory and prints nothing, also with AGENT_AUTOPSY_PRINT', async () => {
    for (const print of [undefined, 'true']) {
      const cwd = tempRunDir('autopsy-nothing-');
      const result = await runNode(PARENT, { cwd, env: { ...FLAG, AGENT_AUTOPSY_DIR: undefined, AGENT_AUTOPSY_PRINT: print } });
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout).children).toHaveLength(2);
      expect(result.stderr).toBe('');
      expect(readdirSync(cwd)).toEqual([]);
    }
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
    const [own] = readdirSync(join(dir, 'processes'));
    expect(eventsOf(join(dir, 'processes', own))).toEqual([['parent_step', {}]]);
    const written = new Date(statSync(join(dir, 'Memory', 'logs', 'execution_tracker.json')).mtimeMs).toISOString();
    expect(result.stderr).toBe(
      `agent-autopsy: ${dir} holds a run that was written after this one started (last at ${written}); this process (${own}) recorded into ${join(dir, 'processes', own)}\n`,
    );
  }, 60_000);

  it('nor that of another process that ran beside it and finished before it recorded anything', async () => {
    const dir = join(tempRunDir('autopsy-beside-'), 'run');
    const go = join(tempRunDir('autopsy-beside-go-'), 'go');
    // Written once A has exited: its autopsy.md alone came ~2.5 ms before its lock was let go,
    // and B, polling, could find the lock still held (another message; 8 runs in 85).
    const done = join(tempRunDir('autopsy-beside-done-'), 'done');
    // A starts and records; B starts while A runs; A ends; then B records its first event.
    const first = writeScript(`
      import { existsSync } from 'node:fs';
      import { track } from 'agent-autopsy';
      track('first_step', {});
      process.stdout.write('RECORDING\\n');
      while (!existsSync(${JSON.stringify(go)})) await new Promise((next) => setTimeout(next, 10));
    `);
    const second = writeScript(`
      import { existsSync } from 'node:fs';
      import { track } from 'agent-autopsy';
      process.stdout.write('READY\\n');
      while (!existsSync(${JSON.stringify(done)})) await new Promise((next) => setTimeout(next, 10));
      track('second_step', {});
      process.stdout.write(JSON.stringify({ second: process.pid }) + '\\n');
    `);
    const env = { ...FLAG, AGENT_AUTOPSY_DIR: dir };
    let b: Promise<ChildResult> | undefined;
    const a = await runNode(first, {
      env,
      timeoutMs: 60_000,
      onStdoutLine: (line) => {
        if (line === 'RECORDING')
          b = runNode(second, { env, timeoutMs: 60_000, onStdoutLine: (ready) => ready === 'READY' && writeFileSync(go, '') });
      },
    });
    writeFileSync(done, '');
    const late = await b!;
    expect([a.code, late.code, a.stderr]).toEqual([0, 0, '']);
    const pid = pidsOf(late).second;
    expect(eventsOf(dir)).toEqual([['first_step', {}]]);
    expect(eventsOf(join(dir, 'processes', String(pid)))).toEqual([['second_step', {}]]);
    expect(late.stderr).toMatch(new RegExp(`^agent-autopsy: ${dir} holds a run that was written after this one started \\(last at [0-9TZ:.-]+\\); this process \\(${pid}\\) recorded into ${join(dir, 'processes', String(pid))}\\n$`));
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

/**
 * tsx's CLI runs the app in a child node and relays SIGINT and SIGTERM to it through a listener it
 * hides from process.listeners() and process.listenerCount(), which ends the child with 128 + n
 * once that count is 0. Both used to stand back for the other's listener, and Ctrl-C ended nothing.
 */
describe("tsx's CLI in front of the agent", () => {
  const TSX_CLI = join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  /** A TypeScript agent waiting in a stage, as `tsx agent.ts` runs it. */
  const WAITING_AGENT = join(tempRunDir('.tmp-', join(REPO_ROOT, 'test')), 'agent.mts');
  writeFileSync(
    WAITING_AGENT,
    `import { stage } from 'agent-autopsy';
const wait = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));
void stage('serve', () => wait(60_000));
setTimeout(() => process.stdout.write('READY\\n'), 1);
`,
  );

  it.for([
    ['SIGINT', 'group', 130],
    ['SIGTERM', 'tsx', 143],
  ] as const)('%s (to the %s) ends the app with %i, as without the flag, and the run has the signal', { timeout: 90_000 }, async ([signal, to, code]) => {
    const run = (env: Record<string, string>) =>
      runNode(TSX_CLI, {
        args: [WAITING_AGENT],
        env,
        detached: true,
        timeoutMs: 60_000,
        onStdoutLine: (line, child) => {
          // Ctrl-C in a terminal reaches the whole group; a service manager signals tsx alone.
          if (line === 'READY') process.kill(to === 'group' ? -child.pid! : child.pid!, signal);
        },
      });
    const dir = join(tempRunDir('autopsy-tsx-'), 'run');
    const [plain, flagged] = await Promise.all([run({}), run({ ...FLAG, AGENT_AUTOPSY_DIR: dir })]);
    expect(plain).toMatchObject({ code, signal: null, stderr: '' });
    expect(flagged).toMatchObject({ code, signal: null, stderr: '' });
    const report = readReport(dir);
    expect(report.exit).toMatchObject({ reason: 'signal', signal });
    expect(report.unfinished.map((span) => span.name)).toEqual(['stage serve']);
    expect(report.diagnoses.map((diagnosis) => diagnosis.id)).toEqual(['stage_hang', 'crash']);
  });

  it('SIGTERM (to the tsx) while a long report is written: tsx hears from the app at once and waits, and the report is whole', { timeout: 90_000 }, async () => {
    // tsx SIGKILLs the app when it has not heard back within 60 ms of relaying the signal; 5,000
    // stages make the report take longer than that on any machine.
    const agent = join(tempRunDir('.tmp-', join(REPO_ROOT, 'test')), 'agent.mts');
    writeFileSync(
      agent,
      `import { stage } from 'agent-autopsy';
for (let i = 0; i < 5000; i++) await stage(\`step-\${i}\`, async () => undefined);
void stage('serve', () => new Promise((done) => setTimeout(done, 60_000)));
setTimeout(() => process.stdout.write('READY\\n'), 1);
`,
    );
    const dir = join(tempRunDir('autopsy-tsx-'), 'run');
    const result = await runNode(TSX_CLI, {
      args: [agent],
      env: { ...FLAG, AGENT_AUTOPSY_DIR: dir },
      timeoutMs: 60_000,
      onStdoutLine: (line, child) => {
        if (line === 'READY') process.kill(child.pid!, 'SIGTERM');
      },
    });
    expect(result).toMatchObject({ code: 143, signal: null, stderr: '' });
    const report = readReport(dir);
    expect(report.exit).toMatchObject({ reason: 'signal', signal: 'SIGTERM' });
    expect(report.stages).toHaveLength(5001);
    expect(report.unfinished.map((span) => span.name)).toEqual(['stage serve']);
  });
});

