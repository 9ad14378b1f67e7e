import { constants } from 'node:buffer';
import { appendFileSync, chmodSync, mkdirSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatReadableLine } from '../exporters/eventFormat';
import { event, runCli } from './helpers/cli';
import { tempRunDir } from './helpers/tempDirs';

const tempDir = () => tempRunDir('autopsy-tail-');

function readableLog(dir: string): string {
  return join(dir, 'Memory', 'logs', 'execution_tracker_readable.txt');
}

/** Lines as the Truth-Mode exporter writes them. */
function lines(count: number, from = 0): string[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    const level = n % 7 === 3 ? 'ERROR' : n % 7 === 5 ? 'WARNING' : 'INFO';
    return formatReadableLine(event(level === 'ERROR' ? 'task_error' : 'tick', { stage: 'stage1', n }, level, n / 10)).trimEnd();
  });
}

function writeLog(dir: string, content: string[]): string {
  const path = readableLog(dir);
  mkdirSync(join(dir, 'Memory', 'logs'), { recursive: true });
  writeFileSync(path, content.map((line) => `${line}\n`).join(''));
  return path;
}

describe('agent-autopsy tail', () => {
  it('prints the last lines (10 by default, --lines N) and exits with --no-follow', async () => {
    const dir = tempDir();
    const all = lines(15);
    writeLog(dir, all);
    const last10 = await runCli(['tail', dir, '--no-follow']);
    expect(last10).toMatchObject({ code: 0, stderr: '' });
    expect(last10.stdout).toBe(`${all.slice(5).join('\n')}\n`);
    const last3 = await runCli(['tail', join(dir, 'Memory', 'logs'), '--lines', '3', '--no-follow']);
    expect(last3.stdout).toBe(`${all.slice(12).join('\n')}\n`);
    const none = await runCli(['tail', readableLog(dir), '-n', '0', '--no-follow']);
    expect(none.stdout).toBe('');
    const more = await runCli(['tail', dir, '--lines', '100', '--no-follow']);
    expect(more.stdout).toBe(`${all.join('\n')}\n`);
    // Nothing to wait for without --follow: a mistyped path is bad input.
    const typo = await runCli(['tail', join(dir, 'typo'), '--no-follow']);
    expect(typo).toMatchObject({ code: 2, stdout: '', stderr: `agent-autopsy: no such file or directory (${join(dir, 'typo', 'Memory', 'logs', 'execution_tracker_readable.txt')})\n` });
  });

  it('-n takes a whole number (0 for none): an empty value or other text is a usage error (exit 2), not 0', async () => {
    const dir = tempDir();
    writeLog(dir, lines(3));
    for (const value of ['', ' ', '-1', '1.5', '1e1', '0x1', 'ten']) {
      const result = await runCli(['tail', dir, '-n', value, '--no-follow']);
      expect(result, JSON.stringify(value)).toEqual({ code: 2, signal: null, stdout: '', stderr: `agent-autopsy: option '-n, --lines <n>' argument '${value}' is invalid. expected a whole number\n` });
    }
    expect(await runCli(['tail', dir, '-n', '0', '--no-follow'])).toEqual({ code: 0, signal: null, stdout: '', stderr: '' });
  });

  it('never prints half a line: --no-follow leaves out a last line without its newline and says so (it counts whole lines)', async () => {
    const dir = tempDir();
    const all = lines(5);
    // The writer is mid-line: the last line has no newline yet.
    const path = writeLog(dir, all.slice(0, 4));
    appendFileSync(path, all[4].slice(0, 30));
    const result = await runCli(['tail', dir, '-n', '3', '--no-follow']);
    expect(result).toMatchObject({ code: 0, stdout: `${all.slice(1, 4).join('\n')}\n`, stderr: `agent-autopsy: ${path} ends in half a line (no newline yet); not printed\n` });
    // Nothing but half a line: nothing to print.
    writeFileSync(path, all[0].slice(0, 30));
    const alone = await runCli(['tail', dir, '--no-follow']);
    expect(alone).toMatchObject({ code: 0, stdout: '', stderr: `agent-autopsy: ${path} ends in half a line (no newline yet); not printed\n` });
  });

  it('a line longer than a string can hold is bad input (exit 2) in one line, not "Cannot create a string longer than …"', async () => {
    const dir = tempDir();
    const path = writeLog(dir, lines(1));
    // A crash's run of NUL bytes, ended by a newline: a sparse file, 600 MB read but never written to disk.
    truncateSync(path, 600 * 1024 * 1024);
    appendFileSync(path, '\n');
    const result = await runCli(['tail', dir, '-n', '1', '--no-follow']);
    expect(result).toMatchObject({ code: 2, stdout: '', stderr: `agent-autopsy: line too long: more than ${constants.MAX_STRING_LENGTH} characters, the most one string can hold (${path})\n` });
  });

  it('colours by level on request (FORCE_COLOR, which wins over NO_COLOR as in Node) and never when piped without it', async () => {
    const dir = tempDir();
    const all = lines(7);
    writeLog(dir, all);
    const plain = await runCli(['tail', dir, '--no-follow']);
    expect(plain.stdout).not.toContain('\u001b[');
    const coloured = await runCli(['tail', dir, '--no-follow'], { env: { FORCE_COLOR: '1' } });
    const out = coloured.stdout.split('\n');
    // [ts] (+s) dim, the level tag and the rest of an ERROR line red, a WARNING yellow, an INFO type bold.
    const error = all[3].match(/^(\[.*?\] \(\+.*?\)) \[ERROR\] (.*)$/) as RegExpMatchArray;
    expect(out[3]).toBe(`\u001b[2m${error[1]}\u001b[22m \u001b[31m[ERROR]\u001b[39m \u001b[31m${error[2]}\u001b[39m`);
    expect(out[5]).toContain('\u001b[33m[WARNING]\u001b[39m');
    expect(out[0]).toContain('\u001b[32m[INFO]\u001b[39m \u001b[1mtick\u001b[22m: ');
    const both = await runCli(['tail', dir, '--no-follow'], { env: { FORCE_COLOR: '1', NO_COLOR: '1' } });
    expect(both.stdout).toBe(coloured.stdout);
    const off = await runCli(['tail', dir, '--no-follow'], { env: { FORCE_COLOR: '0' } });
    expect(off.stdout).toBe(plain.stdout);
  });

  it('follows a run that has not started yet: waits for the file, prints lines as they are written, ends cleanly on SIGINT', async () => {
    const dir = tempDir();
    const path = readableLog(dir);
    const first = lines(3);
    const second = lines(2, 3);
    let step = 0;
    const result = await runCli(['tail', dir], {
      // The file appears once tail is waiting for it.
      onStderr: (all) => {
        if (all.includes('waiting for')) writeLog(dir, first);
      },
      onStdout: (all, child) => {
        if (step === 0 && all === `${first.join('\n')}\n`) {
          step = 1;
          // Half a line first (a writer mid-flush), then the rest: only whole lines are printed.
          appendFileSync(path, `${second[0]}\n${second[1].slice(0, 20)}`);
          setTimeout(() => appendFileSync(path, `${second[1].slice(20)}\n`), 400);
        } else if (step === 1 && all === `${[...first, ...second].join('\n')}\n`) {
          step = 2;
          child.kill('SIGINT');
        }
      },
    });
    expect(step).toBe(2);
    expect(result.code).toBe(0);
    expect(result.signal).toBeNull();
    expect(result.stdout).toBe(`${[...first, ...second].join('\n')}\n`);
    expect(result.stderr).toBe(`agent-autopsy: waiting for ${path} …\n`);
  });

  it('following, prints a half line once it ends, and on SIGINT leaves out the one still being written', async () => {
    const dir = tempDir();
    const all = lines(6);
    const path = writeLog(dir, all.slice(0, 4));
    appendFileSync(path, all[4].slice(0, 30));
    let step = 0;
    const result = await runCli(['tail', dir, '-n', '2'], {
      onStdout: (out, child) => {
        if (step === 0 && out === `${all.slice(2, 4).join('\n')}\n`) {
          step = 1;
          // The fifth line ends, the sixth begins.
          appendFileSync(path, `${all[4].slice(30)}\n${all[5].slice(0, 30)}`);
        } else if (step === 1 && out === `${all.slice(2, 5).join('\n')}\n`) {
          step = 2;
          child.kill('SIGINT');
        }
      },
    });
    expect(step).toBe(2);
    expect(result).toMatchObject({ code: 0, signal: null, stdout: `${all.slice(2, 5).join('\n')}\n`, stderr: `agent-autopsy: ${path} ends in half a line (no newline yet); not printed\n` });
  });

  it('starts over when the log is truncated (a new run in the same directory)', async () => {
    const dir = tempDir();
    const path = writeLog(dir, lines(2));
    const fresh = lines(1, 50);
    let step = 0;
    const result = await runCli(['tail', dir], {
      onStdout: (all, child) => {
        if (step === 0 && all.split('\n').length === 3) {
          step = 1;
          writeFileSync(path, `${fresh[0]}\n`);
        } else if (step === 1 && all.endsWith(`${fresh[0]}\n`)) {
          step = 2;
          child.kill('SIGINT');
        }
      },
    });
    expect(step).toBe(2);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${[...lines(2), fresh[0]].join('\n')}\n`);
    expect(result.stderr).toBe(`agent-autopsy: ${path} was truncated; reading it from the start\n`);
  });

  /** Tails a 3-line log, lets `replace` put a new run's 6 lines in its place, and stops once they are printed. */
  async function tailThroughNewRun(replace: (path: string, text: string) => void) {
    const dir = tempDir();
    const path = writeLog(dir, lines(3));
    const fresh = lines(6, 50);
    let step = 0;
    const result = await runCli(['tail', dir], {
      onStdout: (all, child) => {
        if (step === 0 && all === `${lines(3).join('\n')}\n`) {
          step = 1;
          replace(path, fresh.map((line) => `${line}\n`).join(''));
        } else if (step === 1 && all.endsWith(`${fresh[5]}\n`)) {
          step = 2;
          child.kill('SIGINT');
        }
      },
    });
    expect(step).toBe(2);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${[...lines(3), ...fresh].join('\n')}\n`);
    return { path, stderr: result.stderr };
  }

  it('starts over when a new run has rewritten the log past where tail was between two looks', async () => {
    // Longer than the old log, written at once: the size alone does not show the truncation.
    const { path, stderr } = await tailThroughNewRun((log, text) => writeFileSync(log, text));
    expect(stderr).toBe(`agent-autopsy: ${path} was truncated; reading it from the start\n`);
  });

  it('starts over when the log is replaced (another file renamed over it)', async () => {
    // Written aside and renamed over the old log at once, as an atomic writer does.
    const { path, stderr } = await tailThroughNewRun((log, text) => {
      writeFileSync(`${log}.new`, text);
      renameSync(`${log}.new`, log);
    });
    expect(stderr).toBe(`agent-autopsy: ${path} was replaced; reading it from the start\n`);
  });

  it('a run with only its JSON log: tail says so and names the command that reads it', async () => {
    const dir = tempDir();
    const logs = join(dir, 'Memory', 'logs');
    mkdirSync(logs, { recursive: true });
    writeFileSync(join(logs, 'execution_tracker.json'), '{"start_time": "2025-01-24T10:30:00.000001", "events": [], "total_events": 0}');
    const hint = ` (only execution_tracker.json is there, which tail does not follow; \`agent-autopsy report ${logs}\` reads it)`;
    const once = await runCli(['tail', dir, '--no-follow']);
    expect(once).toMatchObject({ code: 2, stdout: '', stderr: `agent-autopsy: no such file or directory${hint} (${readableLog(dir)})\n` });
    const followed = await runCli(['tail', dir], {
      onStderr: (all, child) => {
        if (all.includes('waiting for')) child.kill('SIGINT');
      },
    });
    // (Stopped as soon as it said so: the SIGINT may come before tail listens for it.)
    expect(followed).toMatchObject({ stdout: '', stderr: `agent-autopsy: waiting for ${readableLog(dir)} …${hint}\n` });
  });

  it('a log it may not read is bad input (exit 2), with or without --follow, not a wait', async () => {
    const dir = tempDir();
    const path = writeLog(dir, lines(3));
    chmodSync(path, 0o000);
    // Root reads anything: the CLI runs as nobody then (the log stays root's, mode 000).
    const asUser = process.getuid?.() === 0 ? { uid: 65534 } : {};
    if (process.getuid?.() === 0) chmodSync(dir, 0o755);
    for (const args of [['tail', dir, '--no-follow'], ['tail', dir]]) {
      const result = await runCli(args, asUser);
      expect(result, args.join(' ')).toMatchObject({ code: 2, stdout: '', stderr: `agent-autopsy: cannot read file (EACCES) (${path})\n` });
    }
  });
});
