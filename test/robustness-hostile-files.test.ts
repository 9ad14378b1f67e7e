import { constants } from 'node:buffer';
import { appendFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { OtlpJsonParser } from '../analyzers/OtlpJsonReader';
import { readTruthLogSync } from '../analyzers/readRun';
import { runCli } from './helpers/cli';
import { tempRunDir } from './helpers/tempDirs';

/**
 * `agent-autopsy report` handed a file crafted by someone else or damaged on the way: the real
 * CLI in a child process either reports what the file holds or says in one line why it cannot.
 */
describe('agent-autopsy report on hostile files', () => {
  it('a "__proto__" key in a Python tracker document stays data: its fields do not pass for the event\'s', async () => {
    const dir = tempRunDir();
    const path = join(dir, 'execution_tracker.json');
    // As Python's json.dump(indent=2) lays it out; JSON.stringify would drop the key: written as text.
    writeFileSync(
      path,
      '{\n  "start_time": "2026-01-01T00:00:00",\n  "events": [\n    {\n      "timestamp": "2026-01-01T00:00:01",\n      "elapsed_seconds": 1,\n' +
        '      "type": "task_error",\n      "level": "ERROR",\n      "data": {\n        "__proto__": {\n          "stage": "crafted"\n        },\n' +
        '        "error": "boom"\n      }\n    }\n  ],\n  "total_events": 1\n}',
    );
    const result = await runCli(['report', path]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.failure_analysis.failures_by_stage).toEqual({ unknown: 1 });
    expect(report.failure_analysis.critical_failures).toEqual([{ timestamp: '2026-01-01T00:00:01', type: 'task_error', stage: 'unknown', error: 'boom' }]);
  });

  // Sparse files: NUL bytes a crash can leave at a log's end, 600 MB read but never written to disk.
  it.each([
    ['a Truth-Mode log', 'execution_tracker.json', '{"start_time": "2026-01-01T00:00:00", "events": [\n', 'line', 2],
    ['a Python tracker document', 'execution_tracker.json', '{\n  "start_time": "2026-01-01T00:00:00",\n  "events": [\n', 'document', 1],
    ['an OTLP JSON lines file', 'traces.json', '{"resourceSpans": []}\n', 'line', 2],
  ])('%s with a line longer than a string can hold is bad input naming the line, not "Invalid string length"', async (_, name, head, what, line) => {
    const path = join(tempRunDir(), name);
    writeFileSync(path, head);
    truncateSync(path, 600 * 1024 * 1024);
    const result = await runCli(['report', path]);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`agent-autopsy: ${what} too long: more than ${constants.MAX_STRING_LENGTH} characters, the most one string can hold (${path}:${line})\n`);
    expect(result.code).toBe(2);
  });

  it('the OTLP reader searches each chunk of a long line once (it searched the whole line so far per chunk)', () => {
    const parser = new OtlpJsonParser();
    parser.push('{"resourceSpans": []}\n');
    const chunk = 'x'.repeat(1 << 16);
    const searched = { chars: 0 };
    const indexOf = String.prototype.indexOf;
    const spy = vi.spyOn(String.prototype, 'indexOf').mockImplementation(function (this: string, ...args: Parameters<string['indexOf']>) {
      searched.chars += this.length;
      return indexOf.apply(this, args);
    });
    try {
      for (let i = 0; i < 200; i++) parser.push(chunk);
    } finally {
      spy.mockRestore();
    }
    expect(searched.chars).toBeLessThanOrEqual(200 * chunk.length);
    expect(parser.end().tornTail).toBe(true);
  });

  it('a log killed before its first event, read years later, has an unknown duration, not the time since it started', async () => {
    const path = join(tempRunDir(), 'execution_tracker.json');
    writeFileSync(path, '{"start_time": "2024-01-01T00:00:00.000000", "events": [\n');
    const result = await runCli(['report', path]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.exit.reason).toBe('killed');
    expect(report.run).toMatchObject({ start_time: '2024-01-01T00:00:00.000000', total_events: 0, duration_seconds: null });
  });

  it('a log that grows while it is read is read as it stood when opened (a writer faster than the reader never let it end)', () => {
    const path = join(tempRunDir(), 'execution_tracker.json');
    const line = `${JSON.stringify({ timestamp: '2026-01-01T00:00:01.000000Z', elapsed_seconds: 1, type: 'task_end', level: 'INFO', data: { stage: 's' } })},\n`;
    writeFileSync(path, `{"start_time": "2026-01-01T00:00:00.000000Z", "events": [\n${line.repeat(2000)}`);
    let seen = 0;
    // Each event read brings two more: the writer outruns the reader (bounded, so the old reader ends too).
    const result = readTruthLogSync(path, () => {
      if (++seen < 20_000) appendFileSync(path, line + line);
    });
    expect(result.events).toBe(2000);
    expect(result.tornTail).toBe(false);
    expect(result.skipped).toEqual([]);
  });

  it('an element of a whole Python tracker document that is not an event is named by its line, not its index', async () => {
    const path = join(tempRunDir(), 'execution_tracker.json');
    const event = '{"timestamp": "2026-01-01T00:00:01", "elapsed_seconds": 1, "type": "task_error", "level": "ERROR", "data": {"error": "boom"}}';
    writeFileSync(path, `{\n  "start_time": "2026-01-01T00:00:00",\n  "events": [\n    ${event},\n    NaN,\n    ${event}\n  ],\n  "total_events": NaN\n}\n`);
    const result = await runCli(['report', path]);
    expect(result.stderr).toBe(`agent-autopsy: warning: skipped 1 unreadable line(s): ${path}:5 (events[1] is not an event)\n`);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.failure_analysis.total_failures).toBe(2);
    expect(report.exit.reason).toBe('unknown');
    expect(report.run.source).toBe('python-tracker');
  });
});
