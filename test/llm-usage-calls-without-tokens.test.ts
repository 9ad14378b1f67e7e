import { describe, expect, it } from 'vitest';
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
