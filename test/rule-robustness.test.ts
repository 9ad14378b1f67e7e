import { describe, expect, it } from 'vitest';
import { validateRule, validateRules } from '../analyzers/customRules';
import type { DiagnosisRule } from '../analyzers/diagnosisTypes';
import { RunAnalyzer } from '../analyzers/RunAnalyzer';
import type { TruthEvent } from '../src/types';
import { runNode, writeScript } from './helpers/childProcess';
import { tempRunDir } from './helpers/tempDirs';

describe('a rule predicate that returns a promise', () => {
  it('is refused at registration when it is an async function, naming the rule', () => {
    const rule = { id: 'empty_answer', title: 't', suggestion: 's', match: async () => true } as unknown as DiagnosisRule;
    expect(() => validateRule(rule)).toThrow(
      'agent-autopsy: diagnosis rule "empty_answer": match must answer at once with true or false; an async function returns a promise, which never counts',
    );
  });

  it('never counts, and its rejection does not end the host process', async () => {
    const script = writeScript(`
      import { init, shutdown, stage, track } from 'agent-autopsy';
      init({ outputDir: process.env.RUN_DIR, reportFormats: [], rules: [
        { id: 'lookup_failed', title: 't', suggestion: 's', match: (event) => Promise.reject(new Error('rule bug on ' + event.type)) },
      ] });
      await stage('s1', async () => { track('tool_error', { error: 'no route' }, 'ERROR'); });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const report = await shutdown();
      console.log(JSON.stringify({ exit: report.exit.reason, diagnoses: report.diagnoses.map((d) => d.id) }));
    `);
    const result = await runNode(script, { env: { RUN_DIR: tempRunDir() } });
    expect({ code: result.code, stderr: result.stderr, stdout: JSON.parse(result.stdout) }).toEqual({
      code: 0,
      stderr: '',
      stdout: { exit: 'shutdown', diagnoses: [] },
    });
  });
});

describe('a rule predicate that changes the event', () => {
  const at = (s: number) => new Date(Date.parse('2025-01-24T10:30:00.000Z') + s * 1000).toISOString();
  const events: TruthEvent[] = [
    { timestamp: at(0), elapsed_seconds: 0, type: 'task_error', level: 'ERROR', data: { stage: 's1', error: 'connect ECONNREFUSED 127.0.0.1:6333' } },
    { timestamp: at(1), elapsed_seconds: 1, type: 'task_error', level: 'ERROR', data: { stage: 's1', error: 'connect ECONNREFUSED 127.0.0.1:6333' } },
  ];
  it('changes it for no other rule, nor for its own evidence', () => {
    const rules: DiagnosisRule[] = [
      {
        id: 'rewriter',
        title: 't',
        suggestion: 's',
        match: (event) => {
          (event as { type: string }).type = 'rewritten';
          event.data.error = 'gone';
          return true;
        },
      },
      { id: 'vector_store_down', title: 'Vector store down', suggestion: 'Start it.', eventType: 'task_error', error: 'ECONNREFUSED', explains: ['dependency_unreachable'] },
    ];
    const analyzer = new RunAnalyzer({ rules });
    for (const event of events) analyzer.observe(event);
    const report = analyzer.buildReport({ now: Date.parse(at(2)) });
    expect(report.diagnoses.map((d) => [d.id, d.evidence.count, d.evidence.examples])).toEqual([
      ['rewriter', 2, ['task_error (s1): connect ECONNREFUSED 127.0.0.1:6333']],
      ['vector_store_down', 2, ['task_error (s1): connect ECONNREFUSED 127.0.0.1:6333']],
    ]);
    expect(events.map((event) => [event.type, event.data.error])).toEqual([
      ['task_error', 'connect ECONNREFUSED 127.0.0.1:6333'],
      ['task_error', 'connect ECONNREFUSED 127.0.0.1:6333'],
    ]);
  });
});

describe('explains', () => {
  const rule = (id: string, explains: string[]): DiagnosisRule => ({ id, title: id, suggestion: 's', eventType: 'task_error', explains });
  it('refuses an id that is neither built in nor another rule, naming both', () => {
    expect(() => validateRules([rule('org_limit', ['rate_limit'])])).toThrow(
      'agent-autopsy: diagnosis rule "org_limit": explains names "rate_limit", which is neither a built-in diagnosis id nor the id of another rule',
    );
  });
  it('refuses rules that explain each other, or themselves', () => {
    expect(() => validateRules([rule('cyc_a', ['cyc_b']), rule('cyc_b', ['rate_limited', 'cyc_a'])])).toThrow(
      'agent-autopsy: diagnosis rules explain each other in a circle ("cyc_a" → "cyc_b" → "cyc_a"); when they fired, none of them would be reported',
    );
    expect(() => validateRules([rule('self', ['self'])])).toThrow('in a circle ("self" → "self")');
  });
  it('accepts a chain of rules and built-in ids, ranked with the outermost rule', () => {
    const rules = [rule('outer', ['inner']), rule('inner', ['llm_server_error'])];
    expect(() => validateRules(rules)).not.toThrow();
    const analyzer = new RunAnalyzer({ rules });
    analyzer.observe({ timestamp: '2025-01-24T10:30:00.000Z', elapsed_seconds: 0, type: 'task_error', level: 'ERROR', data: { error: 'HTTP 503' } });
    expect(analyzer.buildReport({ now: Date.parse('2025-01-24T10:30:01.000Z') }).diagnoses.map((d) => d.id)).toEqual(['outer']);
  });
});

describe('rules that are not a list', () => {
  const rule: DiagnosisRule = { id: 'vector_store_down', title: 't', suggestion: 's', error: 'ECONNREFUSED' };
  it('are refused by the analyzer, not ignored (a single rule passed without [ ])', () => {
    expect(() => new RunAnalyzer({ rules: rule as unknown as DiagnosisRule[] })).toThrow(
      'agent-autopsy: rules must be an array of diagnosis rules, got an object (a single rule? wrap it in [ ])',
    );
    expect(() => new RunAnalyzer({ rules: 'vector_store_down' as unknown as DiagnosisRule[] })).toThrow('agent-autopsy: rules must be an array of diagnosis rules, got string');
  });
  it('are refused by init() with the same message', async () => {
    const script = writeScript(`
      import { init } from 'agent-autopsy';
      try {
        init({ outputDir: process.env.RUN_DIR, handleExit: false, rules: { id: 'x', title: 't', suggestion: 's', error: 'y' } });
      } catch (error) {
        console.log(error.constructor.name + ': ' + error.message);
      }
    `);
    const result = await runNode(script, { env: { RUN_DIR: tempRunDir() } });
    expect(result.stdout.trim()).toBe('TypeError: agent-autopsy: rules must be an array of diagnosis rules, got an object (a single rule? wrap it in [ ])');
  });
});

describe('a consequence of a diagnosis a rule explains', () => {
  const at = (s: number) => new Date(Date.parse('2025-01-24T10:30:00.000Z') + s * 1000).toISOString();
  const storm: TruthEvent[] = [0, 1, 2, 3, 4].map((i) => ({
    timestamp: at(i),
    elapsed_seconds: i,
    type: 'llm_call_error',
    level: 'ERROR',
    data: { stage: 's1', model: 'gpt-4o', error: '429 Too Many Requests: organization org-fake quota', http_status: 429 },
    span_id: `L${i}`,
  }));
  const report = (rules: DiagnosisRule[], locale = 'en') => {
    const analyzer = new RunAnalyzer({ rules, locale });
    for (const event of storm) analyzer.observe(event);
    return analyzer.buildReport({ now: Date.parse(at(10)) }).diagnoses.map((d) => [d.id, d.suggestion.slice(0, 40)]);
  };
  it('names the rule as its cause, not the diagnosis that left the report', () => {
    const rule: DiagnosisRule = { id: 'org_quota', title: 'Org quota', suggestion: 'Move batch jobs to the night quota.', error: 'org-fake', explains: ['rate_limited'] };
    expect(report([])[1]).toEqual(['retry_storm', 'Most likely a consequence of rate_limite']);
    expect(report([rule])).toEqual([
      ['org_quota', 'Move batch jobs to the night quota.'],
      ['retry_storm', 'Most likely a consequence of org_quota: '],
    ]);
    expect(report([rule], 'zh-CN')[1]).toEqual(['retry_storm', '很可能是 org_quota 造成的后果：请先解决它。只重试可能成功的错误（42']);
  });
});
