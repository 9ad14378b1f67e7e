import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeRunSync } from '../analyzers/readRun';
import type { AutopsyReport } from '../analyzers/reportTypes';

// Recorded failing runs (test/fixtures/runs/generate.mjs): real agents, the official SDKs against
// the fake LLM server, real python3/node child processes; a few written by the original Python
// tracker's design. Each has one injected cause; expected.json names it (and what it set off).
const CORPUS = join(__dirname, 'fixtures', 'runs');
const expected: Record<string, { top: string; then?: string[] }> = JSON.parse(readFileSync(join(CORPUS, 'expected.json'), 'utf8'));
const names = Object.keys(expected);
const reports = new Map<string, AutopsyReport>(names.map((name) => [name, analyzeRunSync(join(CORPUS, name)).report]));
const report = (name: string) => reports.get(name)!;
const ids = (name: string) => report(name).diagnoses.map((diagnosis) => diagnosis.id);

describe('the corpus', () => {
  it('has a recorded run for every built-in diagnosis and mixed runs', () => {
    const dirs = readdirSync(CORPUS, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    expect(dirs.sort()).toEqual([...names].sort());
    const tops = new Set(Object.values(expected).map((entry) => entry.top));
    for (const id of ['rate_limited', 'auth_failure', 'llm_timeout', 'context_length_exceeded', 'llm_server_error', 'code_syntax_errors', 'code_runtime_errors', 'autofix_ineffective', 'retry_storm', 'stage_hang', 'slow_stage', 'crash']) {
      expect(tops.has(id), id).toBe(true);
    }
    expect(names.filter((name) => name.startsWith('mixed_')).length).toBeGreaterThanOrEqual(3);
    expect(names.filter((name) => name.startsWith('py_')).length).toBeGreaterThanOrEqual(3);
  });
});

describe('top diagnosis of each recorded run is the injected cause', () => {
  it.each(names)('%s', (name) => {
    const { top, then = [] } = expected[name];
    const diagnoses = report(name).diagnoses;
    expect(diagnoses[0]?.id, JSON.stringify(diagnoses.map((d) => [d.id, d.severity, d.confidence]))).toBe(top);
    for (const id of then) expect(ids(name).indexOf(id), `${id} ranked below ${top}`).toBeGreaterThan(0);
    for (const diagnosis of diagnoses) {
      expect(diagnosis.evidence.count).toBeGreaterThan(0);
      expect(diagnosis.confidence).toBeGreaterThan(0);
      expect(diagnosis.confidence).toBeLessThanOrEqual(1);
      expect(diagnosis.title).not.toBe('');
      expect(diagnosis.suggestion.length).toBeGreaterThan(40);
    }
  });
});

describe('runs with one cause report only that cause and what it set off', () => {
  it.each([
    ['rate_limited', ['rate_limited']],
    ['auth_failure', ['auth_failure']],
    ['llm_timeout', ['llm_timeout']],
    ['context_length_exceeded', ['context_length_exceeded']],
    ['llm_server_error', ['llm_server_error']],
    ['code_syntax_errors', ['code_syntax_errors', 'autofix_ineffective']],
    ['code_runtime_errors', ['code_runtime_errors']],
    ['autofix_ineffective', ['autofix_ineffective']],
    ['retry_storm', ['retry_storm']],
    ['stage_hang', ['stage_hang', 'crash']],
    ['slow_stage', ['slow_stage']],
    ['crash', ['crash']],
    ['mixed_rate_limit_cascade', ['rate_limited', 'crash', 'retry_storm', 'code_syntax_errors', 'autofix_ineffective']],
    ['mixed_timeout_hang_killed', ['llm_timeout', 'stage_hang', 'crash']],
    ['mixed_code_crash', ['code_runtime_errors', 'crash']],
    ['py_seed_sample', ['rate_limited', 'retry_storm', 'code_syntax_errors', 'code_runtime_errors']],
    ['py_syntax_errors', ['code_syntax_errors', 'autofix_ineffective']],
    ['py_context_window', ['context_length_exceeded']],
    ['py_checkpoint_hang', ['stage_hang']],
  ])('%s → %j', (name, expectedIds) => {
    expect(ids(name)).toEqual(expectedIds);
  });
});

describe('evidence', () => {
  it('counts an error that propagates llm → task → stage once, at its origin', () => {
    const [auth] = report('auth_failure').diagnoses;
    const events = readEvents('auth_failure');
    const llmError = events.find((event) => event.type === 'llm_call_error')!;
    expect(events.filter((event) => event.level === 'ERROR').map((event) => event.type)).toEqual(['llm_call_error', 'task_error', 'stage_error']);
    expect(auth.evidence).toEqual({
      count: 1,
      first: llmError.timestamp,
      last: llmError.timestamp,
      examples: [`llm_call_error (stage1): ${llmError.data.error}`],
      span_ids: [llmError.span_id],
    });
    expect(auth.severity).toBe('critical');
    expect(auth.confidence).toBe(0.86);
  });

  it('counts seed-style propagation (no span ids) once too', () => {
    const rate = report('py_seed_sample').diagnoses.find((d) => d.id === 'rate_limited')!;
    expect(rate.evidence.count).toBe(8); // 8 llm_call_error; the 2 task_errors repeat them
    expect(rate.evidence.span_ids).toEqual([]);
    expect(rate.evidence.examples).toEqual(['llm_call_error (stage1): Rate limit exceeded', 'llm_call_error (stage2): Rate limit exceeded', 'llm_call_error (stage3): Rate limit exceeded']);
  });

  it('puts what the provider said into the suggestion', () => {
    const rate = report('rate_limited').diagnoses[0];
    expect(rate.evidence.count).toBe(3);
    expect(rate.suggestion).toContain('retry-after');
    expect(rate.suggestion).toContain('The provider asked to wait up to 2 s (retry-after).');
    const context = report('context_length_exceeded').diagnoses[0];
    expect(context.evidence.count).toBe(2);
    expect(context.suggestion).toMatch(/truncate|summarise/);
    expect(context.suggestion).toContain('The window is 8192 tokens; a request needed ');
  });

  it('says what a consequence is a consequence of', () => {
    const cascade = report('mixed_rate_limit_cascade').diagnoses;
    const byId = Object.fromEntries(cascade.map((d) => [d.id, d]));
    expect(byId.rate_limited.severity).toBe('critical'); // it crashed the run
    expect(byId.retry_storm.suggestion.startsWith('Most likely a consequence of rate_limited: fix that first.')).toBe(true);
    expect(byId.crash.suggestion.startsWith('Most likely a consequence of rate_limited: fix that first.')).toBe(true);
    expect(byId.autofix_ineffective.suggestion.startsWith('Most likely a consequence of rate_limited and code_syntax_errors: fix those first.')).toBe(true);
    expect(byId.retry_storm.evidence.count).toBe(8);
    expect(byId.retry_storm.evidence.examples[0]).toMatch(/^8 failed calls in a row to gpt-4o in stage3 within [\d.]+ s$/);
    expect(byId.crash.evidence.examples[1]).toMatch(/^RateLimitError: 429 Rate limit reached/);
  });

  it('explains a hang: what the stage was waiting on, and that the kill followed it', () => {
    const [hang, crash] = report('stage_hang').diagnoses;
    expect(hang.severity).toBe('critical');
    expect(hang.evidence.count).toBe(1);
    expect(hang.evidence.examples[0]).toMatch(/^stage2 was still running when the process ended by a signal; its last event was [\d.]+ s before the end; still waiting on llm "(chat )?gpt-4o" \(open for [\d.]+ s\)$/);
    expect(crash.evidence.examples).toEqual(['The process ended by a signal (SIGTERM)']);
  });

  it('names the slow stage with its ratio to the others, and what its time went to', () => {
    const [slow] = report('slow_stage').diagnoses;
    expect(slow.evidence.count).toBe(1);
    expect(slow.evidence.examples[0]).toMatch(/^stage3 took 3(\.\d+)? s, (>100|\d+\.\d)× the median of the other stages \(0(\.\d+)? s\); its 2 LLM calls \(gpt-4o\) took 3(\.\d+)? s in all, the longest 1\.5\d? s$/);
    // Nothing failed and nothing was retried: worth a look, not an alarm.
    expect(slow.severity).toBe('low');
  });

  it('keeps a JSON.parse failure of an LLM reply out of the code diagnoses', () => {
    const [crash] = report('crash').diagnoses;
    expect(crash.severity).toBe('critical');
    expect(crash.evidence.examples[1]).toMatch(/^SyntaxError: Unexpected token .* is not valid JSON$/);
  });
});

describe('reports in Simplified Chinese keep the ids', () => {
  it('translates titles and suggestions only', () => {
    const zh = analyzeRunSync(join(CORPUS, 'mixed_rate_limit_cascade'), { locale: 'zh-CN' }).report.diagnoses;
    expect(zh.map((d) => d.id)).toEqual(ids('mixed_rate_limit_cascade'));
    expect(zh[0].title).toBe('LLM 服务商对智能体限流（HTTP 429）');
    expect(zh.find((d) => d.id === 'retry_storm')!.suggestion.startsWith('很可能是 rate_limited 造成的后果：请先解决它。')).toBe(true);
  });
});

// The seed sections must stay exactly what the original LatentReporter computes: checked against a
// Python port of its rules run on the same files (every run whose log json.load can read).
describe('seed sections match the Python reporter', () => {
  const complete = names.filter((name) => name !== 'mixed_timeout_hang_killed');
  const python = spawnSync('python3', [join(CORPUS, 'latent_reporter.py'), ...complete.map((name) => join(CORPUS, name))], { encoding: 'utf8' });
  const oracle: Record<string, any> = python.status === 0 ? JSON.parse(python.stdout) : {};

  it('the oracle ran', () => {
    expect(python.stderr).toBe('');
    expect(Object.keys(oracle).length).toBe(complete.length);
  });

  it.each(complete)('%s', (name) => {
    const expectedSeed = oracle[join(CORPUS, name)];
    const ours = report(name);
    const { failure_patterns: patterns, critical_failures: critical, ...counts } = ours.failure_analysis;
    const { failure_patterns: expectedPatterns, critical_failures: expectedCritical, ...expectedCounts } = expectedSeed.failure_analysis;
    expect(counts).toEqual(expectedCounts);
    expect(critical).toEqual(expectedCritical);
    expect(patterns.map((p) => [p.pattern, p.severity])).toEqual(expectedPatterns.map((p: { pattern: string; severity: string }) => [p.pattern, p.severity]));
    expect(ours.autofix_statistics).toEqual(expectedSeed.autofix_statistics);
    expect(ours.fix_suggestions.map((s) => ({ priority: s.priority, category: s.category }))).toEqual(expectedSeed.fix_suggestions);
    expect(ours.summary).toEqual(expectedSeed.summary);
  });

  it('reproduces the reference report of the original design', () => {
    const seed = report('py_seed_sample');
    expect(seed.failure_analysis.total_failures).toBe(15);
    expect(seed.failure_analysis.failures_by_type).toEqual({ llm_call_error: 8, task_error: 2, code_exec_error: 5 });
    expect(seed.failure_analysis.failures_by_stage).toEqual({ stage1: 2, stage2: 3, stage3: 10 });
    expect(seed.autofix_statistics.fixes_by_layer).toEqual({ layer1: 7, layer2: 4, layer3: 1 });
    expect(seed.summary).toEqual({
      total_failures: 15,
      total_autofix_attempts: 12,
      autofix_success_rate: '75.0%',
      most_common_failure: 'llm_call_error',
      most_problematic_stage: 'stage3',
    });
    expect(seed.fix_suggestions.map((s) => s.priority)).toEqual(['P0']);
  });
});

function readEvents(name: string): Array<{ type: string; level: string; timestamp: string; span_id?: string; data: Record<string, unknown> }> {
  return JSON.parse(readFileSync(join(CORPUS, name, 'execution_tracker.json'), 'utf8')).events;
}
