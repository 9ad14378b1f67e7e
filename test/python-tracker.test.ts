import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTruthLogSync } from '../analyzers/index';
import { ExecutionTracker, LatentReporter, autofix, init, shutdown } from '../src/index';
import { runCli } from './helpers/cli';
import { logPath, readAutofixLog, readReport } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

// A run directory written the way the original Python tracker wrote it (one indented JSON
// document, Python reprs in the readable log), analysed by LatentReporter and compared field by
// field with the seed reporter's semantics computed in Python.

function writePythonRun(): { dir: string; expected: any } {
  const dir = tempRunDir('autopsy-python-');
  const out = execFileSync('python3', [join(__dirname, 'fixtures', 'python', 'seed_tracker.py'), dir], { encoding: 'utf8' });
  return { dir, expected: JSON.parse(out) };
}

describe('LatentReporter on a directory written by the original Python tracker', () => {
  it('reproduces the seed report exactly (counts, critical failures, patterns, suggestions, summary)', () => {
    const { dir, expected } = writePythonRun();
    // The oracle really wrote a single indented document.
    expect(readFileSync(logPath(dir, 'execution_tracker.json'), 'utf8')).toMatch(/^\{\n {2}"start_time": "2025-01-24T10:30:00.123456",\n {2}"events": \[\n/);
    const before = Date.now();
    const report = new LatentReporter(dir).generateReport();
    // Made now, as the seed reporter stamps it; the run's own duration ends at its last event.
    expect(Date.parse(report.timestamp)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(report.timestamp)).toBeLessThanOrEqual(Date.now());
    expect(report.run.duration_seconds).toBe(20);
    const fa = report.failure_analysis;
    expect(fa.total_failures).toBe(expected.total_failures);
    expect(fa.failures_by_type).toEqual(expected.failures_by_type);
    expect(Object.keys(fa.failures_by_type)).toEqual(Object.keys(expected.failures_by_type));
    expect(fa.failures_by_stage).toEqual(expected.failures_by_stage);
    expect(Object.keys(fa.failures_by_stage)).toEqual(Object.keys(expected.failures_by_stage));
    expect(fa.critical_failures).toEqual(expected.critical_failures);
    expect(fa.failure_patterns.map((p) => (p.pattern === 'stage_specific_failures' ? [p.pattern, p.severity, p.description.split(' ')[1]] : [p.pattern, p.severity]))).toEqual(
      expected.patterns,
    );
    expect(report.fix_suggestions.map((s) => [s.priority, s.category])).toEqual(expected.suggestions);
    expect(report.summary).toEqual(expected.summary);
    const { type: _type, ...autofix } = expected.autofix;
    expect(report.autofix_statistics).toEqual(autofix);
    expect(report.run.source).toBe('python-tracker');
    expect(report.run.start_time).toBe('2025-01-24T10:30:00.123456');
    // And it is written where the original reporter wrote it.
    expect(readReport(dir)).toEqual(JSON.parse(JSON.stringify(report)));
  });

  it('recovers every complete event of a Python document cut off mid-way', () => {
    const { dir } = writePythonRun();
    const path = logPath(dir, 'execution_tracker.json');
    const whole = readFileSync(path, 'utf8');
    const doc = JSON.parse(whole);
    // Cut inside the last event: all events but the last are complete.
    const cut = whole.lastIndexOf('"checkpoint_save"');
    writeFileSync(path, whole.slice(0, cut));
    const report = new LatentReporter(dir).generateReport();
    expect(report.run.total_events).toBe(doc.events.length - 1);
    expect(report.failure_analysis.total_failures).toBe(12);
    expect(report.exit.reason).toBe('killed');
  });
});

// Python's json.dump writes NaN, Infinity and -Infinity unless told allow_nan=False; the original
// tracker never told it. Written by a real Python here, so the text is exactly what it writes.
const NON_FINITE_RUN = String.raw`
import json, os, sys
log_dir = os.path.join(sys.argv[1], "Memory", "logs")
os.makedirs(log_dir, exist_ok=True)
events = [
    {"timestamp": "2025-01-24T10:30:00.000001", "elapsed_seconds": 0.0, "type": "stage_start", "level": "INFO", "data": {"stage": "train"}},
    {"timestamp": "2025-01-24T10:30:01.000001", "elapsed_seconds": 1.0, "type": "llm_call_error", "level": "ERROR", "data": {"stage": "train", "error": "Rate limit exceeded", "loss": float("nan")}},
    {"timestamp": "2025-01-24T10:30:02.000001", "elapsed_seconds": 2.0, "type": "code_exec_error", "level": "ERROR", "data": {"stage": "train", "error": "overflow", "value": float("inf"), "low": float("-inf"), "note": "NaN and Infinity in a string stay text"}},
    {"timestamp": "2025-01-24T10:30:03.000001", "elapsed_seconds": 3.0, "type": "stage_end", "level": "INFO", "data": {"stage": "train", "duration": 3.0}},
]
with open(os.path.join(log_dir, "execution_tracker.json"), "w", encoding="utf-8") as f:
    json.dump({"start_time": "2025-01-24T10:30:00.000001", "events": events, "total_events": len(events)}, f, indent=2)
with open(os.path.join(log_dir, "autofix_log.json"), "w", encoding="utf-8") as f:
    json.dump(json.loads(sys.argv[2]), f, indent=2)
`;

function writeNonFiniteRun(autofixLog: object): string {
  const dir = tempRunDir('autopsy-python-');
  execFileSync('python3', ['-c', NON_FINITE_RUN, dir, JSON.stringify(autofixLog)]);
  return dir;
}

const AUTOFIX = { type: 'autofix_log', total_attempts: 4, successful_fixes: 1, failed_fixes: 3, fixes_by_type: { syntax: 4 }, fixes_by_layer: { layer1: 4, layer2: 0, layer3: 0 } };

describe('Python documents with NaN and Infinity', () => {
  it('reads every event, with the values as numbers, and the run as complete', () => {
    const dir = writeNonFiniteRun(AUTOFIX);
    const text = readFileSync(logPath(dir, 'execution_tracker.json'), 'utf8');
    expect(text).toContain('"loss": NaN');
    expect(text).toContain('"value": Infinity');
    expect(text).toContain('"low": -Infinity');
    const events: any[] = [];
    const result = readTruthLogSync(logPath(dir, 'execution_tracker.json'), (event) => events.push(event));
    expect(result).toMatchObject({ format: 'python', events: 4, complete: true, declaredTotal: 4, tornTail: false, skipped: [] });
    expect(events[1].data.loss).toBeNaN();
    expect(events[2].data).toEqual({ stage: 'train', error: 'overflow', value: Infinity, low: -Infinity, note: 'NaN and Infinity in a string stay text' });
    const report = new LatentReporter(dir).generateReport();
    expect(report.failure_analysis.total_failures).toBe(2);
    expect(report.failure_analysis.failures_by_type).toEqual({ llm_call_error: 1, code_exec_error: 1 });
    expect(report.exit.reason).not.toBe('killed');
  });

  it('recovers the events of a torn document that hold them', () => {
    const dir = writeNonFiniteRun(AUTOFIX);
    const path = logPath(dir, 'execution_tracker.json');
    const whole = readFileSync(path, 'utf8');
    writeFileSync(path, whole.slice(0, whole.indexOf('"stage_end"')));
    const types: string[] = [];
    const result = readTruthLogSync(path, (event) => types.push(event.type));
    expect(types).toEqual(['stage_start', 'llm_call_error', 'code_exec_error']);
    expect(result).toMatchObject({ complete: false, tornTail: true });
  });
});

describe('autofix_log.json', () => {
  it('counts only a document whose type is "autofix_log", as the seed reporter does', () => {
    const counted = new LatentReporter(writeNonFiniteRun(AUTOFIX)).generateReport();
    expect(counted.autofix_statistics).toMatchObject({ total_attempts: 4, successful_fixes: 1, failed_fixes: 3, fixes_by_type: { syntax: 4 } });
    expect(counted.summary.autofix_success_rate).toBe('25.0%');
    const { type: _type, ...untyped } = AUTOFIX;
    const ignored = new LatentReporter(writeNonFiniteRun(untyped)).generateReport();
    expect(ignored.autofix_statistics).toMatchObject({ total_attempts: 0, successful_fixes: 0, failed_fixes: 0, fixes_by_type: {} });
    expect(ignored.summary.autofix_success_rate).toBe('0.0%');
  });

  it('is named in a CLI warning when it is left out', async () => {
    const { type: _type, ...untyped } = AUTOFIX;
    const dir = writeNonFiniteRun({ ...untyped, type: 'something_else' });
    const result = await runCli(['report', dir, '--format', 'json']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(`agent-autopsy: warning: ${logPath(dir, 'autofix_log.json')} was left out of the autofix statistics: its "type" is not "autofix_log"\n`);
    expect(JSON.parse(result.stdout).autofix_statistics.total_attempts).toBe(0);
  });

  it('is named as unreadable, not as invalid JSON, when it cannot be read', async () => {
    const dir = writeNonFiniteRun(AUTOFIX);
    const logs = join(dir, 'Memory', 'logs');
    for (const folder of [dir, join(dir, 'Memory'), logs]) chmodSync(folder, 0o755);
    for (const name of readdirSync(logs)) chmodSync(join(logs, name), 0o644);
    chmodSync(join(logs, 'autofix_log.json'), 0o000);
    // Root reads anything: the CLI runs as nobody then.
    const result = await runCli(['report', dir, '--format', 'json'], process.getuid?.() === 0 ? { uid: 65534 } : {});
    chmodSync(join(logs, 'autofix_log.json'), 0o600);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(`agent-autopsy: warning: ${logPath(dir, 'autofix_log.json')} was left out of the autofix statistics: it cannot be read (EACCES)\n`);
  });

  // The original reporter opens autofix_log.json as it opens execution_tracker.json, in the
  // platform's encoding (`open(path, 'r')`): a UTF-8 repair type made it fail on GBK or cp1252.
  it('is ASCII, escaped as Python json.dump escapes, so the original reporter reads it in any encoding', async () => {
    const dir = tempRunDir();
    init({ outputDir: dir, handleExit: false });
    await autofix({ layer: 1, type: '修复 ✓' }, () => true);
    await shutdown();
    const text = readFileSync(logPath(dir, 'autofix_log.json'), 'utf8');
    expect(text).toBe(
      '{\n  "type": "autofix_log",\n  "total_attempts": 1,\n  "successful_fixes": 1,\n  "failed_fixes": 0,\n' +
        '  "fixes_by_type": {\n    "\\u4fee\\u590d \\u2713": 1\n  },\n' +
        '  "fixes_by_layer": {\n    "layer1": 1,\n    "layer2": 0,\n    "layer3": 0\n  }\n}\n',
    );
    const read = execFileSync('python3', ['-c', 'import json,sys; print(json.dumps(json.load(open(sys.argv[1], "r", encoding="ascii"))["fixes_by_type"]))', logPath(dir, 'autofix_log.json')], { encoding: 'utf8' });
    expect(JSON.parse(read)).toEqual({ '修复 ✓': 1 });
  });

  // Repair types are the app's words: "constructor" or "__proto__" are types like any other, as
  // they are keys like any other in the seed reporter's dict.
  it('counts repair types named like Object.prototype members, written and read back', async () => {
    const dir = tempRunDir();
    init({ outputDir: dir, handleExit: false });
    for (const type of ['constructor', '__proto__', 'toString', 'constructor']) await autofix({ layer: 2, type }, () => false);
    await shutdown();
    const expected = { constructor: 2, ['__proto__']: 1, toString: 1 };
    expect(Object.entries(readAutofixLog(dir).fixes_by_type as Record<string, number>)).toEqual(Object.entries(expected));
    expect(Object.entries(readReport(dir).autofix_statistics.fixes_by_type)).toEqual(Object.entries(expected));
    const python = writeNonFiniteRun({ ...AUTOFIX, fixes_by_type: { constructor: 3, ['__proto__']: 1 } });
    expect(Object.entries(new LatentReporter(python).generateReport().autofix_statistics.fixes_by_type)).toEqual([['constructor', 3], ['__proto__', 1]]);
  });
});

// The original reporter opens execution_tracker.json in the platform's encoding (`open(path, 'r')`,
// GBK on a Chinese Windows). The original tracker wrote it with json.dump's default ensure_ascii, so
// ours is ASCII too, with the same escapes.
const READ_AS_ORIGINAL_REPORTER = String.raw`
import json, sys
with open(sys.argv[1], "r", encoding="ascii") as f:
    document = json.load(f)
with open(sys.argv[1], "r", encoding="ascii") as f:
    lines = [line.rstrip("\n").rstrip(",") for line in f if line.startswith('{"timestamp"')]
same = all(json.dumps(json.loads(line)["data"], separators=(",", ":")) in line for line in lines)
print(json.dumps({"total": document["total_events"], "data": [e["data"] for e in document["events"]], "same_escapes": same, "lines": len(lines)}))
`;

describe('our execution_tracker.json, read the way the original reporter reads it', () => {
  it('is ASCII, escaped exactly as Python json.dump escapes, and holds the same text', () => {
    const dir = tempRunDir();
    const tracker = new ExecutionTracker(dir);
    const data = [
      { stage: '阶段一：问题分析', note: 'café 🙂' },
      { stage: '阶段一：问题分析', error: '速率限制 "429"\n重试', count: 3 },
      { stage: 'stage2', text: 'a\u2028b\u00a0c\u0085d', lone: 'x\ud800y' },
    ];
    tracker.track('stage_start', data[0]);
    tracker.track('llm_call_error', data[1], 'ERROR');
    tracker.track('checkpoint_save', data[2]);
    tracker.close();
    const out = execFileSync('python3', ['-c', READ_AS_ORIGINAL_REPORTER, logPath(dir, 'execution_tracker.json')], { encoding: 'utf8' });
    const read = JSON.parse(out);
    // (A lone surrogate is recorded as U+FFFD: the text must be valid Unicode.)
    data[2].lone = 'x\ufffdy';
    // The stage left open at close() ends as unfinished, with its start's text.
    const unfinished = { ...data[0], unfinished: true, age_seconds: expect.any(Number) };
    expect(read).toEqual({ total: 4, data: [...data, unfinished], same_escapes: true, lines: 4 });
    // The readable log is for people: UTF-8, as the original wrote it.
    expect(readFileSync(logPath(dir, 'execution_tracker_readable.txt'), 'utf8')).toContain("'stage': '阶段一：问题分析', 'note': 'café 🙂'");
  });
});

describe('a Python document damaged inside', () => {
  it('keeps every whole event, names the damaged one by line, and is not taken for a killed run', async () => {
    const { dir } = writePythonRun();
    const path = logPath(dir, 'execution_tracker.json');
    const whole = readFileSync(path, 'utf8');
    const total = JSON.parse(whole).events.length;
    // Drop a comma inside the 4th event (its "data" object): that element alone is not JSON.
    const fourth = whole.indexOf('"llm_call_end"');
    const comma = whole.indexOf('"model": "gpt-4o",', fourth) + '"model": "gpt-4o"'.length;
    writeFileSync(path, whole.slice(0, comma) + whole.slice(comma + 1));
    const damagedLine = whole.slice(0, fourth).split('\n').length;
    const types: string[] = [];
    const read = readTruthLogSync(path, (event) => types.push(event.type));
    expect(types).toHaveLength(total - 1);
    expect(types).not.toContain('llm_call_end');
    expect(read).toMatchObject({ complete: true, declaredTotal: total, tornTail: false });
    expect(read.skipped).toHaveLength(1);
    // The element starts a few lines above its "type" line (the indented document's "{").
    expect(read.skipped[0].line).toBeGreaterThan(damagedLine - 6);
    expect(read.skipped[0].line).toBeLessThanOrEqual(damagedLine);
    expect(whole.split('\n')[read.skipped[0].line - 1].trim()).toBe('{');
    const result = await runCli(['report', dir, '--format', 'json']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(`agent-autopsy: warning: skipped 1 unreadable line(s): ${path}:${read.skipped[0].line} (not a JSON event)\n`);
    const report = JSON.parse(result.stdout);
    expect(report.run.total_events).toBe(total - 1);
    expect(report.exit.reason).not.toBe('killed');
  });

  it('with no event left in it is bad input (exit 2), not an empty report', async () => {
    const dir = tempRunDir();
    const path = logPath(dir, 'execution_tracker.json');
    mkdirSync(join(dir, 'Memory', 'logs'), { recursive: true });
    writeFileSync(path, '{"start_time": "2025-01-24T10:30:00", "events": [1, 2 3]}');
    const skipped: Array<{ line: number; reason: string }> = readTruthLogSync(path, () => {}).skipped;
    expect(skipped).toEqual([
      { line: 1, reason: 'events[0] is not an event' },
      { line: 1, reason: 'not a JSON event' },
    ]);
    const result = await runCli(['report', dir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`agent-autopsy: no readable event in this log (${path}:1)`);
  });
});

describe('a run with only its readable log (the original tracker wrote its JSON only on save_json_log())', () => {
  it('is rebuilt from execution_tracker_readable.txt with the same seed conclusions', async () => {
    const { dir, expected } = writePythonRun();
    const fromJson = new LatentReporter(dir).generateReport();
    rmSync(logPath(dir, 'execution_tracker.json'));
    rmSync(logPath(dir, 'latent_analysis_report.json'), { force: true });
    const result = await runCli(['report', dir, '--format', 'json']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(`agent-autopsy: note: there is no execution_tracker.json; the report is rebuilt from ${logPath(dir, 'execution_tracker_readable.txt')}\n`);
    const report = JSON.parse(result.stdout);
    expect(report.run.source).toBe('readable-log');
    expect(report.run.total_events).toBe(fromJson.run.total_events);
    expect(report.failure_analysis).toEqual(fromJson.failure_analysis);
    expect(report.failure_analysis.total_failures).toBe(expected.total_failures);
    expect(report.summary).toEqual(fromJson.summary);
    expect(report.fix_suggestions).toEqual(fromJson.fix_suggestions);
    // No closing line to tell a clean end from a kill: the events say nothing about it.
    expect(report.exit.reason).toBe('unknown');
  });

  it('keeps data that is not plain Python data as text, and a line cut off by a kill is the torn tail', async () => {
    const dir = tempRunDir();
    mkdirSync(join(dir, 'Memory', 'logs'), { recursive: true });
    const lines = [
      "[2025-01-24T10:30:00.000001] (+0.000s) [INFO] stage_start: {'stage': 'stage1'}",
      "[2025-01-24T10:30:01.000001] (+1.000s) [ERROR] llm_call_error: {'stage': 'stage1', 'error': 'Rate limit exceeded', 'at': datetime.datetime(2025, 1, 24, 10, 30, 1)}",
      '[2025-01-24T10:30:02.000001] (+2.000s) [ERROR] code_exec_error: {\'stage\': \'stage1\', \'error\': "SyntaxError: expected \':\'"}',
      "a line that is not an event",
      "[2025-01-24T10:30:03.000001] (+3.000s) [INFO] stage_end: {'stage': 'stage1', 'dur",
    ];
    writeFileSync(logPath(dir, 'execution_tracker_readable.txt'), lines.join('\n'));
    const events: any[] = [];
    const read = readTruthLogSync(logPath(dir, 'execution_tracker_readable.txt'), (event) => events.push(event));
    expect(read).toMatchObject({ format: 'readable', events: 3, unreadData: 1, tornTail: true, skipped: [{ line: 4, reason: 'not a readable log line' }] });
    expect(events.map((event) => [event.type, event.level, event.elapsed_seconds])).toEqual([
      ['stage_start', 'INFO', 0],
      ['llm_call_error', 'ERROR', 1],
      ['code_exec_error', 'ERROR', 2],
    ]);
    expect(events[1].data).toEqual({ repr: lines[1].slice(lines[1].indexOf('{')) });
    expect(events[2].data).toEqual({ stage: 'stage1', error: "SyntaxError: expected ':'" });
    const result = await runCli(['report', dir, '--format', 'json']);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("agent-autopsy: note: the data of 1 event(s) is not plain Python data; it is kept as text in data.repr\n");
    expect(JSON.parse(result.stdout).failure_analysis.failures_by_type).toEqual({ llm_call_error: 1, code_exec_error: 1 });
  });
});
