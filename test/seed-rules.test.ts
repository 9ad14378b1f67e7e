import { afterEach, describe, expect, it } from 'vitest';
import { autofix, init, shutdown, track, EventTypes } from '../src/index';
import type { AutopsyReport } from '../analyzers/reportTypes';
import { readReport } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

// Every seed rule and edge case of DESIGN.md "The report", driven through the public API.

async function runWith(record: () => void | Promise<void>, locale: 'en' | 'zh-CN' = 'en'): Promise<{ report: AutopsyReport; dir: string }> {
  const dir = tempRunDir();
  init({ outputDir: dir, locale, handleExit: false });
  await record();
  const report = (await shutdown())!;
  return { report, dir };
}

function errors(type: string, count: number, data: Record<string, unknown> = {}): void {
  for (let i = 0; i < count; i++) track(type, { error: `${type} #${i + 1}`, ...data }, 'ERROR');
}

afterEach(async () => {
  await shutdown();
});

describe('failure_analysis', () => {
  it('counts ERROR events by type and by stage ("unknown" when data has no stage)', async () => {
    const { report } = await runWith(() => {
      track(EventTypes.STAGE_START, { stage: 'stage1' });
      track(EventTypes.TASK_ERROR, { stage: 'stage1', error: 'boom' }, 'ERROR');
      track(EventTypes.LLM_CALL_ERROR, { error: 'Rate limit exceeded' }, 'ERROR');
      track('syntax_error', { stage: 'stage2', error: 'SyntaxError' }, 'ERROR');
      track('slow_response', { stage: 'stage2' }, 'WARNING');
      track(EventTypes.STAGE_END, { stage: 'stage1' });
    });
    expect(report.failure_analysis.total_failures).toBe(3);
    expect(report.failure_analysis.failures_by_type).toEqual({ task_error: 1, llm_call_error: 1, syntax_error: 1 });
    expect(report.failure_analysis.failures_by_stage).toEqual({ stage1: 1, unknown: 1, stage2: 1 });
  });

  it('lists task, llm and code errors as critical failures with timestamp, type, stage and error', async () => {
    const { report } = await runWith(() => {
      track(EventTypes.TASK_ERROR, { stage: 's1', error: 'task broke' }, 'ERROR');
      track(EventTypes.CODE_EXEC_ERROR, { stage: 's1' }, 'ERROR');
      track('syntax_error', { stage: 's1', error: 'not critical' }, 'ERROR');
      track(EventTypes.LLM_CALL_ERROR, { error: '429' }, 'ERROR');
    });
    const critical = report.failure_analysis.critical_failures;
    expect(critical.map(({ timestamp: _t, ...rest }) => rest)).toEqual([
      { type: 'task_error', stage: 's1', error: 'task broke' },
      { type: 'code_exec_error', stage: 's1', error: 'Unknown error' },
      { type: 'llm_call_error', stage: 'unknown', error: '429' },
    ]);
    for (const failure of critical) expect(failure.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it('does not count an ERROR-typed event with another level', async () => {
    const { report } = await runWith(() => {
      track(EventTypes.LLM_CALL_ERROR, { error: 'x' }, 'WARNING');
    });
    expect(report.failure_analysis.total_failures).toBe(0);
    expect(report.failure_analysis.critical_failures).toEqual([]);
  });
});

describe('failure_patterns (strict thresholds)', () => {
  it('3 LLM errors are not frequent, 4 are (high)', async () => {
    const three = await runWith(() => errors('llm_call_error', 3));
    expect(three.report.failure_analysis.failure_patterns).toEqual([]);
    expect(three.report.fix_suggestions).toEqual([]);
    const four = await runWith(() => errors('llm_call_error', 4));
    expect(four.report.failure_analysis.failure_patterns).toEqual([
      {
        pattern: 'frequent_llm_errors',
        description: 'LLM calls failed 4 times',
        severity: 'high',
        suggestion: 'Check the API key, network connectivity and rate limits',
      },
    ]);
  });

  it('a stage needs more than 2 failures, and "unknown" never makes a stage pattern', async () => {
    const { report } = await runWith(() => {
      errors('task_error', 2, { stage: 'stage1' });
      errors('task_error', 3, { stage: 'stage2' });
      errors('task_error', 5);
    });
    expect(report.failure_analysis.failures_by_stage).toEqual({ stage1: 2, stage2: 3, unknown: 5 });
    expect(report.failure_analysis.failure_patterns).toEqual([
      {
        pattern: 'stage_specific_failures',
        description: 'Stage stage2 failed 3 times',
        severity: 'medium',
        suggestion: 'Look at the failures of stage stage2 by type and at the top diagnosis',
      },
    ]);
  });

  it("stage_specific_failures' suggestion holds for any agent, not only one that generates code", async () => {
    const record = () => errors('task_error', 3, { stage: 'triage' });
    const en = (await runWith(record)).report.failure_analysis.failure_patterns;
    const zh = (await runWith(record, 'zh-CN')).report.failure_analysis.failure_patterns;
    expect(en.map((p) => p.suggestion)).toEqual(['Look at the failures of stage triage by type and at the top diagnosis']);
    expect(zh.map((p) => p.suggestion)).toEqual(['请查看阶段 triage 按类型统计的失败，以及排在首位的诊断']);
  });

  it('2 syntax errors are not frequent, 3 are (medium) and bring the P1 suggestion', async () => {
    const two = await runWith(() => errors('syntax_error', 2));
    expect(two.report.failure_analysis.failure_patterns).toEqual([]);
    const three = await runWith(() => errors('syntax_error', 3));
    expect(three.report.failure_analysis.failure_patterns.map((p) => [p.pattern, p.severity, p.description])).toEqual([
      ['frequent_syntax_errors', 'medium', '3 syntax errors'],
    ]);
    expect(three.report.fix_suggestions.map((s) => [s.priority, s.category])).toEqual([['P1', 'code_generation']]);
  });

  it('patterns come in the seed order: llm, stages (first-seen order), syntax', async () => {
    const { report } = await runWith(() => {
      errors('syntax_error', 3, { stage: 'b' });
      errors('llm_call_error', 4, { stage: 'a' });
    });
    expect(report.failure_analysis.failure_patterns.map((p) => `${p.pattern}:${p.description}`)).toEqual([
      'frequent_llm_errors:LLM calls failed 4 times',
      'stage_specific_failures:Stage b failed 3 times',
      'stage_specific_failures:Stage a failed 4 times',
      'frequent_syntax_errors:3 syntax errors',
    ]);
  });
});

describe('fix_suggestions', () => {
  it('P0, P1 and P2 in that order with their categories and details', async () => {
    const { report } = await runWith(async () => {
      errors('llm_call_error', 4);
      errors('syntax_error', 3);
      await autofix({ layer: 1, type: 'syntax' }, () => false);
      await autofix({ layer: 2, type: 'syntax' }, () => false);
      await autofix({ layer: 3, type: 'syntax' }, () => true);
    });
    expect(report.fix_suggestions.map((s) => [s.priority, s.category])).toEqual([
      ['P0', 'api_management'],
      ['P1', 'code_generation'],
      ['P2', 'error_recovery'],
    ]);
    expect(report.fix_suggestions[0]).toEqual({
      priority: 'P0',
      category: 'api_management',
      suggestion: 'Enforce stricter rate limiting on LLM calls',
      details: ['Wait longer between calls that share an API key', 'Retry with exponential backoff and honour retry-after', 'Spread the load over several API keys'],
    });
    for (const suggestion of report.fix_suggestions) expect(suggestion.details).toHaveLength(3);
  });

  it("P0's details fit LLM errors that no retry fixes: a refused key (401/403), a prompt over the context window", async () => {
    const failed = (count: number, data: Record<string, unknown>) => {
      for (let i = 0; i < count; i++) track(EventTypes.LLM_CALL_ERROR, { stage: 's', model: 'claude-sonnet-4', ...data }, 'ERROR');
    };
    const AUTH = { error: '401 {"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}', error_type: 'AuthenticationError', http_status: 401 };
    const RATE = { error: '429 Rate limit reached', error_type: 'RateLimitError', http_status: 429 };
    const OVERFLOW = { error: 'prompt is too long: 210043 tokens > 200000 maximum', error_type: 'BadRequestError', http_status: 400 };
    const p0 = async (record: () => void, locale: 'en' | 'zh-CN' = 'en') => (await runWith(record, locale)).report.fix_suggestions;

    expect(await p0(() => failed(6, AUTH))).toEqual([
      {
        priority: 'P0',
        category: 'api_management',
        suggestion: 'Fix the API key the LLM calls use: the provider refused it',
        details: [
          'Check the key the process really sees (the environment variable or apiKey option): set, not expired or revoked, rotated everywhere the agent runs, allowed to use this model',
          'Do not retry 401/403: the same key is refused every time',
          'Fail fast at start-up: make one cheap call with the key before starting the work',
        ],
      },
    ]);
    // A 403 without a class, and a key error told only by its class, are refusals too.
    expect((await p0(() => (failed(2, { error: '403 Forbidden', http_status: 403 }), failed(2, { error: 'bad key', error_type: 'openai.AuthenticationError' }))))[0].suggestion).toBe(
      'Fix the API key the LLM calls use: the provider refused it',
    );
    expect(await p0(() => (failed(3, OVERFLOW), failed(1, RATE)))).toEqual([
      {
        priority: 'P0',
        category: 'api_management',
        suggestion: "Keep prompts inside the model's context window",
        details: [
          'Count tokens before sending and stay under the window (max_tokens counts against it)',
          'Do not resend the same prompt: it fails the same way; truncate or summarise old turns and tool output first',
          'Retrieve less, or switch to a model with a larger context window',
        ],
      },
    ]);
    // Half refused and half rate-limited is no majority: pacing still matters, the seed's details stay.
    expect((await p0(() => (failed(2, AUTH), failed(2, RATE))))[0].details).toEqual([
      'Wait longer between calls that share an API key',
      'Retry with exponential backoff and honour retry-after',
      'Spread the load over several API keys',
    ]);
    expect(await p0(() => failed(4, AUTH), 'zh-CN')).toEqual([
      {
        priority: 'P0',
        category: 'api_management',
        suggestion: '修正 LLM 调用所用的 API 密钥：服务商拒绝了它',
        details: [
          '核对进程实际读取到的密钥（环境变量或 apiKey 选项）：是否已设置、是否过期或被吊销、是否已在智能体运行的每个地方完成轮换、是否有权使用该模型',
          '不要重试 401/403：同一个密钥每次都会被拒绝',
          '在启动时尽早失败：开始工作前先用该密钥做一次低成本调用',
        ],
      },
    ]);
    expect((await p0(() => failed(4, OVERFLOW), 'zh-CN'))[0].suggestion).toBe('让提示词保持在模型的上下文窗口以内');
  });

  it('P2 only when failed fixes outnumber successful ones (equal is not enough)', async () => {
    const equal = await runWith(async () => {
      await autofix({ layer: 1, type: 'syntax' }, () => false);
      await autofix({ layer: 1, type: 'syntax' }, () => true);
    });
    expect(equal.report.fix_suggestions).toEqual([]);
    const worse = await runWith(async () => {
      await autofix({ layer: 1, type: 'syntax' }, () => false);
    });
    expect(worse.report.fix_suggestions.map((s) => s.priority)).toEqual(['P2']);
  });
});

describe('summary', () => {
  it('zero attempts gives "0.0%" and no failures gives N/A', async () => {
    const { report } = await runWith(() => {
      track(EventTypes.STAGE_START, { stage: 'stage1' });
    });
    expect(report.summary).toEqual({
      total_failures: 0,
      total_autofix_attempts: 0,
      autofix_success_rate: '0.0%',
      most_common_failure: 'N/A',
      most_problematic_stage: 'N/A',
    });
  });

  it('a tie picks the key seen first in event order', async () => {
    const { report } = await runWith(() => {
      track('code_exec_error', { stage: 'stage2', error: 'a' }, 'ERROR');
      track('llm_call_error', { stage: 'stage1', error: 'b' }, 'ERROR');
      track('llm_call_error', { stage: 'stage1', error: 'c' }, 'ERROR');
      track('code_exec_error', { stage: 'stage2', error: 'd' }, 'ERROR');
    });
    expect(report.summary.most_common_failure).toBe('code_exec_error');
    expect(report.summary.most_problematic_stage).toBe('stage2');
  });

  it('success rate is successes / attempts with one decimal', async () => {
    const { report } = await runWith(async () => {
      for (const ok of [true, true, false]) await autofix({ layer: 1, type: 'syntax' }, () => ok);
    });
    expect(report.summary.autofix_success_rate).toBe('66.7%');
    expect(report.summary.total_autofix_attempts).toBe(3);
  });
});

describe('autofix_statistics', () => {
  it('counts attempts by type and layer, as autofix_log.json holds them', async () => {
    const { report } = await runWith(async () => {
      await autofix({ layer: 1, type: 'syntax' }, () => true);
      await autofix({ layer: 2, type: 'import' }, async () => false);
      expect(() =>
        autofix({ layer: 3, type: 'syntax' }, () => {
          throw new Error('repair crashed');
        }),
      ).toThrow('repair crashed');
    });
    expect(report.autofix_statistics).toEqual({
      total_attempts: 3,
      successful_fixes: 1,
      failed_fixes: 2,
      fixes_by_type: { syntax: 2, import: 1 },
      fixes_by_layer: { layer1: 1, layer2: 1, layer3: 1 },
    });
  });
});

describe('locale', () => {
  it('zh-CN changes messages but never ids, categories or field names', async () => {
    const { report, dir } = await runWith(async () => {
      errors('llm_call_error', 4, { stage: 'stage3' });
      errors('syntax_error', 3, { stage: 'stage3' });
      await autofix({ layer: 1, type: 'syntax' }, () => false);
    }, 'zh-CN');
    expect(report.failure_analysis.failure_patterns.map((p) => [p.pattern, p.severity, p.description])).toEqual([
      ['frequent_llm_errors', 'high', 'LLM 调用共失败 4 次'],
      ['stage_specific_failures', 'medium', '阶段 stage3 共失败 7 次'],
      ['frequent_syntax_errors', 'medium', '出现语法错误 3 次'],
    ]);
    expect(report.fix_suggestions.map((s) => [s.priority, s.category, s.suggestion])).toEqual([
      ['P0', 'api_management', '对 LLM 调用实施更严格的速率限制'],
      ['P1', 'code_generation', '加强语法修复器'],
      ['P2', 'error_recovery', '改进错误恢复机制'],
    ]);
    // Written as UTF-8 text, not \u escapes, like json.dump(ensure_ascii=False).
    expect(JSON.stringify(readReport(dir))).toContain('LLM 调用共失败 4 次');
  });

  // The seed reporter fills a critical failure without data.error with 'Unknown error' whatever
  // the language of its messages (the original, written for Chinese users, did so too): it is the
  // entry's data, not a message, so a consumer matching on it sees the same value in every locale.
  it("zh-CN keeps 'Unknown error' as the error of a critical failure that has none", async () => {
    const { report, dir } = await runWith(() => {
      track(EventTypes.CODE_EXEC_ERROR, { stage: 's1' }, 'ERROR');
      track(EventTypes.TASK_ERROR, { stage: 's1', error: null }, 'ERROR');
    }, 'zh-CN');
    const expected = [
      { type: 'code_exec_error', stage: 's1', error: 'Unknown error' },
      { type: 'task_error', stage: 's1', error: null },
    ];
    expect(report.failure_analysis.critical_failures.map(({ timestamp: _t, ...rest }) => rest)).toEqual(expected);
    expect(readReport(dir).failure_analysis.critical_failures.map(({ timestamp: _t, ...rest }: { timestamp: string }) => rest)).toEqual(expected);
  });
});
