import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { AutopsyReport } from '../../analyzers/reportTypes';
import type { TruthEvent } from '../../src/types';
import { REPO_ROOT, type ChildResult } from './childProcess';

export const CLI = join(REPO_ROOT, 'dist', 'cli.cjs');

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
  /** Called with each stdout chunk and the child (to send it a signal, or write more input). */
  onStdout?: (all: string, child: ChildProcess) => void;
  onStderr?: (all: string, child: ChildProcess) => void;
  /** Run as this user (and group): permission errors need another user when the tests run as root. */
  uid?: number;
}

/** Runs the built `agent-autopsy` bin (dist/cli.cjs) with stdout and stderr piped. */
export function runCli(args: string[], options: CliOptions = {}): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined, ...options.env };
    for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? REPO_ROOT, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'], ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      options.onStdout?.(stdout, child);
    });
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      options.onStderr?.(stderr, child);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`agent-autopsy ${args.join(' ')} timed out\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/** The report `agent-autopsy report <dir>` prints (JSON), rebuilt from the run's files. */
export async function cliReport(dir: string): Promise<AutopsyReport> {
  const result = await runCli(['report', dir]);
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

/** A Truth-Mode event with defaults (elapsed counted from 2026-01-01T00:00:00Z). */
export function event(type: string, data: Record<string, unknown>, level: TruthEvent['level'] = 'INFO', atSeconds = 0): TruthEvent {
  const ms = Date.UTC(2026, 0, 1) + atSeconds * 1000;
  const iso = new Date(ms).toISOString().replace('Z', '000Z');
  return { timestamp: iso, elapsed_seconds: atSeconds, type, level, data };
}

/** Writes `<dir>/Memory/logs/execution_tracker.json` in the Truth-Mode layout; `closed: false` leaves it as a kill would. */
export function writeTruthLog(dir: string, events: TruthEvent[], options: { closed?: boolean; tornTail?: string } = {}): string {
  const logDir = join(dir, 'Memory', 'logs');
  mkdirSync(logDir, { recursive: true });
  const start = events[0]?.timestamp ?? '2026-01-01T00:00:00.000000Z';
  const lines = [`{"start_time": ${JSON.stringify(start)}, "events": [`];
  events.forEach((e, i) => lines.push(`${JSON.stringify(e)}${i < events.length - 1 || options.closed === false ? ',' : ''}`));
  if (options.closed !== false) lines.push(`], "total_events": ${events.length}}`);
  let text = `${lines.join('\n')}\n`;
  if (options.tornTail !== undefined) text += options.tornTail;
  const path = join(logDir, 'execution_tracker.json');
  writeFileSync(path, text);
  return path;
}
