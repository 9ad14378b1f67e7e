import { describe, expect, it } from 'vitest';
import { renderHtmlReport } from '../exporters/htmlReport';
import { renderMarkdownReport } from '../exporters/markdownReport';
import type { AutopsyReport } from '../analyzers/reportTypes';
import { RunAnalyzer } from '../analyzers/RunAnalyzer';
import type { TruthEvent } from '../src/types';

/**
 * LLM calls that ended without stating any token count (an openai stream made without
 * `stream_options: { include_usage: true }`, an llmCall() that never called setUsage): the token
 * totals cannot include them, and the report says how many they leave out, so that "input tokens:
 * 1,200" is not read as the whole run's spend. A run whose calls all stated counts is unchanged.
 */

const T0 = Date.parse('2025-01-24T10:30:00.000Z');

/** An llm_call_end (or, with `error`, an llm_call_error) `at` seconds after T0. */
function call(at: number, data: Record<string, unknown>, error?: string): TruthEvent {
  const timestamp = new Date(T0 + at * 1000).toISOString();
  const base = { stage: 'answer', model: 'gpt-4o', duration: 0.5 };
  if (error === undefined) return { timestamp, elapsed_seconds: at, type: 'llm_call_end', level: 'INFO', data: { ...base, ...data } };
  return { timestamp, elapsed_seconds: at, type: 'llm_call_error', level: 'ERROR', data: { ...base, error, ...data } };
}

function report(events: TruthEvent[], locale = 'en'): AutopsyReport {
  const analyzer = new RunAnalyzer({ locale });
  for (const event of events) analyzer.observe(event);
  return analyzer.buildReport({ now: T0 + 60_000, exit: { reason: 'normal', exit_code: 0, signal: null, at: null } });
}

/** llm_usage without its latency and error tables (not what is tested here). */
function usage(result: AutopsyReport) {
  const { latency_seconds: _latency, errors_by_type: _types, errors_by_status: _statuses, ...rest } = result.llm_usage;
  return rest;
}

/** The LLM usage section of autopsy.md, up to the next section, without blank lines. */
function markdownUsage(result: AutopsyReport): string[] {
  const lines = renderMarkdownReport(result).split('\n');
  const start = lines.findIndex((line) => /^## (LLM usage|LLM 用量)/.test(line));
  const end = lines.findIndex((line, i) => i > start && line.startsWith('## '));
  return lines.slice(start + 1, end).filter((line) => line !== '');
}

const MIXED = [
  call(1, { input_tokens: 1000, output_tokens: 200, tokens_used: 1200 }),
  // A stream without include_usage: no count at all.
  call(2, {}),
  call(3, { model: 'claude-sonnet-4-6' }),
  // Counts under other names, or only one of them, or 0: stated.
  call(4, { prompt_tokens: 30, completion_tokens: 5 }),
  call(5, { tokens_used: 40 }),
  call(6, { model: 'claude-sonnet-4-6', input_tokens: 0 }),
  // What the totals cannot add (a string, a negative number) is no count.
  call(7, { input_tokens: '12', output_tokens: -1 }),
  // A failed call often has no usage for good reason: not counted here.
  call(8, {}, '429 Rate limit reached'),
];

describe('llm_usage.calls_without_tokens', () => {
  it('counts the calls that ended without a token count, in total and by model; failed calls are left out', () => {
    expect(usage(report(MIXED))).toEqual({
      calls: 8,
      errors: 1,
      input_tokens: 1030,
      output_tokens: 205,
      total_tokens: 1275,
      calls_without_tokens: 3,
      by_model: {
        'gpt-4o': { calls: 6, errors: 1, input_tokens: 1030, output_tokens: 205, calls_without_tokens: 2 },
        'claude-sonnet-4-6': { calls: 2, errors: 0, input_tokens: 0, output_tokens: 0, calls_without_tokens: 1 },
      },
    });
  });

  it('is absent, in total and by model, when every call that ended stated a count', () => {
    const result = report([call(1, { input_tokens: 10, output_tokens: 2 }), call(2, { model: 'm', input_tokens: 0, output_tokens: 0 }), call(3, {}, 'boom')]);
    expect(usage(result)).toEqual({
      calls: 3,
      errors: 1,
      input_tokens: 10,
      output_tokens: 2,
      total_tokens: 12,
      by_model: { 'gpt-4o': { calls: 2, errors: 1, input_tokens: 10, output_tokens: 2 }, m: { calls: 1, errors: 0, input_tokens: 0, output_tokens: 0 } },
    });
    expect(JSON.stringify(result)).not.toContain('calls_without_tokens');
  });
});

describe('calls without token counts in autopsy.md', () => {
  it('says next to the token figures that the totals leave them out, with a column by model', () => {
    const result = report(MIXED);
    expect(markdownUsage(result).slice(0, 6)).toEqual([
      'Calls: 8 · Errors: 1 · Input tokens: 1030 · Output tokens: 205 · Latency p50 / p95 / max: 0.5 / 0.5 / 0.5 s',
      'The token totals leave out 3 of 8 calls: they stated no token counts. An openai stream states its usage only with stream\\_options: { include\\_usage: true }, and OpenLLMetry\'s and OpenInference\'s instrumentations record none for a stream even then. A call recorded from its HTTP request alone (a client no instrumentation sees, such as an AI SDK provider without telemetry) has none either.',
      '| Model | Calls | Errors | Input tokens | Output tokens | Calls without token counts |',
      '|---|---|---|---|---|---|',
      '| gpt-4o | 6 | 1 | 1030 | 205 | 2 |',
      '| claude-sonnet-4-6 | 2 | 0 | 0 | 0 | 1 |',
    ]);
    expect(renderMarkdownReport(result)).toContain('| Total tokens | 1275 (3 of 8 calls not counted) |');
  });

  it('says so in Chinese, and for one call or all of them', () => {
    const zh = report(MIXED, 'zh-CN');
    expect(markdownUsage(zh)[1]).toBe('token 总数未计入 8 次调用中的 3 次：这些调用没有给出 token 数。openai 的流式调用只有设置 stream\\_options: { include\\_usage: true } 才会给出用量，而 OpenLLMetry 和 OpenInference 的插桩即使如此也不记录流式调用的用量。只从 HTTP 请求记录下来的调用（没有插桩能看到的客户端，例如未开启 telemetry 的 AI SDK provider）也没有 token 数。');
    expect(markdownUsage(zh)[2]).toBe('| 模型 | 调用次数 | 错误 | 输入 token | 输出 token | 未给出 token 数的调用 |');
    expect(renderMarkdownReport(zh)).toContain('| token 总数 | 1275 (8 次调用中有 3 次未计入) |');
    expect(markdownUsage(report([call(1, {})]))[1]).toBe('The token totals leave out the one call: it stated no token counts. An openai stream states its usage only with stream\\_options: { include\\_usage: true }, and OpenLLMetry\'s and OpenInference\'s instrumentations record none for a stream even then. A call recorded from its HTTP request alone (a client no instrumentation sees, such as an AI SDK provider without telemetry) has none either.');
    expect(markdownUsage(report([call(1, {}), call(2, {})]))[1]).toMatch(/^The token totals leave out all 2 calls: they stated no token counts\. /);
    expect(markdownUsage(report([call(1, {}), call(2, { input_tokens: 3 })]))[1]).toMatch(/^The token totals leave out 1 of 2 calls: it stated no token counts\. /);
    expect(markdownUsage(report([call(1, {}), call(2, {})], 'zh-CN'))[1]).toMatch(/^token 总数未计入全部 2 次调用：这些调用没有/);
    expect(markdownUsage(report([call(1, {})], 'zh-CN'))[1]).toMatch(/^token 总数未计入这 1 次调用：该调用没有给出 token 数。/);
  });

  it('is not mentioned when every call stated a count', () => {
    const md = renderMarkdownReport(report([call(1, { input_tokens: 10, output_tokens: 2 })]));
    expect(md).toContain('| Total tokens | 12 |');
    expect(md).not.toMatch(/leave out|without token counts|not counted/);
  });
});

describe('calls without token counts in autopsy.html', () => {
  it('a card and a note next to the token figures, a column by model, and the summary says it', () => {
    const html = renderHtmlReport(report(MIXED));
    expect(html).toContain('<div class="card" data-key="total_tokens"><div class="k">Total tokens</div><div class="v">1,275 (3 of 8 calls not counted)</div></div>');
    expect(html).toContain(
      '<div class="card" data-key="output_tokens"><div class="k">Output tokens</div><div class="v">205</div></div>' +
        '<div class="card" data-key="calls_without_tokens"><div class="k">Calls without token counts</div><div class="v">3</div></div>',
    );
    expect(html).toContain('<p class="note" data-key="calls_without_tokens">The token totals leave out 3 of 8 calls: they stated no token counts. An openai stream states its usage only with stream_options: { include_usage: true }, and OpenLLMetry&#39;s and OpenInference&#39;s instrumentations record none for a stream even then. A call recorded from its HTTP request alone (a client no instrumentation sees, such as an AI SDK provider without telemetry) has none either.</p>');
    expect(html).toContain('<th class="num">Calls without token counts</th>');
  });

  it('nothing of it when every call stated a count', () => {
    const html = renderHtmlReport(report([call(1, { input_tokens: 10, output_tokens: 2 })]));
    expect(html).toContain('<div class="card" data-key="total_tokens"><div class="k">Total tokens</div><div class="v">12</div></div>');
    expect(html).not.toMatch(/calls_without_tokens|Calls without token counts|leave out/);
  });
});
