import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeRun, analyzeRunSync } from '../analyzers/readRun';
import type { AutopsyReport } from '../analyzers/reportTypes';
import type { TruthEvent } from '../src/types';
import { CLI, event, runCli, writeTruthLog } from './helpers/cli';
import { collectorExportLines } from './helpers/otlpFile';
import { tempRunDir } from './helpers/tempDirs';

// `agent-autopsy report <(cat traces.jsonl)`, a FIFO, `… | agent-autopsy report /dev/stdin`: a pipe
// gives its bytes once, so what it holds is told from the head it gave, which is then read again
// first. Every input a file can hold reads the same through a pipe.

const OTLP_DOCUMENT = join(__dirname, 'fixtures', 'otlp', 'single-document.json');

/** 3,000 events (~500 KB, several 64 KiB chunks beyond the head), every 3rd a failed LLM call. */
function longRun(): TruthEvent[] {
  return Array.from({ length: 3000 }, (_, i) =>
    i % 3 === 2
      ? event('llm_call_error', { stage: `stage${i % 7}`, model: 'gpt-4o', error: `429 Too Many Requests (attempt ${i})`, http_status: 429 }, 'ERROR', i / 100)
      : event('task_end', { stage: `stage${i % 7}`, task: `t${i}`, note: 'é'.repeat(i % 5) }, 'INFO', i / 100),
  );
}

/** A Collector export (JSON lines, ~1 MB): 40 traces of a stage span and 59 LLM calls, every 20th failing. */
function otlpLines(): string {
  return collectorExportLines(40, 59);
}

/** The line execution_tracker_readable.txt holds for `e` (its data as Python's repr). */
function readableLine(e: TruthEvent): string {
  const repr = Object.entries(e.data)
    .map(([key, value]) => `'${key}': ${typeof value === 'string' ? `'${value}'` : String(value)}`)
    .join(', ');
  return `[${e.timestamp.replace('Z', '')}] (+${e.elapsed_seconds.toFixed(3)}s) [${e.level}] ${e.type}: {${repr}}\n`;
}

/** One file of each kind `report` reads, each in a folder of its own (a log's folder is read for its autofix log and lock). */
async function inputs(): Promise<Array<{ name: string; file: string }>> {
  const root = tempRunDir('autopsy-pipes-');
  const events = longRun();
  const truthMode = writeTruthLog(join(root, 'truth-mode'), events);
  const python = join(root, 'python', 'execution_tracker.json');
  mkdirSync(join(root, 'python'));
  writeFileSync(python, JSON.stringify({ start_time: '2026-01-01T00:00:00.000000', events: events.map((e) => ({ ...e, timestamp: e.timestamp.replace('Z', '') })), total_events: events.length }, null, 2));
  const readable = join(root, 'readable', 'execution_tracker_readable.txt');
  mkdirSync(join(root, 'readable'));
  writeFileSync(readable, events.map(readableLine).join(''));
  const lines = join(root, 'otlp-lines', 'traces.jsonl');
  mkdirSync(join(root, 'otlp-lines'));
  writeFileSync(lines, otlpLines());
  const document = join(root, 'otlp-document', 'traces.json');
  mkdirSync(join(root, 'otlp-document'));
  writeFileSync(document, readFileSync(OTLP_DOCUMENT));
  // A saved report of ~200 KB (its 1,000 critical failures): longer than the head.
  const saved = join(root, 'report', 'saved-report.json');
  mkdirSync(join(root, 'report'));
  const rendered = await runCli(['report', truthMode]);
  expect(rendered.code).toBe(0);
  writeFileSync(saved, rendered.stdout);
  return [
    { name: 'otlp-lines', file: lines },
    { name: 'otlp-document', file: document },
    { name: 'report', file: saved },
    { name: 'truth-mode', file: truthMode },
    { name: 'python', file: python },
    { name: 'readable', file: readable },
  ];
}

/** `agent-autopsy report <fifo>` while another process writes `file` into the FIFO. */
async function reportThroughFifo(file: string, fifo: string) {
  execFileSync('mkfifo', [fifo]);
  // Until the reader opens the FIFO, the writer waits (for good, when the reader fails first).
  const writer = spawn('sh', ['-c', 'exec cat "$1" > "$2"', 'sh', file, fifo], { stdio: 'ignore' });
  try {
    return await runCli(['report', fifo]);
  } finally {
    writer.kill('SIGKILL');
  }
}

/** The report but for the moment it was made (and where the run is said to be). */
function comparable(json: string, outputDir?: string): unknown {
  const report = JSON.parse(json) as AutopsyReport;
  return { ...report, timestamp: 'T', run: { ...report.run, ...(outputDir === undefined ? {} : { output_dir: outputDir }) } };
}

describe('report through a pipe (a FIFO, <(…), /dev/stdin)', () => {
  it('reads every kind of input through a FIFO as it reads the file: Truth-Mode, Python tracker, readable log, OTLP JSON lines and document, saved report', async () => {
    for (const { name, file } of await inputs()) {
      const direct = await runCli(['report', file]);
      expect(direct.code, name).toBe(0);
      const fifo = `${file}.fifo`;
      const piped = await reportThroughFifo(file, fifo);
      expect(piped.code, `${name}: ${piped.stderr}`).toBe(0);
      // Its folder is the file's: the same report.
      expect(comparable(piped.stdout), name).toEqual(comparable(direct.stdout));
      // A readable log through a pipe: nothing claims an execution_tracker.json is missing beside it.
      expect(piped.stderr, name).toBe(
        name === 'readable' ? `agent-autopsy: note: the report is rebuilt from a readable log (${fifo}); a run's execution_tracker.json, where there is one, is the complete record\n` : direct.stderr,
      );
    }
  });

  it('reads OTLP JSON, a saved report and a Truth-Mode log from /dev/stdin (or -) and from <(cat …), each as from the file', async () => {
    for (const { name, file } of (await inputs()).filter(({ name }) => name === 'otlp-lines' || name === 'report' || name === 'truth-mode')) {
      const direct = await runCli(['report', file]);
      const expected = comparable(direct.stdout, 'run');
      // The stdin Node gives a child: a socket, which cannot be opened by its name /dev/stdin.
      const stdin = spawnSync(process.execPath, [CLI, 'report', '/dev/stdin'], { input: readFileSync(file), encoding: 'utf8' });
      expect(stdin.stderr, name).toBe('');
      expect(stdin.status, name).toBe(0);
      expect(comparable(stdin.stdout, 'run'), name).toEqual(expected);
      // A shell's pipe.
      const shellPipe = spawnSync('sh', ['-c', 'cat "$2" | "$0" "$1" report /dev/stdin', process.execPath, CLI, file], { encoding: 'utf8' });
      expect(shellPipe.stderr, name).toBe('');
      expect(shellPipe.status, name).toBe(0);
      expect(comparable(shellPipe.stdout, 'run'), name).toEqual(expected);
      // `-` names standard input.
      const dash = spawnSync('sh', ['-c', 'cat "$2" | "$0" "$1" report -', process.execPath, CLI, file], { encoding: 'utf8' });
      expect(dash.stderr, name).toBe('');
      expect(dash.status, name).toBe(0);
      expect(comparable(dash.stdout, 'run'), name).toEqual(expected);
      const substituted = spawnSync('bash', ['-c', `"$0" "$1" report <(cat "$2")`, process.execPath, CLI, file], { encoding: 'utf8' });
      expect(substituted.stderr, name).toBe('');
      expect(substituted.status, name).toBe(0);
      expect(comparable(substituted.stdout, 'run'), name).toEqual(expected);
    }
  });

  it("names no pipe in the Markdown's command for the whole list: a pipe cannot be read again", async () => {
    const file = (await inputs()).find(({ name }) => name === 'truth-mode')!.file;
    const pointer = (markdown: string) => markdown.split('\n').find((line) => line.startsWith('… and '));
    const direct = await runCli(['report', file, '--format', 'md']);
    expect(pointer(direct.stdout)).toBe(`… and 950 more (\`agent-autopsy report ${file} --format json\`)`);
    const saved = '… and 950 more (`agent-autopsy report <the input saved to a file> --format json`)';
    const dash = spawnSync('sh', ['-c', 'cat "$2" | "$0" "$1" report - --format md', process.execPath, CLI, file], { encoding: 'utf8' });
    expect(pointer(dash.stdout)).toBe(saved);
    const substituted = spawnSync('bash', ['-c', `"$0" "$1" report <(cat "$2") --format md`, process.execPath, CLI, file], { encoding: 'utf8' });
    expect(pointer(substituted.stdout)).toBe(saved);
  });

  it('diff compares two runs given through pipes', async () => {
    const runs = await inputs();
    const a = runs.find((input) => input.name === 'otlp-lines')!.file;
    const b = runs.find((input) => input.name === 'report')!.file;
    const direct = await runCli(['diff', a, b, '--format', 'json']);
    const piped = spawnSync('bash', ['-c', `"$0" "$1" diff <(cat "$2") <(cat "$3") --format json`, process.execPath, CLI, a, b], { encoding: 'utf8' });
    expect(piped.stderr).toBe('');
    expect(piped.status).toBe(direct.code);
    // All but the summaries of A and B, which name the inputs.
    const withoutInputs = (text: string) => {
      const diff = JSON.parse(text) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(diff).filter(([key]) => key !== 'a' && key !== 'b'));
    };
    expect(withoutInputs(piped.stdout)).toEqual(withoutInputs(direct.stdout));
  });

  it('analyzeRun() and analyzeRunSync() read OTLP JSON and a Truth-Mode log through a FIFO as from the file', async () => {
    for (const { name, file } of (await inputs()).filter(({ name }) => name === 'otlp-lines' || name === 'truth-mode')) {
      const expected = comparable(JSON.stringify((await analyzeRun(file)).report));
      for (const [how, analyze] of [
        ['analyzeRun', analyzeRun],
        ['analyzeRunSync', analyzeRunSync],
      ] as const) {
        const fifo = `${file}.${how}.fifo`;
        execFileSync('mkfifo', [fifo]);
        // The writer is a process of its own: analyzeRunSync holds this one's event loop until the pipe ends.
        const writer = spawn('sh', ['-c', 'exec cat "$1" > "$2"', 'sh', file, fifo], { stdio: 'ignore' });
        try {
          const { report } = await analyze(fifo);
          expect(comparable(JSON.stringify(report)), `${name}, ${how}`).toEqual(expected);
        } finally {
          writer.kill('SIGKILL');
        }
      }
    }
  });

  it('input of no kind it reads is bad input through a pipe too: one line naming the pipe', async () => {
    const stdin = spawnSync(process.execPath, [CLI, 'report', '/dev/stdin'], { input: '{"spans": []}\n', encoding: 'utf8' });
    expect(stdin.status).toBe(2);
    expect(stdin.stdout).toBe('');
    expect(stdin.stderr).toBe(
      'agent-autopsy: not a Truth-Mode log: the JSON document has no "events" array; agent-autopsy report also reads OTLP JSON ({"resourceSpans": …}) and saved reports ("failure_analysis" and "summary") (/dev/stdin)\n',
    );
  });
});
