import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runNode, writeScript } from './helpers/childProcess';
import { runCli } from './helpers/cli';
import { logPath } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

// Files written, and reports made, the Python way: test/fixtures/python/seed_contract.py is the seed
// contract of DESIGN.md written in Python (our own code), so that Python's dicts, json module and
// max() decide what the original tracker and reporter would write. Read by this library, and reading
// what this library wrote.

const SEED_CONTRACT = join(__dirname, 'fixtures', 'python', 'seed_contract.py');

type Tracked = [type: string, data: Record<string, unknown>, level: 'INFO' | 'WARNING' | 'ERROR'];

/** A run directory written, and its report made, the Python tracker's and reporter's way. */
function originalRun(events: Tracked[]): string {
  const dir = tempRunDir('autopsy-reference-');
  const out = execFileSync('python3', [SEED_CONTRACT, dir, JSON.stringify(events)], { encoding: 'utf8' });
  expect(out).toBe(`${logPath(dir, 'latent_analysis_report.json')}\n`);
  return dir;
}

describe("the original reporter's report of an agent whose data.stage was None", () => {
  // A Python agent that tracks `'stage': self.current_stage` before its first stage writes None:
  // the seed report then holds null as a critical failure's stage and as the summary's
  // most_problematic_stage (and "null" as the failures_by_stage key, as json.dump writes it).
  const events: Tracked[] = [
    ['task_error', { stage: null, task: 'load', error: 'FileNotFoundError: data.csv' }, 'ERROR'],
    ['task_error', { stage: null, task: 'load', error: 'FileNotFoundError: data.csv' }, 'ERROR'],
    ['llm_call_error', { stage: 2, error: 'Rate limit exceeded' }, 'ERROR'],
  ];

  it('is what the seed reporter writes', () => {
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

    // As JSON it is still the very document the seed reporter wrote.
    const json = await runCli(['report', saved, '--format', 'json']);
    expect(JSON.parse(json.stdout)).toEqual(JSON.parse(readFileSync(saved, 'utf8')));
  });
});

// The other direction: an agent recording with this library, ended by SIGTERM in the middle of a
// stage, leaves files the Python reporter reads as its own.
const AGENT = `
import { init, stage, task, llmCall, codeExec, autofix, track } from 'agent-autopsy';
init({ outputDir: process.argv[2], locale: 'zh-CN' });
await stage('stage1', { name: 'Problem Analysis' }, async () => {
  await llmCall({ model: 'gpt-4o', provider: 'openai' }, async (call) => call.setUsage({ inputTokens: 75, outputTokens: 66 }));
  for (let i = 0; i < 4; i++) {
    await llmCall({ model: 'gpt-4o' }, async () => { throw Object.assign(new Error('429 Rate limit reached for gpt-4o'), { status: 429 }); }).catch(() => {});
  }
});
await stage('stage3', { name: 'Coding' }, async () => {
  await task('solve', async () => {
    for (let i = 0; i < 3; i++) track('syntax_error', { error: "SyntaxError: expected ':'", line: i + 1 }, 'ERROR');
    track('code_exec_error', { language: 'python', note: 'no error field' }, 'ERROR');
    await codeExec({ language: 'python' }, async (exec) => exec.setResult({ exitCode: 1, stderr: "NameError: name 'np' is not defined" }));
    for (const ok of [false, false, true]) await autofix({ layer: 2, type: 'syntax' }, async () => ok);
    track('checkpoint_save', { path: 'ckpt/阶段3.json', ratio: 0.25, tiny: 4.2e-5, done: false, none: null, pair: [1, 'a'] });
  });
});
await stage('stage4', { name: 'Writing' }, async () => {
  process.stdout.write('READY\\n');
  await new Promise((resolve) => setTimeout(resolve, 60_000));
});
`;

// The Python reporter, run on a copy of the logs (it writes its report next to them).
function reportOfTheOriginal(runDir: string): any {
  const copy = tempRunDir('autopsy-reference-copy-');
  mkdirSync(join(copy, 'Memory', 'logs'), { recursive: true });
  for (const file of ['execution_tracker.json', 'autofix_log.json']) copyFileSync(logPath(runDir, file), logPath(copy, file));
  execFileSync('python3', [SEED_CONTRACT, '--report', copy], { encoding: 'utf8' });
  return JSON.parse(readFileSync(logPath(copy, 'latent_analysis_report.json'), 'utf8'));
}

/** The seed sections without their sentences, which each side writes in its own words. */
function withoutSentences(report: any): any {
  const { timestamp: _t, ...seed } = JSON.parse(JSON.stringify(report));
  for (const pattern of seed.failure_analysis.failure_patterns) {
    delete pattern.description;
    delete pattern.suggestion;
  }
  for (const fix of seed.fix_suggestions) {
    delete fix.suggestion;
    delete fix.details;
  }
  return seed;
}

// Each line of the readable log, made from the JSON log's event as the Python tracker makes it (an
// f-string of the event's fields, the data as Python prints a dict).
const READABLE_FROM_JSON = String.raw`
import json, sys
with open(sys.argv[1], encoding='ascii') as f:
    events = json.load(f)['events']
for event in events:
    timestamp, elapsed, event_type, level, data = event['timestamp'], event['elapsed_seconds'], event['type'], event['level'], event['data']
    sys.stdout.write(f"[{timestamp}] (+{elapsed:.3f}s) [{level}] {event_type}: {data}\n")
`;

describe('a run this library recorded, ended by SIGTERM, read the Python way', () => {
  it('gives the Python reporter the seed report this library wrote, and its readable log is the one the Python tracker would write', async () => {
    const dir = tempRunDir('autopsy-reference-');
    const result = await runNode(writeScript(AGENT), {
      args: [dir],
      onStdoutLine: (line, child) => {
        if (line === 'READY') child.kill('SIGTERM');
      },
    });
    expect(result).toMatchObject({ code: null, signal: 'SIGTERM', stderr: '' });

    const ours = JSON.parse(readFileSync(logPath(dir, 'latent_analysis_report.json'), 'utf8'));
    expect(ours.exit).toMatchObject({ reason: 'signal', signal: 'SIGTERM' });
    const original = reportOfTheOriginal(dir);
    expect(Object.keys(original)).toEqual(['timestamp', 'failure_analysis', 'autofix_statistics', 'fix_suggestions', 'summary']);
    expect(Object.keys(ours).slice(0, 5)).toEqual(Object.keys(original));
    const seed = withoutSentences(original);
    expect(withoutSentences({ timestamp: ours.timestamp, failure_analysis: ours.failure_analysis, autofix_statistics: ours.autofix_statistics, fix_suggestions: ours.fix_suggestions, summary: ours.summary })).toEqual(seed);
    // What the run holds, so the comparison means something.
    expect(seed.fix_suggestions.map((fix: { priority: string }) => fix.priority)).toEqual(['P0', 'P1', 'P2']);
    expect(seed.failure_analysis.failure_patterns.map((p: { pattern: string }) => p.pattern)).toEqual([
      'frequent_llm_errors',
      'stage_specific_failures',
      'stage_specific_failures',
      'frequent_syntax_errors',
    ]);
    expect(seed.failure_analysis.critical_failures.find((f: { type: string; error: unknown }) => f.type === 'code_exec_error').error).toBe('Unknown error');
    expect(seed.summary).toEqual({ total_failures: 9, total_autofix_attempts: 3, autofix_success_rate: '33.3%', most_common_failure: 'llm_call_error', most_problematic_stage: 'stage3' });

    const readable = readFileSync(logPath(dir, 'execution_tracker_readable.txt'), 'utf8');
    expect(execFileSync('python3', ['-c', READABLE_FROM_JSON, logPath(dir, 'execution_tracker.json')], { encoding: 'utf8' })).toBe(readable);
    expect(readable).toContain("[INFO] checkpoint_save: {'path': 'ckpt/阶段3.json', 'ratio': 0.25, 'tiny': 4.2e-05, 'done': False, 'none': None, 'pair': [1, 'a'], 'stage': 'stage3'}");
    expect(readable).toMatch(/\[WARNING\] stage_unfinished: \{'stage': 'stage4', 'name': 'Writing', 'unfinished': True, 'age_seconds': [\d.]+\}\n$/);
  });
});
