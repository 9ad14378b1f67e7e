import { describe, expect, it } from 'vitest';
import { RunAnalyzer } from '../analyzers/RunAnalyzer';
import { renderHtmlReport } from '../exporters/htmlReport';
import { renderMarkdownReport } from '../exporters/markdownReport';
import type { TruthEvent } from '../src/types';

/** autopsy.md as an on-call engineer reads it: every word in the report's language, no false all-clear. */

const T0 = Date.parse('2025-01-24T10:30:00.000Z');
function ev(at: number, type: string, data: Record<string, unknown> = {}): TruthEvent {
  return { timestamp: new Date(T0 + at * 1000).toISOString(), elapsed_seconds: at, type, level: type.endsWith('_error') ? 'ERROR' : 'INFO', data };
}

function markdown(events: TruthEvent[], locale: 'en' | 'zh-CN'): string {
  const analyzer = new RunAnalyzer({ locale });
  for (const event of events) analyzer.observe(event);
  const report = analyzer.buildReport({ now: T0 + 10_000, exit: { reason: 'normal', exit_code: 0, signal: null, at: null } });
  analyzer.dispose();
  return renderMarkdownReport(report);
}

// An agent whose LLM replies were not JSON: three task errors that no built-in rule explains.
const JSON_REPLIES = [
  ev(0, 'stage_start', { stage: 'extract' }),
  ev(1, 'task_error', { stage: 'extract', task: 'parse_answer', error: `Unexpected token 'S', "Sure! Here"... is not valid JSON`, error_type: 'SyntaxError' }),
  ev(2, 'task_error', { stage: 'extract', task: 'parse_answer', error: `Unexpected token 'H', "Here you g"... is not valid JSON`, error_type: 'SyntaxError' }),
  ev(3, 'task_error', { stage: 'extract', task: 'parse_answer', error: "Expected property name or '}' in JSON at position 1", error_type: 'SyntaxError' }),
  ev(4, 'stage_end', { stage: 'extract' }),
];

describe('autopsy.md', () => {
  it('does not call a run with unexplained failures one where nothing happened', () => {
    expect(markdown(JSON_REPLIES, 'en')).toContain('## Diagnoses\n\nNo root cause found: the run had 3 failures, but none matched a diagnosis rule. See the failures below.\n');
    expect(markdown(JSON_REPLIES, 'zh-CN')).toContain('## 诊断\n\n未找到根因：本次运行有 3 个失败，但都没有匹配任何诊断规则。请查看下方的失败记录。\n');
    const clean = [ev(0, 'stage_start', { stage: 'a' }), ev(1, 'stage_end', { stage: 'a' })];
    expect(markdown(clean, 'en')).toContain('## Diagnoses\n\nNo root cause found: nothing in this run matched a diagnosis rule.\n');
  });

  it('in zh-CN translates the exit code and the failure-pattern headers too', () => {
    const zh = markdown(JSON_REPLIES, 'zh-CN');
    expect(zh).toContain('结束方式: **正常结束（事件循环已空）** (退出码 0) · ');
    expect(zh).toContain('| 模式 | 严重程度 | 描述 | 建议 |\n');
    expect(zh).not.toMatch(/exit code|\| pattern \||\| description \|/);
    const en = markdown(JSON_REPLIES, 'en');
    expect(en).toContain('Ended: **normally (event loop drained)** (exit code 0) · ');
    expect(en).toContain('| pattern | severity | description | suggestion |\n');
  });

  it('gives a failed stage the error it failed with, in a column shown when a stage has one', () => {
    const failed = [
      ev(0, 'stage_start', { stage: 'plan' }),
      ev(1, 'stage_end', { stage: 'plan', duration: 1 }),
      ev(2, 'stage_start', { stage: 'fetch' }),
      ev(3, 'stage_error', { stage: 'fetch', duration: 1, error: 'connect ECONNREFUSED 127.0.0.1:6333 | retry', error_type: 'Error' }),
    ];
    const stagesOf = (md: string) => md.slice(md.indexOf('## Stages'), md.indexOf('\n\n## ', md.indexOf('## Stages')));
    expect(stagesOf(markdown(failed, 'en'))).toBe(
      [
        '## Stages',
        '',
        '| Stage | Name | Started | Duration (s) | Outcome | Failures | Error |',
        '|---|---|---|---|---|---|---|',
        '| plan |  | 2025-01-24T10:30:00.000Z | 1 | ok | 0 |  |',
        '| fetch |  | 2025-01-24T10:30:02.000Z | 1 | error | 1 | connect ECONNREFUSED 127.0.0.1:6333 \\| retry |',
      ].join('\n'),
    );
    expect(markdown(failed, 'zh-CN')).toContain('| 阶段 | 名称 | 开始时间 | 时长 (s) | 结果 | 失败 | 错误 |');
    // No stage failed: no column for it.
    expect(stagesOf(markdown(failed.slice(0, 2), 'en'))).toContain('| Stage | Name | Started | Duration (s) | Outcome | Failures |\n');
    // The HTML page's stages table the same way (its text escaped as all run data is).
    const html = (events: TruthEvent[]) => {
      const analyzer = new RunAnalyzer({ locale: 'en' });
      for (const event of events) analyzer.observe(event);
      const report = analyzer.buildReport({ now: T0 + 10_000, exit: { reason: 'normal', exit_code: 0, signal: null, at: null } });
      analyzer.dispose();
      const page = renderHtmlReport(report);
      return page.slice(page.indexOf('<section id="timeline">'), page.indexOf('</section>', page.indexOf('<section id="timeline">')));
    };
    const withError = html([...failed.slice(0, 3), ev(3, 'stage_error', { stage: 'fetch', duration: 1, error: '<b>refused</b>' })]);
    expect(withError).toContain('<th>Outcome</th><th class="num">Failures</th><th>Error</th></tr>');
    expect(withError).toContain('<td class="wrap">error</td><td class="num">1</td><td class="wrap">&#60;b&#62;refused&#60;/b&#62;</td></tr>');
    expect(html(failed.slice(0, 2))).toContain('<th>Outcome</th><th class="num">Failures</th></tr>');
  });

  it('shows control characters and bidi overrides in run data as escapes, never raw', () => {
    const red = '\u001b[31mAssertionError\u001b[0m';
    const md = markdown(
      [
        ev(0, 'stage_start', { stage: 'nul\u0000stage' }),
        ev(1, 'task_error', { stage: 'nul\u0000stage', task: 't', error: `${red} in \u202egnp.exe` }),
        ev(2, 'stage_end', { stage: 'nul\u0000stage' }),
      ],
      'en',
    );
    expect(md).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(md).toContain('| task\\_error | nul\\\\x00stage | \\\\x1b\\[31mAssertionError\\\\x1b\\[0m in \\\\u202egnp.exe |');
  });
});
