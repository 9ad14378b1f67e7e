import { describe, expect, it } from 'vitest';
import { Evidence } from '../analyzers/Evidence';
import { eventExample } from '../analyzers/eventErrors';
import { PropagationTracker } from '../analyzers/rootCause';
import { RunAnalyzer } from '../analyzers/RunAnalyzer';
import type { TruthEvent } from '../src/types';
import { seededRandom } from './helpers/seededRandom';

// An error repeated in a loop (a retry storm, one failing step per request) is the analysis's
// costliest case: these pin what its shortcuts must keep (bench/README.md, item 19).

describe('Evidence examples of an error repeated in a loop', () => {
  it('keeps the first three distinct examples, redacted, whatever repeats in between', () => {
    const evidence = new Evidence();
    const key = 'sk-proj-abcdefghijklmnopqrstuvwx';
    for (let i = 0; i < 50; i++) evidence.note('2026-11-26T06:00:00.000000Z', `llm_call_error (s): 401 Incorrect API key provided: ${key}`);
    for (let i = 0; i < 50; i++) evidence.note('2026-11-26T06:00:01.000000Z', 'task_error (s): boom');
    evidence.note('2026-11-26T06:00:02.000000Z', 'task_error (s): boom again');
    evidence.note('2026-11-26T06:00:03.000000Z', 'task_error (s): a fourth one');
    const json = evidence.toJSON();
    expect(json.count).toBe(102);
    expect(json.examples).toEqual(['llm_call_error (s): 401 Incorrect API key provided: sk-[REDACTED]', 'task_error (s): boom', 'task_error (s): boom again']);
    expect(JSON.stringify(json)).not.toContain(key);
  });

  it('lists once two examples that differ only in the secret they carried', () => {
    const evidence = new Evidence();
    evidence.note(null, 'auth failed: Authorization: Bearer aaaaaaaaaaaaaaaaaaaaaaaa');
    evidence.note(null, 'auth failed: Authorization: Bearer bbbbbbbbbbbbbbbbbbbbbbbb');
    evidence.note(null, 'auth failed: Authorization: Bearer aaaaaaaaaaaaaaaaaaaaaaaa');
    expect(evidence.toJSON().examples).toHaveLength(1);
    expect(evidence.toJSON().examples[0]).not.toMatch(/aaaa|bbbb/);
  });
});

describe('origins of errors repeated in a row', () => {
  const LONG_A = 'Rate limit reached for gpt-4o in organization org-1';
  const LONG_B = 'maximum context length is 128000 tokens, you requested 130000';
  const error = (second: number, message: string): TruthEvent => ({
    timestamp: `2026-11-26T06:00:${String(second).padStart(2, '0')}.000000Z`,
    elapsed_seconds: second,
    type: 'llm_call_error',
    level: 'ERROR',
    data: { stage: 's', error: message },
  });

  it.each([
    ['A B A A', [LONG_A, LONG_B, LONG_A, LONG_A], LONG_A, 3],
    ['A A B', [LONG_A, LONG_A, LONG_B], LONG_B, 2],
    ['B A A B B', [LONG_B, LONG_A, LONG_A, LONG_B, LONG_B], LONG_B, 4],
  ])('a crash quoting both repeats the newest: %s', (_, messages, newest, lastIndex) => {
    const tracker = new PropagationTracker();
    messages.forEach((message, i) => expect(tracker.observeError(error(i, message), message)).toBeUndefined());
    const origin = tracker.findOrigin(`agent failed: ${LONG_A} / ${LONG_B}`);
    expect(origin?.message).toBe(newest);
    expect(origin?.timestamp).toBe(error(lastIndex, newest).timestamp);
  });

  it('the report of 10,000 identical errors counts each and keeps one example', () => {
    const analyzer = new RunAnalyzer({ eventCounts: false });
    for (let i = 0; i < 10_000; i++) analyzer.observe(error(i % 60, LONG_A));
    const report = analyzer.finishReport({ now: Date.parse('2026-11-26T06:01:00Z') }).report;
    const rate = report.diagnoses.find((d) => d.id === 'rate_limited');
    expect(rate?.evidence.count).toBe(10_000);
    expect(rate?.evidence.examples).toEqual([`llm_call_error (s): ${LONG_A}`]);
    expect(report.failure_analysis.total_failures).toBe(10_000);
  });

  it('examples are those of every event, though one made from the same parts as the last is not made again', () => {
    // The parts an example is made of (type, stage, message, stderr, error type) change in a
    // seeded random order, often repeating: the report's examples must be those an Evidence given
    // every event's example makes.
    const random = seededRandom(5);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const analyzer = new RunAnalyzer({ eventCounts: false });
    const reference = new Evidence();
    for (let i = 0; i < 400; i++) {
      const data: Record<string, unknown> = { stage: pick(['s1', 's1', 's2']), error: pick([LONG_A, LONG_A, `429 ${LONG_A}`, `${LONG_A} (retry)`]) };
      if (random() < 0.3) data.error_type = pick(['RateLimitError', 'APIError']);
      if (random() < 0.2) data.stderr = pick(['retry later', 'Error: 429']);
      const event: TruthEvent = { ...error(i % 60, ''), type: pick(['llm_call_error', 'llm_call_error', 'provider_error']), data };
      analyzer.observe(event);
      reference.add(event, eventExample(event));
    }
    const rate = analyzer.finishReport({ now: Date.parse('2026-11-26T06:01:00Z') }).report.diagnoses.find((d) => d.id === 'rate_limited');
    expect(rate?.evidence.count).toBe(400);
    expect(rate?.evidence.examples).toEqual(reference.toJSON().examples);
    expect(rate?.evidence.examples).toHaveLength(3);
  });

  const rateLimited = { stage: 's1', error: LONG_A };
  const emptyMessage = { stage: 's1', error: '', error_type: 'APIError', http_status: 429 };
  it.each([
    ['stage', rateLimited, { stage: 's2' }, {}],
    ['type', rateLimited, {}, { type: 'provider_error' }],
    ['message', rateLimited, { error: `429 ${LONG_A}` }, {}],
    ['stderr', rateLimited, { stderr: 'Traceback (most recent call last):\nRuntimeError: 429 from the proxy' }, {}],
    ['error type, where the message is empty', emptyMessage, { error_type: 'RateLimitError' }, {}],
  ])('an error repeated with another %s is a new example', (_, firstData, changedData, changedEvent) => {
    const first: TruthEvent = { ...error(1, ''), data: firstData };
    const second: TruthEvent = { ...first, ...changedEvent, timestamp: error(2, '').timestamp, data: { ...firstData, ...changedData } };
    const analyzer = new RunAnalyzer({ eventCounts: false });
    const reference = new Evidence();
    for (const event of [first, first, second, second]) {
      analyzer.observe(event);
      reference.add(event, eventExample(event));
    }
    const diagnosis = analyzer.finishReport({ now: Date.parse('2026-11-26T06:01:00Z') }).report.diagnoses.find((d) => d.evidence.count === 4);
    expect(diagnosis?.evidence.examples).toEqual(reference.toJSON().examples);
    expect(diagnosis?.evidence.examples).toHaveLength(2);
  });
});
