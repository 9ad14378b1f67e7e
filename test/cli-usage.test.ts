import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, runCli } from './helpers/cli';

const CRASH = join(__dirname, 'fixtures', 'runs', 'crash');
const RATE_LIMITED = join(__dirname, 'fixtures', 'runs', 'rate_limited');

/**
 * The CLI's stdout on a pseudo-terminal (`script`, as a person at a terminal would), or piped (`piped`), without waiting for
 * the child, so several run at once. The environment is only PATH, TERM=xterm and `env`: no CI,
 * TMUX or COLORTERM of the machine running the tests changes what Node makes of the terminal.
 */
function runColored(args: string[], env: Record<string, string | undefined>, piped: boolean): Promise<string> {
  const command = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const fullEnv: Record<string, string | undefined> = { PATH: process.env.PATH, TERM: 'xterm', ...env };
  for (const key of Object.keys(fullEnv)) if (fullEnv[key] === undefined) delete fullEnv[key];
  const [file, argv] = piped ? [process.execPath, [CLI, ...args]] : ['script', ['-qefc', command, '/dev/null']];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, argv, { env: fullEnv as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolvePromise(output) : reject(new Error(`${file} exited with ${code}: ${output}`))));
  });
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
    expect(help.stdout.endsWith('\nExit codes:\n  0  done\n  1  the run had failures or did not end cleanly (report --fail-on-failures) or B is worse than A (diff --fail-on-regression)\n  2  a usage error or bad input (one line on stderr says what and where)\n')).toBe(true);
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

  it('colours on a terminal; NO_COLOR, FORCE_COLOR=0 and FORCE_COLOR=false turn them off there', async () => {
    const coloured = await runColored(['diff', RATE_LIMITED, CRASH], {}, false);
    expect(coloured).toContain('\u001b[1mVerdict:\u001b[22m \u001b[33mmixed\u001b[39m');
    for (const env of [{ NO_COLOR: '1' }, { FORCE_COLOR: '0' }, { FORCE_COLOR: 'false' }]) {
      const plain = await runColored(['diff', RATE_LIMITED, CRASH], env, false);
      expect(plain, JSON.stringify(env)).toContain('Verdict: mixed');
      expect(plain, JSON.stringify(env)).not.toContain('\u001b[');
    }
  });

  it('on a CI machine, colour as Node gives it: off under a CI it does not know, on under GitHub Actions, FORCE_COLOR=1 wins', async () => {
    for (const [env, coloured] of [
      [{ CI: 'true' }, false],
      [{ CI: 'true', GITHUB_ACTIONS: 'true' }, true],
      [{ CI: 'true', FORCE_COLOR: '1' }, true],
    ] as const) {
      const output = await runColored(['diff', RATE_LIMITED, CRASH], env, false);
      expect(output, JSON.stringify(env)).toContain(coloured ? '\u001b[1mVerdict:\u001b[22m \u001b[33mmixed\u001b[39m' : 'Verdict: mixed');
      expect(output.includes('\u001b['), JSON.stringify(env)).toBe(coloured);
    }
  });

  it('colours as Node does: a FORCE_COLOR that is set decides alone (NO_COLOR ignored); without it NO_COLOR, empty too, turns them off', async () => {
    const forces = [undefined, '', '0', '1', 'true', 'false', '2', '3', 'yes'];
    const noColors = [undefined, '', '1'];
    // Node 20 (lib/internal/tty.js getColorDepth): '', '1', 'true', '2', '3' are 16 colours or more, any other value 2.
    const forcedOn = (force: string) => ['', '1', 'true', '2', '3'].includes(force);
    const cases: Array<{ env: Record<string, string | undefined>; piped: boolean; coloured: boolean }> = [];
    for (const FORCE_COLOR of forces) {
      for (const NO_COLOR of noColors) {
        const env = { FORCE_COLOR, NO_COLOR };
        // Piped: colour only when forced. On a terminal (TERM=xterm): FORCE_COLOR when set, else on unless NO_COLOR is set.
        cases.push({ env, piped: true, coloured: FORCE_COLOR !== undefined && forcedOn(FORCE_COLOR) });
        cases.push({ env, piped: false, coloured: FORCE_COLOR !== undefined ? forcedOn(FORCE_COLOR) : NO_COLOR === undefined });
      }
    }
    // Node's own answer for the same environments (shouldColorize in lib/internal/util/colors.js:
    // FORCE_COLOR set → getColorDepth() > 2; else a terminal's getColorDepth() > 2), asked in a child
    // (getColorDepth warns there that NO_COLOR is ignored).
    const asked = spawnSync(
      process.execPath,
      ['-e', "const tty = require('node:tty'); const envs = JSON.parse(process.argv[1]); console.log(JSON.stringify(envs.map((env) => tty.WriteStream.prototype.getColorDepth.call(null, env))))", JSON.stringify(cases.map((c) => ({ TERM: 'xterm', ...c.env })))],
      { encoding: 'utf8' },
    );
    const depths = JSON.parse(asked.stdout) as number[];
    expect(cases.map((c, i) => (c.piped && c.env.FORCE_COLOR === undefined ? false : depths[i] > 2))).toEqual(cases.map((c) => c.coloured));

    const outputs: string[] = [];
    for (let i = 0; i < cases.length; i += 3) {
      outputs.push(...(await Promise.all(cases.slice(i, i + 3).map((c) => runColored(['diff', RATE_LIMITED, CRASH], c.env, c.piped)))));
    }
    const seen = cases.map((c, i) => ({ ...c, coloured: outputs[i].includes('\u001b[') }));
    expect(seen).toEqual(cases);
    cases.forEach((c, i) => {
      const label = JSON.stringify(c);
      if (c.coloured) expect(outputs[i], label).toContain('\u001b[1mVerdict:\u001b[22m \u001b[33mmixed\u001b[39m');
      else expect(outputs[i], label).toContain('Verdict: mixed');
    });
  });

  it('NODE_DISABLE_COLORS and TERM=dumb turn colour off on a terminal, as for Node; FORCE_COLOR=1 still wins', async () => {
    for (const [env, coloured] of [
      [{ NODE_DISABLE_COLORS: '1' }, false],
      [{ TERM: 'dumb' }, false],
      [{ TERM: 'dumb', FORCE_COLOR: '1' }, true],
      [{ NODE_DISABLE_COLORS: '1', FORCE_COLOR: '1' }, true],
    ] as const) {
      const output = await runColored(['diff', RATE_LIMITED, CRASH], env, false);
      expect(output.includes('\u001b['), JSON.stringify(env)).toBe(coloured);
    }
  });
});
