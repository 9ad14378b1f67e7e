import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, runCli } from './helpers/cli';

const CRASH = join(__dirname, 'fixtures', 'runs', 'crash');
const RATE_LIMITED = join(__dirname, 'fixtures', 'runs', 'rate_limited');

/** Runs the CLI on a pseudo-terminal (`script`), as a person at a terminal would; stdout and stderr both arrive in `output`. */
function onTerminal(args: string[], env: Record<string, string | undefined> = {}): { status: number | null; output: string } {
  const command = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const fullEnv: Record<string, string | undefined> = { ...process.env, TERM: 'xterm', NO_COLOR: undefined, FORCE_COLOR: undefined, ...env };
  for (const key of Object.keys(fullEnv)) if (fullEnv[key] === undefined) delete fullEnv[key];
  const result = spawnSync('script', ['-qefc', command, '/dev/null'], { encoding: 'utf8', env: fullEnv as NodeJS.ProcessEnv, timeout: 60_000 });
  return { status: result.status, output: result.stdout };
}

describe('agent-autopsy usage', () => {
  it('without a command is a usage error: the help on stderr, exit 2', async () => {
    const result = await runCli([]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^Usage: agent-autopsy \[options\] \[command\]\n/);
    // Asked for, the help is the output: stdout, exit 0.
    const help = await runCli(['--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toBe(result.stderr);
    // What scripts read first: the exit codes, as the README lists them.
    expect(help.stdout.endsWith('\nExit codes:\n  0  done\n  1  the run had failures (report --fail-on-failures) or B is worse than A (diff --fail-on-regression)\n  2  a usage error or bad input (one line on stderr says what and where)\n')).toBe(true);
    expect(await runCli(['help'])).toMatchObject({ code: 0, stdout: help.stdout, stderr: '' });
  });

  it('help <name> for a name that is no command says so in one line, as <name> alone does (exit 2)', async () => {
    expect(await runCli(['help', 'bogus'])).toEqual({ code: 2, signal: null, stdout: '', stderr: "agent-autopsy: unknown command 'bogus'\n" });
    expect(await runCli(['bogus'])).toEqual({ code: 2, signal: null, stdout: '', stderr: "agent-autopsy: unknown command 'bogus'\n" });
    // commander's suggestion stays on the same line.
    const typo = "agent-autopsy: unknown command 'reprot' (Did you mean report?)\n";
    expect(await runCli(['help', 'reprot'])).toEqual({ code: 2, signal: null, stdout: '', stderr: typo });
    expect(await runCli(['reprot'])).toEqual({ code: 2, signal: null, stdout: '', stderr: typo });
    // A command's help is still its help, on stdout.
    const report = await runCli(['help', 'report']);
    expect(report).toMatchObject({ code: 0, stderr: '' });
    expect(report.stdout).toBe((await runCli(['report', '--help'])).stdout);
    expect(report.stdout).toMatch(/^Usage: agent-autopsy report \[options\] <run>\n/);
  });

  it('colours on a terminal; NO_COLOR, FORCE_COLOR=0 and FORCE_COLOR=false turn them off there', () => {
    const coloured = onTerminal(['diff', RATE_LIMITED, CRASH]);
    expect(coloured.status).toBe(0);
    expect(coloured.output).toContain('\u001b[1mVerdict:\u001b[22m \u001b[33mmixed\u001b[39m');
    for (const env of [{ NO_COLOR: '1' }, { FORCE_COLOR: '0' }, { FORCE_COLOR: 'false' }]) {
      const plain = onTerminal(['diff', RATE_LIMITED, CRASH], env);
      expect(plain.status, JSON.stringify(env)).toBe(0);
      expect(plain.output, JSON.stringify(env)).toContain('Verdict: mixed');
      expect(plain.output, JSON.stringify(env)).not.toContain('\u001b[');
    }
  });
});
