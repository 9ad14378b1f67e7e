import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AutopsyReport } from '../analyzers/reportTypes';
import type { RunDiff } from '../src/cli/diffRuns';
import type { TruthEvent } from '../src/types';
import { event, runCli, writeTruthLog } from './helpers/cli';
import { tempRunDir } from './helpers/tempDirs';

const tempDir = () => tempRunDir('autopsy-diff-');

/** Run A: four rate-limited calls in stage1 and a syntax error in stage2. */
function runA(): TruthEvent[] {
  const events = [event('stage_start', { stage: 'stage1' }, 'INFO', 0)];
  for (let i = 0; i < 4; i++) {
    events.push(event('llm_call_start', { model: 'gpt-4o', stage: 'stage1' }, 'INFO', 0.1 + i * 0.2));
    events.push(event('llm_call_error', { model: 'gpt-4o', stage: 'stage1', error: '429 Rate limit reached for gpt-4o', http_status: 429, error_type: 'RateLimitError', duration: 0.1 }, 'ERROR', 0.2 + i * 0.2));
  }
  events.push(event('llm_call_start', { model: 'gpt-4o', stage: 'stage1' }, 'INFO', 1.0));
  events.push(event('llm_call_end', { model: 'gpt-4o', stage: 'stage1', input_tokens: 1000, output_tokens: 200, tokens_used: 1200, duration: 0.5 }, 'INFO', 1.5));
  events.push(event('stage_end', { stage: 'stage1', duration: 2 }, 'INFO', 2));
  events.push(event('stage_start', { stage: 'stage2' }, 'INFO', 2));
  events.push(event('code_exec_error', { stage: 'stage2', error: "SyntaxError: expected ':'" }, 'ERROR', 2.5));
  events.push(event('stage_end', { stage: 'stage2', duration: 2 }, 'INFO', 4));
  return events;
}

/** Run B: the rate limit is gone; stage2 still has its syntax error and is faster; fewer tokens. */
function runB(): TruthEvent[] {
  return [
    event('stage_start', { stage: 'stage1' }, 'INFO', 0),
    event('llm_call_start', { model: 'gpt-4o', stage: 'stage1' }, 'INFO', 0.1),
    event('llm_call_end', { model: 'gpt-4o', stage: 'stage1', input_tokens: 800, output_tokens: 200, tokens_used: 1000, duration: 0.4 }, 'INFO', 0.5),
    event('stage_end', { stage: 'stage1', duration: 0.5 }, 'INFO', 0.5),
    event('stage_start', { stage: 'stage2' }, 'INFO', 0.5),
    event('code_exec_error', { stage: 'stage2', error: "SyntaxError: expected ':'" }, 'ERROR', 1),
    event('stage_end', { stage: 'stage2', duration: 1.5 }, 'INFO', 2),
  ];
}

/** Run C: like B, but stage3 times out. */
function runC(): TruthEvent[] {
  return [
    ...runB(),
    event('stage_start', { stage: 'stage3' }, 'INFO', 2),
    event('llm_call_start', { model: 'gpt-4o', stage: 'stage3' }, 'INFO', 2.1),
    event('llm_call_error', { model: 'gpt-4o', stage: 'stage3', error: 'Request timed out.', error_type: 'APIConnectionTimeoutError', duration: 60 }, 'ERROR', 62.1),
    event('stage_error', { stage: 'stage3', error: 'Request timed out.', duration: 60.2 }, 'ERROR', 62.2),
  ];
}

describe('agent-autopsy diff', () => {
  let a = '';
  let b = '';
  let c = '';
  let reportA: AutopsyReport;
  let reportB: AutopsyReport;
  beforeAll(async () => {
    a = tempDir();
    b = tempDir();
    c = tempDir();
    writeTruthLog(a, runA());
    writeTruthLog(b, runB());
    writeTruthLog(c, runC());
    reportA = JSON.parse((await runCli(['report', a])).stdout);
    reportB = JSON.parse((await runCli(['report', b])).stdout);
  });

  it('reports what got better as JSON: failures by type and stage, diagnoses, tokens, durations', async () => {
    const result = await runCli(['diff', a, b, '--format', 'json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const diff = JSON.parse(result.stdout) as RunDiff;
    expect(diff.verdict).toBe('better');
    expect(diff.regressions).toEqual([]);
    expect(diff.failures.total).toEqual({ key: 'total_failures', a: 5, b: 1, delta: -4, trend: 'better' });
    expect(diff.failures.by_type).toEqual([
      { key: 'llm_call_error', a: 4, b: 0, delta: -4, trend: 'better' },
      { key: 'code_exec_error', a: 1, b: 1, delta: 0, trend: 'same' },
    ]);
    expect(diff.failures.by_stage).toEqual([
      { key: 'stage1', a: 4, b: 0, delta: -4, trend: 'better' },
      { key: 'stage2', a: 1, b: 1, delta: 0, trend: 'same' },
    ]);
    const idsA = reportA.diagnoses.map((d) => d.id);
    const idsB = reportB.diagnoses.map((d) => d.id);
    expect(idsA).toContain('rate_limited');
    expect(diff.diagnoses!.resolved.map((d) => d.id)).toEqual(idsA.filter((id) => !idsB.includes(id)));
    expect(diff.diagnoses!.resolved.map((d) => d.id)).toContain('rate_limited');
    expect(diff.diagnoses!.appeared).toEqual([]);
    expect(diff.diagnoses!.persisting.map((d) => d.id)).toEqual(idsB.filter((id) => idsA.includes(id)));
    expect(diff.llm!.find((c) => c.key === 'input_tokens')).toEqual({ key: 'input_tokens', a: 1000, b: 800, delta: -200, trend: 'changed' });
    expect(diff.llm!.find((c) => c.key === 'errors')).toEqual({ key: 'errors', a: 4, b: 0, delta: -4, trend: 'better' });
    expect(diff.duration_seconds).toEqual({ a: 4, b: 2, delta: -2 });
    expect(diff.stages!.map((s) => [s.stage, s.a_duration, s.b_duration, s.a_failures, s.b_failures, s.trend])).toEqual([
      ['stage1', 2, 0.5, 4, 0, 'better'],
      ['stage2', 2, 1.5, 1, 1, 'same'],
    ]);
    expect(diff.improvements).toContain('failures 5 → 1');
    expect(diff.improvements).toContain('resolved diagnosis rate_limited');
  });

  it('prints readable text, and without colour when piped', async () => {
    const result = await runCli(['diff', a, b]);
    expect(result.code).toBe(0);
    const text = result.stdout;
    expect(text).not.toContain('\u001b[');
    const lines = text.split('\n');
    expect(lines[0]).toBe('agent-autopsy diff');
    expect(lines[1]).toBe(`  A  ${a}  (${runA().length} events, 4 s, ended ${reportA.exit.description})`);
    expect(lines).toContain('Verdict: better — ' + `${JSON.parse((await runCli(['diff', a, b, '--format', 'json'])).stdout).improvements.length} improvement(s), 0 regression(s)`);
    expect(lines).toContain('  total                   5 → 1                   −4                better');
    expect(lines).toContain('    llm_call_error        4 → 0                   −4                better');
    expect(lines).toContain('    code_exec_error       1 → 1                   =');
    expect(lines.some((line) => /^ {2}resolved {2}rate_limited \(\w+, 4×\) — /.test(line))).toBe(true);
    expect(lines).toContain('  input tokens            1000 → 800              −200 (−20.0%)');
    expect(lines).toContain('  run                     4 s → 2 s               −2 s (−50.0%)');
    expect(lines).toContain('  stage stage1            2 s → 0.5 s             −1.5 s');
  });

  it('colours better and worse when asked (FORCE_COLOR, which wins over NO_COLOR as in Node) and never with FORCE_COLOR=0', async () => {
    const coloured = await runCli(['diff', a, b], { env: { FORCE_COLOR: '1' } });
    expect(coloured.stdout).toContain('\u001b[32mbetter\u001b[39m');
    expect((await runCli(['diff', a, b], { env: { FORCE_COLOR: '1', NO_COLOR: '1' } })).stdout).toBe(coloured.stdout);
    const plain = await runCli(['diff', a, b], { env: { FORCE_COLOR: '0' } });
    expect(plain.stdout).not.toContain('\u001b[');
  });

  it('names regressions and fails CI on them with --fail-on-regression', async () => {
    const result = await runCli(['diff', b, c, '--format', 'json', '--fail-on-regression']);
    expect(result.code).toBe(1);
    const diff = JSON.parse(result.stdout) as RunDiff;
    expect(diff.verdict).toBe('worse');
    expect(diff.failures.total).toMatchObject({ a: 1, b: 3, trend: 'worse' });
    expect(diff.stages!.find((s) => s.stage === 'stage3')).toMatchObject({ a_outcome: null, b_outcome: 'error', b_failures: 2, trend: 'worse' });
    expect(diff.diagnoses!.appeared.map((d) => d.id)).toContain('llm_timeout');
    expect(diff.regressions).toContain('failures 1 → 3');
    expect(diff.regressions).toContain('new diagnosis llm_timeout');
    expect((await runCli(['diff', a, b, '--fail-on-regression'])).code).toBe(0);
  });

  it('counts every row marked worse or better in the verdict and --fail-on-regression: a new stage that failed, failures moved between stages', async () => {
    // The same number of failures in A and B each time: only the rows say what changed.
    const oneTaskError = tempDir();
    writeTruthLog(oneTaskError, [event('stage_start', { stage: 's1' }, 'INFO', 0), event('task_error', { stage: 's1', error: 'x' }, 'ERROR', 1), event('stage_end', { stage: 's1' }, 'INFO', 2)]);
    const newFailedStage = tempDir();
    writeTruthLog(newFailedStage, [
      event('stage_start', { stage: 's1' }, 'INFO', 0),
      event('stage_end', { stage: 's1' }, 'INFO', 1),
      event('stage_start', { stage: 's3' }, 'INFO', 2),
      event('stage_error', { stage: 's3', error: 'fatal' }, 'ERROR', 3),
    ]);
    let result = await runCli(['diff', oneTaskError, newFailedStage, '--format', 'json', '--fail-on-regression']);
    expect(result.code).toBe(1);
    let diff = JSON.parse(result.stdout) as RunDiff;
    expect(diff.verdict).toBe('mixed');
    expect(diff.regressions).toEqual(['failures of type stage_error 0 → 1', 'failures in stage s3 0 → 1', 'stage s3: absent → error, failures 0 → 1']);
    expect(diff.improvements).toEqual(['failures of type task_error 1 → 0', 'failures in stage s1 1 → 0']);
    result = await runCli(['diff', oneTaskError, newFailedStage, '--fail-on-regression']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('Verdict: mixed — 2 improvement(s), 3 regression(s)\n');
    expect(result.stdout).toContain('  - stage s3: absent → error, failures 0 → 1\n');

    const rateLimited = tempDir();
    writeTruthLog(rateLimited, [
      event('stage_start', { stage: 's1' }, 'INFO', 0),
      event('llm_call_start', { stage: 's1' }, 'INFO', 1),
      event('llm_call_error', { stage: 's1', error: '429 rate', error_type: 'RateLimitError', http_status: 429, model: 'm' }, 'ERROR', 2),
      event('llm_call_error', { stage: 's1', error: '429 rate', error_type: 'RateLimitError', http_status: 429, model: 'm' }, 'ERROR', 3),
      event('stage_end', { stage: 's1' }, 'INFO', 4),
      event('stage_start', { stage: 's2' }, 'INFO', 5),
      event('stage_end', { stage: 's2' }, 'INFO', 6),
    ]);
    const taskErrors = tempDir();
    writeTruthLog(taskErrors, [
      event('stage_start', { stage: 's1' }, 'INFO', 0),
      event('stage_end', { stage: 's1' }, 'INFO', 1),
      event('stage_start', { stage: 's2' }, 'INFO', 2),
      event('task_error', { stage: 's2', error: 'boom' }, 'ERROR', 3),
      event('task_error', { stage: 's2', error: 'boom' }, 'ERROR', 4),
      event('stage_end', { stage: 's2' }, 'INFO', 5),
    ]);
    result = await runCli(['diff', rateLimited, taskErrors, '--format', 'json', '--fail-on-regression']);
    expect(result.code).toBe(1);
    diff = JSON.parse(result.stdout) as RunDiff;
    expect(diff.verdict).toBe('mixed');
    // Stage s2's row says what "failures in stage s2" says already: it is not counted twice.
    expect(diff.stages!.map((s) => [s.stage, s.trend])).toEqual([
      ['s1', 'better'],
      ['s2', 'worse'],
    ]);
    expect(diff.regressions).toEqual(['failures of type task_error 0 → 2', 'failures in stage s2 0 → 2']);
    expect(diff.improvements).toEqual(['failures of type llm_call_error 2 → 0', 'failures in stage s1 2 → 0', 'resolved diagnosis rate_limited', 'LLM errors 2 → 0']);
    expect((await runCli(['diff', taskErrors, rateLimited, '--fail-on-regression'])).code).toBe(1);
  });

  it('a stage in one run only is new or gone, not better; a new one that failed on the way is worse', async () => {
    const d = tempDir();
    // Like B, plus stage3 (two failed calls, then it finished ok) and stage4 (clean).
    writeTruthLog(d, [
      ...runB(),
      event('stage_start', { stage: 'stage3' }, 'INFO', 2),
      event('llm_call_error', { model: 'gpt-4o', stage: 'stage3', error: '429 Rate limit reached for gpt-4o' }, 'ERROR', 2.2),
      event('llm_call_error', { model: 'gpt-4o', stage: 'stage3', error: '429 Rate limit reached for gpt-4o' }, 'ERROR', 2.4),
      event('stage_end', { stage: 'stage3', duration: 1 }, 'INFO', 3),
      event('stage_start', { stage: 'stage4' }, 'INFO', 3),
      event('stage_end', { stage: 'stage4', duration: 0.5 }, 'INFO', 3.5),
    ]);
    const trends = async (from: string, to: string) => (JSON.parse((await runCli(['diff', from, to, '--format', 'json'])).stdout) as RunDiff).stages!.map((s) => [s.stage, s.trend]);
    expect(await trends(b, d)).toEqual([
      ['stage1', 'same'],
      ['stage2', 'same'],
      ['stage3', 'worse'],
      ['stage4', 'changed'],
    ]);
    expect(await trends(d, b)).toEqual([
      ['stage1', 'same'],
      ['stage2', 'same'],
      ['stage3', 'changed'],
      ['stage4', 'changed'],
    ]);
  });

  it('gives each run the duration its report gives (from the run start, not its first event)', async () => {
    const late = tempDir();
    const path = writeTruthLog(late, runB());
    // The run started 1 s before its first event.
    writeFileSync(path, readFileSync(path, 'utf8').replace('"start_time": "2026-01-01T00:00:00.000000Z"', '"start_time": "2025-12-31T23:59:59.000000Z"'));
    const diff = JSON.parse((await runCli(['diff', a, late, '--format', 'json'])).stdout) as RunDiff;
    const reportLate = JSON.parse((await runCli(['report', late])).stdout) as AutopsyReport;
    expect(reportLate.run.duration_seconds).toBe(3);
    expect([diff.a.duration_seconds, diff.b.duration_seconds]).toEqual([reportA.run.duration_seconds, 3]);
  });

  it('says a run still being recorded is running, not that it "ended still running"', async () => {
    const saved = join(tempDir(), 'latent_analysis_report.json');
    const running = { ...reportB, exit: { reason: 'running', exit_code: null, signal: null, at: null, description: 'still running (report taken during the run)' } };
    writeFileSync(saved, `${JSON.stringify(running, null, 2)}\n`);
    const text = (await runCli(['diff', a, saved])).stdout.split('\n');
    expect(text[1]).toBe(`  A  ${a}  (15 events, 4 s, ended in a way the log does not record)`);
    expect(text[2]).toBe(`  B  ${saved}  (7 events, ${reportB.run.duration_seconds} s, still running (report taken during the run))`);
  });

  it('does not compare the sections a seed-reporter report lacks (diagnoses, LLM usage, stages …) as zeros', async () => {
    // The original seed reporter writes only these sections: run A's failures moved, the LLM errors are not gone.
    const seed = join(tempDir(), 'latent_analysis_report.json');
    writeFileSync(
      seed,
      JSON.stringify({
        timestamp: '2026-01-02T00:00:00',
        failure_analysis: { total_failures: 3, failures_by_type: { llm_call_error: 3 }, failures_by_stage: { stage1: 3 }, critical_failures: [], failure_patterns: [] },
        autofix_statistics: { total_attempts: 0, successful_fixes: 0, failed_fixes: 0, fixes_by_type: {}, fixes_by_layer: { layer1: 0, layer2: 0, layer3: 0 } },
        fix_suggestions: [],
        summary: { total_failures: 3, total_autofix_attempts: 0, autofix_success_rate: '0.0%', most_common_failure: 'llm_call_error', most_problematic_stage: 'stage1' },
      }),
    );
    const result = await runCli(['diff', a, seed, '--format', 'json', '--fail-on-regression']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const diff = JSON.parse(result.stdout) as RunDiff;
    const missingInB = (section: string) => ({ section, missing_in: ['b'] });
    expect(diff.not_comparable).toEqual(['diagnoses', 'llm_usage', 'stages', 'unfinished', 'exit', 'run'].map(missingInB));
    expect([diff.diagnoses, diff.llm, diff.latency_seconds, diff.stages, diff.unfinished]).toEqual([null, null, null, null, null]);
    expect(diff.b).toEqual({ input: seed, events: null, duration_seconds: null, exit: null, exit_reason: null, exit_code: null });
    expect(diff.improvements).toEqual(['failures 5 → 3', 'failures of type llm_call_error 4 → 3', 'failures of type code_exec_error 1 → 0', 'failures in stage stage1 4 → 3', 'failures in stage stage2 1 → 0']);
    expect(diff.regressions).toEqual([]);

    const text = (await runCli(['diff', a, seed])).stdout;
    expect(text).toContain(`  B  ${seed}  (– events, –, how it ended is not in its report)\n`);
    expect(text).toContain('Verdict: better — 5 improvement(s), 0 regression(s)\n');
    expect(text).not.toContain('LLM errors');
    expect(text).not.toContain('resolved');
    expect(text).toContain("Diagnoses\n  not comparable: B's report has no diagnoses section\n");
    expect(text).toContain("LLM usage\n  not comparable: B's report has no llm_usage section\n");
    expect(text).toContain("Durations\n  run                     4 s → –\n  stages                  not comparable: B's report has no stages section\n");
    expect(text).toContain("  unfinished spans        not comparable: B's report has no unfinished section\n");
    expect(text).toContain("  exit                    not comparable: B's report has no exit section\n");
    // Both seed reports: neither has the section.
    const both = JSON.parse((await runCli(['diff', seed, seed, '--format', 'json'])).stdout) as RunDiff;
    expect(both.not_comparable[0]).toEqual({ section: 'diagnoses', missing_in: ['a', 'b'] });
    expect((await runCli(['diff', seed, seed])).stdout).toContain("Diagnoses\n  not comparable: neither report has a diagnoses section\n");
  });

  it('--locale zh-CN puts the whole text in Chinese: its own words and what it quotes from the runs (diagnosis titles, endings)', async () => {
    const text = await runCli(['diff', a, b, '--locale', 'zh-CN']);
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout.split('\n')).toEqual([
      'agent-autopsy diff',
      `  A  ${a}  （15 个事件，4 秒，结束方式：未知）`,
      `  B  ${b}  （7 个事件，2 秒，结束方式：未知）`,
      '',
      '结论：变好 — 6 项改善，0 项退化',
      '  + 失败总数 5 → 1',
      '  + 类型 llm_call_error 的失败 4 → 0',
      '  + 阶段 stage1 的失败 4 → 0',
      '  + 已解决的诊断 rate_limited',
      '  + 已解决的诊断 retry_storm',
      '  + LLM 错误 4 → 0',
      '',
      '失败',
      '  总数                    5 → 1                   −4                变好',
      '  按类型',
      '    llm_call_error        4 → 0                   −4                变好',
      '    code_exec_error       1 → 1                   =',
      '  按阶段',
      '    stage1                4 → 0                   −4                变好',
      '    stage2                1 → 1                   =',
      '',
      '诊断',
      '  已解决    rate_limited（high，4×）— LLM 服务商对智能体限流（HTTP 429）',
      '  已解决    retry_storm（high，4×）— 重试风暴：同一个 LLM 调用反复失败',
      '  仍存在    code_syntax_errors（medium）1× → 1×',
      '',
      'LLM 用量',
      '  调用次数                5 → 1                   −4 (−80.0%)',
      '  错误                    4 → 0                   −4 (−100.0%)      变好',
      '  输入 token              1000 → 800              −200 (−20.0%)',
      '  输出 token              200 → 200               =',
      '  token 总数              1200 → 1000             −200 (−16.7%)',
      '  延迟 p50                0.1 秒 → 0.4 秒         +0.3 秒',
      '  延迟 p95                0.5 秒 → 0.4 秒         −0.1 秒',
      '',
      '自愈',
      '  尝试次数                0 → 0                   =',
      '  失败                    0 → 0                   =',
      '  成功率                  0.0% → 0.0%',
      '',
      '时长',
      '  运行                    4 秒 → 2 秒             −2 秒 (−50.0%)',
      '  阶段 stage1             2 秒 → 0.5 秒           −1.5 秒',
      '      失败 4 → 0                                                    变好',
      '  阶段 stage2             2 秒 → 1.5 秒           −0.5 秒',
      '      失败 1 → 1',
      '',
      '未结束的跨度与结束方式',
      '  未结束的跨度            0 → 0                   =',
      '  结束方式                未知 → 未知',
      '',
    ]);
    // Coloured, the marks and the verdict are the Chinese words in green.
    const coloured = (await runCli(['diff', a, b, '--locale', 'zh-CN'], { env: { FORCE_COLOR: '1' } })).stdout;
    expect(coloured).toContain('\u001b[1m结论：\u001b[22m\u001b[32m变好\u001b[39m — 6 项改善，0 项退化\n');
    expect(coloured).toContain('  \u001b[32m已解决\u001b[39m    rate_limited（high，4×）— ');
    expect(coloured).not.toMatch(/better|worse|resolved|Verdict/);
    // --locale en on the same runs is the English text.
    expect((await runCli(['diff', a, b, '--locale', 'en'])).stdout).toBe((await runCli(['diff', a, b])).stdout);
  });

  it('keeps --format json the same in every locale: only what it quotes from the reports (titles, endings) follows --locale; improvements and regressions stay English', async () => {
    const en = await runCli(['diff', a, b, '--format', 'json', '--locale', 'en']);
    const zh = await runCli(['diff', a, b, '--format', 'json', '--locale', 'zh-CN']);
    expect([en.code, zh.code, en.stderr, zh.stderr]).toEqual([0, 0, '', '']);
    const json = JSON.parse(zh.stdout) as RunDiff;
    expect(json.diagnoses?.resolved.find((d) => d.id === 'rate_limited')?.title).toBe('LLM 服务商对智能体限流（HTTP 429）');
    expect(json.a.exit).toBe('未知');
    expect(json.improvements).toEqual(['failures 5 → 1', 'failures of type llm_call_error 4 → 0', 'failures in stage stage1 4 → 0', 'resolved diagnosis rate_limited', 'resolved diagnosis retry_storm', 'LLM errors 4 → 0']);
    // Put the English quotes back: the rest is the English JSON, byte for byte.
    const english = JSON.parse(en.stdout) as RunDiff;
    const lists = (diff: RunDiff) => [...diff.diagnoses!.appeared, ...diff.diagnoses!.resolved, ...diff.diagnoses!.persisting];
    lists(json).forEach((d, i) => (d.title = lists(english)[i].title));
    json.a.exit = english.a.exit;
    json.b.exit = english.b.exit;
    expect(`${JSON.stringify(json, null, 2)}\n`).toBe(en.stdout);
    // A saved report is quoted as it was saved (in English here).
    const saved = join(tempDir(), 'latent_analysis_report.json');
    writeFileSync(saved, `${JSON.stringify(reportA, null, 2)}\n`);
    const fromSaved = JSON.parse((await runCli(['diff', saved, b, '--locale', 'zh-CN', '--format', 'json'])).stdout) as RunDiff;
    expect(fromSaved.diagnoses?.resolved.find((d) => d.id === 'rate_limited')?.title).toBe('The LLM provider rate-limited the agent (HTTP 429)');
    expect(fromSaved.a.exit).toBe(reportA.exit.description);
  });

  it('says regressions, a new failed stage, a crash and the sections a report lacks in Chinese too', async () => {
    const lines = (await runCli(['diff', b, c, '--locale', 'zh-CN'])).stdout.split('\n');
    // The same regressions as the JSON's English ones, in the same order.
    expect((JSON.parse((await runCli(['diff', b, c, '--format', 'json'])).stdout) as RunDiff).regressions).toEqual([
      'failures 1 → 3',
      'failures of type llm_call_error 0 → 1',
      'failures of type stage_error 0 → 1',
      'failures in stage stage3 0 → 2',
      'new diagnosis llm_timeout',
      'new diagnosis slow_stage',
      'LLM errors 0 → 1',
      'stage stage3: absent → error, failures 0 → 2',
    ]);
    expect(lines.slice(4, 14)).toEqual([
      '结论：变差 — 0 项改善，8 项退化',
      '  - 失败总数 1 → 3',
      '  - 类型 llm_call_error 的失败 0 → 1',
      '  - 类型 stage_error 的失败 0 → 1',
      '  - 阶段 stage3 的失败 0 → 2',
      '  - 新出现的诊断 llm_timeout',
      '  - 新出现的诊断 slow_stage',
      '  - LLM 错误 0 → 1',
      '  - 阶段 stage3：不存在 → error，失败 0 → 2',
      '',
    ]);
    expect(lines).toContain('  新出现    llm_timeout（high，1×）— LLM 调用超时');
    expect(lines).toContain('  阶段 stage3             – → 60.2 秒');
    expect(lines).toContain('      不存在 → error，失败 0 → 2                                    变差');

    // A crash, then a clean end: the exit line, with the reasons' ids as the JSON has them.
    const crashed = tempDir();
    writeTruthLog(crashed, [...runB(), event('uncaught_exception', { error: 'TypeError: boom' }, 'ERROR', 2.5)]);
    const crashLines = (await runCli(['diff', crashed, b, '--locale', 'zh-CN'])).stdout.split('\n');
    expect(crashLines).toContain('  + 结束方式：uncaught_exception → unknown');
    expect(crashLines.at(-2)).toBe('  结束方式                未捕获的异常 → 未知  变好');

    const seed = join(tempDir(), 'latent_analysis_report.json');
    writeFileSync(seed, JSON.stringify({ failure_analysis: { total_failures: 0 }, summary: { total_failures: 0, autofix_success_rate: '0.0%' } }));
    const text = (await runCli(['diff', seed, seed, '--locale', 'zh-CN'])).stdout;
    expect(text).toContain(`  A  ${seed}  （– 个事件，–，报告中没有记录结束方式）\n`);
    expect(text).toContain('结论：无变化 — 0 项改善，0 项退化\n');
    expect(text).toContain('诊断\n  无法比较：两份报告都没有 diagnoses 部分\n');
    expect(text).toContain('时长\n  运行                    – → –\n  阶段                    无法比较：两份报告都没有 stages 部分\n');
    expect(text).toContain('  结束方式                无法比较：两份报告都没有 exit 部分\n');
    const oneSide = (await runCli(['diff', a, seed, '--locale', 'zh-CN'])).stdout;
    expect(oneSide).toContain('LLM 用量\n  无法比较：B 的报告没有 llm_usage 部分\n');
    expect((await runCli(['diff', b, b, '--locale', 'zh-CN'])).stdout).toContain('结论：无变化 — 0 项改善，0 项退化\n');
  });

  it('compares saved report files too, and rejects a missing run with exit code 2', async () => {
    const saved = join(tempDir(), 'latent_analysis_report.json');
    writeFileSync(saved, `${JSON.stringify(reportA, null, 2)}\n`);
    const result = await runCli(['diff', saved, b, '--format', 'json']);
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as RunDiff).failures.total).toMatchObject({ a: 5, b: 1 });
    // An OTLP JSON file (what the Collector's file exporter writes) is a run as well, as its help says.
    const otlp = join(__dirname, 'fixtures', 'otlp', 'collector-mixed.jsonl');
    const fromOtlp = await runCli(['diff', otlp, b, '--format', 'json']);
    expect(fromOtlp).toMatchObject({ code: 0, stderr: '' });
    expect((JSON.parse(fromOtlp.stdout) as RunDiff).failures.total).toMatchObject({ a: 2, b: 1 });
    expect((await runCli(['diff', '--help'])).stdout).toContain('the earlier run (directory, log file, OTLP JSON file or');
    const missing = join(tempDir(), 'gone');
    const bad = await runCli(['diff', a, missing]);
    expect(bad).toMatchObject({ code: 2, stdout: '', stderr: `agent-autopsy: no such file or directory (${missing})\n` });
  });

  it('compares exit codes: a run that exited with 1 after a drained loop, then one that exited with 0, is better', async () => {
    const ending = (code: number) => ({ reason: 'normal', exit_code: code, signal: null, at: null, description: 'normally (event loop drained)' });
    const saved = (code: number) => {
      const file = join(tempDir(), 'latent_analysis_report.json');
      writeFileSync(file, `${JSON.stringify({ ...reportB, exit: ending(code) }, null, 2)}\n`);
      return file;
    };
    const failed = saved(1);
    const fixed = saved(0);
    const json = JSON.parse((await runCli(['diff', failed, fixed, '--format', 'json'])).stdout) as RunDiff;
    expect([json.a.exit_code, json.b.exit_code]).toEqual([1, 0]);
    expect(json.verdict).toBe('better');
    expect(json.improvements).toEqual(['exit: normal, exit code 1 → normal, exit code 0']);
    const text = (await runCli(['diff', failed, fixed])).stdout.split('\n');
    expect(text[1]).toBe(`  A  ${failed}  (${reportB.run.total_events} events, 2 s, ended normally (event loop drained), exit code 1)`);
    expect(text.at(-2)).toBe('  exit                    normally (event loop drained), exit code 1 → normally (event loop drained), exit code 0  better');
    // The other way round is a regression, which --fail-on-regression fails on.
    const worse = await runCli(['diff', fixed, failed, '--format', 'json', '--fail-on-regression']);
    expect(worse.code).toBe(1);
    expect((JSON.parse(worse.stdout) as RunDiff).regressions).toEqual(['exit: normal, exit code 0 → normal, exit code 1']);
    const zh = (await runCli(['diff', fixed, failed, '--locale', 'zh-CN'])).stdout.split('\n');
    expect(zh).toContain('  - 结束方式：normal，退出码 0 → normal，退出码 1');
  });
});

describe('agent-autopsy diff with stage names in Chinese (two columns a character)', () => {
  let a = '';
  let b = '';
  beforeAll(() => {
    a = tempDir();
    b = tempDir();
    writeTruthLog(a, [
      event('stage_start', { stage: '数据清洗' }, 'INFO', 0),
      event('code_exec_error', { stage: '数据清洗', error: 'KeyError: 列名' }, 'ERROR', 0.5),
      event('code_exec_error', { stage: '数据清洗', error: 'KeyError: 列名' }, 'ERROR', 1),
      event('stage_end', { stage: '数据清洗', duration: 2 }, 'INFO', 2),
      event('stage_start', { stage: '模型训练' }, 'INFO', 2),
      event('stage_end', { stage: '模型训练', duration: 3 }, 'INFO', 5),
    ]);
    writeTruthLog(b, [
      event('stage_start', { stage: '数据清洗' }, 'INFO', 0),
      event('stage_end', { stage: '数据清洗', duration: 1 }, 'INFO', 1),
      event('stage_start', { stage: '模型训练' }, 'INFO', 1),
      event('code_exec_error', { stage: '模型训练', error: 'ValueError' }, 'ERROR', 2),
      event('stage_end', { stage: '模型训练', duration: 2.5 }, 'INFO', 3.5),
    ]);
  });
  const at = (lines: string[], heading: string, count: number) => lines.slice(lines.indexOf(heading), lines.indexOf(heading) + count);

  it('lines its columns up by display width, not by string length', async () => {
    const result = await runCli(['diff', a, b]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const lines = result.stdout.split('\n');
    // Each CJK character takes two columns: 数据清洗 is 8 wide, as wide as "stage1" and two more.
    expect(at(lines, '  by stage', 3)).toEqual([
      '  by stage',
      '    数据清洗              2 → 0                   −2                better',
      '    模型训练              0 → 1                   +1                worse',
    ]);
    expect(at(lines, '  by type', 2)).toEqual(['  by type', '    code_exec_error       2 → 1                   −1                better']);
    expect(at(lines, 'Durations', 6)).toEqual([
      'Durations',
      '  run                     5 s → 3.5 s             −1.5 s (−30.0%)',
      '  stage 数据清洗          2 s → 1 s               −1 s',
      '      failures 2 → 0                                                better',
      '  stage 模型训练          3 s → 2.5 s             −0.5 s',
      '      failures 0 → 1                                                worse',
    ]);
  });

  it('lines them up in Chinese too, where labels, units and marks are two columns a character', async () => {
    const result = await runCli(['diff', a, b, '--locale', 'zh-CN']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const lines = result.stdout.split('\n');
    expect(at(lines, '失败', 7)).toEqual([
      '失败',
      '  总数                    2 → 1                   −1                变好',
      '  按类型',
      '    code_exec_error       2 → 1                   −1                变好',
      '  按阶段',
      '    数据清洗              2 → 0                   −2                变好',
      '    模型训练              0 → 1                   +1                变差',
    ]);
    expect(at(lines, '时长', 6)).toEqual([
      '时长',
      '  运行                    5 秒 → 3.5 秒           −1.5 秒 (−30.0%)',
      '  阶段 数据清洗           2 秒 → 1 秒             −1 秒',
      '      失败 2 → 0                                                    变好',
      '  阶段 模型训练           3 秒 → 2.5 秒           −0.5 秒',
      '      失败 0 → 1                                                    变差',
    ]);
    expect(lines).toContain('  未结束的跨度            0 → 0                   =');
  });
});

describe("agent-autopsy diff's language without --locale", () => {
  /** A run whose report was written in `locale`: its log and, next to it, the report made at its end. */
  const recorded = async (events: TruthEvent[], locale: 'en' | 'zh-CN') => {
    const dir = tempDir();
    writeTruthLog(dir, events);
    const report = (await runCli(['report', dir, '--locale', locale])).stdout;
    writeFileSync(join(dir, 'Memory', 'logs', 'latent_analysis_report.json'), report);
    expect((JSON.parse((await runCli(['report', dir])).stdout) as AutopsyReport).run.locale).toBe(locale);
    return dir;
  };

  it("is Chinese when both runs' reports are, English when they differ, and --locale decides over both", async () => {
    const zhA = await recorded(runA(), 'zh-CN');
    const zhB = await recorded(runB(), 'zh-CN');
    const enB = await recorded(runB(), 'en');
    const both = await runCli(['diff', zhA, zhB]);
    expect(both).toMatchObject({ code: 0, stderr: '' });
    expect(both.stdout).toBe((await runCli(['diff', zhA, zhB, '--locale', 'zh-CN'])).stdout);
    const lines = both.stdout.split('\n');
    expect(lines[4]).toBe('结论：变好 — 6 项改善，0 项退化');
    expect(lines).toContain('  已解决    rate_limited（high，4×）— LLM 服务商对智能体限流（HTTP 429）');
    expect(lines).toContain('  阶段 stage1             2 秒 → 0.5 秒           −1.5 秒');

    // One run in each language: the diff's words are English, each run's quotes stay in its own.
    const mixed = (await runCli(['diff', zhA, enB])).stdout.split('\n');
    expect(mixed[4]).toBe('Verdict: better — 6 improvement(s), 0 regression(s)');
    expect(mixed).toContain('  resolved  rate_limited (high, 4×) — LLM 服务商对智能体限流（HTTP 429）');
    expect(mixed).toContain('Failures');
    expect((await runCli(['diff', enB, zhA])).stdout.split('\n')[4]).toBe('Verdict: worse — 0 improvement(s), 6 regression(s)');

    // --locale en over two Chinese runs: English throughout.
    const english = (await runCli(['diff', zhA, zhB, '--locale', 'en'])).stdout;
    expect(english.split('\n')[4]).toBe('Verdict: better — 6 improvement(s), 0 regression(s)');
    expect(english).toContain('  resolved  rate_limited (high, 4×) — The LLM provider rate-limited the agent (HTTP 429)\n');

    // The JSON is the same with or without --locale zh-CN here, and its sentences are English.
    const json = (await runCli(['diff', zhA, zhB, '--format', 'json'])).stdout;
    expect(json).toBe((await runCli(['diff', zhA, zhB, '--format', 'json', '--locale', 'zh-CN'])).stdout);
    expect((JSON.parse(json) as RunDiff).improvements).toContain('resolved diagnosis rate_limited');
  });

  it("lets a report that does not say its language (the original reporter's) go with the other run", async () => {
    const zhA = await recorded(runA(), 'zh-CN');
    const seed = join(tempDir(), 'latent_analysis_report.json');
    writeFileSync(seed, JSON.stringify({ failure_analysis: { total_failures: 0 }, summary: { total_failures: 0, autofix_success_rate: '0.0%' } }));
    const lines = (await runCli(['diff', zhA, seed])).stdout.split('\n');
    expect(lines[2]).toBe(`  B  ${seed}  （– 个事件，–，报告中没有记录结束方式）`);
    expect(lines[4]).toBe('结论：变好 — 5 项改善，0 项退化');
    expect(lines).toContain('  无法比较：B 的报告没有 diagnoses 部分');
    // Two such reports say nothing: English, the default.
    expect((await runCli(['diff', seed, seed])).stdout.split('\n')[4]).toBe('Verdict: no change — 0 improvement(s), 0 regression(s)');
  });
});

describe("agent-autopsy diff of the client's retries", () => {
  it('compares retried calls and failed attempts where both runs stated them, as counts that changed', async () => {
    const run = (attempts: Array<number | undefined>) => {
      const events = [event('stage_start', { stage: 's1' }, 'INFO', 0)];
      attempts.forEach((failed, i) => {
        events.push(event('llm_call_start', { model: 'gpt-4o', stage: 's1' }, 'INFO', i + 0.1));
        events.push(event('llm_call_end', { model: 'gpt-4o', stage: 's1', input_tokens: 10, output_tokens: 2, ...(failed === undefined ? {} : { failed_attempts: failed }), duration: 0.5 }, 'INFO', i + 0.6));
      });
      events.push(event('stage_end', { stage: 's1', duration: attempts.length }, 'INFO', attempts.length));
      return events;
    };
    const [a, b, c] = [tempDir(), tempDir(), tempDir()];
    writeTruthLog(a, run([2, 2, undefined]));
    writeTruthLog(b, run([1, undefined, undefined]));
    writeTruthLog(c, run([undefined, undefined, undefined]));
    const diff = JSON.parse((await runCli(['diff', a, b, '--format', 'json'])).stdout) as RunDiff;
    expect(diff.llm!.slice(5)).toEqual([
      { key: 'retried_calls', a: 2, b: 1, delta: -1, trend: 'changed' },
      { key: 'failed_attempts', a: 4, b: 1, delta: -3, trend: 'changed' },
    ]);
    expect(diff.verdict).toBe('same');
    const text = await runCli(['diff', a, b]);
    expect(text.stdout.split('\n')).toEqual(expect.arrayContaining(['  retried calls           2 → 1                   −1 (−50.0%)', '  failed attempts         4 → 1                   −3 (−75.0%)']));
    // A run that states none may not have counted them: no row.
    const unstated = JSON.parse((await runCli(['diff', a, c, '--format', 'json'])).stdout) as RunDiff;
    expect(unstated.llm!.map((change) => change.key)).toEqual(['calls', 'errors', 'input_tokens', 'output_tokens', 'total_tokens']);
  });
});

describe('agent-autopsy diff of the calls without token counts', () => {
  /** Calls of which `without` state no token count (openai streams without include_usage), the others 100 + 20. */
  const calls = (total: number, without: number) => {
    const events = [event('stage_start', { stage: 's1' }, 'INFO', 0)];
    for (let i = 0; i < total; i++) {
      events.push(event('llm_call_start', { model: 'gpt-4o', stage: 's1' }, 'INFO', i + 0.1));
      events.push(event('llm_call_end', { model: 'gpt-4o', stage: 's1', ...(i < without ? {} : { input_tokens: 100, output_tokens: 20 }), duration: 0.5 }, 'INFO', i + 0.6));
    }
    events.push(event('stage_end', { stage: 's1', duration: total }, 'INFO', total));
    return events;
  };
  const LLM_KEYS = ['calls', 'errors', 'input_tokens', 'output_tokens', 'total_tokens'];

  it('compares them where both runs say how many (a run read from its log that has none had 0), as a count that changed', async () => {
    const [a, b, c] = [tempDir(), tempDir(), tempDir()];
    writeTruthLog(a, calls(4, 3));
    writeTruthLog(b, calls(4, 0));
    writeTruthLog(c, calls(4, 1));
    // include_usage added: the tokens rose because the calls are counted now, which the row says.
    const fixed = JSON.parse((await runCli(['diff', a, b, '--format', 'json'])).stdout) as RunDiff;
    expect(fixed.llm).toEqual([
      { key: 'calls', a: 4, b: 4, delta: 0, trend: 'same' },
      { key: 'errors', a: 0, b: 0, delta: 0, trend: 'same' },
      { key: 'input_tokens', a: 100, b: 400, delta: 300, trend: 'changed' },
      { key: 'output_tokens', a: 20, b: 80, delta: 60, trend: 'changed' },
      { key: 'total_tokens', a: 120, b: 480, delta: 360, trend: 'changed' },
      { key: 'calls_without_tokens', a: 3, b: 0, delta: -3, trend: 'changed' },
    ]);
    expect(fixed.verdict).toBe('same');
    expect((await runCli(['diff', a, b])).stdout.split('\n')).toContain('  calls without tokens    3 → 0                   −3 (−100.0%)');
    expect((await runCli(['diff', a, b, '--locale', 'zh-CN'])).stdout.split('\n')).toContain('  未给出 token 数的调用   3 → 0                   −3 (−100.0%)');
    const both = JSON.parse((await runCli(['diff', c, a, '--format', 'json'])).stdout) as RunDiff;
    expect(both.llm!.slice(5)).toEqual([{ key: 'calls_without_tokens', a: 1, b: 3, delta: 2, trend: 'changed' }]);
    // Every call counted in both runs: no row, as before.
    const counted = JSON.parse((await runCli(['diff', b, b, '--format', 'json'])).stdout) as RunDiff;
    expect(counted.llm!.map((change) => change.key)).toEqual(LLM_KEYS);
  });

  it('leaves them out against a saved report that does not say (it may predate the count)', async () => {
    const a = tempDir();
    const b = tempDir();
    writeTruthLog(a, calls(4, 3));
    writeTruthLog(b, calls(4, 0));
    const saved = join(tempDir(), 'latent_analysis_report.json');
    writeFileSync(saved, (await runCli(['report', b, '--format', 'json'])).stdout);
    expect(readFileSync(saved, 'utf8')).not.toContain('calls_without_tokens');
    const diff = JSON.parse((await runCli(['diff', a, saved, '--format', 'json'])).stdout) as RunDiff;
    expect(diff.llm!.map((change) => change.key)).toEqual(LLM_KEYS);
    // One that says: compared.
    const savedA = join(tempDir(), 'latent_analysis_report.json');
    writeFileSync(savedA, (await runCli(['report', a, '--format', 'json'])).stdout);
    const stated = JSON.parse((await runCli(['diff', savedA, b, '--format', 'json'])).stdout) as RunDiff;
    expect(stated.llm!.slice(5)).toEqual([{ key: 'calls_without_tokens', a: 3, b: 0, delta: -3, trend: 'changed' }]);
  });
});

describe('agent-autopsy diff of the token shares', () => {
  it('compares cached and reasoning tokens where both runs stated them, and leaves out one only one run stated', async () => {
    const calls = (usage: Record<string, number>[]) => {
      const events = [event('stage_start', { stage: 's1' }, 'INFO', 0)];
      usage.forEach((data, i) => {
        events.push(event('llm_call_start', { model: 'gpt-4o', stage: 's1' }, 'INFO', i + 0.1));
        events.push(event('llm_call_end', { model: 'gpt-4o', stage: 's1', ...data, duration: 0.5 }, 'INFO', i + 0.6));
      });
      events.push(event('stage_end', { stage: 's1', duration: usage.length }, 'INFO', usage.length));
      return events;
    };
    const a = tempDir();
    const b = tempDir();
    writeTruthLog(a, calls([{ input_tokens: 1000, output_tokens: 100, cache_read_input_tokens: 200, reasoning_tokens: 50 }]));
    writeTruthLog(b, calls([{ input_tokens: 1000, output_tokens: 100, cache_read_input_tokens: 800, cache_creation_input_tokens: 100 }]));
    const json = await runCli(['diff', a, b, '--format', 'json']);
    expect(json).toMatchObject({ code: 0, stderr: '' });
    const diff = JSON.parse(json.stdout) as RunDiff;
    expect(diff.llm!.slice(5)).toEqual([{ key: 'cache_read_input_tokens', a: 200, b: 800, delta: 600, trend: 'changed' }]);
    const text = await runCli(['diff', a, b]);
    expect(text.stdout.split('\n')).toContain('  cached input tokens     200 → 800               +600 (+300.0%)');
  });
});
