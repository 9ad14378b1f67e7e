import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CriticalFailureList, CRITICAL_FAILURES_IN_MEMORY, renderCriticalFailure } from '../analyzers/CriticalFailureList';
import { analyzeRun } from '../analyzers/readRun';
import type { AutopsyReport, CriticalFailure } from '../analyzers/reportTypes';
import { RunAnalyzer } from '../analyzers/RunAnalyzer';
import { renderJsonReport, writeJsonReport } from '../exporters/writeReportFiles';
import { setErrorHandler } from '../src/errorHandler';
import { init, shutdown, track } from '../src/index';
import { runNode, writeScript } from './helpers/childProcess';
import { runCli } from './helpers/cli';
import { logPath, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

// DESIGN: memory is never O(events), and the report lists every critical failure. Past the first
// ones, entries wait in an unlinked temporary file and the JSON report streams them back.

afterEach(async () => {
  setErrorHandler(undefined);
  await shutdown();
});

function entry(i: number, error: unknown = `LLM call ${i} failed: 429 rate limited`): CriticalFailure {
  return { timestamp: `2026-11-25T10:00:${String(i % 60).padStart(2, '0')}.${String(i).padStart(6, '0')}Z`, type: i % 3 === 0 ? 'task_error' : 'llm_call_error', stage: `stage${i % 4}`, error };
}

/** Text writeJsonReport produces for `report`, with the list's entries in critical_failures. */
function streamedText(report: AutopsyReport, list: CriticalFailureList): string {
  const pieces: Buffer[] = [];
  writeJsonReport(report, list, (chunk) => pieces.push(Buffer.from(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk)));
  return Buffer.concat(pieces).toString('utf8');
}

function reportWith(critical: CriticalFailure[]): AutopsyReport {
  const report = new RunAnalyzer().buildReport({ now: Date.parse('2026-11-25T10:00:00Z'), generatedAt: Date.parse('2026-11-25T10:00:00Z') });
  report.failure_analysis.critical_failures = critical;
  return report;
}

function spillFilesOfThisProcess(dir = tmpdir()): string[] {
  return readdirSync(dir).filter((name) => name.startsWith(`.agent-autopsy-critical-${process.pid}-`));
}

/** Files this process holds open that were deleted, by the directory they were in (Linux). */
function openDeletedFilesIn(dir: string): string[] {
  return readdirSync('/proc/self/fd')
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    })
    .filter((target) => target.startsWith(`${dir}/.agent-autopsy-critical-`) && target.endsWith(' (deleted)'));
}

describe('CriticalFailureList', () => {
  it('keeps the first entries as objects and the rest in a file, and gives every one back in order', () => {
    const list = new CriticalFailureList(3);
    // Awkward values: multi-byte text, quotes, nested objects (indented deeper), an empty object.
    const entries = [
      entry(0),
      entry(1, { message: 'nested', detail: { code: 'E1', list: [1, 'two', { three: 3 }] } }),
      entry(2, 'ünïcødé ✓ "quoted" \\ back'),
      entry(3, '限流：请稍后重试 🚦'),
      entry(4, { message: 'x', inner: {} }),
      entry(5, ''),
      entry(6, 42),
      entry(7, null),
      entry(8, 'line\nbreak\ttab'),
      entry(9, ['a', { b: '      }' }]),
    ];
    for (const e of entries) list.push(e);
    expect(list.length).toBe(10);
    expect(list.spilled).toBe(7);
    expect(list.first()).toEqual(entries.slice(0, 3));
    expect(list.all()).toEqual(entries);
    // The JSON text is exactly what JSON.stringify writes for the whole list.
    expect(streamedText(reportWith([]), list)).toBe(renderJsonReport(reportWith(entries)));
    list.dispose();
  });

  it('streams thousands of spilled entries (several flushes) exactly as JSON.stringify writes them', () => {
    const list = new CriticalFailureList(10);
    const entries = Array.from({ length: 5000 }, (_, i) => entry(i, `error ${i}: ${'x'.repeat(i % 97)} — ${i % 5 === 0 ? 'ü' : 'u'}`));
    for (const e of entries) list.push(e);
    expect(list.spilled).toBe(4990);
    expect(list.all()).toEqual(entries);
    const report = reportWith(entries.slice(0, 10));
    expect(streamedText(report, list)).toBe(renderJsonReport(reportWith(entries)));
    list.dispose();
  });

  it('reads back entries larger than its 1 MiB read chunks, multi-byte characters across the boundaries', () => {
    const list = new CriticalFailureList(1);
    const big = 'é'.repeat(700_000) + '✓'.repeat(200_000);
    const entries = [entry(0), entry(1, big), entry(2, `tail ${big.slice(0, 1000)}`), entry(3, big)];
    for (const e of entries) list.push(e);
    expect(list.all()).toEqual(entries);
    expect(streamedText(reportWith([]), list)).toBe(renderJsonReport(reportWith(entries)));
    list.dispose();
  });

  it('spills from the first entry when it keeps none in memory', () => {
    const list = new CriticalFailureList(0);
    const entries = Array.from({ length: 3 }, (_, i) => entry(i));
    for (const e of entries) list.push(e);
    expect(list.first()).toEqual([]);
    expect(list.all()).toEqual(entries);
    expect(streamedText(reportWith([]), list)).toBe(renderJsonReport(reportWith(entries)));
    list.dispose();
  });

  it('writes an empty list as []', () => {
    const list = new CriticalFailureList();
    expect(streamedText(reportWith([]), list)).toBe(renderJsonReport(reportWith([])));
    expect(renderJsonReport(reportWith([]))).toContain('"critical_failures": [],');
  });

  it('leaves no file behind: the temporary file is unlinked as soon as it is opened', () => {
    const list = new CriticalFailureList(1);
    for (let i = 0; i < 2000; i++) list.push(entry(i, `error ${i} ${'y'.repeat(100)}`));
    expect(list.spilled).toBe(1999);
    expect(spillFilesOfThisProcess()).toEqual([]);
    if (process.platform === 'linux') expect(openDeletedFilesIn(tmpdir())).toHaveLength(1);
    list.dispose();
    if (process.platform === 'linux') expect(openDeletedFilesIn(tmpdir())).toEqual([]);
  });

  it('puts its temporary file where it is told', () => {
    const dir = tempRunDir('autopsy-critical-');
    const list = new CriticalFailureList(1, dir);
    const entries = Array.from({ length: 1000 }, (_, i) => entry(i, `error ${i} ${'w'.repeat(100)}`));
    for (const e of entries) list.push(e);
    if (process.platform === 'linux') expect(openDeletedFilesIn(dir)).toHaveLength(1);
    expect(spillFilesOfThisProcess(dir)).toEqual([]);
    expect(list.all()).toEqual(entries);
    list.dispose();
  });

  it('keeps entries in memory, none lost, when the temporary directory cannot be written', () => {
    const errors: string[] = [];
    setErrorHandler((_error, context) => errors.push(context));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = '/nonexistent/agent-autopsy-test';
    try {
      const list = new CriticalFailureList(2);
      const entries = Array.from({ length: 1500 }, (_, i) => entry(i, `error ${i} ${'z'.repeat(80)}`));
      for (const e of entries) list.push(e);
      expect(list.all()).toEqual(entries);
      expect(streamedText(reportWith(entries.slice(0, 2)), list)).toBe(renderJsonReport(reportWith(entries)));
      expect(errors).toEqual(['cannot write critical failures to a temporary file in /nonexistent/agent-autopsy-test (they are kept in memory)']);
      list.dispose();
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });

  it('stays valid when an entry past the kept ones cannot be written (a BigInt): that entry is refused', () => {
    const list = new CriticalFailureList(1);
    list.push(entry(0));
    expect(() => list.push(entry(1, 10n))).toThrow(TypeError);
    expect(list.length).toBe(1);
    expect(streamedText(reportWith([]), list)).toBe(renderJsonReport(reportWith([entry(0)])));
    list.push(entry(2));
    expect(list.all()).toEqual([entry(0), entry(2)]);
    expect(streamedText(reportWith([]), list)).toBe(renderJsonReport(reportWith([entry(0), entry(2)])));
    list.dispose();
  });

  it('renders each entry as JSON.stringify(entry, null, 2) indented, whatever its keys and values', () => {
    const general = (value: unknown) => `      ${JSON.stringify(value, null, 2).replace(/\n/g, '\n      ')}`;
    const cases: unknown[] = [
      entry(1),
      entry(2, 'quotes " and \\ and \u0001 control, \ud800 lone surrogate, 🚦 emoji, </script>'),
      { type: 'task_error', timestamp: 't', stage: 's', error: 'keys in another order' },
      { timestamp: 't', type: 'task_error', stage: 's', error: 'one key more', extra: 1 },
      { timestamp: 't', type: 'task_error', stage: 's' },
      { timestamp: 't', type: 'task_error', stage: 's', error: 'x', toJSON: () => ({ replaced: true }) },
      Object.assign(Object.create({ toJSON: () => 'inherited' }), { timestamp: 't', type: 'x', stage: 's', error: 'e' }),
      { timestamp: 't', type: 'task_error', stage: 7, error: 'a number for a stage' },
    ];
    for (const value of cases) expect(renderCriticalFailure(value as CriticalFailure)).toBe(general(value));
  });

  it('holds only the entries kept in memory after dispose()', () => {
    const list = new CriticalFailureList(2);
    for (let i = 0; i < 5; i++) list.push(entry(i));
    list.dispose();
    expect(list.length).toBe(2);
    expect(list.all()).toEqual([entry(0), entry(1)]);
  });
});

describe('a run with more critical failures than are kept in memory', () => {
  const COUNT = CRITICAL_FAILURES_IN_MEMORY + 700;

  async function failingRun(): Promise<{ dir: string; report: AutopsyReport }> {
    const dir = tempRunDir('autopsy-critical-');
    init({ outputDir: dir, handleExit: false });
    track('stage_start', { stage: 'fetch' });
    for (let i = 0; i < COUNT; i++) {
      const type = i % 10 === 0 ? 'code_exec_error' : 'llm_call_error';
      track(type, { stage: 'fetch', error: `429 Too Many Requests (request ${i}) — réessayer`, attempt: i }, 'ERROR');
      if (i % 500 === 0) track('progress', { stage: 'fetch', done: i }, 'INFO');
    }
    track('stage_end', { stage: 'fetch' });
    // The queue drains when the loop turns: entries past the first 2,000 are in the temporary file then.
    await new Promise((done) => setImmediate(done));
    // The file is in the run's log directory (the logs' disk), not in /tmp, which may be memory.
    if (process.platform === 'linux') expect(openDeletedFilesIn(join(dir, 'Memory', 'logs'))).toHaveLength(1);
    const report = (await shutdown())!;
    if (process.platform === 'linux') expect(openDeletedFilesIn(join(dir, 'Memory', 'logs'))).toEqual([]);
    return { dir, report };
  }

  /** The critical failures, as the seed derives them from the log itself. */
  function expectedFrom(dir: string): CriticalFailure[] {
    return readTrackerDocument(dir)
      .events.filter((e) => e.level === 'ERROR' && ['task_error', 'llm_call_error', 'code_exec_error'].includes(e.type))
      .map((e) => ({ timestamp: e.timestamp, type: e.type, stage: String(e.data.stage ?? 'unknown'), error: e.data.error }));
  }

  it('writes every one to latent_analysis_report.json, in the exact JSON.stringify layout', async () => {
    const { dir, report } = await failingRun();
    const text = readFileSync(logPath(dir, 'latent_analysis_report.json'), 'utf8');
    const written = JSON.parse(text) as AutopsyReport;
    const expected = expectedFrom(dir);
    expect(expected).toHaveLength(COUNT);
    expect(written.failure_analysis.critical_failures).toEqual(expected);
    expect(text).toBe(renderJsonReport(written));
    // The object shutdown() returns lists the first ones; everything else matches the file.
    expect(report.failure_analysis.critical_failures).toEqual(expected.slice(0, CRITICAL_FAILURES_IN_MEMORY));
    expect({ ...report, failure_analysis: { ...report.failure_analysis, critical_failures: [] } }).toEqual({
      ...written,
      failure_analysis: { ...written.failure_analysis, critical_failures: [] },
    });
    expect(spillFilesOfThisProcess(join(dir, 'Memory', 'logs'))).toEqual([]);
    // The human report counts all of them.
    const md = readFileSync(logPath(dir, 'autopsy.md'), 'utf8');
    expect(md).toContain(`${COUNT - 50} more (latent\\_analysis\\_report.json)`);
  });

  it('keeps how a crashed run ended when its report is too large to read whole', async () => {
    const dir = tempRunDir('autopsy-critical-');
    const script = writeScript(`
      import { init, track } from 'agent-autopsy';
      init({ outputDir: ${JSON.stringify(dir)} });
      for (let i = 0; i < 6000; i++) track('llm_call_error', { stage: 'fetch', error: '429 Too Many Requests, request ' + i + ' ' + 'x'.repeat(200) }, 'ERROR');
      setTimeout(() => { throw new RangeError('the crash after the storm'); }, 20);
    `);
    const result = await runNode(script);
    expect(result.code).toBe(1);
    const text = readFileSync(logPath(dir, 'latent_analysis_report.json'), 'utf8');
    expect(Buffer.byteLength(text)).toBeGreaterThan(1 << 20);
    const written = JSON.parse(text) as AutopsyReport;
    expect(written.exit.reason).toBe('uncaught_exception');
    const { report } = await analyzeRun(dir);
    expect(report.exit).toEqual(written.exit);
    expect(report.failure_analysis.critical_failures).toHaveLength(6000);
  });

  it('gives the same list to analyzeRun and to `agent-autopsy report` (streamed to --out)', async () => {
    const { dir } = await failingRun();
    const expected = expectedFrom(dir);
    const { report } = await analyzeRun(dir);
    expect(report.failure_analysis.critical_failures).toEqual(expected);
    const out = `${tempRunDir('autopsy-critical-')}/report.json`;
    const result = await runCli(['report', dir, '--format', 'json', '--out', out]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(JSON.parse(text).failure_analysis.critical_failures).toEqual(expected);
    expect(text).toBe(renderJsonReport(JSON.parse(text)));
    // Printed instead: the same text but for the report's own time (when it was made).
    const printed = await runCli(['report', dir, '--format', 'json']);
    const withoutTime = (json: string) => json.replace(/^\{\n {2}"timestamp": "[^"]+",/, '');
    expect(withoutTime(printed.stdout)).not.toBe(printed.stdout);
    expect(withoutTime(printed.stdout)).toBe(withoutTime(text));
  });
});

describe('RunAnalyzer options', () => {
  it('an option it cannot honour (a bad criticalFailuresInMemory, locale, eventCounts, a misspelled name) is named in one line on stderr and its default used', async () => {
    const script = writeScript(`
      import { RunAnalyzer } from 'agent-autopsy/analyzers';
      const rows = [];
      for (const options of [
        { criticalFailuresInMemory: NaN }, { criticalFailuresInMemory: -1 }, { criticalFailuresInMemory: 2.5 }, { criticalFailuresInMemory: '100' },
        { criticalFailuresInMemory: 0, criticalFailuresDir: 123 }, { criticalFailuresDir: '' },
        { locale: 7 }, { locale: 'fr' }, { locale: 'zh_CN', eventCounts: false }, { eventCounts: 'false' },
        { criticalFailuresInMemroy: 10, locales: 'zh-CN' }, 'zh-CN', null,
      ]) {
        let analyzer;
        try {
          analyzer = new RunAnalyzer(options);
        } catch (error) {
          rows.push(['threw', String(error)]);
          continue;
        }
        // 600 failures: past 64 KiB of entries, so a list that keeps none in memory writes its temporary file.
        for (let i = 0; i < 600; i++) {
          const timestamp = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
          analyzer.observe({ timestamp, elapsed_seconds: i, type: 'task_error', level: 'ERROR', data: { stage: 'stage1', task: 't', error: 'failed: ' + 'x'.repeat(100) + ' #' + i } });
        }
        const report = analyzer.buildReport({ now: Date.UTC(2026, 0, 1, 1) });
        const critical = report.failure_analysis.critical_failures;
        rows.push([analyzer.locale, analyzer.criticalFailures.first().length, analyzer.criticalFailures.spilled, critical.length, critical[599].error.endsWith(' #599'), report.summary.total_failures, Object.keys(analyzer.eventCounts().events_by_type).length > 0]);
        analyzer.dispose();
      }
      console.log(JSON.stringify(rows));
    `);
    const result = await runNode(script);
    expect(result.code).toBe(0);
    const prefix = 'agent-autopsy: new RunAnalyzer(): ';
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([
      `${prefix}option criticalFailuresInMemory should be a whole number from 0 up, got NaN; the default (2000) is used`,
      `${prefix}option criticalFailuresInMemory should be a whole number from 0 up, got -1; the default (2000) is used`,
      `${prefix}option criticalFailuresInMemory should be a whole number from 0 up, got 2.5; the default (2000) is used`,
      `${prefix}option criticalFailuresInMemory should be a whole number from 0 up, got "100" (a string); the default (2000) is used`,
      `${prefix}option criticalFailuresDir should be a directory path (a non-empty string), got 123; the default (the OS temp directory) is used`,
      `${prefix}option criticalFailuresDir should be a directory path (a non-empty string), got "" (a string); the default (the OS temp directory) is used`,
      `${prefix}option locale should be a string ('en' or 'zh-CN'), got 7; the default ('en') is used`,
      `${prefix}unknown locale "fr"; the report is written in English (supported: en, zh-CN)`,
      `${prefix}option eventCounts should be true or false, got "false" (a string); the default (true) is used`,
      `${prefix}unknown option "criticalFailuresInMemroy" ignored (did you mean criticalFailuresInMemory?)`,
      `${prefix}unknown option "locales" ignored (did you mean locale?)`,
      `${prefix}the options should be an object (such as { locale: 'zh-CN' }), got "zh-CN" (a string); the defaults are used`,
    ]);
    // [locale, critical failures in memory, in the temporary file, listed in the report, the last one
    // listed, total failures, counting events by type]: with the default wherever an option was refused.
    const byDefault = ['en', 600, 0, 600, true, 600, true];
    expect(JSON.parse(result.stdout)).toEqual([
      byDefault, byDefault, byDefault, byDefault,
      ['en', 0, 600, 600, true, 600, true],
      byDefault, byDefault, byDefault,
      ['zh-CN', 600, 0, 600, true, 600, false],
      byDefault, byDefault, byDefault, byDefault,
    ]);
  });
});
