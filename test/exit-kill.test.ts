import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AutopsyReport } from '../analyzers/reportTypes';
import { EXIT_FIXTURES } from './helpers/autopsyRun';
import { REPO_ROOT, runNode } from './helpers/childProcess';
import { logPath } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * kill -9 cannot be caught: what is on disk must be enough. `agent-autopsy report <run dir>`
 * rebuilds the autopsy from the torn log, with every event written more than 100 ms before the kill.
 */

const CLI = join(REPO_ROOT, 'dist', 'cli.cjs');
const newDir = () => tempRunDir('autopsy-kill-');

/** `agent-autopsy report <target>`; `torn` says whether the CLI must note a cut-off last line. */
async function cliReport(target: string, torn?: boolean): Promise<AutopsyReport> {
  const result = await runNode(CLI, { args: ['report', target] });
  expect(result.code).toBe(0);
  const notes = result.stderr.split('\n').filter(Boolean);
  // A torn last line, or a log with nothing in it, is named on stderr; nothing else is said.
  for (const note of notes) expect(note).toMatch(/^agent-autopsy: note: (the last line of .*execution_tracker\.json was cut off|.*execution_tracker\.json is empty: the process wrote nothing)/);
  if (torn !== undefined) expect(notes.filter((note) => note.includes('was cut off')).length).toBe(torn ? 1 : 0);
  return JSON.parse(result.stdout);
}

/**
 * Runs writer.mjs and SIGKILLs it once some of its markers are older than 100 ms. Returns how many
 * events must survive: the count of the last marker received more than 100 ms before the kill.
 */
function runAndKill(dir: string): Promise<{ mustSurvive: number; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(EXIT_FIXTURES, 'writer.mjs'), dir], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const markers: Array<{ count: number; at: number }> = [];
    let killedAt = 0;
    let buffered = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      const at = Date.now();
      for (const line of lines) markers.push({ count: Number(line.split(' ')[1]), at });
      if (!killedAt && markers.length >= 60 && at - markers[0].at > 150) {
        killedAt = Date.now();
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      if (stderr) reject(new Error(`writer wrote to stderr: ${stderr}`));
      const old = markers.filter((marker) => marker.at < killedAt - 100);
      resolve({ mustSurvive: old.length ? old[old.length - 1].count : 0, signal });
    });
  });
}

describe('after kill -9', () => {
  it('agent-autopsy report recovers every event written more than 100 ms before the kill', async () => {
    const dir = newDir();
    const { mustSurvive, signal } = await runAndKill(dir);
    expect(signal).toBe('SIGKILL');
    expect(mustSurvive).toBeGreaterThan(0);

    // The log on disk is torn: no closing line.
    const raw = readFileSync(logPath(dir, 'execution_tracker.json'), 'utf8');
    expect(raw).not.toMatch(/"total_events": \d+\}\s*$/);
    expect(() => JSON.parse(raw)).toThrow();

    const report = await cliReport(dir);
    expect(report.exit).toMatchObject({ reason: 'killed', exit_code: null, signal: null });
    const recovered = report.run.total_events;
    // stage_start + llm_call_start, then the ticks in order.
    expect(recovered - 2).toBeGreaterThanOrEqual(mustSurvive);
    expect(report.unfinished.map(({ name, kind, stage }) => ({ name, kind, stage }))).toEqual([
      { name: 'stage stage_loop', kind: 'stage', stage: 'stage_loop' },
      { name: 'chat never-answers', kind: 'llm', stage: 'stage_loop' },
    ]);

    // Every complete line of the log is an event, the ticks without a gap; at most the last line is torn.
    const lines = raw.split('\n').slice(1);
    const complete = lines.filter((line) => {
      try {
        JSON.parse(line.replace(/,$/, ''));
        return true;
      } catch {
        return false;
      }
    });
    expect(lines.length - complete.length).toBeLessThanOrEqual(1);
    if (lines.length > complete.length) expect(complete.length).toBe(lines.length - 1);
    const ticks = complete.map((line) => JSON.parse(line.replace(/,$/, ''))).filter((event) => event.type === 'tick');
    expect(ticks.map((event) => event.data.i)).toEqual(ticks.map((_, index) => index));
    expect(complete.length).toBe(recovered);

    // The readable log has them too.
    const readable = readFileSync(logPath(dir, 'execution_tracker_readable.txt'), 'utf8').split('\n').slice(0, -1);
    expect(readable.filter((line) => line.includes('] tick: ')).length).toBeGreaterThanOrEqual(mustSurvive);
  });

  it('a log cut in the middle of a line (of an escape, of a UTF-8 character) loses only that line', async () => {
    const source = newDir();
    const { signal } = await runAndKill(source);
    expect(signal).toBe('SIGKILL');
    const json = readFileSync(logPath(source, 'execution_tracker.json'));
    // Keep exactly 50 complete event lines, then cut the 51st inside the escape of its ü (\u00fc).
    let offset = json.indexOf('\n') + 1;
    for (let line = 0; line < 50; line++) offset = json.indexOf('\n', offset) + 1;
    const cut = json.indexOf('\\u00fc', offset) + 4;
    expect(cut).toBeGreaterThan(offset);
    /** A run directory whose log is `bytes`. */
    const runWithLog = (bytes: Buffer): string => {
      const dir = newDir();
      mkdirSync(join(dir, 'Memory', 'logs'), { recursive: true });
      writeFileSync(logPath(dir, 'execution_tracker.json'), bytes);
      return dir;
    };
    const report = await cliReport(runWithLog(json.subarray(0, cut)), true);
    expect(report.run.total_events).toBe(50);
    expect(report.exit.reason).toBe('killed');

    // A log with raw UTF-8 (written by another tool, or a version before the ASCII escapes), cut
    // between the two bytes of ü.
    const unescaped = (bytes: Buffer) => Buffer.from(bytes.toString('latin1').replace(/\\u00fc/g, 'ü'), 'utf8');
    const raw = unescaped(json);
    const rawCut = raw.indexOf('ü', unescaped(json.subarray(0, offset)).length) + 1;
    const utf8Report = await cliReport(runWithLog(raw.subarray(0, rawCut)), true);
    expect(utf8Report.run.total_events).toBe(50);
    expect(utf8Report.exit.reason).toBe('killed');

    // The same, cut right after a complete line and its comma.
    const exact = runWithLog(json.subarray(0, offset - 1));
    expect((await cliReport(exact, false)).run.total_events).toBe(50);
  });

  it('a process killed before its first write leaves a log the CLI still reads', async () => {
    const dir = newDir();
    mkdirSync(join(dir, 'Memory', 'logs'), { recursive: true });
    const path = logPath(dir, 'execution_tracker.json');
    writeFileSync(path, '');
    const empty = await cliReport(dir, false);
    expect([empty.run.total_events, empty.exit.reason]).toEqual([0, 'killed']);
    writeFileSync(path, '{"start_time": "2026-11-25T16:');
    const torn = await cliReport(dir, true);
    expect([torn.run.total_events, torn.exit.reason]).toEqual([0, 'killed']);
  });

  it('a log copied while it was being written (a crafted torn file) reports the same as the run', async () => {
    const dir = newDir();
    const { signal } = await runAndKill(dir);
    expect(signal).toBe('SIGKILL');
    const copy = newDir();
    mkdirSync(join(copy, 'Memory', 'logs'), { recursive: true });
    const target = logPath(copy, 'execution_tracker.json');
    copyFileSync(logPath(dir, 'execution_tracker.json'), target);
    const before = (await cliReport(copy)).run.total_events;
    // Drop the last 10 bytes: the last event is torn (or, if it already was, shorter).
    const size = readFileSync(target).length;
    truncateSync(target, size - 10);
    const after = (await cliReport(copy, true)).run.total_events;
    expect(after).toBeGreaterThanOrEqual(before - 1);
    expect(after).toBeLessThanOrEqual(before);
  });

  it("a closed log keeps its run's exit record; an older run's report in a reused directory does not count", async () => {
    const dir = newDir();
    const finished = await runNode(join(EXIT_FIXTURES, 'ending.mjs'), { args: ['exit3', dir] });
    expect(finished.code).toBe(3);
    expect((await cliReport(dir, false)).exit).toMatchObject({ reason: 'exit', exit_code: 3 });
    // A newer run in the same directory made its log a complete document (a checkpoint) and was killed.
    const path = logPath(dir, 'execution_tracker.json');
    const log = readFileSync(path, 'utf8');
    writeFileSync(path, log.replace(/^\{"start_time": "[^"]+"/, '{"start_time": "2030-01-01T00:00:00.000000Z"'));
    expect((await cliReport(dir, false)).exit).toMatchObject({ reason: 'unknown', exit_code: null });
  });
});
