import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeRun } from '../analyzers/readRun';
import type { AutopsyReport } from '../analyzers/reportTypes';
import type { TruthEvent } from '../src/types';
import { runNode, writeScript, type ChildResult } from './helpers/childProcess';
import { CLI, event, runCli, writeTruthLog } from './helpers/cli';
import { tempRunDir } from './helpers/tempDirs';

const OTLP_FIXTURE = join(__dirname, 'fixtures', 'otlp', 'collector-mixed.jsonl');
/**
 * A report as the original Python reporter writes it (json.dump, indent 2, ensure_ascii off; its
 * sentences in Chinese, the original's language): timestamp, failure_analysis, autofix_statistics,
 * fix_suggestions and summary, none of this library's other sections.
 */
const ORIGINAL_REPORT = join(__dirname, 'fixtures', 'reports', 'original_reporter.json');

const tempDir = () => tempRunDir('autopsy-cli-');

function failingRun(): TruthEvent[] {
  return [
    event('stage_start', { stage: 'stage1', name: 'Coding' }, 'INFO', 0),
    event('llm_call_start', { model: 'gpt-4o', stage: 'stage1' }, 'INFO', 0.1),
    event('llm_call_error', { model: 'gpt-4o', stage: 'stage1', error: '429 Too Many Requests | retry `later` <script>alert(1)</script>', http_status: 429 }, 'ERROR', 0.3),
    event('code_exec_start', { language: 'python', stage: 'stage1' }, 'INFO', 0.4),
    event('code_exec_error', { language: 'python', stage: 'stage1', error: "SyntaxError: expected ':' (solve.py, line 2)" }, 'ERROR', 0.6),
    event('stage_end', { stage: 'stage1', duration: 1 }, 'INFO', 1),
  ];
}

function cleanRun(): TruthEvent[] {
  return [event('stage_start', { stage: 'stage1' }, 'INFO', 0), event('task_start', { task: 't', stage: 'stage1' }, 'INFO', 0.1), event('task_end', { task: 't', stage: 'stage1' }, 'INFO', 0.2), event('stage_end', { stage: 'stage1' }, 'INFO', 0.5)];
}

describe('agent-autopsy report', () => {
  let failing = '';
  let clean = '';
  beforeAll(() => {
    failing = tempDir();
    writeTruthLog(failing, failingRun());
    clean = tempDir();
    writeTruthLog(clean, cleanRun());
  });

  it('prints the JSON report, the same one the analyzer builds', async () => {
    const result = await runCli(['report', failing]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as AutopsyReport;
    const { report } = await analyzeRun(failing);
    // The same report but for its own time, when it was made (the log's events are from 2026-01-01).
    expect({ ...printed, timestamp: '' }).toEqual({ ...report, timestamp: '' });
    expect(Date.parse(printed.timestamp)).toBeGreaterThan(Date.now() - 60_000);
    expect(printed.summary).toEqual({ total_failures: 2, total_autofix_attempts: 0, autofix_success_rate: '0.0%', most_common_failure: 'llm_call_error', most_problematic_stage: 'stage1' });
    expect(printed.run.duration_seconds).toBe(1);
  });

  it('writes Markdown with the diagnoses first and every value escaped', async () => {
    const result = await runCli(['report', failing, '--format', 'md']);
    expect(result.code).toBe(0);
    const md = result.stdout;
    expect(md.startsWith('# Agent autopsy\n')).toBe(true);
    expect(md.indexOf('## Diagnoses')).toBeGreaterThan(0);
    expect(md.indexOf('## Diagnoses')).toBeLessThan(md.indexOf('## Summary'));
    expect(md).toContain('| Total failures | 2 |');
    // The error text cannot break the table, open HTML or start a code span.
    expect(md).toContain('| llm\\_call\\_error | stage1 | 429 Too Many Requests \\| retry \\`later\\` \\<script\\>alert(1)\\</script\\> |');
    expect(md).not.toContain('<script>');
    expect(md).toContain("| code\\_exec\\_error | stage1 | SyntaxError: expected ':' (solve.py, line 2) |");
  });

  it('writes autopsy.html with its events to --out (mode 0600), nothing on stdout', async () => {
    const out = join(tempDir(), 'autopsy.html');
    const result = await runCli(['report', failing, '--format', 'html', '--out', out]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const html = readFileSync(out, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<script type="application/json" id="autopsy-events">');
    expect(html).toContain('\\u003cscript\\u003ealert(1)\\u003c/script\\u003e');
    expect(html).not.toContain('<script>alert(1)');
  });

  it('--out: says in one line why the report cannot be written (exit 2), and never writes it over the log it read', async () => {
    const dir = tempDir();
    const missing = join(dir, 'no-such-dir', 'autopsy.md');
    let result = await runCli(['report', failing, '-f', 'md', '--out', missing]);
    expect(result).toMatchObject({ code: 2, stdout: '', stderr: `agent-autopsy: cannot write the report: its directory does not exist (${missing})\n` });
    result = await runCli(['report', failing, '--out', dir]);
    expect(result).toMatchObject({ code: 2, stdout: '', stderr: `agent-autopsy: cannot write the report: it is a directory (${dir})\n` });
    const modeOf = (path: string) => statSync(path).mode & 0o777;
    const devices = { full: modeOf('/dev/full'), null: modeOf('/dev/null') };
    result = await runCli(['report', failing, '--out', '/dev/full']);
    expect(result).toMatchObject({ code: 2, stdout: '', stderr: 'agent-autopsy: cannot write the report: no space left on device (/dev/full)\n' });
    result = await runCli(['report', failing, '--out', '/dev/null']);
    expect(result).toMatchObject({ code: 0, stdout: '', stderr: '' });
    // A device is every user's: only a regular file is made private (as root, 0666 became 0600).
    expect({ full: modeOf('/dev/full'), null: modeOf('/dev/null') }).toEqual(devices);

    const run = tempDir();
    const log = writeTruthLog(run, failingRun());
    const readable = join(run, 'Memory', 'logs', 'execution_tracker_readable.txt');
    writeFileSync(readable, '[2026-01-01T00:00:00.000000Z] (+0.000s) [INFO] stage_start: {\'stage\': \'stage1\'}\n');
    const autofix = join(run, 'Memory', 'logs', 'autofix_log.json');
    writeFileSync(autofix, JSON.stringify({ type: 'autofix_log', total_attempts: 0, successful_fixes: 0, failed_fixes: 0, fixes_by_type: {}, fixes_by_layer: { layer1: 0, layer2: 0, layer3: 0 } }));
    const before = readFileSync(log, 'utf8');
    for (const [input, out] of [
      [run, log],
      [log, log],
      [run, readable],
      // The readable log read: the JSON log next to it is the run's record too, and so is the autofix log.
      [readable, log],
      [run, autofix],
    ]) {
      result = await runCli(['report', input, '--no-progress', '--out', out]);
      expect(result, `${input} --out ${out}`).toMatchObject({ code: 2, stdout: '', stderr: `agent-autopsy: will not write the report over the run's log (${out})\n` });
    }
    expect(readFileSync(log, 'utf8')).toBe(before);
    // Next to the log is fine.
    result = await runCli(['report', run, '--out', join(run, 'Memory', 'logs', 'latent_analysis_report.json')]);
    expect(result).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  it('pointed at the readable log while the JSON log is there, says so instead of calling the JSON missing', async () => {
    const run = tempDir();
    const log = writeTruthLog(run, cleanRun());
    const readable = join(run, 'Memory', 'logs', 'execution_tracker_readable.txt');
    writeFileSync(readable, '[2026-01-01T00:00:00.000000Z] (+0.000s) [INFO] stage_start: {\'stage\': \'stage1\'}\n');
    const result = await runCli(['report', readable, '-f', 'md']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(`agent-autopsy: note: the report is rebuilt from the readable log ${readable}; ${log} next to it is the complete record (pass the run directory to read it)\n`);
  });

  it('an empty log is reported as a run killed before its first write, with a note saying the file is empty', async () => {
    const run = tempDir();
    mkdirSync(join(run, 'Memory', 'logs'), { recursive: true });
    const log = join(run, 'Memory', 'logs', 'execution_tracker.json');
    writeFileSync(log, '');
    const result = await runCli(['report', run]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(`agent-autopsy: note: ${log} is empty: the process wrote nothing (killed before its first write, or not a run's log)\n`);
    const report = JSON.parse(result.stdout) as AutopsyReport;
    expect(report.exit.reason).toBe('killed');
    expect(report.run.total_events).toBe(0);
  });

  it('names a logs folder it may not search, instead of calling the run directory empty', async () => {
    const run = tempDir();
    writeTruthLog(run, failingRun());
    const logs = join(run, 'Memory', 'logs');
    chmodSync(logs, 0o000);
    // Root reads anything: the CLI runs as nobody then.
    const asUser = process.getuid?.() === 0 ? { uid: 65534 } : {};
    chmodSync(run, 0o755);
    chmodSync(join(run, 'Memory'), 0o755);
    const results = [await runCli(['report', run], asUser), await runCli(['report', logs], asUser), await runCli(['report', join(logs, 'execution_tracker.json')], asUser)];
    chmodSync(logs, 0o700);
    // Named as what it is, whichever path leads there (the folder, or the log inside it: not "no such file").
    for (const result of results) expect(result).toMatchObject({ code: 2, stdout: '', stderr: `agent-autopsy: cannot read directory (EACCES) (${logs})\n` });
    expect(existsSync(join(logs, 'execution_tracker.json'))).toBe(true);
  });

  it('exits with 1 on a run with failures only when asked (--fail-on-failures), and says why', async () => {
    expect(await runCli(['report', failing, '--fail-on-failures'])).toMatchObject({ code: 1, stderr: 'agent-autopsy: exit 1 (--fail-on-failures): 2 failures\n' });
    expect(await runCli(['report', clean, '--fail-on-failures'])).toMatchObject({ code: 0, stderr: '' });
    expect(await runCli(['report', failing])).toMatchObject({ code: 0, stderr: '' });
  });

  it('--fail-on-failures also fails a run that did not end cleanly, which wrote no ERROR event', async () => {
    const fails = async (dir: string) => {
      const result = await runCli(['report', dir, '--fail-on-failures']);
      const printed = JSON.parse(result.stdout) as AutopsyReport;
      return { code: result.code, stderr: result.stderr, failures: printed.summary.total_failures, reason: printed.exit.reason };
    };
    // kill -9: the log was never closed, and nothing records the run any more.
    const killed = tempDir();
    writeTruthLog(killed, cleanRun().slice(0, 2), { closed: false });
    expect(await fails(killed)).toEqual({ code: 1, failures: 0, reason: 'killed', stderr: 'agent-autopsy: exit 1 (--fail-on-failures): the process ended abruptly, killed or lost (no clean end recorded)\n' });
    // A SIGTERM nobody handled: the signal's event is a WARNING, not a failure.
    const signalled = tempDir();
    writeTruthLog(signalled, [...cleanRun().slice(0, 2), event('signal_received', { signal: 'SIGTERM', handled_by_app: false }, 'WARNING', 0.3)]);
    expect(await fails(signalled)).toEqual({ code: 1, failures: 0, reason: 'signal', stderr: 'agent-autopsy: exit 1 (--fail-on-failures): the process ended by a signal (SIGTERM)\n' });
    // One the app's own handler took did not end the process: the run ended as the log says.
    const handled = tempDir();
    writeTruthLog(handled, [...cleanRun(), event('signal_received', { signal: 'SIGINT', handled_by_app: true }, 'WARNING', 0.6)]);
    expect(await fails(handled)).toMatchObject({ code: 0, failures: 0, stderr: '' });
    // With failures too: both reasons, failures first.
    const crashedWithFailures = tempDir();
    writeTruthLog(crashedWithFailures, failingRun(), { closed: false });
    expect(await fails(crashedWithFailures)).toMatchObject({ code: 1, failures: 2, stderr: 'agent-autopsy: exit 1 (--fail-on-failures): 2 failures; the process ended abruptly, killed or lost (no clean end recorded)\n' });
  });

  it('--fail-on-failures on a saved report: a non-zero exit code fails it, a report without an exit section is judged on failures', async () => {
    const dir = tempDir();
    const saved = JSON.parse((await runCli(['report', clean])).stdout) as AutopsyReport;
    const withExit = (exit: Partial<AutopsyReport['exit']>) => {
      const path = join(dir, `report-${Object.values(exit).join('-')}.json`);
      writeFileSync(path, JSON.stringify({ ...saved, exit: { ...saved.exit, ...exit } }));
      return path;
    };
    expect(await runCli(['report', withExit({ reason: 'exit', exit_code: 3 }), '--fail-on-failures'])).toMatchObject({ code: 1, stderr: 'agent-autopsy: exit 1 (--fail-on-failures): the process exited with code 3\n' });
    expect(await runCli(['report', withExit({ reason: 'normal', exit_code: 4 }), '--fail-on-failures'])).toMatchObject({ code: 1, stderr: 'agent-autopsy: exit 1 (--fail-on-failures): the process exited with code 4\n' });
    expect(await runCli(['report', withExit({ reason: 'uncaught_exception', exit_code: 1 }), '--fail-on-failures'])).toMatchObject({ code: 1, stderr: 'agent-autopsy: exit 1 (--fail-on-failures): the process ended by an uncaught exception\n' });
    for (const clean of [withExit({ reason: 'exit', exit_code: 0 }), withExit({ reason: 'shutdown', exit_code: null }), withExit({ reason: 'running', exit_code: null }), withExit({ reason: 'unknown', exit_code: null })]) {
      expect(await runCli(['report', clean, '--fail-on-failures'])).toMatchObject({ code: 0, stderr: '' });
    }
    const { exit: _exit, ...withoutExit } = saved;
    const noExit = join(dir, 'no-exit.json');
    writeFileSync(noExit, JSON.stringify(withoutExit));
    expect(await runCli(['report', noExit, '--fail-on-failures'])).toMatchObject({ code: 0, stderr: '' });
    // The original reporter's report has 3 failures and no exit section.
    expect(await runCli(['report', ORIGINAL_REPORT, '--fail-on-failures'])).toMatchObject({ code: 1, stderr: 'agent-autopsy: exit 1 (--fail-on-failures): 3 failures\n' });
  });

  it('-o - writes to stdout, as without --out (no file named "-")', async () => {
    const dir = tempDir();
    const plain = await runCli(['report', clean, '--format', 'md'], { cwd: dir });
    const dash = await runCli(['report', clean, '--format', 'md', '-o', '-'], { cwd: dir });
    expect(dash).toMatchObject({ code: 0, stderr: plain.stderr });
    // The same Markdown but for the time it was made.
    const untimed = (text: string) => text.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z?/g, 'T');
    expect(untimed(dash.stdout)).toBe(untimed(plain.stdout));
    expect(dash.stdout).toContain('# ');
    expect(existsSync(join(dir, '-'))).toBe(false);
  });

  it('exits with 2 and one line on stderr naming the place for bad input', async () => {
    const dir = tempDir();
    const missing = join(dir, 'nope');
    let result = await runCli(['report', missing]);
    expect(result).toMatchObject({ code: 2, stdout: '', stderr: `agent-autopsy: no such file or directory (${missing})\n` });

    result = await runCli(['report', dir]);
    expect(result).toMatchObject({ code: 2, stderr: `agent-autopsy: no ${join('Memory', 'logs', 'execution_tracker.json')} in this directory (${dir})\n` });

    // The folder that holds the runs (the default ./autopsy-runs), given instead of a run: the
    // newest run (by its log's last write, not its name) is named, with the command to read it.
    const runs = join(dir, 'autopsy-runs');
    const newest = join(runs, '2026-01-01T00-00-00-111');
    const older = join(runs, '2026-01-02T00-00-00-222');
    for (const run of [older, newest]) writeTruthLog(run, [event('stage_start', { stage: 's1' }, 'INFO', 0)]);
    utimesSync(join(older, 'Memory', 'logs', 'execution_tracker.json'), new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    mkdirSync(join(runs, 'not-a-run'));
    result = await runCli(['report', runs]);
    expect(result).toMatchObject({
      code: 2,
      stdout: '',
      stderr: `agent-autopsy: no ${join('Memory', 'logs', 'execution_tracker.json')} in this directory (${runs}); it holds 2 runs, the newest: agent-autopsy report ${newest}\n`,
    });
    // tail would wait for ever for a log no run writes there.
    result = await runCli(['tail', runs]);
    expect(result).toMatchObject({
      code: 2,
      stdout: '',
      stderr: `agent-autopsy: no ${join('Memory', 'logs', 'execution_tracker_readable.txt')} in this directory (${runs}); it holds 2 runs, the newest: agent-autopsy tail ${newest}\n`,
    });

    const notes = join(dir, 'notes.txt');
    writeFileSync(notes, '\nhello, world\n');
    result = await runCli(['report', notes]);
    expect(result).toMatchObject({ code: 2, stderr: `agent-autopsy: not a Truth-Mode log: expected a JSON object with "start_time" and "events" (${notes}:2)\n` });

    const broken = join(dir, 'traces.json');
    const lines = readFileSync(join(__dirname, 'fixtures', 'otlp', 'single-document.json'), 'utf8').split('\n');
    lines[6] += ' }}';
    writeFileSync(broken, lines.join('\n'));
    result = await runCli(['report', broken]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`^agent-autopsy: corrupt JSON: .* \\(${broken.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:7\\)\\n$`));

    // A JSON document of none of the kinds read: the message names the others the CLI takes.
    const other = join(dir, 'other.json');
    const noEvents = 'not a Truth-Mode log: the JSON document has no "events" array; agent-autopsy report also reads OTLP JSON ({"resourceSpans": …}) and saved reports ("failure_analysis" and "summary")';
    for (const text of ['{"spans": []}\n', '{\n  "start_time": null,\n  "resourceSpans": []\n}\n']) {
      writeFileSync(other, text);
      result = await runCli(['report', other]);
      expect(result).toMatchObject({ code: 2, stdout: '', stderr: `agent-autopsy: ${noEvents} (${other})\n` });
    }

    // JSON lines are not corrupt JSON: they are named for what they are.
    const jsonLines = join(dir, 'app.jsonl');
    writeFileSync(jsonLines, '{"level":30,"msg":"started"}\n{"level":50,"msg":"failed"}\n');
    expect(await runCli(['report', jsonLines])).toMatchObject({
      code: 2,
      stderr: `agent-autopsy: not a Truth-Mode log: JSON lines whose objects are not events (no "type"); agent-autopsy report also reads OTLP JSON lines ({"resourceSpans": …} each) and saved reports ("failure_analysis" and "summary") (${jsonLines})\n`,
    });
    // The events of a log without its header (`jq -c '.events[]'`): what they need to be read.
    writeFileSync(jsonLines, `${failingRun().map((e) => JSON.stringify(e)).join('\n')}\n`);
    expect(await runCli(['report', jsonLines])).toMatchObject({
      code: 2,
      stderr: `agent-autopsy: not a Truth-Mode log: JSON lines of events without the log's header; a Truth-Mode log is {"start_time": …, "events": [ … ]}, the events one per line (${jsonLines})\n`,
    });
    // Damaged JSON is still corrupt.
    writeFileSync(jsonLines, '{"level":30,\n{"level"\n');
    expect(await runCli(['report', jsonLines])).toMatchObject({ code: 2, stderr: `agent-autopsy: not a Truth-Mode log: corrupt JSON without an "events" array (${jsonLines})\n` });

    const report = join(dir, 'latent_analysis_report.json');
    writeFileSync(report, '{\n  "timestamp": "2026-01-01T00:00:00", "failure_analysis": {\n  oops\n}');
    result = await runCli(['report', report]);
    expect(result).toMatchObject({ code: 2, stderr: `agent-autopsy: corrupt JSON in the report (${report}:3)\n` });

    result = await runCli(['report', failing, '--format', 'pdf']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("agent-autopsy: option '-f, --format <format>' argument 'pdf' is invalid. expected json, md or html\n");
    const locale = await runCli(['report', failing, '--locale', 'fr']);
    expect(locale.code).toBe(2);
    expect(locale.stderr).toBe("agent-autopsy: option '--locale <locale>' argument 'fr' is invalid. expected en or zh-CN\n");
  });

  it('--max-events takes a whole number from 1 up: 0, an empty value and other text are usage errors (exit 2), not 1', async () => {
    for (const value of ['0', '', ' ', '-1', '1.5', '1e3', '0x10', 'ten']) {
      const result = await runCli(['report', failing, '-f', 'html', '--max-events', value]);
      expect(result, JSON.stringify(value)).toMatchObject({
        code: 2,
        stdout: '',
        stderr: `agent-autopsy: option '--max-events <n>' argument '${value}' is invalid. expected a whole number from 1 up\n`,
      });
    }
    const one = await runCli(['report', failing, '-f', 'html', '--max-events', '1']);
    expect(one).toMatchObject({ code: 0, stderr: '' });
    expect(one.stdout).toContain('Showing the last 1 of 6 events.');
  });

  it('reads a log torn by kill -9 and warns about unreadable lines with file:line', async () => {
    const dir = tempDir();
    const events = failingRun().slice(0, 4);
    const path = writeTruthLog(dir, events, { closed: false, tornTail: '{"timestamp":"2026-01-01T00:00:00.700000Z","type":"code_' });
    // A line spoiled in the middle of the log.
    const text = readFileSync(path, 'utf8').split('\n');
    text.splice(2, 0, '{"timestamp": garbage},');
    writeFileSync(path, text.join('\n'));
    const result = await runCli(['report', dir]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      `agent-autopsy: warning: skipped 1 unreadable line(s): ${path}:3 (not a JSON event)\n` +
        `agent-autopsy: note: the last line of ${path} was cut off (the writer was killed mid-line); it was skipped\n`,
    );
    const report = JSON.parse(result.stdout) as AutopsyReport;
    expect(report.run.total_events).toBe(4);
    expect(report.exit.reason).toBe('killed');
    expect(report.unfinished.map((u) => [u.kind, u.stage, u.started])).toEqual([
      ['stage', 'stage1', events[0].timestamp],
      ['code_exec', 'stage1', events[3].timestamp],
    ]);
  });

  it("reads the original Python tracker's single indented document", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'Memory', 'logs'), { recursive: true });
    const doc = { start_time: '2026-01-01T00:00:00.000000', events: failingRun().map(({ timestamp, elapsed_seconds, type, level, data }) => ({ timestamp: timestamp.replace('Z', ''), elapsed_seconds, type, level, data })), total_events: 6 };
    writeFileSync(join(dir, 'Memory', 'logs', 'execution_tracker.json'), JSON.stringify(doc, null, 2));
    const result = await runCli(['report', dir, '--format', 'json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as AutopsyReport;
    expect(report.run.source).toBe('python-tracker');
    expect(report.failure_analysis.failures_by_type).toEqual({ llm_call_error: 1, code_exec_error: 1 });
  });

  it('reads an OTLP JSON file written by the Collector', async () => {
    const result = await runCli(['report', OTLP_FIXTURE, '--format', 'json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as AutopsyReport;
    expect(report.run).toMatchObject({ source: 'otlp-json', total_events: 14, service_name: 'research-bot' });
    expect(report.failure_analysis.failures_by_type).toEqual({ llm_call_error: 1, task_error: 1 });
  });

  it('re-renders a saved report JSON (ours or the seed reporter’s) as Markdown', async () => {
    const dir = tempDir();
    const saved = join(dir, 'latent_analysis_report.json');
    writeFileSync(
      saved,
      JSON.stringify(
        {
          timestamp: '2026-01-01T00:00:00',
          failure_analysis: { total_failures: 3, failures_by_type: { llm_call_error: 3 }, failures_by_stage: { stage2: 3 }, critical_failures: [], failure_patterns: [] },
          autofix_statistics: { total_attempts: 0, successful_fixes: 0, failed_fixes: 0, fixes_by_type: {}, fixes_by_layer: { layer1: 0, layer2: 0, layer3: 0 } },
          fix_suggestions: [],
          summary: { total_failures: 3, total_autofix_attempts: 0, autofix_success_rate: '0.0%', most_common_failure: 'llm_call_error', most_problematic_stage: 'stage2' },
        },
        null,
        2,
      ),
    );
    const result = await runCli(['report', saved, '--format', 'md']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('| Most problematic stage | stage2 |');
    expect(result.stdout).toContain('| llm\\_call\\_error | 3 |');
  });

  it('recognises a saved report whatever its key order, and after a UTF-8 BOM', async () => {
    const dir = tempDir();
    const ours = JSON.parse((await runCli(['report', failing])).stdout) as Record<string, unknown>;
    const sortedKeys = (value: unknown): unknown =>
      Array.isArray(value) ? value.map(sortedKeys) : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, v]) => [k, sortedKeys(v)])) : value;
    const seed = {
      failure_analysis: { total_failures: 3, failures_by_type: { llm_call_error: 3 }, failures_by_stage: { stage2: 3 }, critical_failures: [], failure_patterns: [] },
      timestamp: '2026-01-01T00:00:00',
      summary: { total_failures: 3, total_autofix_attempts: 0, autofix_success_rate: '0.0%', most_common_failure: 'llm_call_error', most_problematic_stage: 'stage2' },
    };
    const files: Array<[string, string, string]> = [
      ['sorted.json', `${JSON.stringify(sortedKeys(ours), null, 2)}\n`, '| Most problematic stage | stage1 |'],
      ['bom.json', `\uFEFF${JSON.stringify(ours, null, 2)}\n`, '| Most problematic stage | stage1 |'],
      ['seed-reordered.json', JSON.stringify(seed), '| Most problematic stage | stage2 |'],
      ['seed-bom-crlf.json', `\uFEFF${JSON.stringify(seed, null, 2).replaceAll('\n', '\r\n')}\r\n`, '| Most problematic stage | stage2 |'],
    ];
    for (const [name, text, row] of files) {
      const path = join(dir, name);
      writeFileSync(path, text);
      const result = await runCli(['report', path, '-f', 'md']);
      expect(result, name).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout, name).toContain(row);
    }
    // A JSON document that is neither a log nor a report still says it is not a log.
    const other = join(dir, 'other.json');
    writeFileSync(other, JSON.stringify({ timestamp: '2026-01-01T00:00:00', note: 'hello' }));
    expect((await runCli(['report', other])).code).toBe(2);
  });

  it('reads a saved report the Python tools wrote with NaN and ±Infinity, as the logs are read', async () => {
    const dir = tempDir();
    const saved = join(dir, 'latent_analysis_report.json');
    // As Python's json.dump(indent=2) writes such floats (the original reporter never passed allow_nan=False).
    const pythonReport = [
      '{',
      '  "timestamp": "2026-01-01T00:00:00",',
      '  "failure_analysis": {',
      '    "total_failures": 1,',
      '    "failures_by_type": {"code_exec_error": 1},',
      '    "failures_by_stage": {"stage1": 1},',
      '    "critical_failures": [{"timestamp": "2026-01-01T00:00:01", "type": "code_exec_error", "stage": "stage1", "error": "ValueError: loss is nan", "loss": NaN, "best": -Infinity}],',
      '    "failure_patterns": []',
      '  },',
      '  "autofix_statistics": {"total_attempts": 0, "successful_fixes": 0, "failed_fixes": 0, "fixes_by_type": {}, "fixes_by_layer": {"layer1": 0, "layer2": 0, "layer3": 0}},',
      '  "fix_suggestions": [],',
      '  "summary": {"total_failures": 1, "total_autofix_attempts": 0, "autofix_success_rate": "0.0%", "most_common_failure": "code_exec_error", "most_problematic_stage": "stage1", "score": Infinity}',
      '}',
    ];
    writeFileSync(saved, `${pythonReport.join('\n')}\n`);
    const md = await runCli(['report', saved, '-f', 'md']);
    expect(md).toMatchObject({ code: 0, stderr: '' });
    expect(md.stdout).toContain('| Most problematic stage | stage1 |');
    expect(md.stdout).toContain('| 2026-01-01T00:00:01 | code\\_exec\\_error | stage1 | ValueError: loss is nan |');
    // The JSON printed is JSON: those floats become null, as JSON.stringify writes them.
    const json = await runCli(['report', saved]);
    expect(json).toMatchObject({ code: 0, stderr: '' });
    expect((JSON.parse(json.stdout) as AutopsyReport).failure_analysis.critical_failures[0]).toMatchObject({ error: 'ValueError: loss is nan', loss: null, best: null });
    const diff = await runCli(['diff', saved, saved, '-f', 'json']);
    expect(diff).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(diff.stdout)).toMatchObject({ verdict: 'same', failures: { total: { a: 1, b: 1 } } });

    // Damaged as well, it is still bad input, named at the damage (line 12), not at the first NaN (line 7).
    writeFileSync(saved, `${pythonReport.map((line, i) => (i === 11 ? line.replace('"summary": {', '"summary": {,') : line)).join('\n')}\n`);
    expect(await runCli(['report', saved])).toMatchObject({ code: 2, stdout: '', stderr: `agent-autopsy: corrupt JSON in the report (${saved}:12)\n` });
  });

  it("says a section the original reporter's report lacks is not recorded, rather than showing zeros (Markdown)", async () => {
    const md = await runCli(['report', ORIGINAL_REPORT, '-f', 'md']);
    expect(md).toMatchObject({ code: 0, stderr: '' });
    const na = 'not recorded in this report (written by the original reporter)';
    const naSection = 'Not recorded in this report (written by the original reporter).';
    expect(md.stdout).toBe(
      [
        '# Agent autopsy',
        '',
        `Run: ${na}`,
        '',
        `Ended: ${na} · Generated: 2026-01-02T09:30:00.123456`,
        '',
        '## Diagnoses',
        '',
        naSection,
        '',
        '## Summary',
        '',
        '|  |  |',
        '|---|---|',
        '| Total failures | 3 |',
        '| Most common failure | llm\\_call\\_error |',
        '| Most problematic stage | stage2 |',
        '| Autofix attempts | 2 |',
        '| Autofix success rate | 0.0% |',
        `| LLM usage: Calls / Errors | ${na} |`,
        `| Total tokens | ${na} |`,
        '',
        '## Fix suggestions',
        '',
        '- **P2 · 改进错误恢复机制** (error\\_recovery)',
        '  - 增加第 3 层深度修复',
        '  - 重试前更准确地诊断错误',
        '  - 增加更多修复策略',
        '',
        '## Failure patterns',
        '',
        '| pattern | severity | description | suggestion |',
        '|---|---|---|---|',
        '| stage\\_specific\\_failures | medium | 阶段 stage2 共失败 3 次 | 请检查 stage2 阶段的代码生成逻辑 |',
        '',
        '## Failures by type',
        '',
        '| Type | Failures |',
        '|---|---|',
        '| llm\\_call\\_error | 2 |',
        '| code\\_exec\\_error | 1 |',
        '',
        '## Failures by stage',
        '',
        '| Stage | Failures |',
        '|---|---|',
        '| stage2 | 3 |',
        '',
        '## Critical failures',
        '',
        '| Time | Type | Stage | Error |',
        '|---|---|---|---|',
        '| 2026-01-02T09:00:01.000000 | llm\\_call\\_error | stage2 | 429 Too Many Requests |',
        '| 2026-01-02T09:00:05.000000 | llm\\_call\\_error | stage2 | 429 Too Many Requests |',
        "| 2026-01-02T09:00:09.000000 | code\\_exec\\_error | stage2 | NameError: name 'x' is not defined |",
        '',
        '## Stages',
        '',
        naSection,
        '',
        '## LLM usage',
        '',
        naSection,
        '',
        '## Unfinished spans',
        '',
        naSection,
        '',
        '## Autofix statistics',
        '',
        '| Attempts | successful | failed | Autofix success rate | layer1 | layer2 | layer3 |',
        '|---|---|---|---|---|---|---|',
        '| 2 | 0 | 2 | 0.0% | 2 | 0 | 0 |',
        '',
        '| By type | Attempts |',
        '|---|---|',
        '| NameError | 2 |',
        '',
      ].join('\n'),
    );

    // In the page's language with --locale.
    const zh = (await runCli(['report', ORIGINAL_REPORT, '-f', 'md', '--locale', 'zh-CN'])).stdout.split('\n');
    expect(zh.slice(0, 9)).toEqual(['# 智能体尸检报告', '', '运行: 本报告未记录（由原始报告器生成）', '', '结束方式: 本报告未记录（由原始报告器生成） · 生成时间: 2026-01-02T09:30:00.123456', '', '## 诊断', '', '本报告未记录此部分（由原始报告器生成）。']);
    expect(zh).toContain('| LLM 用量: 调用次数 / 错误 | 本报告未记录（由原始报告器生成） |');
    expect(zh.slice(zh.indexOf('## LLM 用量'), zh.indexOf('## LLM 用量') + 3)).toEqual(['## LLM 用量', '', '本报告未记录此部分（由原始报告器生成）。']);
  });

  it("prints the original reporter's report as JSON with the sections it has, not the others as zeros", async () => {
    const printed = await runCli(['report', ORIGINAL_REPORT, '--format', 'json']);
    expect(printed).toMatchObject({ code: 0, stderr: '' });
    // The very document: timestamp, failure_analysis, autofix_statistics, fix_suggestions, summary.
    expect(JSON.parse(printed.stdout)).toEqual(JSON.parse(readFileSync(ORIGINAL_REPORT, 'utf8')));
    expect(Object.keys(JSON.parse(printed.stdout))).toEqual(['timestamp', 'failure_analysis', 'autofix_statistics', 'fix_suggestions', 'summary']);
  });

  it('says only the sections a saved report lacks are not recorded; a complete one renders as its log does', async () => {
    const dir = tempDir();
    const ours = JSON.parse((await runCli(['report', failing])).stdout) as Record<string, unknown>;
    const complete = join(dir, 'complete.json');
    writeFileSync(complete, JSON.stringify(ours));
    const md = (await runCli(['report', complete, '-f', 'md'])).stdout;
    // The same page as from the log, but for when it was generated.
    const generatedAt = / · Generated: \S+/;
    expect(md.replace(generatedAt, '')).toBe((await runCli(['report', failing, '-f', 'md'])).stdout.replace(generatedAt, ''));
    expect(md).not.toContain('not recorded');

    // Without llm_usage only (null counts as lacking it): not the original reporter's, so nothing is said of who wrote it.
    const partial = join(dir, 'partial.json');
    writeFileSync(partial, JSON.stringify({ ...ours, llm_usage: null }));
    const llmSection = /\n## LLM usage\n[^]*?\n(?=## )/;
    expect(llmSection.test(md)).toBe(true);
    expect((await runCli(['report', partial, '-f', 'md'])).stdout).toBe(
      md
        .replace('| LLM usage: Calls / Errors | 1 / 1 |', '| LLM usage: Calls / Errors | not recorded in this report |')
        .replace('| Total tokens | 0 |', '| Total tokens | not recorded in this report |')
        .replace(llmSection, '\n## LLM usage\n\nNot recorded in this report.\n\n'),
    );
    // Its JSON leaves llm_usage out, and is the complete report otherwise.
    const { llm_usage: _llmUsage, ...rest } = ours;
    expect(JSON.parse((await runCli(['report', partial])).stdout)).toEqual(rest);
    expect(JSON.parse((await runCli(['report', complete])).stdout)).toEqual(ours);
  });

  it('re-renders a saved report with the headings of --locale; its own sentences and run.locale stay as saved', async () => {
    const saved = join(tempDir(), 'latent_analysis_report.json');
    writeFileSync(saved, (await runCli(['report', failing])).stdout);
    const md = await runCli(['report', saved, '-f', 'md', '--locale', 'zh-CN']);
    expect(md).toMatchObject({ code: 0, stderr: '' });
    expect(md.stdout.split('\n')[0]).toBe('# 智能体尸检报告');
    expect(md.stdout).toContain('\n## 摘要\n');
    expect((await runCli(['report', saved, '-f', 'md'])).stdout.split('\n')[0]).toBe('# Agent autopsy');
    const html = await runCli(['report', saved, '-f', 'html', '--locale', 'zh-CN']);
    expect(html.stdout).toContain('<html lang="zh-CN">');
    // The JSON is the saved report: its sentences are in the language the run was given, as run.locale says.
    expect((JSON.parse((await runCli(['report', saved, '--locale', 'zh-CN'])).stdout) as AutopsyReport).run.locale).toBe('en');
  });
});

describe('a report rebuilt from a finished run', () => {
  const AGENT = `
    import { init, llmCall, shutdown, stage, task, track } from 'agent-autopsy';
    init({ outputDir: process.argv[2], serviceName: 'billing-agent' });
    await stage('plan', async () => {
      await task('fetch', async () => 1);
      try {
        await llmCall({ model: 'gpt-4o', provider: 'openai' }, async () => {
          throw Object.assign(new Error('429 Rate limit reached for gpt-4o'), { status: 429 });
        });
      } catch {}
      track('checkpoint_save', { checkpoint: 'v1' });
    });
    await shutdown();
  `;
  const reportPath = (dir: string) => join(dir, 'Memory', 'logs', 'latent_analysis_report.json');

  it('is the report written at its end, service name included (only its time, duration and source differ)', async () => {
    const dir = tempDir();
    const agent = await runNode(writeScript(AGENT), { args: [dir] });
    expect(agent.code).toBe(0);
    const live = JSON.parse(readFileSync(reportPath(dir), 'utf8')) as AutopsyReport;
    const result = await runCli(['report', dir]);
    expect(result.code).toBe(0);
    const rebuilt = JSON.parse(result.stdout) as AutopsyReport;
    expect(rebuilt.run.service_name).toBe('billing-agent');
    expect(rebuilt.run.source).toBe('truth-mode');
    expect(live.run.source).toBe('live');
    // The live run's duration runs to shutdown(), the rebuilt one's to its last event (in ms).
    expect(rebuilt.run.duration_seconds).toBeLessThanOrEqual(live.run.duration_seconds as number);
    const comparable = (report: AutopsyReport) => ({ ...report, timestamp: undefined, run: { ...report.run, duration_seconds: undefined, source: undefined } });
    expect(comparable(rebuilt)).toEqual(comparable(live));
    expect(live.diagnoses.map((diagnosis) => diagnosis.id)).toEqual(['rate_limited']);

    // A report left by another run in a reused directory names no service of this one.
    const other = JSON.parse(readFileSync(reportPath(dir), 'utf8')) as AutopsyReport;
    writeFileSync(reportPath(dir), JSON.stringify({ ...other, run: { ...other.run, start_time: '2025-01-01T00:00:00.000000Z', service_name: 'someone-else' } }, null, 2));
    const reused = JSON.parse((await runCli(['report', dir])).stdout) as AutopsyReport;
    expect(reused.run.service_name).toBeUndefined();
    expect(reused.run.start_time).toBe(live.run.start_time);
  });

  // A bare ExecutionTracker has no tracer provider, so no spans: it keeps the pairs itself.
  it.for([
    { setup: 'init()', start: "import { init, track } from 'agent-autopsy';\n      init({ outputDir: process.argv[2] });" },
    { setup: 'a bare ExecutionTracker', start: "import { ExecutionTracker } from 'agent-autopsy';\n      const tracker = new ExecutionTracker(process.argv[2]);\n      const track = tracker.track.bind(tracker);" },
  ])('is the report written at its end for seed-style track() spans left open at exit ($setup)', async ({ start }) => {
    const dir = tempDir();
    const agent = await runNode(writeScript(`
      ${start}
      track('stage_start', { stage: 'stage1' });
      track('task_start', { stage: 'stage1', task: 'a' });
      track('task_error', { stage: 'stage1', task: 'a', error: 'bad input' }, 'ERROR');
      track('code_exec_start', { stage: 'stage1', language: 'python' });
    `), { args: [dir] });
    expect(agent.code).toBe(0);
    const live = JSON.parse(readFileSync(reportPath(dir), 'utf8')) as AutopsyReport;
    const starts = (JSON.parse(readFileSync(join(dir, 'Memory', 'logs', 'execution_tracker.json'), 'utf8')) as { events: TruthEvent[] }).events.filter((e) => e.type.endsWith('_start') && e.type !== 'task_start');
    // A span starts when its start event is written: the report dates it as the log does.
    expect(live.unfinished.map((span) => [span.name, span.started])).toEqual([
      ['stage stage1', starts[0].timestamp],
      ['code_exec python', starts[1].timestamp],
    ]);
    expect(live.diagnoses.map((diagnosis) => diagnosis.id)).toEqual(['stage_hang']);
    const rebuilt = JSON.parse((await runCli(['report', dir])).stdout) as AutopsyReport;
    const comparable = (report: AutopsyReport) => ({ ...report, timestamp: undefined, run: { ...report.run, duration_seconds: undefined, source: undefined } });
    expect(comparable(rebuilt)).toEqual(comparable(live));
  });

  /** The log alone, as an on-call engineer may get it: no report of the run beside it. */
  const logOnly = (dir: string) => {
    const copy = tempDir();
    writeFileSync(join(copy, 'execution_tracker.json'), readFileSync(join(dir, 'Memory', 'logs', 'execution_tracker.json')));
    return copy;
  };

  it('without its saved report, takes no crash or signal the app handled for the end of the process', async () => {
    const dir = tempDir();
    // The app's own listeners take an exception and a SIGINT, and the run then ends with exit code 5.
    const agent = await runNode(
      writeScript(`
        import { init, stage } from 'agent-autopsy';
        init({ outputDir: process.argv[2] });
        process.on('uncaughtException', () => {});
        process.on('SIGINT', () => { process.exitCode = 5; });
        await stage('s1', async () => {
          setTimeout(() => { throw new Error('handled by the app'); }, 1);
          await new Promise((resolve) => setTimeout(resolve, 20));
          process.kill(process.pid, 'SIGINT');
          await new Promise((resolve) => setTimeout(resolve, 20));
        });
      `),
      { args: [dir] },
    );
    expect([agent.code, agent.signal]).toEqual([5, null]);
    const live = JSON.parse(readFileSync(reportPath(dir), 'utf8')) as AutopsyReport;
    expect(live.exit).toMatchObject({ reason: 'normal', exit_code: 5, signal: 'SIGINT' });

    const result = await runCli(['report', logOnly(dir)]);
    expect(result.code).toBe(0);
    const rebuilt = JSON.parse(result.stdout) as AutopsyReport;
    // The log shows the signal the app took, not how the process then ended.
    expect(rebuilt.exit).toEqual({ reason: 'unknown', exit_code: null, signal: 'SIGINT', at: null, description: 'in a way the log does not record' });
    expect(rebuilt.diagnoses.map((diagnosis) => diagnosis.id)).not.toContain('crash');
  });

  it('without its saved report, takes the error of a crash from its event', async () => {
    const dir = tempDir();
    const agent = await runNode(writeScript(`
      import { init, stage } from 'agent-autopsy';
      init({ outputDir: process.argv[2] });
      await stage('s1', async () => 1);
      setTimeout(() => { throw new TypeError('tool output was not JSON'); }, 1);
    `), { args: [dir] });
    expect(agent.code).toBe(1);
    const live = JSON.parse(readFileSync(reportPath(dir), 'utf8')) as AutopsyReport;
    const rebuilt = JSON.parse((await runCli(['report', logOnly(dir)])).stdout) as AutopsyReport;
    // The exit code and the moment of the exit are not in the log.
    expect(rebuilt.exit).toEqual({ reason: 'uncaught_exception', exit_code: null, signal: null, error: live.exit.error, at: null, description: 'by an uncaught exception' });
    expect(live.exit.error).toMatchObject({ type: 'TypeError', message: 'tool output was not JSON' });
  });

  it('from its readable log alone, counts a stage the process left open once, waiting on the span the live report names', async () => {
    const dir = tempDir();
    const agent = await runNode(writeScript(`
      import { init, llmCall, stage } from 'agent-autopsy';
      init({ outputDir: process.argv[2] });
      stage('bg', () => llmCall({ model: 'slow' }, () => new Promise(() => {})));
      await new Promise((resolve) => setTimeout(resolve, 20));
    `), { args: [dir] });
    expect(agent.code).toBe(0);
    const live = JSON.parse(readFileSync(reportPath(dir), 'utf8')) as AutopsyReport;
    expect(live.unfinished.map((span) => span.name)).toEqual(['stage bg', 'chat slow']);
    const copy = tempDir();
    writeFileSync(join(copy, 'execution_tracker_readable.txt'), readFileSync(join(dir, 'Memory', 'logs', 'execution_tracker_readable.txt')));
    const rebuilt = JSON.parse((await runCli(['report', copy])).stdout) as AutopsyReport;
    // The readable log has no span ids: the stage_unfinished event and the stage it closes are one span.
    expect(rebuilt.unfinished.map((span) => span.name)).toEqual(['stage bg', 'chat slow']);
    const hang = rebuilt.diagnoses.find((diagnosis) => diagnosis.id === 'stage_hang')!;
    expect(hang.evidence.count).toBe(1);
    expect(hang.evidence.examples).toHaveLength(1);
    expect(hang.evidence.examples[0]).toMatch(/; still waiting on llm "chat slow" \(started [\d.]+ s before the log's last event\)$/);
  });

  it('from its readable log alone, pairs each of two calls left open with its own start (the unfinished events come oldest first)', async () => {
    const dir = tempDir();
    const agent = await runNode(writeScript(`
      import { init, llmCall, stage } from 'agent-autopsy';
      init({ outputDir: process.argv[2] });
      const never = () => new Promise(() => {});
      stage('bg', () => Promise.all([llmCall({ model: 'first' }, never), llmCall({ model: 'second' }, never)]));
      await new Promise((resolve) => setTimeout(resolve, 20));
    `), { args: [dir] });
    expect(agent.code).toBe(0);
    const live = JSON.parse(readFileSync(reportPath(dir), 'utf8')) as AutopsyReport;
    expect(live.unfinished.map((span) => span.name)).toEqual(['stage bg', 'chat first', 'chat second']);
    const copy = tempDir();
    writeFileSync(join(copy, 'execution_tracker_readable.txt'), readFileSync(join(dir, 'Memory', 'logs', 'execution_tracker_readable.txt')));
    const rebuilt = JSON.parse((await runCli(['report', copy])).stdout) as AutopsyReport;
    // Without span ids the two llm_call_unfinished events pair by kind: closing the newest start
    // first named the first call "chat second", with the second one's start.
    expect(rebuilt.unfinished).toEqual(live.unfinished.map(({ span_id: _, parent_span_id: __, ...span }) => span));
  });
});

describe('a run that is still being recorded', () => {
  /** An agent inside a stage and an LLM call that never return, printing its pid once its events are on disk. */
  const LIVE_AGENT = `
    import { ExecutionTracker, LatentReporter, init, llmCall, stage, track } from 'agent-autopsy';
    const [dir, mode] = process.argv.slice(2);
    init({ outputDir: dir });
    track('task_error', { stage: 'stage1', task: 'parse', error: 'bad input' }, 'ERROR');
    stage('stage1', () => llmCall({ model: 'slow-model' }, () => new Promise(() => {
      // Later than the drain (0 ms) and the flush (25 ms) timers: the events are on disk.
      setTimeout(() => {
        if (mode !== 'open log') new ExecutionTracker(dir).saveJsonLog();
        // A report of the live state, saved beside the log: its exit says "running", not how the run ended.
        if (mode === 'checkpoint and report') new LatentReporter(dir).generateReport();
        process.stdout.write(process.pid + '\\n');
      }, 200);
    })));
    setInterval(() => {}, 1000);
  `;

  it.each(['open log', 'checkpoint', 'checkpoint and report'])('is reported as running, without crash or hang diagnoses, while its process lives (%s)', async (mode) => {
    const dir = tempDir();
    const script = writeScript(LIVE_AGENT);
    let pid = 0;
    let during: Promise<ChildResult> | undefined;
    const agent = await runNode(script, {
      args: [dir, mode],
      onStdoutLine: (line, child) => {
        pid = Number(line);
        during = runCli(['report', dir]).finally(() => child.kill('SIGKILL'));
      },
    });
    expect(agent.signal).toBe('SIGKILL');
    const live = await during!;
    expect(live.code).toBe(0);
    expect(live.stderr).toBe(`agent-autopsy: note: the run is still being recorded by process ${pid}; this is its state so far\n`);
    const report = JSON.parse(live.stdout) as AutopsyReport;
    expect(report.exit).toEqual({ reason: 'running', exit_code: null, signal: null, at: null, description: 'still running (report taken during the run)' });
    expect(report.diagnoses).toEqual([]);
    expect(report.failure_analysis.total_failures).toBe(1);
    expect(report.unfinished.map((span) => [span.kind, span.stage])).toEqual([
      ['stage', 'stage1'],
      ['llm', 'stage1'],
    ]);

    // Killed: its lock names a process that is gone.
    const after = await runCli(['report', dir]);
    expect(after.code).toBe(0);
    expect(after.stderr).toBe('');
    const killed = JSON.parse(after.stdout) as AutopsyReport;
    expect(killed.exit).toMatchObject({ reason: 'killed' });
    expect(killed.diagnoses.map((diagnosis) => diagnosis.id).sort()).toEqual(['crash', 'stage_hang']);
  });
});

describe("a torn log's lock that says nothing about a live process here", () => {
  const lockOf = (dir: string) => join(dir, 'Memory', 'logs', '.agent-autopsy.lock');

  it('a lock of another run (another start_time) is ignored; one from another host is named but cannot be checked', async () => {
    const dir = tempDir();
    const events = failingRun().slice(0, 4);
    writeTruthLog(dir, events, { closed: false });
    // This test's own process is alive, but the lock was written for another log.
    writeFileSync(lockOf(dir), JSON.stringify({ pid: process.pid, hostname: hostname(), started: '2025-01-01T00:00:00.000000Z' }));
    const other = await runCli(['report', dir]);
    expect(other.stderr).toBe('');
    expect(JSON.parse(other.stdout).exit.reason).toBe('killed');

    writeFileSync(lockOf(dir), JSON.stringify({ pid: 4242, hostname: 'build-box-7', started: events[0].timestamp }));
    const remote = await runCli(['report', dir]);
    expect(remote.stderr).toBe(
      "agent-autopsy: note: the run's lock names process 4242 on build-box-7, which cannot be checked from here; if it still runs, the run is not killed and this is its state so far\n",
    );
    expect(JSON.parse(remote.stdout).exit.reason).toBe('killed');
  });
});

describe('progress bar on long reads', () => {
  let big = '';
  beforeAll(() => {
    big = tempDir();
    const padding = 'x'.repeat(180);
    const events: TruthEvent[] = [];
    for (let i = 0; i < 24_000; i++) events.push(event('tick', { stage: 'stage1', i, padding }, 'INFO', i / 1000));
    writeTruthLog(big, events);
    expect(statSync(join(big, 'Memory', 'logs', 'execution_tracker.json')).size).toBeGreaterThan(4 * 1024 * 1024);
  });

  function onTerminal(args: string[]): { status: number | null; output: string } {
    // `script` gives the CLI a pseudo-terminal, as a person at a terminal would.
    const command = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const result = spawnSync('script', ['-qefc', command, '/dev/null'], { encoding: 'utf8', env: { ...process.env, TERM: 'xterm' }, timeout: 60_000 });
    return { status: result.status, output: result.stdout };
  }

  it('draws on a terminal', () => {
    const { status, output } = onTerminal(['report', big, '--out', '/dev/null']);
    expect(status).toBe(0);
    expect(output).toContain('reading execution_tracker.json [');
    expect(output).toMatch(/\d+% \| \d+\.\d\/\d+\.\d MiB/);
  });

  it('stays silent when piped, and with --no-progress', async () => {
    const piped = await runCli(['report', big, '--out', '/dev/null']);
    expect(piped).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const { status, output } = onTerminal(['report', big, '--out', '/dev/null', '--no-progress']);
    expect(status).toBe(0);
    expect(output).toBe('');
  });
});

describe('when the reader of stdout goes away (agent-autopsy … | head)', () => {
  it('report and tail stop quietly, without an EPIPE crash', async () => {
    const dir = tempDir();
    // A report of ~1 MB (5,000 critical failures) and a readable log of 5,000 lines: more than a pipe holds.
    const events = Array.from({ length: 5000 }, (_, i) => event('llm_call_error', { stage: `stage${i % 7}`, error: `429 Too Many Requests (attempt ${i})` }, 'ERROR', i / 100));
    writeTruthLog(dir, events);
    writeFileSync(join(dir, 'Memory', 'logs', 'execution_tracker_readable.txt'), events.map((e) => `[${e.timestamp}] (+${e.elapsed_seconds.toFixed(3)}s) [ERROR] llm_call_error: {'n': 1}\n`).join(''));
    const closeAfterFirstChunk = { onStdout: (_all: string, child: import('node:child_process').ChildProcess) => child.stdout?.destroy() };
    for (const args of [['report', dir, '--no-progress'], ['tail', dir, '--no-follow', '-n', '5000']]) {
      const result = await runCli(args, closeAfterFirstChunk);
      expect(result.stderr, args[0]).toBe('');
      expect(result.code, args[0]).toBe(0);
    }
  });
});

describe('Markdown whose critical-failures list is cut short (50 shown)', () => {
  it("points where the whole list is: the live run's autopsy.md at latent_analysis_report.json beside it, the CLI's at the command that prints it", async () => {
    const dir = tempDir();
    const agent = await runNode(
      writeScript(`
        import { init, shutdown, task } from 'agent-autopsy';
        init({ outputDir: process.argv[2], reportFormats: ['md'] });
        for (let i = 0; i < 53; i++) await task('t' + i, async () => { throw new Error('boom ' + i); }).catch(() => {});
        await shutdown();
      `),
      { args: [dir] },
    );
    expect(agent.code).toBe(0);
    const logs = join(dir, 'Memory', 'logs');
    expect(readFileSync(join(logs, 'autopsy.md'), 'utf8')).toContain('\n… and 3 more (latent\\_analysis\\_report.json)\n');
    expect((JSON.parse(readFileSync(join(logs, 'latent_analysis_report.json'), 'utf8')) as AutopsyReport).failure_analysis.critical_failures).toHaveLength(53);

    // Printed or written elsewhere, the Markdown has no report file beside it; the command it names
    // (the path quoted for a shell when it needs to be) prints the whole list.
    const copy = join(tempDir(), "it's a run");
    spawnSync('cp', ['-r', dir, copy]);
    const quoted = `'${copy.replace(/'/g, `'\\''`)}'`;
    // A saved report too: the command prints it, whole.
    const saved = join(logs, 'latent_analysis_report.json');
    for (const [input, shown] of [[dir, dir], [copy, quoted], [saved, saved]]) {
      const pointer = `\n… and 3 more (\`agent-autopsy report ${shown} --format json\`)\n`;
      const printed = await runCli(['report', input, '-f', 'md']);
      expect(printed).toMatchObject({ code: 0, stderr: '' });
      expect(printed.stdout).toContain(pointer);
      expect(printed.stdout).not.toContain('latent\\_analysis\\_report.json');
      const out = join(tempDir(), 'autopsy.md');
      expect(await runCli(['report', input, '-f', 'md', '-o', out])).toMatchObject({ code: 0, stdout: '', stderr: '' });
      expect(readFileSync(out, 'utf8')).toContain(pointer);
      const listed = spawnSync('sh', ['-c', `${process.execPath} ${CLI} report ${shown} --format json`], { encoding: 'utf8' });
      expect(listed.status).toBe(0);
      expect((JSON.parse(listed.stdout) as AutopsyReport).failure_analysis.critical_failures).toHaveLength(53);
    }
  });

  it('names the run in its command so that the command, pasted into a shell as printed, works: a path starting with - or holding shell syntax', async () => {
    const cwd = tempDir();
    // `agent-autopsy` on the PATH, as after `npm install -g`.
    const bin = join(cwd, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'agent-autopsy'), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`, { mode: 0o755 });
    const failures = Array.from({ length: 53 }, (_, i) => event('task_error', { stage: 's', task: `t${i}`, error: `boom ${i}` }, 'ERROR', i / 10));
    const names = ['-run', '--format', "it's a run", 'a;b|c&d', '$HOME `id` $(id)', '*', '~user', '=run', 'a"b\\c', '!x', '#x', '{a,b}', 'über'];
    const commands: string[] = [];
    for (const name of names) {
      writeTruthLog(join(cwd, name), failures);
      // After `--`, commander takes a name starting with - as the argument.
      const printed = await runCli(['report', '-f', 'md', '--', name], { cwd });
      expect(printed, name).toMatchObject({ code: 0, stderr: '' });
      const command = /\n… and 3 more \((`+)(.+?)\1\)\n/.exec(printed.stdout)?.[2];
      expect(command, name).toBeDefined();
      commands.push(command!);
      const listed = spawnSync('sh', ['-c', command!], { cwd, encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
      expect(listed.stderr, `${name}: ${command}`).toBe('');
      expect(listed.status, `${name}: ${command}`).toBe(0);
      const report = JSON.parse(listed.stdout) as AutopsyReport;
      expect(report.failure_analysis.critical_failures, name).toHaveLength(53);
      expect(report.run.output_dir, name).toBe(join(cwd, name));
    }
    expect(commands.slice(0, 8)).toEqual([
      'agent-autopsy report ./-run --format json',
      'agent-autopsy report ./--format --format json',
      "agent-autopsy report 'it'\\''s a run' --format json",
      "agent-autopsy report 'a;b|c&d' --format json",
      "agent-autopsy report '$HOME `id` $(id)' --format json",
      "agent-autopsy report '*' --format json",
      "agent-autopsy report '~user' --format json",
      "agent-autopsy report '=run' --format json",
    ]);
  });
});
