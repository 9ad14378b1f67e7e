import { describe, expect, it } from 'vitest';
import { renderHtmlReport } from '../exporters/htmlReport';
import { renderMarkdownReport } from '../exporters/markdownReport';
import { messagesFor } from '../analyzers/messages';
import type { AutopsyReport } from '../analyzers/reportTypes';
import { RunAnalyzer } from '../analyzers/RunAnalyzer';
import type { TruthEvent } from '../src/types';

/**
 * LLM calls whose client retried them before the agent saw the outcome (`failed_attempts` in
 * their events: the SDK's own retries, read from `http.request.resend_count`): the failures stay
 * counted per call, the evidence says how many requests lay behind them, and a failure the client
 * had already retried is not answered with "retry with backoff, honour retry-after".
 */

const T0 = Date.parse('2025-01-24T10:30:00.000Z');
const RATE = '429 Rate limit reached for gpt-4o in organization org-abc on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 2s.';
const OVERLOADED = '529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}';
const TIMEOUT = 'Request timed out.';

let spans = 0;

/** An llm_call_error (or, with `error` undefined, an llm_call_end) `at` seconds after T0, in its own span. */
function call(at: number, error: string | undefined, data: Record<string, unknown> = {}): TruthEvent {
  const timestamp = new Date(T0 + at * 1000).toISOString().replace('Z', '000Z');
  const span = { span_id: `span${++spans}`, parent_span_id: 'stage' };
  const base = { stage: 'answer', model: 'gpt-4o', duration: 0.5 };
  if (error === undefined) return { timestamp, elapsed_seconds: at, type: 'llm_call_end', level: 'INFO', data: { ...base, ...data }, ...span };
  return { timestamp, elapsed_seconds: at, type: 'llm_call_error', level: 'ERROR', data: { ...base, error, ...data }, ...span };
}

function report(events: TruthEvent[], locale = 'en'): AutopsyReport {
  const analyzer = new RunAnalyzer({ locale });
  for (const event of events) analyzer.observe(event);
  return analyzer.buildReport({ now: T0 + 60_000, exit: { reason: 'normal', exit_code: 0, signal: null, at: null } });
}

const diagnosis = (result: AutopsyReport, id: string) => result.diagnoses.find((d) => d.id === id)!;
const RATE_LIMITED = { error_type: 'RateLimitError', http_status: 429 };

describe('failed LLM calls their client had retried', () => {
  it('count once each; the evidence says how many requests lay behind them, and the suggestion stops asking for retries', () => {
    const result = report([1, 2, 3].map((at) => call(at, RATE, { ...RATE_LIMITED, failed_attempts: 2 })));
    const rate = diagnosis(result, 'rate_limited');
    expect(rate.evidence.count).toBe(3);
    expect(rate.evidence.examples[0]).toBe('3 failed calls, 9 HTTP requests: each was retried twice before the agent saw the error');
    expect(rate.evidence.examples[1]).toBe(`llm_call_error (answer): ${RATE}`);
    expect(rate.suggestion).toBe(messagesFor('en').diagnoses.suggestionsAfterRetries.rate_limited + ' The provider asked to wait up to 2 s (retry-after).');
    expect(rate.suggestion).not.toMatch(/honour the retry-after/);
    expect(rate.suggestion).toMatch(/cap concurrent LLM calls per API key/);
    expect(rate.suggestion).toMatch(/ask the provider for a higher rate limit/);
    expect(result.failure_analysis.failures_by_type).toEqual({ llm_call_error: 3 });
    expect(result.llm_usage).toMatchObject({ calls: 3, errors: 3, retried_calls: 3, failed_attempts: 6 });
  });

  it('say how many of the calls were retried when not all of them were, or not equally often', () => {
    const result = report([
      call(1, RATE, { ...RATE_LIMITED, failed_attempts: 1 }),
      call(2, RATE, { ...RATE_LIMITED, failed_attempts: 3 }),
      call(3, RATE, RATE_LIMITED),
    ]);
    const rate = diagnosis(result, 'rate_limited');
    expect(rate.evidence.count).toBe(3);
    expect(rate.evidence.examples[0]).toBe('3 failed calls, at least 7 HTTP requests: 2 of them were retried (1 to 3 times each) before the agent saw the error');
    // Two of three retried: the advice after retries.
    expect(rate.suggestion.startsWith('The client already retried these calls')).toBe(true);
    const one = diagnosis(report([call(1, RATE, { ...RATE_LIMITED, failed_attempts: 1 })]), 'rate_limited');
    expect(one.evidence.examples[0]).toBe('1 failed call, 2 HTTP requests: it was retried once before the agent saw the error');
  });

  it('keep the usual suggestion when most failed calls were never retried (maxRetries: 0, or nothing says)', () => {
    const result = report([call(1, RATE, { ...RATE_LIMITED, failed_attempts: 2 }), call(2, RATE, RATE_LIMITED), call(3, RATE, RATE_LIMITED)]);
    const rate = diagnosis(result, 'rate_limited');
    expect(rate.evidence.examples[0]).toBe('3 failed calls, at least 5 HTTP requests: 1 of them was retried (twice) before the agent saw the error');
    expect(rate.suggestion.startsWith(messagesFor('en').diagnoses.suggestions.rate_limited)).toBe(true);
    const none = report([call(1, RATE, RATE_LIMITED), call(2, RATE, { ...RATE_LIMITED, failed_attempts: 0 }), call(3, RATE, { ...RATE_LIMITED, failed_attempts: '2' })]);
    expect(diagnosis(none, 'rate_limited').evidence.examples).toEqual([`llm_call_error (answer): ${RATE}`]);
    expect(diagnosis(none, 'rate_limited').suggestion).toMatch(/^Pace the calls: honour the retry-after header/);
    expect(none.llm_usage).not.toHaveProperty('retried_calls');
    expect(none.llm_usage).not.toHaveProperty('failed_attempts');
  });

  it('answer retried timeouts and server errors with what helps once retrying did not', () => {
    const result = report([
      call(1, TIMEOUT, { error_type: 'APIConnectionTimeoutError', failed_attempts: 2 }),
      call(2, OVERLOADED, { error_type: 'overloaded_error', http_status: 529, failed_attempts: 2 }),
      call(3, OVERLOADED, { error_type: 'overloaded_error', http_status: 529, failed_attempts: 2 }),
    ]);
    const texts = messagesFor('en').diagnoses;
    const timeout = diagnosis(result, 'llm_timeout');
    expect(timeout.evidence.examples[0]).toBe('1 failed call, 3 HTTP requests: it was retried twice before the agent saw the error');
    expect(timeout.suggestion).toBe(texts.suggestionsAfterRetries.llm_timeout);
    const server = diagnosis(result, 'llm_server_error');
    expect(server.evidence.count).toBe(2);
    expect(server.evidence.examples[0]).toBe('2 failed calls, 6 HTTP requests: each was retried twice before the agent saw the error');
    expect(server.suggestion).toBe(texts.suggestionsAfterRetries.llm_server_error);
    expect(server.suggestion).not.toMatch(/retry them with exponential backoff/);
  });

  it('leave a diagnosis the SDKs do not retry (a context overflow) with its own suggestion, the requests still counted', () => {
    const overflow = "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.";
    const result = report([call(1, overflow, { error_type: 'BadRequestError', http_status: 400, failed_attempts: 1 })]);
    const context = diagnosis(result, 'context_length_exceeded');
    expect(context.evidence.examples[0]).toBe('1 failed call, 2 HTTP requests: it was retried once before the agent saw the error');
    expect(context.suggestion.startsWith(messagesFor('en').diagnoses.suggestions.context_length_exceeded)).toBe(true);
  });

  it('count calls that succeeded only after retries in llm_usage, not as failures, and show them in autopsy.md and autopsy.html', () => {
    const result = report([call(1, undefined, { failed_attempts: 2 }), call(2, undefined, { failed_attempts: 1 }), call(3, undefined)]);
    expect(result.llm_usage).toMatchObject({ calls: 3, errors: 0, retried_calls: 2, failed_attempts: 3 });
    expect(result.failure_analysis.total_failures).toBe(0);
    expect(result.diagnoses).toEqual([]);
    expect(renderMarkdownReport(result)).toContain('Calls: 3 · Errors: 0 · Retried calls: 2 (3 failed attempts before their outcome) · Input tokens: 0');
    expect(renderHtmlReport(result)).toContain('<div class="card" data-key="retried_calls"><div class="k">Retried calls</div><div class="v">2 (3 failed attempts before their outcome)</div></div>');
    const zh = report([call(1, undefined, { failed_attempts: 1 })], 'zh-CN');
    expect(renderMarkdownReport(zh)).toContain(' · 重试过的调用: 1 (得到结果前失败了 1 次) · ');
    // Nothing stated: no line, no card.
    const plain = report([call(1, undefined)]);
    expect(renderMarkdownReport(plain)).not.toContain('Retried calls');
    expect(renderHtmlReport(plain)).not.toContain('retried_calls');
  });

  it('count the calls that got through only after retries next to the failed ones, where the SDKs retry', () => {
    const events = [
      call(1, undefined, { failed_attempts: 2 }),
      call(2, RATE, { ...RATE_LIMITED, failed_attempts: 2 }),
      call(3, undefined, { failed_attempts: 1 }),
      call(4, RATE, { ...RATE_LIMITED, failed_attempts: 2 }),
      call(5, undefined, { failed_attempts: 1 }),
      call(6, undefined),
    ];
    const rate = diagnosis(report(events), 'rate_limited');
    expect(rate.evidence.count).toBe(2);
    expect(rate.evidence.examples.slice(0, 2)).toEqual([
      '2 failed calls, 6 HTTP requests: each was retried twice before the agent saw the error',
      '3 more calls got through only after retries (4 failed attempts before their outcome)',
    ]);
    expect(diagnosis(report(events, 'zh-CN'), 'rate_limited').evidence.examples[1]).toBe('另有 3 次调用在重试后才成功（得到结果前失败了 4 次）');
    // Without SDK retries stated on the failures, the line comes first; one call, one attempt, said so.
    const plain = diagnosis(report([call(1, undefined, { failed_attempts: 1 }), call(2, RATE, RATE_LIMITED)]), 'rate_limited');
    expect(plain.evidence.examples[0]).toBe('1 more call got through only after retries (1 failed attempt before their outcome)');
    // A context overflow is not what the SDKs retry: its evidence has no such line.
    const overflow = "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.";
    const context = diagnosis(report([call(1, undefined, { failed_attempts: 1 }), call(2, overflow, { http_status: 400 })]), 'context_length_exceeded');
    expect(context.evidence.examples).toEqual([`llm_call_error (answer): ${overflow}`]);
  });

  it('quote no retry-after of 0 s (the SDKs retry such a 429 at once)', () => {
    const result = report([call(1, RATE.replace('in 2s', 'in 0s'), RATE_LIMITED)]);
    expect(diagnosis(result, 'rate_limited').suggestion).toBe(messagesFor('en').diagnoses.suggestions.rate_limited);
  });

  it("give the seed's P0 api_management suggestion without 'retry with backoff' when the client had retried", () => {
    const retried = report([1, 2, 3, 4].map((at) => call(at, RATE, { ...RATE_LIMITED, failed_attempts: 2 })));
    expect(retried.failure_analysis.failure_patterns.map((p) => p.pattern)).toEqual(['frequent_llm_errors', 'stage_specific_failures']);
    expect(retried.fix_suggestions).toEqual([{ priority: 'P0', category: 'api_management', ...messagesFor('en').apiManagementAfterRetries }]);
    expect(retried.fix_suggestions[0].details.join(' ')).not.toMatch(/retry-after/);
    const plain = report([1, 2, 3, 4].map((at) => call(at, RATE, RATE_LIMITED)));
    expect(plain.fix_suggestions).toEqual([{ priority: 'P0', category: 'api_management', ...messagesFor('en').apiManagement }]);
  });

  it('say the same in Simplified Chinese', () => {
    const result = report([1, 2, 3].map((at) => call(at, RATE, { ...RATE_LIMITED, failed_attempts: 2 })), 'zh-CN');
    const rate = diagnosis(result, 'rate_limited');
    expect(rate.evidence.examples[0]).toBe('3 次调用失败，背后共有 9 个 HTTP 请求：每次调用在智能体收到错误之前都已重试 2 次');
    expect(rate.suggestion.startsWith(messagesFor('zh-CN').diagnoses.suggestionsAfterRetries.rate_limited)).toBe(true);
    const mixed = report([call(1, RATE, { ...RATE_LIMITED, failed_attempts: 1 }), call(2, RATE, { ...RATE_LIMITED, failed_attempts: 3 }), call(3, RATE, RATE_LIMITED)], 'zh-CN');
    expect(diagnosis(mixed, 'rate_limited').evidence.examples[0]).toBe('3 次调用失败，背后至少有 7 个 HTTP 请求：其中 2 次调用在智能体收到错误之前已重试（每次 1–3 次）');
    const single = report([call(1, RATE, { ...RATE_LIMITED, failed_attempts: 2 }), call(2, RATE, RATE_LIMITED)], 'zh-CN');
    expect(diagnosis(single, 'rate_limited').evidence.examples[0]).toBe('2 次调用失败，背后至少有 4 个 HTTP 请求：其中 1 次调用在智能体收到错误之前已重试 2 次');
  });
});
