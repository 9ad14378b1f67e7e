import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeRun, analyzeRunSync } from '../analyzers/readRun';
import { RunAnalyzer } from '../analyzers/RunAnalyzer';
import type { TruthEvent } from '../src/types';
import { tempRunDir } from './helpers/tempDirs';

// Readers analyze parsed events in batches (analyzers/readRun.ts): these tests pin that a log whose
// length is no multiple of the batch, with the events that decide the exit in the middle of a
// batch, is analyzed exactly as one event at a time would analyze it.

const EVENTS = 203;

function eventAt(n: number): TruthEvent {
  const timestamp = new Date(Date.UTC(2026, 10, 25, 12, 0, 0) + n * 10).toISOString().replace('Z', '000Z');
  const base = { timestamp, elapsed_seconds: n / 100, level: 'INFO' as const };
  const stage = `stage${Math.floor(n / 50)}`;
  if (n % 50 === 0) return { ...base, type: 'stage_start', data: { stage, n } };
  if (n % 50 === 49) return { ...base, type: 'stage_end', data: { stage, n, duration: 0.49 } };
  if (n === 130) return { ...base, type: 'uncaught_exception', level: 'ERROR' as const, data: { error: 'TypeError: x is undefined', n } };
  if (n % 7 === 0) return { ...base, type: 'task_error', level: 'ERROR' as const, data: { task: 'solve', stage, error: `ValueError: bad row ${n}`, n } };
  if (n % 11 === 0) return { ...base, type: 'llm_call_error', level: 'ERROR' as const, data: { model: 'gpt-4o', stage, error: 'RateLimitError: 429', n } };
  return { ...base, type: 'task_end', data: { task: 'solve', stage, duration: 0.01, n } };
}

/** `indentEvery`: every n-th line indented, which the parser reads alone, between runs it parses together. */
function writeRun(events: TruthEvent[], indentEvery = 0): string {
  const dir = tempRunDir();
  const logs = join(dir, 'Memory', 'logs');
  mkdirSync(logs, { recursive: true });
  const lines = events.map((event, i) => `${indentEvery > 0 && i % indentEvery === 3 ? '  ' : ''}${JSON.stringify(event)}`).join(',\n');
  writeFileSync(join(logs, 'execution_tracker.json'), `{"start_time": "2026-11-25T12:00:00.000000", "events": [\n${lines}\n], "total_events": ${events.length}}\n`);
  return dir;
}

describe('readers analyze events in batches', () => {
  const events = Array.from({ length: EVENTS }, (_, n) => eventAt(n));
  const dirs = { compact: writeRun(events), mixed: writeRun(events, 10) };

  // The same events through one analyzer, one at a time.
  const direct = new RunAnalyzer({ eventCounts: false });
  for (const event of events) direct.observe(event);
  const expected = direct.buildReport({
    now: Date.parse(events[EVENTS - 1].timestamp),
    exit: { reason: 'uncaught_exception', exit_code: null, signal: null, at: null },
  });

  it.each([
    ['analyzeRunSync', 'compact', (dir: string, onEvent: (event: TruthEvent) => void) => Promise.resolve(analyzeRunSync(dir, { onEvent }))],
    ['analyzeRun', 'compact', (dir: string, onEvent: (event: TruthEvent) => void) => analyzeRun(dir, { onEvent })],
    ['analyzeRunSync', 'mixed', (dir: string, onEvent: (event: TruthEvent) => void) => Promise.resolve(analyzeRunSync(dir, { onEvent }))],
    ['analyzeRun', 'mixed', (dir: string, onEvent: (event: TruthEvent) => void) => analyzeRun(dir, { onEvent })],
  ] as const)('%s, %s lines: every event, in order, analyzed as one at a time would, the crash in mid-batch found', async (_name, layout, read) => {
    const seen: number[] = [];
    const { report } = await read(dirs[layout], (event) => seen.push(event.data.n as number));
    expect(seen).toEqual([...Array(EVENTS).keys()]);
    expect(report.run.total_events).toBe(EVENTS);
    expect(report.failure_analysis).toEqual(expected.failure_analysis);
    expect(report.failure_analysis.failures_by_type).toEqual({ task_error: 27, llm_call_error: 15, uncaught_exception: 1 });
    expect(report.stages).toEqual(expected.stages);
    expect(report.diagnoses.map((diagnosis) => diagnosis.id)).toEqual(['crash', 'rate_limited', 'retry_storm']);
    expect(report.diagnoses).toEqual(expected.diagnoses);
    // Complete log, no saved report: the exit comes from the crash event (event 130 of 203).
    expect(report.exit?.reason).toBe('uncaught_exception');
  });
});
