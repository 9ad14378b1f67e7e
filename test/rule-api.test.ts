import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CustomRuleEngine, validateRule } from '../analyzers/customRules';
import type { DiagnosisRule } from '../analyzers/diagnosisTypes';
import { analyzeRunSync } from '../analyzers/readRun';
import type { ExitInfo } from '../analyzers/reportTypes';
import { RunAnalyzer } from '../analyzers/RunAnalyzer';
import type { TruthEvent } from '../src/types';
import { runNode, writeScript } from './helpers/childProcess';
import { readReport } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

const T0 = Date.parse('2025-01-24T10:30:00.000Z');
function ev(at: number, type: string, data: Record<string, unknown> = {}, extra: Partial<TruthEvent> = {}): TruthEvent {
  const level = type.endsWith('_error') ? 'ERROR' : 'INFO';
  return { timestamp: new Date(T0 + at * 1000).toISOString(), elapsed_seconds: at, type, level, data, ...extra };
}

const POOL = 'sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00';
/** A database pool exhausted inside a tool call: it fails the task and the stage with the same message. */
const poolRun = [
  ev(0, 'stage_start', { stage: 'stage1' }, { span_id: 'S' }),
  ev(1, 'task_error', { stage: 'stage1', task: 'lookup', error: POOL, error_type: 'TimeoutError' }, { span_id: 'T1', parent_span_id: 'S' }),
  ev(2, 'task_error', { stage: 'stage1', task: 'lookup', error: POOL, error_type: 'TimeoutError' }, { span_id: 'T2', parent_span_id: 'S' }),
  ev(3, 'stage_error', { stage: 'stage1', error: POOL, error_type: 'TimeoutError' }, { span_id: 'S' }),
  ev(4, 'checkpoint_save', { stage: 'stage1' }),
];

function diagnose(rules: DiagnosisRule[], events: TruthEvent[] = poolRun, locale = 'en', exit?: ExitInfo) {
  const analyzer = new RunAnalyzer({ rules, locale });
  for (const event of events) analyzer.observe(event);
  return analyzer.buildReport({ now: T0 + 10_000, exit }).diagnoses;
}

const poolRule: DiagnosisRule = {
  id: 'db_pool_exhausted',
  severity: 'high',
  title: 'The database connection pool ran out',
  suggestion: 'Raise pool_size / max_overflow or release sessions after each tool call.',
  eventType: ['task_error', 'stage_error'],
  error: /QueuePool limit/,
  confidence: 0.9,
};

describe('user rules', () => {
  it('match on event type and a regex on the error, once per origin', () => {
    const [pool, timeout] = diagnose([poolRule]);
    expect(pool).toEqual({
      id: 'db_pool_exhausted',
      severity: 'high',
      confidence: 0.9,
      title: 'The database connection pool ran out',
      evidence: { count: 2, first: poolRun[1].timestamp, last: poolRun[2].timestamp, examples: [`task_error (stage1): ${POOL}`], span_ids: ['T1', 'T2'] },
      suggestion: 'Raise pool_size / max_overflow or release sessions after each tool call.',
    });
    // Without `explains`, the built-in reading of the same errors stays.
    expect(timeout.id).toBe('llm_timeout');
  });

  it('count every report of an error with countPropagated', () => {
    const [pool] = diagnose([{ ...poolRule, countPropagated: true }]);
    expect(pool.evidence.count).toBe(3);
  });

  it('replace built-in diagnoses they explain, and take over what those caused', () => {
    const explains = { ...poolRule, explains: ['llm_timeout'] };
    expect(diagnose([explains]).map((d) => d.id)).toEqual(['db_pool_exhausted']);
    // Four timeouts in a row: a retry storm caused by llm_timeout, which the rule explains.
    const storm = [0, 1, 2, 3].map((i) => ev(i, 'llm_call_error', { stage: 's', model: 'm', error: `Request timed out. ${POOL}` }, { span_id: `L${i}` }));
    const ranked = diagnose([{ ...explains, severity: 'low', eventType: 'llm_call_error' }], storm);
    expect(ranked.map((d) => d.id)).toEqual(['db_pool_exhausted', 'retry_storm']);
  });

  it('need minCount pieces of evidence', () => {
    expect(diagnose([{ ...poolRule, minCount: 3 }]).map((d) => d.id)).toEqual(['llm_timeout']);
    expect(diagnose([{ ...poolRule, minCount: 2 }]).map((d) => d.id)).toEqual(['db_pool_exhausted', 'llm_timeout']);
  });

  it('filter on level, match a string case-insensitively, and accept the RegExp-on-type-or-error form', () => {
    const rules: DiagnosisRule[] = [
      { id: 'checkpoints', severity: 'low', title: 'Checkpoints', suggestion: 'ok', eventType: /^checkpoint_/, level: 'INFO' },
      { id: 'pool_text', title: 'Pool', suggestion: 'ok', error: 'queuepool' },
      { id: 'legacy', title: 'Legacy', suggestion: 'ok', match: /^stage_error$/, countPropagated: true },
      { id: 'symptom_only', title: 'Only symptoms', suggestion: 'ok', match: /^stage_error$/ },
      { id: 'legacy_error_text', title: 'Legacy text', suggestion: 'ok', match: /overflow 10/g },
      { id: 'warnings_only', title: 'Warnings', suggestion: 'ok', eventType: 'checkpoint_save', level: ['WARNING'] },
    ];
    const found = Object.fromEntries(diagnose(rules).map((d) => [d.id, d.evidence.count]));
    // The stage error only repeats the task errors: a rule sees it with countPropagated alone.
    expect(found).toEqual({ llm_timeout: 2, checkpoints: 1, pool_text: 2, legacy: 1, legacy_error_text: 2 });
  });

  it('use a predicate, and survive one that throws', () => {
    const rules: DiagnosisRule[] = [
      { id: 'slow_lookup', title: 'Lookups', suggestion: 'ok', match: (event) => event.data.task === 'lookup' },
      {
        id: 'broken',
        title: 'Broken',
        suggestion: 'ok',
        match: () => {
          throw new Error('bug in a user rule');
        },
      },
    ];
    expect(diagnose(rules).map((d) => [d.id, d.evidence.count, d.confidence])).toEqual([
      ['slow_lookup', 2, 0.6],
      ['llm_timeout', 2, 0.5], // a TimeoutError outside an LLM call is weak evidence of an LLM timeout
    ]);
  });

  it('speak the report language when given texts per locale', () => {
    const rule: DiagnosisRule = { ...poolRule, title: { en: 'Pool exhausted', 'zh-CN': '数据库连接池耗尽' }, suggestion: { en: 'Raise the pool size.', 'zh-CN': '增大连接池。' } };
    const [zh] = diagnose([rule], poolRun, 'zh-CN');
    expect([zh.title, zh.suggestion]).toEqual(['数据库连接池耗尽', '增大连接池。']);
    const [fallback] = diagnose([{ ...rule, title: { en: 'Pool exhausted' } }], poolRun, 'zh-CN');
    expect(fallback.title).toBe('Pool exhausted');
  });
});

describe('rule validation', () => {
  const base = { id: 'ok_rule', title: 't', suggestion: 's', eventType: 'task_error' } as DiagnosisRule;
  it.each([
    [{ ...base, id: 'has space' }, 'diagnosis rule id must be a non-empty identifier'],
    [{ ...base, id: 'crash' }, 'is a built-in id; choose another id and list "crash" in explains to replace it'],
    [{ ...base, title: 3 }, 'needs a title and a suggestion'],
    [{ id: 'x', title: 't', suggestion: 's' }, 'needs at least one of match, eventType or error'],
    [{ ...base, match: 'text' }, 'match must be a RegExp or (event) => boolean'],
    [{ ...base, eventType: 4 }, 'eventType must be a string, an array of strings or a RegExp'],
    [{ ...base, error: 4 }, 'error must be a RegExp or a string'],
    [{ ...base, level: 'DEBUG' }, 'level must be INFO, WARNING or ERROR'],
    [{ ...base, severity: 'urgent' }, 'severity must be critical, high, medium or low'],
    [{ ...base, minCount: 0 }, 'minCount must be a whole number of at least 1'],
    [{ ...base, confidence: 2 }, 'confidence must be a number from 0 to 1'],
    [{ ...base, explains: 'crash' }, 'explains must be an array of diagnosis ids'],
  ])('%j', (rule, message) => {
    expect(() => validateRule(rule as unknown as DiagnosisRule)).toThrow(message);
  });

  it('rejects two rules with one id', () => {
    expect(() => new CustomRuleEngine([base, base])).toThrow('two diagnosis rules share the id "ok_rule"');
  });

  it('rules that are not an array are named as such (not "rules is not iterable", or each character of a string as a rule)', () => {
    expect(() => new CustomRuleEngine(base as unknown as DiagnosisRule[])).toThrow('agent-autopsy: rules must be an array of diagnosis rules, got an object (a single rule? wrap it in [ ])');
    expect(() => new CustomRuleEngine('ok_rule' as unknown as DiagnosisRule[])).toThrow('agent-autopsy: rules must be an array of diagnosis rules, got string');
  });
});

describe('the analyzers entry point', () => {
  it('applies rules to a recorded run read from disk', () => {
    const rule: DiagnosisRule = {
      id: 'org_rate_limit',
      severity: 'critical',
      title: 'Our organisation hit its OpenAI rate limit',
      suggestion: 'Move batch jobs to the night quota.',
      error: /organization org-fake/,
      explains: ['rate_limited', 'retry_storm'],
    };
    const { report } = analyzeRunSync(join(__dirname, 'fixtures', 'runs', 'mixed_rate_limit_cascade'), { rules: [rule] });
    expect(report.diagnoses.map((d) => d.id)).toEqual(['org_rate_limit', 'crash', 'code_syntax_errors', 'autofix_ineffective']);
    expect(report.diagnoses[0].evidence.count).toBe(8);
  });
});

describe('init({ rules }) in a real process', () => {
  it('writes the user diagnosis into the autopsy, next to the built-in ones', async () => {
    const runDir = tempRunDir();
    const script = writeScript(`
      import { init, shutdown, stage, task } from 'agent-autopsy';
      import { analyzeRunSync } from 'agent-autopsy/analyzers';
      const rules = [{
        id: 'vector_store_down',
        severity: 'high',
        title: 'The vector store refused connections',
        suggestion: 'Start the vector store before the agent (docker compose up qdrant).',
        eventType: 'task_error',
        error: /ECONNREFUSED 127\\.0\\.0\\.1:6333/,
        explains: ['dependency_unreachable'],
      }];
      init({ outputDir: process.env.RUN_DIR, rules, reportFormats: [] });
      for (const attempt of [1, 2]) {
        await stage('retrieve', () => task('search', async () => {
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6333'), { code: 'ECONNREFUSED' });
        })).catch(() => undefined);
      }
      const report = await shutdown();
      const offline = analyzeRunSync(process.env.RUN_DIR, { rules }).report;
      console.log(JSON.stringify({ live: report.diagnoses.map((d) => [d.id, d.evidence.count]), offline: offline.diagnoses.map((d) => [d.id, d.evidence.count]) }));
    `);
    const result = await runNode(script, { env: { RUN_DIR: runDir } });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ live: [['vector_store_down', 2]], offline: [['vector_store_down', 2]] });
    const written = readReport(runDir).diagnoses;
    expect(written.map((d) => d.id)).toEqual(['vector_store_down']);
    expect(written[0].suggestion).toBe('Start the vector store before the agent (docker compose up qdrant).');
  });

  it('refuses an invalid rule at init with a clear error', async () => {
    const script = writeScript(`
      import { init } from 'agent-autopsy';
      try {
        init({ outputDir: process.env.RUN_DIR, rules: [{ id: 'rate_limited', title: 't', suggestion: 's', error: /x/ }] });
      } catch (error) {
        console.log(error.message);
      }
    `);
    const runDir = tempRunDir();
    const result = await runNode(script, { env: { RUN_DIR: runDir } });
    expect(result.stdout.trim()).toBe('agent-autopsy: diagnosis rule id "rate_limited" is a built-in id; choose another id and list "rate_limited" in explains to replace it');
  });
});
