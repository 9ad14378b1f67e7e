import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli';
import { logPath } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

// Files written, and reports made, by the original Python code itself (the design document's
// ExecutionTracker and LatentReporter, test/fixtures/python/reference.py), read by this library.

const REFERENCE = join(__dirname, 'fixtures', 'python', 'reference.py');

type Tracked = [type: string, data: Record<string, unknown>, level: 'INFO' | 'WARNING' | 'ERROR'];

/** A run directory the original tracker wrote and the original reporter analysed. */
function originalRun(events: Tracked[]): string {
  const dir = tempRunDir('autopsy-reference-');
  const out = execFileSync('python3', [REFERENCE, dir, JSON.stringify(events)], { encoding: 'utf8' });
  expect(out).toBe(`✓ Latent analysis report saved: ${join(dir, 'Memory/logs/')}latent_analysis_report.json\n`);
  return dir;
}

describe("the original reporter's report of an agent whose data.stage was None", () => {
  // A Python agent that tracks `'stage': self.current_stage` before its first stage writes None:
  // the original report then holds null as a critical failure's stage and as the summary's
  // most_problematic_stage (and "null" as the failures_by_stage key, as json.dump writes it).
  const events: Tracked[] = [
    ['task_error', { stage: null, task: 'load', error: 'FileNotFoundError: data.csv' }, 'ERROR'],
    ['task_error', { stage: null, task: 'load', error: 'FileNotFoundError: data.csv' }, 'ERROR'],
    ['llm_call_error', { stage: 2, error: 'Rate limit exceeded' }, 'ERROR'],
  ];

  it('is what the original writes', () => {
    const report = JSON.parse(readFileSync(logPath(originalRun(events), 'latent_analysis_report.json'), 'utf8'));
    expect(report.failure_analysis.failures_by_stage).toEqual({ null: 2, '2': 1 });
    expect(report.failure_analysis.critical_failures.map((f: { stage: unknown }) => f.stage)).toEqual([null, null, 2]);
    expect(report.summary.most_problematic_stage).toBeNull();
  });

  it('renders as HTML and Markdown, each stage shown as failures_by_stage names it', async () => {
    const saved = logPath(originalRun(events), 'latent_analysis_report.json');
    const html = await runCli(['report', saved, '--format', 'html']);
    expect(html.stderr).toBe('');
    expect(html.code).toBe(0);
    expect(html.stdout).toContain('<td class="wrap">task_error</td><td class="wrap">null</td><td class="wrap">FileNotFoundError: data.csv</td>');
    expect(html.stdout).toContain('<td class="wrap">llm_call_error</td><td class="wrap">2</td><td class="wrap">Rate limit exceeded</td>');
    // The failure ticks of the timeline are grouped by stage too.
    expect(html.stdout).toContain('<g class="tl-group" data-stage="null">');
    expect(html.stdout).toContain('<g class="tl-group" data-stage="2">');

    const md = await runCli(['report', saved, '--format', 'md']);
    expect(md).toMatchObject({ code: 0, stderr: '' });
    const lines = md.stdout.split('\n');
    expect(lines).toContain('| Most problematic stage | null |');
    expect(lines).toContain('| null | 2 |');
    expect(lines.filter((line) => /^\| \S+ \| task\\_error \| null \| FileNotFoundError: data.csv \|$/.test(line))).toHaveLength(2);
    expect(lines.filter((line) => /^\| \S+ \| llm\\_call\\_error \| 2 \| Rate limit exceeded \|$/.test(line))).toHaveLength(1);

    // As JSON it is still the very document the original wrote.
    const json = await runCli(['report', saved, '--format', 'json']);
    expect(JSON.parse(json.stdout)).toEqual(JSON.parse(readFileSync(saved, 'utf8')));
  });
});
