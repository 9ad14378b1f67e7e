import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LatentReporter } from '../src/index';
import { logPath, readReport } from './helpers/runFiles';
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
    const report = new LatentReporter(dir).generateReport();
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
    require('node:fs').writeFileSync(path, whole.slice(0, cut));
    const report = new LatentReporter(dir).generateReport();
    expect(report.run.total_events).toBe(doc.events.length - 1);
    expect(report.failure_analysis.total_failures).toBe(12);
    expect(report.exit.reason).toBe('killed');
  });
});
