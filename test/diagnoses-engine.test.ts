import { describe, expect, it } from 'vitest';
import { rankDiagnoses, setCauses } from '../analyzers/causalRanking';
import { builtInDiagnosisEngine, diagnoseEvents, HANG_IDLE_SECONDS, medianWithout } from '../analyzers/diagnoses';
import { diagnosisContext } from './helpers/diagnosisContext';
import { seededRandom } from './helpers/seededRandom';
import type { DiagnosisContext } from '../analyzers/diagnosisTypes';
import { emptyAutofixStats } from '../analyzers/autofixStats';
import { messagesFor } from '../analyzers/messages';
import type { Diagnosis, ExitInfo, StageTimeline, UnfinishedSpan } from '../analyzers/reportTypes';
import { RunAnalyzer } from '../analyzers/RunAnalyzer';
import type { TruthEvent } from '../src/types';

const T0 = Date.parse('2025-01-24T10:30:00.000Z');

/** Builds events one after another; `at` is seconds since T0. */
function ev(at: number, type: string, data: Record<string, unknown> = {}, extra: Partial<TruthEvent> = {}): TruthEvent {
  const level = type.endsWith('_error') || type === 'uncaught_exception' || type === 'unhandled_rejection' ? 'ERROR' : type.endsWith('_unfinished') ? 'WARNING' : 'INFO';
  return { timestamp: new Date(T0 + at * 1000).toISOString().replace('Z', '000Z'), elapsed_seconds: at, type, level, data, ...extra };
}

function context(overrides: Partial<DiagnosisContext> = {}): DiagnosisContext {
  return diagnosisContext(T0, overrides);
}

const ids = (diagnoses: Diagnosis[]) => diagnoses.map((d) => d.id);
const RATE = '429 Rate limit reached for gpt-4o. Please try again in 20s.';

describe('an error counts once, at its origin', () => {
  it('follows span ids: llm → task → stage → process', () => {
    const events = [
      ev(0, 'stage_start', { stage: 's1' }, { span_id: 'S' }),
      ev(1, 'task_start', { stage: 's1', task: 't' }, { span_id: 'T', parent_span_id: 'S' }),
      ev(2, 'llm_call_error', { stage: 's1', error: RATE, error_type: 'RateLimitError', http_status: 429 }, { span_id: 'L', parent_span_id: 'T' }),
      ev(3, 'task_error', { stage: 's1', error: RATE, error_type: 'RateLimitError' }, { span_id: 'T', parent_span_id: 'S' }),
      ev(4, 'stage_error', { stage: 's1', error: RATE, error_type: 'RateLimitError' }, { span_id: 'S' }),
      ev(5, 'uncaught_exception', { error: RATE, error_type: 'RateLimitError' }),
    ];
    const diagnoses = diagnoseEvents(events, context({ exit: { reason: 'uncaught_exception', exit_code: 1, signal: null, at: null } }));
    expect(ids(diagnoses)).toEqual(['rate_limited', 'crash']);
    expect(diagnoses[0].evidence.count).toBe(1);
    expect(diagnoses[0].evidence.span_ids).toEqual(['L']);
    expect(diagnoses[0].severity).toBe('critical'); // it crashed the run
    expect(diagnoses[1].evidence.span_ids).toEqual(['L']);
  });

  it('keeps a wrapper that adds context to the message a symptom', () => {
    const events = [
      ev(0, 'llm_call_error', { stage: 's1', error: 'Request timed out.', error_type: 'APIConnectionTimeoutError' }, { span_id: 'L', parent_span_id: 'T' }),
      ev(1, 'task_error', { stage: 's1', error: 'planning failed: Request timed out.' }, { span_id: 'T' }),
    ];
    expect(diagnoseEvents(events, context()).map((d) => [d.id, d.evidence.count])).toEqual([['llm_timeout', 1]]);
  });

  it('counts a task error of its own when the child error was caught', () => {
    const events = [
      ev(0, 'llm_call_error', { stage: 's1', error: RATE, error_type: 'RateLimitError' }, { span_id: 'L1', parent_span_id: 'T' }),
      ev(1, 'llm_call_end', { stage: 's1' }, { span_id: 'L2', parent_span_id: 'T' }),
      ev(2, 'task_end', { stage: 's1' }, { span_id: 'T' }),
      ev(3, 'task_error', { stage: 's1', error: RATE }, { span_id: 'T2' }),
    ];
    // T2 is another task: the span tree shows the llm error was not its descendant's.
    const [rate] = diagnoseEvents(events, context());
    expect(rate.evidence.count).toBe(2);
  });

  it('uses the same message, same stage, shortly after, for seed-style logs', () => {
    const events = [
      ev(0, 'llm_call_error', { stage: 'stage3', error: 'Rate limit exceeded' }),
      ev(1, 'task_error', { stage: 'stage3', error: 'Rate limit exceeded' }),
      ev(2, 'task_error', { stage: 'stage2', error: 'Rate limit exceeded' }), // another stage: its own
      ev(30, 'llm_call_error', { stage: 'stage3', error: 'Rate limit exceeded' }),
      ev(50, 'task_error', { stage: 'stage3', error: 'Rate limit exceeded' }), // 20 s later: its own
    ];
    expect(diagnoseEvents(events, context())[0].evidence.count).toBe(4);
  });

  it('does not count a recovery notice that quotes the error as another one', () => {
    const events = [
      ev(0, 'llm_call_error', { stage: 'stage4', error: 'prompt is too long: 210043 tokens > 200000 maximum' }, { span_id: 'L', parent_span_id: 'T' }),
      { ...ev(1, 'error_recovery', { stage: 'stage4', strategy: 'truncate_context', error: 'prompt is too long: 210043 tokens > 200000 maximum' }), level: 'WARNING' as const },
      { ...ev(2, 'llm_retry', { stage: 'stage4', error: 'Rate limit exceeded, retrying in 2 s' }), level: 'WARNING' as const },
    ];
    expect(diagnoseEvents(events, context()).map((d) => [d.id, d.evidence.count])).toEqual([
      ['context_length_exceeded', 1],
      ['rate_limited', 1], // a warning with nothing before it is evidence of its own
    ]);
  });

  it('counts a failure reported as code_exec_error and as syntax_error once', () => {
    const events = [1, 2, 3].flatMap((n) => [
      ev(n * 10, 'code_exec_error', { stage: 'stage3', error: 'SyntaxError: invalid syntax' }),
      ev(n * 10 + 1, 'syntax_error', { stage: 'stage3', error: 'missing colon' }),
    ]);
    const [syntax] = diagnoseEvents(events, context());
    expect([syntax.id, syntax.evidence.count, syntax.severity]).toEqual(['code_syntax_errors', 3, 'high']);
  });
});

describe('retry_storm', () => {
  const failures = (n: number, gap = 1, error = RATE, status = 429) =>
    Array.from({ length: n }, (_, i) => ev(i * gap, 'llm_call_error', { stage: 's', model: 'gpt-4o', error, http_status: status }, { span_id: `L${i}` }));

  it('needs four failures in a row of one stage and model', () => {
    expect(ids(diagnoseEvents(failures(3), context()))).toEqual(['rate_limited']);
    const storm = diagnoseEvents(failures(4), context());
    expect(ids(storm)).toEqual(['rate_limited', 'retry_storm']);
    expect(storm[1].evidence.count).toBe(4);
    expect(storm[1].evidence.examples[0]).toBe('4 failed calls in a row to gpt-4o in s within 3 s');
    expect(storm[1].suggestion.startsWith('Most likely a consequence of rate_limited: fix that first. Retry only what can succeed')).toBe(true);
  });

  it('is broken by a success or a long pause', () => {
    const events = [...failures(3), ev(3.5, 'llm_call_end', { stage: 's', model: 'gpt-4o' }), ...failures(3).map((e) => ({ ...e, timestamp: new Date(T0 + 4000 + e.elapsed_seconds * 1000).toISOString() }))];
    expect(ids(diagnoseEvents(events, context()))).toEqual(['rate_limited']);
    expect(ids(diagnoseEvents(failures(4, 200), context()))).toEqual(['rate_limited']);
  });

  it('says how many storms it counted when there was more than the longest one', () => {
    // Two stages in parallel: 5 rate-limited calls in s, 4 timeouts in s2 (interleaved in time).
    const timeouts = Array.from({ length: 4 }, (_, i) => ev(i + 0.5, 'llm_call_error', { stage: 's2', model: 'claude-x', error: 'Request timed out.', error_type: 'APIConnectionTimeoutError' }, { span_id: `T${i}` }));
    const events = [...failures(5), ...timeouts].sort((a, b) => a.elapsed_seconds - b.elapsed_seconds);
    const storm = diagnoseEvents(events, context()).find((d) => d.id === 'retry_storm')!;
    expect(storm.evidence.count).toBe(9);
    expect(storm.evidence.examples).toEqual(['5 failed calls in a row to gpt-4o in s within 4 s', '2 storms in all (the longest above), in s, s2']);
    const zh = diagnoseEvents(events, context({ messages: messagesFor('zh-CN'), locale: 'zh-CN' })).find((d) => d.id === 'retry_storm')!;
    expect(zh.evidence.examples[1]).toBe('共 2 次重试风暴（上一条为最长的一次），分布在 s, s2');
  });

  it('says a storm outside every stage is outside every stage, not "in unknown"', () => {
    // A zero-code agent has no stages: its calls go under the "unknown" key of failures_by_stage.
    const outside = (n: number, at = 0) => Array.from({ length: n }, (_, i) => ev(at + i, 'llm_call_error', { model: 'gpt-4o', error: RATE, http_status: 429 }, { span_id: `O${at + i}` }));
    const staged = Array.from({ length: 4 }, (_, i) => ev(20 + i, 'llm_call_error', { stage: 's', model: 'gpt-4o', error: RATE, http_status: 429 }, { span_id: `S${i}` }));
    const events = [...outside(5), ...staged];
    const storm = diagnoseEvents(events, context()).find((d) => d.id === 'retry_storm')!;
    expect(storm.evidence.examples.slice(0, 2)).toEqual(['5 failed calls in a row to gpt-4o outside every stage within 4 s', '2 storms in all (the longest above), in (outside every stage), s']);
    const zh = diagnoseEvents(events, context({ messages: messagesFor('zh-CN'), locale: 'zh-CN' })).find((d) => d.id === 'retry_storm')!;
    expect(zh.evidence.examples.slice(0, 2)).toEqual(['阶段之外对 gpt-4o 的调用在 4 秒内连续失败 5 次', '共 2 次重试风暴（上一条为最长的一次），分布在 （阶段之外）, s']);
  });

  it('is its own root cause when its errors name none', () => {
    const storm = diagnoseEvents(failures(5, 1, '404 The model `gpt-5` does not exist', 404), context());
    expect(ids(storm)).toEqual(['retry_storm']);
    expect(storm[0].suggestion.startsWith('Retry only what can succeed')).toBe(true);
  });

  // Calls in a batch: one task per item, each with one LLM call (its parent span is the task).
  const AUTH = '401 {"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}';
  const batch = (n: number, error: string, status: number, data: Record<string, unknown> = {}, parent = (i: number) => `T${i}`) =>
    Array.from({ length: n }, (_, i) => ev(i * 0.1, 'llm_call_error', { stage: 'triage', model: 'claude-sonnet-4', error, http_status: status, ...data }, { span_id: `L${i}`, parent_span_id: parent(i) }));

  it('tells a batch of different calls, each refused once, from a retry loop over the same refusal', () => {
    // Six tasks, one call each, all refused: no storm, the error's own diagnosis says it all.
    expect(ids(diagnoseEvents(batch(6, AUTH, 401, { error_type: 'AuthenticationError' }), context()))).toEqual(['auth_failure']);
    const overflow = 'prompt is too long: 210043 tokens > 200000 maximum';
    expect(ids(diagnoseEvents(batch(6, overflow, 400), context()))).toEqual(['context_length_exceeded']);
    // A 404 no rule names: nothing to report, and certainly not a storm of retries.
    expect(ids(diagnoseEvents(batch(6, '404 The model `gpt-5` does not exist', 404), context()))).toEqual([]);

    // One task retrying the refused call: a retry storm, as a consequence of the refusal.
    const retried = diagnoseEvents(batch(4, AUTH, 401, {}, () => 'T'), context());
    expect(ids(retried)).toEqual(['auth_failure', 'retry_storm']);
    expect(retried[1].title).toBe('Retry storm: the same LLM call failed again and again');
    expect(retried[1].evidence.examples).toEqual(['4 failed calls in a row to claude-sonnet-4 in triage within 0.3 s']);
    expect(retried[1].suggestion).toBe(`Most likely a consequence of auth_failure: fix that first. ${messagesFor('en').diagnoses.suggestions.retry_storm}`);

    // 12 different calls refused, then the first task tries again: from then on it is a retry
    // storm, and every failure of the streak counts, from the first.
    const events = [...batch(12, AUTH, 401), ev(2, 'llm_call_error', { stage: 'triage', model: 'claude-sonnet-4', error: AUTH, http_status: 401 }, { span_id: 'again', parent_span_id: 'T0' })];
    expect(ids(diagnoseEvents(events.slice(0, 12), context()))).toEqual(['auth_failure']);
    const storm = diagnoseEvents(events, context()).find((d) => d.id === 'retry_storm')!;
    expect([storm.title, storm.evidence.count, storm.evidence.first, storm.evidence.last]).toEqual([
      'Retry storm: the same LLM call failed again and again',
      13,
      events[0].timestamp,
      events[12].timestamp,
    ]);
    expect(storm.evidence.examples[0]).toBe('13 failed calls in a row to claude-sonnet-4 in triage within 2 s');
  });

  it('says different calls that failed in a row with what could pass later were not retried', () => {
    const streak = diagnoseEvents(batch(6, RATE, 429), context());
    expect(ids(streak)).toEqual(['rate_limited', 'retry_storm']);
    expect(streak[1].title).toBe('LLM calls failed one after another, with no success in between');
    expect(streak[1].evidence.examples).toEqual([
      '6 failed calls in a row to claude-sonnet-4 in triage within 0.5 s',
      'Each failure was a different call (its own parent span), and no client retried it',
    ]);
    expect(streak[1].suggestion).toBe(
      'Most likely a consequence of rate_limited: fix that first. These were different calls (each from its own task or span), not one call retried: each failed once and the next was sent anyway. Stop sending new calls after a few failures in a row (a circuit breaker) and pause before resuming, rather than sending every queued call into the same failure; the diagnosis of their errors says why they failed.',
    );
    const zh = diagnoseEvents(batch(6, RATE, 429), context({ messages: messagesFor('zh-CN'), locale: 'zh-CN' }))[1];
    expect([zh.title, zh.evidence.examples[1]]).toEqual(['LLM 调用接连失败，中间没有一次成功', '每次失败都是不同的调用（各有自己的父跨度），客户端也没有重试过']);
    // The same calls after their SDK had retried each: a retry storm, told as one.
    const retried = diagnoseEvents(batch(6, RATE, 429, { failed_attempts: 2 }), context());
    expect(retried[1].title).toBe('Retry storm: the same LLM call failed again and again');
    expect(retried[1].evidence.examples).toEqual(['6 failed calls in a row to claude-sonnet-4 in triage within 0.5 s']);
  });
});

describe('retry_storm retried with backoff above the client', () => {
  // LangChain's own retries of a 429 (the client's maxRetries set to 0): the waits between the
  // attempts of a real run, from the frameworks audit.
  const GAPS = [1.2, 2.5, 4.6, 9.9, 29, 42];
  const attempts = (gaps: number[], parent = (_i: number) => 'S') => {
    let at = 0;
    return [0, ...gaps].map((gap, i) => {
      at += gap;
      return ev(at, 'llm_call_error', { stage: 's', model: 'gpt-4o', error: RATE, http_status: 429 }, { span_id: `L${i}`, parent_span_id: parent(i) });
    });
  };
  const en = messagesFor('en').diagnoses;

  it('says the waits grew, and advises what helps once backing off has been done, for the storm and for its cause', () => {
    const diagnoses = diagnoseEvents(attempts(GAPS), context());
    expect(ids(diagnoses)).toEqual(['rate_limited', 'retry_storm']);
    const [rate, storm] = diagnoses;
    expect(storm.evidence.examples).toEqual([
      '7 failed calls in a row to gpt-4o in s within 89.2 s',
      'The waits between the failures grew from 1.2 s to 42 s: the call was already retried with backoff',
    ]);
    expect(storm.suggestion).toBe(`Most likely a consequence of rate_limited: fix that first. ${en.backedOff.suggestion}`);
    expect(rate.suggestion.startsWith(en.suggestionsAfterRetries.rate_limited)).toBe(true);
    const zh = diagnoseEvents(attempts(GAPS), context({ messages: messagesFor('zh-CN'), locale: 'zh-CN' }))[1];
    expect(zh.evidence.examples[1]).toBe('两次失败之间的等待从 1.2 秒增长到 42 秒：该调用已经以退避方式重试过');
  });

  it('is no backoff when the waits stay the same, shrink, or are too few; nor for different calls that were never retried', () => {
    const told = (events: TruthEvent[]) => {
      const [rate, storm] = diagnoseEvents(events, context());
      return [storm.evidence.examples.some((example) => example.startsWith('The waits between')), storm.suggestion.includes(en.backedOff.suggestion), rate.suggestion.startsWith(en.suggestions.rate_limited)];
    };
    expect(told(attempts([2, 2, 2, 2, 2]))).toEqual([false, false, true]);
    // Jitter may shorten a wait a little; a wait under half the one before is no backoff.
    expect(told(attempts([1, 1.5, 1.2, 4, 8]))).toEqual([true, true, false]);
    expect(told(attempts([1, 4, 1.5, 8, 16]))).toEqual([false, false, true]);
    // Four failures are three waits: enough; the last must be 3× the first.
    expect(told(attempts([1, 2, 4]))).toEqual([true, true, false]);
    expect(told(attempts([1, 1.5, 2.5]))).toEqual([false, false, true]);
    // Milliseconds apart, a loop retrying at once may seem to wait longer each time: no backoff below 1 s.
    expect(told(attempts([0.002, 0.005, 0.011, 0.09]))).toEqual([false, false, true]);
    expect(told(attempts([0.2, 0.4, 0.8, 1.6]))).toEqual([true, true, false]);
    // Different calls (each its own parent) failing at growing intervals were not retried at all.
    const streak = diagnoseEvents(attempts(GAPS, (i) => `T${i}`), context())[1];
    expect(streak.title).toBe('LLM calls failed one after another, with no success in between');
    expect(streak.evidence.examples.some((example) => example.startsWith('The waits between'))).toBe(false);
  });
});

describe('stage_hang', () => {
  const stageSpan = (started: number, age: number): UnfinishedSpan => ({
    name: 'stage s2',
    kind: 'stage',
    stage: 's2',
    started: new Date(T0 + started * 1000).toISOString(),
    age_seconds: age,
    span_id: 'S2',
  });
  const llmSpan: UnfinishedSpan = { name: 'chat gpt-4o', kind: 'llm', stage: 's2', started: new Date(T0 + 11_000).toISOString(), age_seconds: 89, span_id: 'L' };
  const events = [ev(10, 'stage_start', { stage: 's2' }, { span_id: 'S2' }), ev(11, 'llm_call_start', { stage: 's2', model: 'gpt-4o' }, { span_id: 'L', parent_span_id: 'S2' })];
  const signalAt = (at: number): ExitInfo => ({ reason: 'signal', exit_code: null, signal: 'SIGTERM', at: new Date(T0 + at * 1000).toISOString() });

  it('is certain after a long silence before a signal, and the kill is its consequence', () => {
    const diagnoses = diagnoseEvents(events, context({ exit: signalAt(11 + HANG_IDLE_SECONDS + 59), unfinished: [stageSpan(10, 90), llmSpan] }));
    expect(ids(diagnoses)).toEqual(['stage_hang', 'crash']);
    expect(diagnoses[0]).toMatchObject({ severity: 'critical', confidence: 0.9 });
    expect(diagnoses[0].evidence.examples).toEqual(['s2 was still running when the process ended by a signal; its last event was 89 s before the end; still waiting on llm "chat gpt-4o" (open for 89 s)']);
  });

  it("after a signal the app's handler took, then ended the process: the work still open was stopped, as after the signal itself", () => {
    const at = new Date(T0 + 20_000).toISOString();
    const zeroCode = [{ ...llmSpan, stage: 'unknown', age_seconds: 9 }];
    // The OpenAI Agents SDK's handler exits with 0 on SIGTERM; an app's own may exit with 143.
    for (const exit of [
      { reason: 'exit', exit_code: 0, signal: 'SIGTERM', at },
      { reason: 'exit', exit_code: 143, signal: 'SIGTERM', at },
      { reason: 'normal', exit_code: 0, signal: 'SIGINT', at },
    ] as ExitInfo[]) {
      const diagnoses = diagnoseEvents([], context({ exit, unfinished: zeroCode }));
      const how = `${exit.reason === 'exit' ? 'by process.exit()' : 'normally (event loop drained)'} (${exit.signal})`;
      expect(diagnoses[0]).toMatchObject({ id: 'stage_hang', severity: 'critical', confidence: 0.6 });
      expect(diagnoses[0].evidence.examples).toEqual([`Work outside every stage was still running when the process ended ${how}; still waiting on llm "chat gpt-4o" (open for 9 s)`]);
      const crash = diagnoses.find((diagnosis) => diagnosis.id === 'crash');
      if (exit.exit_code === 0) expect(crash).toBeUndefined();
      // Its suggestion is about who stopped the run, not about the model's output.
      else expect(crash!.suggestion).toMatch(/^Most likely a consequence of stage_hang: fix that first\. Find what ended the process/);
      // A stage open then is a hang, however recent its last event (it was stopped, not left).
      const withStage = diagnoseEvents(events, context({ exit, unfinished: [stageSpan(10, 10), { ...llmSpan, age_seconds: 9 }] }));
      expect(withStage[0].evidence.examples).toEqual([`s2 was still running when the process ended ${how}; its last event was 9 s before the end; still waiting on llm "chat gpt-4o" (open for 9 s)`]);
    }
    // process.exit() without a signal: the work left open is not called a hang.
    expect(diagnoseEvents([], context({ exit: { reason: 'exit', exit_code: 0, signal: null, at }, unfinished: zeroCode }))).toEqual([]);
  });

  it("after a signal the app's handler took, then its graceful shutdown crashed: the work still open was stopped from outside too", () => {
    const at = new Date(T0 + 20_000).toISOString();
    const error = { type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:4318' };
    const exit = { reason: 'unhandled_rejection', exit_code: null, signal: 'SIGTERM', error, at } as ExitInfo;
    const diagnoses = diagnoseEvents(events, context({ exit, unfinished: [stageSpan(10, 10), { ...llmSpan, age_seconds: 9 }] }));
    const hang = diagnoses.find((diagnosis) => diagnosis.id === 'stage_hang');
    expect(hang?.evidence.examples).toEqual(['s2 was still running when the process ended by an unhandled promise rejection (SIGTERM); its last event was 9 s before the end; still waiting on llm "chat gpt-4o" (open for 9 s)']);
    // Without the signal, a crash interrupts a busy stage: no hang.
    const crashed = diagnoseEvents(events, context({ exit: { ...exit, signal: null }, unfinished: [stageSpan(10, 10), { ...llmSpan, age_seconds: 9 }] }));
    expect(crashed.find((diagnosis) => diagnosis.id === 'stage_hang')).toBeUndefined();
  });

  it('of work that kept making LLM calls until it was stopped says it was busy, not stuck, and what to look for instead', () => {
    // An agent loop without a step limit: a call every 0.2 s, stopped by an orchestrator's SIGTERM.
    const calls = (stage: string | undefined, n: number, from: number) =>
      Array.from({ length: n }, (_, i) => ev(from + i * 0.2, 'llm_call_end', { ...(stage ? { stage } : {}), model: 'gpt-4o', duration: 0.15 }, { span_id: `C${i}` }));
    const busy = messagesFor('en').diagnoses.busy;
    const open = (stage: string, at: number): UnfinishedSpan => ({ ...llmSpan, stage, started: new Date(T0 + at * 1000).toISOString(), age_seconds: 0.1 });
    // Zero code: no stages, the open call outside every stage.
    const loop = calls(undefined, 40, 1);
    const lastEnd = 1 + 39 * 0.2;
    const zeroCode = diagnoseEvents([...loop, ev(lastEnd + 0.2, 'signal_received', { signal: 'SIGTERM' })], context({ exit: signalAt(lastEnd + 0.2), unfinished: [open('unknown', lastEnd + 0.1)] }));
    expect(zeroCode[0]).toMatchObject({ id: 'stage_hang', severity: 'critical', confidence: 0.6, title: busy.title, suggestion: busy.suggestion });
    expect(zeroCode[0].evidence.examples).toEqual([
      'Work outside every stage was still running when the process ended by a signal; still waiting on llm "chat gpt-4o" (open for 0.1 s); it was busy, not stuck: 40 LLM calls had ended in it, the last moments before the end',
    ]);
    // In a stage: the same.
    const staged = [ev(0.5, 'stage_start', { stage: 's2' }, { span_id: 'S2' }), ...calls('s2', 40, 1)];
    const inStage = diagnoseEvents(staged, context({ exit: signalAt(lastEnd + 0.2), unfinished: [stageSpan(0.5, lastEnd - 0.3), open('s2', lastEnd + 0.1)] }));
    expect(inStage[0]).toMatchObject({ id: 'stage_hang', title: busy.title, suggestion: busy.suggestion });
    expect(inStage[0].evidence.examples[0]).toMatch(/; it was busy, not stuck: 40 LLM calls had ended in it, the last moments before the end$/);
    const zh = diagnoseEvents(staged, context({ exit: signalAt(lastEnd + 0.2), unfinished: [stageSpan(0.5, lastEnd - 0.3), open('s2', lastEnd + 0.1)], messages: messagesFor('zh-CN'), locale: 'zh-CN' }));
    expect(zh[0].title).toBe('进程被停止时工作仍在忙碌：一个没有结束的循环，或工作量超出了给它的时间');
    // Its last call ended 5 s before the signal: it was waiting, a hang as before.
    const waiting = diagnoseEvents(staged, context({ exit: signalAt(lastEnd + 5), unfinished: [stageSpan(0.5, lastEnd + 4.5), open('s2', lastEnd + 0.1)] }));
    expect([waiting[0].title, waiting[0].suggestion]).toEqual([messagesFor('en').diagnoses.titles.stage_hang, messagesFor('en').diagnoses.suggestions.stage_hang]);
    expect(waiting[0].evidence.examples[0]).not.toContain('busy');
    // Few calls: no sign of a loop.
    const few = diagnoseEvents(calls(undefined, 5, 1), context({ exit: signalAt(1 + 4 * 0.2 + 0.2), unfinished: [open('unknown', 1.85)] }));
    expect(few[0].title).toBe(messagesFor('en').diagnoses.hangOutsideStagesTitle);
    // Ended by the app's own crash, not from outside: interrupted, not stopped, and no hang.
    expect(diagnoseEvents(staged, context({ exit: { reason: 'uncaught_exception', exit_code: 1, signal: null, at: new Date(T0 + (lastEnd + 0.2) * 1000).toISOString() }, unfinished: [stageSpan(0.5, lastEnd - 0.3)] })).find((d) => d.id === 'stage_hang')).toBeUndefined();
  });

  it("ranks a failure of the app's own graceful shutdown after the hang that got the process stopped", () => {
    // Mastra's recommended NodeSDK setup with its collector down: SIGTERM while the agent waits on
    // the model, the app's handler calls sdk.shutdown(), whose export is refused: exit 1.
    const refused = { error: 'connect ECONNREFUSED 127.0.0.1:4318', error_type: 'Error' };
    const stopped = [...events, ev(19, 'signal_received', { signal: 'SIGTERM', handled_by_app: true }), ev(19.5, 'unhandled_rejection', refused)];
    const exit = { reason: 'unhandled_rejection', exit_code: 1, signal: 'SIGTERM', error: { type: 'Error', message: refused.error }, at: new Date(T0 + 19_500).toISOString() } as ExitInfo;
    const unfinished = [stageSpan(10, 9.5), { ...llmSpan, age_seconds: 8.5 }];
    const diagnoses = diagnoseEvents(stopped, context({ exit, unfinished }));
    expect(ids(diagnoses)).toEqual(['stage_hang', 'dependency_unreachable', 'crash']);
    const refusal = diagnoses[1];
    expect(refusal.confidence).toBe(0.54);
    expect(refusal.evidence.examples.at(-1)).toBe("Every one came after the process got SIGTERM, while the app's handler of it shut the app down");
    // The same refusal before the signal is the run's own trouble, as before.
    const before = [...events, ev(18, 'task_error', { stage: 's2', task: 'export', ...refused }, { span_id: 'T' }), ev(19, 'signal_received', { signal: 'SIGTERM', handled_by_app: true })];
    const first = diagnoseEvents(before, context({ exit: { ...exit, reason: 'exit', exit_code: 1, error: undefined }, unfinished }));
    const own = first.find((d) => d.id === 'dependency_unreachable')!;
    expect(own.confidence).toBe(0.77);
    expect(own.evidence.examples.some((example) => example.startsWith('Every one came after'))).toBe(false);
    // A handled SIGUSR2 or SIGHUP may be a restart or a reload: what fails after it is not a shutdown's.
    const reloaded = [...events, ev(19, 'signal_received', { signal: 'SIGUSR2', handled_by_app: true }), ev(19.5, 'unhandled_rejection', refused)];
    const afterReload = diagnoseEvents(reloaded, context({ exit: { ...exit, signal: null }, unfinished })).find((d) => d.id === 'dependency_unreachable')!;
    expect(afterReload.confidence).toBe(0.77);
  });

  it('says of a streamed call it was waiting on whether its answer had started, and how long it had been silent', () => {
    // The stream facts a streamed call's llm_call_unfinished has (unfinishedStreamData), live and read back.
    const streams: Array<[Partial<UnfinishedSpan>, string, string]> = [
      [{ stream: true }, 'its streamed answer had not started (no chunk came)', '其流式回答尚未开始（没有收到任何数据块）'],
      [{ stream: true, time_to_first_chunk: 1.234567 }, 'its streamed answer had started after 1.23 s (first chunk)', '其流式回答在 1.23 秒后开始（首个数据块）'],
      [
        { stream: true, time_to_first_chunk: 0.8, seconds_since_last_chunk: 85.5 },
        'its streamed answer had started after 0.8 s (first chunk), then nothing came for the last 85.5 s',
        '其流式回答在 0.8 秒后开始（首个数据块），此后最后 85.5 秒没有收到任何数据',
      ],
    ];
    const exit = signalAt(11 + HANG_IDLE_SECONDS + 59);
    for (const [facts, en, zh] of streams) {
      const unfinished = [stageSpan(10, 90), { ...llmSpan, ...facts }];
      expect(diagnoseEvents(events, context({ exit, unfinished }))[0].evidence.examples).toEqual([
        `s2 was still running when the process ended by a signal; its last event was 89 s before the end; still waiting on llm "chat gpt-4o" (open for 89 s); ${en}`,
      ]);
      const chinese = diagnoseEvents(events, context({ exit, unfinished, messages: messagesFor('zh-CN'), locale: 'zh-CN' }))[0].evidence.examples[0];
      expect(chinese.endsWith(`（已持续 89 秒）；${zh}`)).toBe(true);
      // Work outside every stage (a zero-code run): the same clause after the call it names.
      const [hang] = diagnoseEvents([], context({ exit, unfinished: [{ ...llmSpan, stage: 'unknown', ...facts }] }));
      expect(hang.evidence.examples).toEqual([`Work outside every stage was still running when the process ended by a signal; still waiting on llm "chat gpt-4o" (open for 89 s); ${en}`]);
      // No stage was open: the title speaks of the work, not of a stage.
      expect([hang.id, hang.title]).toEqual(['stage_hang', 'Work never finished (hang): it was still running when the process ended']);
      expect(diagnoseEvents([], context({ exit, unfinished: [{ ...llmSpan, stage: 'unknown', ...facts }], messages: messagesFor('zh-CN'), locale: 'zh-CN' }))[0].title).toBe(
        '有工作始终没有结束（挂起）：进程结束时它仍在运行',
      );
      expect(diagnoseEvents(events, context({ exit, unfinished }))[0].title).toBe('A stage never finished (hang)');
    }
    // Not a streamed call: nothing is said of a stream.
    expect(diagnoseEvents(events, context({ exit, unfinished: [stageSpan(10, 90), { ...llmSpan, time_to_first_chunk: 1 }] }))[0].evidence.examples[0]).toMatch(/\(open for 89 s\)$/);
  });

  it('names, for each hung stage, the span opened last inside it (a later one on a tie)', () => {
    // Found in one pass over the open spans; it was a pass per hung stage: 20,000 stages took 18 s at exit.
    const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
    const open = (name: string, kind: string, stage: string, started: number): UnfinishedSpan => ({ name, kind, stage, started: at(started), age_seconds: 100 - started, span_id: name });
    const unfinished = [
      open('stage a', 'stage', 'a', 1),
      open('stage b', 'stage', 'b', 2),
      open('task a1', 'task', 'a', 3),
      open('chat b1', 'llm', 'b', 4),
      open('task a2', 'task', 'a', 5),
      open('chat b2', 'llm', 'b', 4),
      open('task a0', 'task', 'a', 2),
    ];
    const [hang] = diagnoseEvents([], context({ exit: { reason: 'signal', exit_code: null, signal: 'SIGTERM', at: at(100) }, unfinished }));
    expect(hang.evidence.examples.map((example) => example.replace(/^.*waiting on /, ''))).toEqual(['task "task a2" (open for 95 s)', 'llm "chat b2" (open for 96 s)']);
  });

  it('names for an outer stage what its inner stages wait on, or the inner stage itself; a stage beside it is not inside it', () => {
    const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
    const open = (name: string, kind: string, stage: string, started: number, parent?: string): UnfinishedSpan => ({
      name,
      kind,
      stage,
      started: at(started),
      age_seconds: 100 - started,
      span_id: name,
      ...(parent ? { parent_span_id: parent } : {}),
    });
    const waitingOn = (unfinished: UnfinishedSpan[]) =>
      diagnoseEvents([], context({ exit: { reason: 'signal', exit_code: null, signal: 'SIGTERM', at: at(100) }, unfinished }))[0].evidence.examples.map((example) =>
        example.replace(/ was still running .*?(; still waiting on |$)/, ' → '),
      );
    expect(
      waitingOn([
        open('stage research', 'stage', 'research', 1),
        open('stage answer', 'stage', 'answer', 2, 'stage research'),
        open('chat gpt-4o', 'llm', 'answer', 3, 'stage answer'),
        // Started later, but beside research (no parent): research does not wait on it.
        open('stage side', 'stage', 'side', 4),
        open('task side_task', 'task', 'side', 5, 'stage side'),
      ]),
    ).toEqual(['research → llm "chat gpt-4o" (open for 97 s)', 'answer → llm "chat gpt-4o" (open for 97 s)', 'side → task "task side_task" (open for 95 s)']);
    // An inner stage with nothing open inside it: its outer stage waits on the inner stage.
    expect(waitingOn([open('stage plan', 'stage', 'plan', 6), open('stage draft', 'stage', 'draft', 7, 'stage plan')])).toEqual(['plan → stage "stage draft" (open for 93 s)', 'draft → ']);
    // Three deep: the outermost waits on the innermost call, through two stages.
    expect(
      waitingOn([
        open('stage top', 'stage', 'top', 8),
        open('stage middle', 'stage', 'middle', 9, 'stage top'),
        open('stage bottom', 'stage', 'bottom', 10, 'stage middle'),
        open('chat claude', 'llm', 'bottom', 11, 'stage bottom'),
      ]),
    ).toEqual(['top → llm "chat claude" (open for 89 s)', 'middle → llm "chat claude" (open for 89 s)', 'bottom → llm "chat claude" (open for 89 s)']);
    // A cycle of parent ids (a corrupt file) ends the walk.
    const cycle = [open('stage x', 'stage', 'x', 1, 'stage y'), open('stage y', 'stage', 'y', 2, 'stage x'), open('task t', 'task', 'y', 3, 'stage y')];
    expect(waitingOn(cycle)).toEqual(['x → task "task t" (open for 97 s)', 'y → task "task t" (open for 97 s)']);
  });

  it('is less certain when the stage was busy until the end', () => {
    const [hang] = diagnoseEvents(events, context({ exit: signalAt(12), unfinished: [stageSpan(10, 2)] }));
    expect([hang.id, hang.confidence]).toEqual(['stage_hang', 0.6]);
  });

  it('is likely when the event loop drained with the stage open (a promise that never settles)', () => {
    const [hang] = diagnoseEvents(events, context({ exit: { reason: 'normal', exit_code: 13, signal: null, at: null }, unfinished: [stageSpan(10, 2)] }));
    expect([hang.id, hang.severity, hang.confidence]).toEqual(['stage_hang', 'high', 0.8]);
  });

  it('is not reported mid-run, nor for a stage a crash interrupted', () => {
    expect(diagnoseEvents(events, context({ exit: { reason: 'running', exit_code: null, signal: null, at: null }, unfinished: [stageSpan(10, 2)] }))).toEqual([]);
    const crash: ExitInfo = { reason: 'uncaught_exception', exit_code: 1, signal: null, at: new Date(T0 + 12_000).toISOString(), error: { type: 'TypeError', message: 'x is undefined' } };
    expect(ids(diagnoseEvents(events, context({ exit: crash, unfinished: [stageSpan(10, 2)] })))).toEqual(['crash']);
  });

  it('is not reported for a busy stage that process.exit() or shutdown() ended, only for a long-idle one', () => {
    for (const reason of ['exit', 'shutdown'] as const) {
      const ended = (at: number): ExitInfo => ({ reason, exit_code: reason === 'exit' ? 3 : null, signal: null, at: new Date(T0 + at * 1000).toISOString() });
      const busy = diagnoseEvents(events, context({ exit: ended(11.05), unfinished: [stageSpan(10, 1.05)] }));
      expect(ids(busy), reason).not.toContain('stage_hang');
      const [idle] = diagnoseEvents(events, context({ exit: ended(11 + HANG_IDLE_SECONDS + 1), unfinished: [stageSpan(10, HANG_IDLE_SECONDS + 2)] }));
      expect([idle.id, idle.severity, idle.confidence], reason).toEqual(['stage_hang', 'high', 0.9]);
    }
  });

  it('after a kill says the end is unknown instead of timing the hang to the last event', () => {
    // A SIGKILL writes nothing: the log ends at the stage's last event, 0 s "before the end".
    const killed: ExitInfo = { reason: 'killed', exit_code: null, signal: null, at: null };
    const diagnoses = diagnoseEvents(events, context({ exit: killed, unfinished: [stageSpan(10, 1), { ...llmSpan, age_seconds: 0 }] }));
    expect(ids(diagnoses)).toEqual(['stage_hang', 'crash']);
    expect(diagnoses[0].evidence.examples).toEqual([
      's2 was still running when the process ended abruptly, killed or lost (no clean end recorded); its last event is the log\'s last one, and the time of the end is not recorded (it may have waited longer); still waiting on llm "chat gpt-4o" (its start is the log\'s last event)',
    ]);
    expect(diagnoses[1].evidence.examples).toEqual(['The process ended abruptly, killed or lost (no clean end recorded)']);
    const zh = diagnoseEvents(events, context({ exit: killed, unfinished: [stageSpan(10, 1), { ...llmSpan, age_seconds: 0 }], messages: messagesFor('zh-CN'), locale: 'zh-CN' }));
    expect(zh[0].evidence.examples).toEqual([
      '进程结束时（被强制终止或丢失（没有记录到正常结束））s2 仍在运行；其最后一个事件即日志的最后一个事件，结束的时刻没有记录（实际等待可能更久）；仍在等待 llm“chat gpt-4o”（其开始即日志的最后一个事件）',
    ]);
    // Earlier than the log's last event, the times are given.
    const earlier = diagnoseEvents([...events, ev(13.5, 'task_start', { stage: 's3', task: 't' })], context({ exit: killed, unfinished: [stageSpan(10, 3.5), { ...llmSpan, age_seconds: 2.5 }] }));
    expect(earlier[0].evidence.examples).toEqual([
      's2 was still running when the process ended abruptly, killed or lost (no clean end recorded); its last event came 2.5 s before the log\'s last one, and the time of the end is not recorded (it may have waited longer); still waiting on llm "chat gpt-4o" (started 2.5 s before the log\'s last event)',
    ]);
  });

  it('is found from *_unfinished events when the log is read back', () => {
    const logged = [...events, ev(100, 'signal_received', { signal: 'SIGTERM' }), ev(100, 'llm_call_unfinished', { stage: 's2', model: 'gpt-4o', unfinished: true, age_seconds: 89 }, { span_id: 'L' }), ev(100, 'stage_unfinished', { stage: 's2', unfinished: true, age_seconds: 90 }, { span_id: 'S2' })];
    const diagnoses = diagnoseEvents(logged, context({ exit: { reason: 'unknown', exit_code: null, signal: null, at: null } }));
    expect(ids(diagnoses)).toEqual(['stage_hang', 'crash']);
    expect(diagnoses[0].confidence).toBe(0.9);
    expect(diagnoses[0].evidence.first).toBe(events[0].timestamp);
    expect(diagnoses[1].evidence.examples).toEqual(['The process ended by a signal (SIGTERM)']);
  });
});

describe('slow_stage', () => {
  const stage = (id: string, duration: number): StageTimeline => ({ stage: id, started: new Date(T0).toISOString(), ended: null, duration_seconds: duration, outcome: 'ok', failures: 0 });

  it.each([
    [[1, 1.2, 0.8, 30], ['s4 took 30 s, 30.0× the median of the other stages (1 s); no LLM call or code run was recorded in it: the time went to its own code or to calls nothing traced']],
    [[1, 1.2, 0.8, 4.9], []], // under 5×
    [[0.1, 0.1, 0.1, 1.5], []], // 15× but only 1.4 s more
    [[10, 60], ['s2 took 60 s, 6.0× the median of the other stages (10 s); no LLM call or code run was recorded in it: the time went to its own code or to calls nothing traced']],
    [[42], []], // a single stage has nothing to compare with
  ])('durations %j', (durations, examples) => {
    const stages = durations.map((d, i) => stage(`s${i + 1}`, d));
    const slow = diagnoseEvents([], context({ stages })).find((d) => d.id === 'slow_stage');
    expect(slow?.evidence.examples ?? []).toEqual(examples);
  });

  it('compares each stage with the median of the others, also with duplicates (medianWithout)', () => {
    const random = seededRandom(7);
    const naive = (values: number[], skip: number) => {
      const others = values.filter((_, i) => i !== skip).sort((a, b) => a - b);
      const middle = Math.floor(others.length / 2);
      return others.length % 2 ? others[middle] : (others[middle - 1] + others[middle]) / 2;
    };
    for (let round = 0; round < 200; round++) {
      const values = Array.from({ length: 2 + Math.floor(random() * 9) }, () => Math.floor(random() * 6) / 2);
      const sorted = [...values].sort((a, b) => a - b);
      values.forEach((value, i) => expect(medianWithout(sorted, value)).toBe(naive(values, i)));
    }
  });

  it('picks out the slow stages among thousands of distinct ones, skipping non-finite durations', () => {
    const durations = Array.from({ length: 5000 }, (_, i) => (i === 1234 ? 90 : i === 4321 ? 45 : 1 + (i % 3) * 0.5));
    const stages = durations.map((d, i) => stage(`item-${i}`, d));
    stages.push({ ...stage('broken', 0), duration_seconds: Number.NaN });
    const slow = diagnoseEvents([], context({ stages })).find((d) => d.id === 'slow_stage');
    expect(slow?.evidence.count).toBe(2);
    expect(slow?.evidence.examples).toEqual(['item-1234 took 90 s, 60.0× the median of the other stages (1.5 s); no LLM call or code run was recorded in it: the time went to its own code or to calls nothing traced', 'item-4321 took 45 s, 30.0× the median of the other stages (1.5 s); no LLM call or code run was recorded in it: the time went to its own code or to calls nothing traced']);
  });

  it('is a consequence of rate limits in that stage', () => {
    const events = [ev(0, 'llm_call_error', { stage: 's2', error: RATE })];
    const diagnoses = diagnoseEvents(events, context({ stages: [stage('s1', 1), stage('s2', 60)] }));
    expect(ids(diagnoses)).toEqual(['rate_limited', 'slow_stage']);
    expect(diagnoses[1].suggestion.startsWith('Most likely a consequence of rate_limited')).toBe(true);
  });
});

describe('crash', () => {
  it('names an uncaught error classified on its own (thrown outside any span)', () => {
    const events = [ev(0, 'stage_start', { stage: 's' }), ev(1, 'unhandled_rejection', { error: 'Request timed out.', error_type: 'APIConnectionTimeoutError' })];
    const diagnoses = diagnoseEvents(events, context({ exit: { reason: 'unknown', exit_code: null, signal: null, at: null } }));
    expect(ids(diagnoses)).toEqual(['llm_timeout', 'crash']);
    expect(diagnoses[1].evidence.examples).toEqual(['The process ended by an unhandled promise rejection', 'APIConnectionTimeoutError: Request timed out.']);
  });

  it('is the root cause when the error names nothing known', () => {
    const exit: ExitInfo = { reason: 'uncaught_exception', exit_code: 1, signal: null, at: new Date(T0).toISOString(), error: { type: 'TypeError', message: "Cannot read properties of undefined (reading 'choices')" } };
    const [crash] = diagnoseEvents([ev(0, 'uncaught_exception', { error: exit.error!.message, error_type: 'TypeError' })], context({ exit }));
    expect(crash).toMatchObject({ id: 'crash', severity: 'critical', confidence: 0.95 });
    expect(crash.suggestion.startsWith('Catch errors at each stage boundary')).toBe(true);
  });

  it('reports a non-zero exit code after the last error as a consequence of it', () => {
    const events = [ev(0, 'llm_call_error', { stage: 's', error: 'invalid x-api-key', http_status: 401 })];
    const diagnoses = diagnoseEvents(events, context({ exit: { reason: 'exit', exit_code: 1, signal: null, at: null } }));
    expect(diagnoses.map((d) => [d.id, d.severity])).toEqual([
      ['auth_failure', 'critical'],
      ['crash', 'high'],
    ]);
    expect(diagnoses[1].evidence.examples).toEqual(['The process ended by process.exit(), exit code 1']);
  });

  it('is silent for a clean end', () => {
    expect(diagnoseEvents([ev(0, 'stage_start', { stage: 's' }), ev(1, 'stage_end', { stage: 's' })], context())).toEqual([]);
  });

  it("says so when the only frame it can name is a dependency's (an SDK error that rejected with no frame of the app's)", () => {
    const stack = ['Error: 503 Service Unavailable', '    at APICallError.create (/app/node_modules/@ai-sdk/provider-utils/dist/index.mjs:3093:14)', '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)'].join('\n');
    const exit: ExitInfo = { reason: 'unhandled_rejection', exit_code: 1, signal: null, at: new Date(T0).toISOString(), error: { type: 'Error', message: '503 Service Unavailable', stack } };
    const crash = diagnoseEvents([], context({ exit })).find((diagnosis) => diagnosis.id === 'crash')!;
    expect(crash.evidence.examples.at(-1)).toBe('Thrown at APICallError.create (/app/node_modules/@ai-sdk/provider-utils/dist/index.mjs:3093:14) (in a dependency: no frame of your own code is in the stack)');
  });

  const MAX_STEPS = 'Agent stopped: max_steps (8) reached without a final answer';
  const caught = [
    ev(0, 'stage_start', { stage: 'answer' }, { span_id: 'S' }),
    ev(1, 'task_start', { stage: 'answer', task: 'get_weather' }, { span_id: 'T', parent_span_id: 'S' }),
    ev(2, 'task_end', { stage: 'answer', task: 'get_weather' }, { span_id: 'T', parent_span_id: 'S' }),
    ev(3, 'stage_error', { stage: 'answer', error: MAX_STEPS, error_type: 'Error' }, { span_id: 'S' }),
  ];
  const drainedWith1: ExitInfo = { reason: 'normal', exit_code: 1, signal: null, at: null };

  it('after a failed exit code, quotes the last failure no rule classified, with its span, under a title that names the code', () => {
    const diagnoses = diagnoseEvents(caught, context({ exit: drainedWith1 }));
    expect(diagnoses).toHaveLength(1);
    expect(diagnoses[0]).toMatchObject({ id: 'crash', severity: 'high', title: 'The process exited with code 1', suggestion: messagesFor('en').diagnoses.suggestions.crash });
    expect(diagnoses[0].evidence.examples).toEqual([
      'The process ended normally (event loop drained), exit code 1',
      `Last failure before the exit: stage_error (answer): ${MAX_STEPS}`,
    ]);
    expect(diagnoses[0].evidence.span_ids).toEqual(['S']);
    const zh = diagnoseEvents(caught, context({ exit: drainedWith1, messages: messagesFor('zh-CN'), locale: 'zh-CN' }));
    expect(zh[0].title).toBe('进程以退出码 1 结束');
    expect(zh[0].evidence.examples[1]).toBe(`退出前的最后一次失败：stage_error (answer): ${MAX_STEPS}`);
    // Exceptions, signals and kills keep "ended abnormally".
    const thrown: ExitInfo = { reason: 'uncaught_exception', exit_code: 1, signal: null, at: null, error: { type: 'Error', message: MAX_STEPS } };
    expect(diagnoseEvents(caught, context({ exit: thrown })).map((d) => d.title)).toEqual(['The process ended abnormally']);
  });

  it('after process.exit(), quotes the failure of a span the app failed and left open, says where exit was called and what was still running', () => {
    const error = 'validation failed: statement contains DROP TABLE; DELETE without WHERE';
    const events = [
      ev(0, 'stage_start', { stage: 'validate' }, { span_id: 'S' }),
      ev(1, 'task_start', { stage: 'validate', task: 'check_sql' }, { span_id: 'T', parent_span_id: 'S' }),
      ev(2, 'stage_unfinished', { stage: 'validate', unfinished: true, age_seconds: 2 }, { span_id: 'S' }),
      ev(2, 'task_unfinished', { stage: 'validate', task: 'check_sql', unfinished: true, age_seconds: 1, error, error_type: 'ValidationError' }, { span_id: 'T', parent_span_id: 'S' }),
    ];
    const exit: ExitInfo = { reason: 'exit', exit_code: 1, signal: null, at: null, called_at: 'check (file:///app/agent.mjs:29:15)' };
    const [crash] = diagnoseEvents(events, context({ exit }));
    expect(crash).toMatchObject({ id: 'crash', title: 'The process exited with code 1' });
    expect(crash.evidence.examples).toEqual([
      'The process ended by process.exit(), exit code 1',
      `Last failure before the exit: task_unfinished (validate): ValidationError: ${error}`,
      'process.exit() was called at check (file:///app/agent.mjs:29:15); task check_sql was still running in stage validate',
    ]);
    expect(crash.evidence.span_ids).toEqual(['T']);
    const zh = diagnoseEvents(events, context({ exit, messages: messagesFor('zh-CN'), locale: 'zh-CN' }));
    expect(zh[0].evidence.examples[2]).toBe('process.exit() 的调用位置：check (file:///app/agent.mjs:29:15)；task check_sql仍在运行（阶段 validate）');
  });

  it('leaves out the advice on LLM output when another diagnosis caused the crash, or the last failure was an LLM call', () => {
    const texts = messagesFor('en').diagnoses;
    const auth = diagnoseEvents([ev(0, 'llm_call_error', { stage: 's', error: 'invalid x-api-key', http_status: 401 })], context({ exit: { reason: 'exit', exit_code: 1, signal: null, at: null } }));
    expect(auth[1].suggestion).toBe(`Most likely a consequence of auth_failure: fix that first. ${texts.crashExitCaused}`);
    const overflow = "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.";
    const thrown: ExitInfo = { reason: 'uncaught_exception', exit_code: 1, signal: null, at: null, error: { type: 'BadRequestError', message: overflow } };
    const context400 = diagnoseEvents([ev(0, 'llm_call_error', { stage: 's', error: overflow, http_status: 400 }), ev(1, 'uncaught_exception', { error: overflow, error_type: 'BadRequestError' })], context({ exit: thrown }));
    expect(context400.map((d) => d.id)).toEqual(['context_length_exceeded', 'crash']);
    expect(context400[1].suggestion).toBe(`Most likely a consequence of context_length_exceeded: fix that first. ${texts.crashErrorCaused}`);
    const unclassified = diagnoseEvents([ev(0, 'llm_call_error', { stage: 's', error: 'model returned an empty choice list' }, { span_id: 'L' })], context({ exit: drainedWith1 }));
    expect(unclassified.map((d) => [d.id, d.suggestion])).toEqual([['crash', texts.crashExitCaused]]);
    expect(unclassified[0].evidence.examples[1]).toBe('Last failure before the exit: llm_call_error (s): model returned an empty choice list');
    // Neither: the generic advice stays.
    expect(texts.crashExitCaused).not.toContain('LLM output');
    expect(texts.crashErrorCaused).not.toContain('LLM output');
  });
});

describe('autofix_ineffective', () => {
  it('follows the seed P2 condition with at least two failures', () => {
    const stats = (total: number, ok: number) => ({ ...emptyAutofixStats(), total_attempts: total, successful_fixes: ok, failed_fixes: total - ok });
    expect(diagnoseEvents([], context({ autofix: stats(1, 0) }))).toEqual([]);
    expect(diagnoseEvents([], context({ autofix: stats(4, 2) }))).toEqual([]);
    const [fix] = diagnoseEvents([], context({ autofix: stats(5, 1) }));
    expect(fix).toMatchObject({ id: 'autofix_ineffective', severity: 'medium', confidence: 0.9 });
    expect(fix.evidence).toEqual({ count: 4, first: null, last: null, examples: ['4 of 5 repair attempts failed'], span_ids: [] });
  });

  it('is a consequence of what made the repairs fail (an LLM repair that was rate-limited)', () => {
    const events = [
      ev(0, 'autofix_start', { stage: 's', layer: 2, type: 'syntax' }, { span_id: 'A1' }),
      ev(1, 'llm_call_error', { stage: 's', error: RATE }, { span_id: 'L1', parent_span_id: 'A1' }),
      ev(2, 'autofix_end', { stage: 's', layer: 2, type: 'syntax', success: false }, { span_id: 'A1' }),
      ev(3, 'autofix_start', { stage: 's', layer: 3, type: 'syntax' }, { span_id: 'A2' }),
      ev(4, 'llm_call_error', { stage: 's', error: RATE }, { span_id: 'L2', parent_span_id: 'A2' }),
      ev(5, 'autofix_error', { stage: 's', layer: 3, type: 'syntax', error: RATE }, { span_id: 'A2' }),
    ];
    const diagnoses = diagnoseEvents(events, context());
    expect(ids(diagnoses)).toEqual(['rate_limited', 'autofix_ineffective']);
    expect(diagnoses[0].evidence.count).toBe(2); // the autofix_error repeats L2
    expect(diagnoses[1].evidence.examples).toEqual(['2 of 2 repair attempts failed (layer2 ×1, layer3 ×1)', 'autofix_end (s): layer 2 syntax success=false', `autofix_error (s): ${RATE}`]);
  });
});

describe('rankDiagnoses', () => {
  const d = (id: string, severity: Diagnosis['severity'], confidence = 0.8, count = 1): Diagnosis => ({ id, severity, confidence, title: id, evidence: { count, first: null, last: null, examples: [], span_ids: [] }, suggestion: '' });

  it('orders by severity, confidence, evidence, then input order', () => {
    expect(ids(rankDiagnoses([d('a', 'low'), d('b', 'high', 0.7), d('c', 'high', 0.9), d('e', 'high', 0.9, 5), d('f', 'critical'), d('g', 'high', 0.9, 5)]))).toEqual(['f', 'e', 'g', 'c', 'b', 'a']);
  });

  it('puts a cause before its consequences, even a more severe one', () => {
    const crash = d('crash', 'critical', 0.95);
    const storm = d('retry_storm', 'high', 0.9);
    const slow = d('slow_stage', 'low');
    const rate = d('rate_limited', 'medium', 0.5);
    setCauses(crash, ['rate_limited']);
    setCauses(storm, ['rate_limited']);
    setCauses(slow, ['retry_storm', 'missing_id']);
    expect(ids(rankDiagnoses([slow, storm, crash, rate]))).toEqual(['rate_limited', 'crash', 'retry_storm', 'slow_stage']);
  });
});

describe('streaming', () => {
  it('keeps memory to distinct stages, models and open spans, whatever the number of events', () => {
    const engine = builtInDiagnosisEngine();
    let at = 0;
    for (let i = 0; i < 10_000; i++) {
      const stage = `stage${i % 3}`;
      engine.observe(ev((at += 0.01), 'task_start', { stage }, { span_id: `T${i}`, parent_span_id: `S${i % 3}` }));
      engine.observe(ev((at += 0.01), 'llm_call_error', { stage, model: 'gpt-4o', error: `${RATE} request ${i}` }, { span_id: `L${i}`, parent_span_id: `T${i}` }));
      engine.observe(ev((at += 0.01), i % 2 ? 'task_end' : 'task_error', { stage, error: `${RATE} request ${i}` }, { span_id: `T${i}`, parent_span_id: `S${i % 3}` }));
    }
    expect(engine.retained).toBeLessThan(400);
    const [rate, storm] = rankDiagnoses(engine.diagnose(context()));
    expect([rate.id, rate.evidence.count, rate.evidence.examples.length, rate.evidence.span_ids.length]).toEqual(['rate_limited', 10_000, 3, 10]);
    expect(storm.id).toBe('retry_storm');
  });

  it('answers the same when asked twice (a snapshot during the run, then the final report)', () => {
    const analyzer = new RunAnalyzer();
    for (const event of [ev(0, 'llm_call_error', { stage: 's', error: RATE }), ev(1, 'uncaught_exception', { error: RATE })]) analyzer.observe(event);
    const exit: ExitInfo = { reason: 'uncaught_exception', exit_code: 1, signal: null, at: null };
    const first = analyzer.buildReport({ exit, now: T0 }).diagnoses;
    expect(analyzer.buildReport({ exit, now: T0 }).diagnoses).toEqual(first);
    expect(ids(first)).toEqual(['rate_limited', 'crash']);
  });
});
