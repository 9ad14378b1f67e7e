import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LlmUsageAggregate } from '../analyzers/LlmUsageAggregate';
import { analyzeRunSync } from '../analyzers/readRun';
import { RunAnalyzer } from '../analyzers/RunAnalyzer';
import { StageTimeline } from '../analyzers/StageTimeline';
import type { TruthEvent } from '../src/types';

const T0 = Date.parse('2025-01-24T10:30:00.000Z');
function ev(at: number, type: string, data: Record<string, unknown> = {}): TruthEvent {
  return { timestamp: new Date(T0 + at * 1000).toISOString(), elapsed_seconds: at, type, level: type.endsWith('_error') ? 'ERROR' : 'INFO', data };
}

describe('stages', () => {
  it('closes the running stage with an end that names none (track("stage_end", { duration }))', () => {
    const timeline = new StageTimeline();
    for (const event of [ev(0, 'stage_start', { stage: 'stage1', name: 'Problem Analysis' }), ev(1, 'llm_call_error', { stage: 'stage1', error: 'x' }), ev(5, 'stage_end', { duration: 5.0 })]) {
      timeline.observe(event);
    }
    expect(timeline.result()).toEqual([
      { stage: 'stage1', name: 'Problem Analysis', started: ev(0, '').timestamp, ended: ev(5, '').timestamp, duration_seconds: 5, outcome: 'ok', failures: 1 },
    ]);
  });

  it('an end that names none closes the stage started last that still runs: nested, re-run, and among thousands of ended ones', () => {
    // The running stage is found from a stack of starts; it was a scan of every stage per end
    // (20,000 stages, each closed by such an end: 5.7 s of analysis).
    const timeline = new StageTimeline();
    let at = 0;
    const feed = (type: string, data: Record<string, unknown> = {}) => timeline.observe(ev(at++, type, data));
    feed('stage_start', { stage: 'a' });
    feed('stage_start', { stage: 'b' });
    feed('stage_end'); // b
    feed('stage_start', { stage: 'c' });
    feed('stage_end', { stage: 'c' });
    for (let i = 0; i < 3_000; i++) {
      feed('stage_start', { stage: `req-${i}` });
      feed('stage_end', { duration: 0.5 });
    }
    feed('stage_end'); // a
    feed('stage_start', { stage: 'b' }); // re-run: moves to the end of the timeline
    feed('stage_start', { stage: 'd' });
    feed('stage_error', { error: 'x' }); // d
    feed('stage_end'); // b
    feed('stage_end'); // none running: an entry of its own
    const result = timeline.result();
    const byStage = new Map(result.map((stage) => [stage.stage, stage]));
    expect([byStage.get('a')?.ended, byStage.get('b')?.started, byStage.get('b')?.ended, byStage.get('d')?.outcome]).toEqual([
      ev(6_005, '').timestamp,
      ev(6_006, '').timestamp,
      ev(6_009, '').timestamp,
      'error',
    ]);
    expect(result.filter((stage) => stage.stage.startsWith('req-') && stage.ended !== null && stage.duration_seconds === 0.5)).toHaveLength(3_000);
    expect(result.map((stage) => stage.stage).slice(-3)).toEqual(['b', 'd', 'unknown']);
  });

  it('a stage run again right away keeps its place; runs of a stage at once share its row until the last ends', () => {
    const timeline = new StageTimeline();
    let at = 0;
    const feed = (type: string, data: Record<string, unknown>, spanId: string) => timeline.observe({ ...ev(at++, type, data), span_id: spanId });
    feed('stage_start', { stage: 'a' }, 'a1');
    feed('stage_end', { stage: 'a', duration: 1 }, 'a1');
    feed('stage_start', { stage: 'b' }, 'b1');
    feed('stage_end', { stage: 'b', duration: 2 }, 'b1');
    feed('stage_start', { stage: 'b', name: 'again' }, 'b2'); // the newest stage again: its row is replaced in place
    feed('stage_end', { stage: 'b', duration: 3 }, 'b2');
    feed('stage_start', { stage: 'a' }, 'a2'); // an older stage again: it moves to the end
    feed('stage_start', { stage: 'a' }, 'a3'); // a second run of it at the same time
    feed('stage_error', { stage: 'a', duration: 5, error: 'x' }, 'a2');
    expect(timeline.result().map((row) => [row.stage, row.ended])).toEqual([
      ['b', ev(5, '').timestamp],
      ['a', null],
    ]);
    feed('stage_end', { stage: 'a', duration: 4 }, 'a3');
    expect(timeline.result()).toEqual([
      { stage: 'b', name: 'again', started: ev(4, '').timestamp, ended: ev(5, '').timestamp, duration_seconds: 3, outcome: 'ok', failures: 0 },
      // The error it failed with: its failed run's.
      { stage: 'a', started: ev(6, '').timestamp, ended: ev(9, '').timestamp, duration_seconds: 5, outcome: 'error', failures: 1, error: 'x' },
    ]);
    expect(Object.keys(timeline.result()[0])).toEqual(['stage', 'started', 'ended', 'duration_seconds', 'outcome', 'failures', 'name']);
    expect(Object.keys(timeline.result()[1])).toEqual(['stage', 'started', 'ended', 'duration_seconds', 'outcome', 'failures', 'error']);
    // Two runs at once that both fail: the first failure's error. A run after them starts afresh.
    feed('stage_start', { stage: 'c' }, 'c1');
    feed('stage_start', { stage: 'c' }, 'c2');
    feed('stage_error', { stage: 'c', error: 'first' }, 'c2');
    feed('stage_error', { stage: 'c', error: 'second' }, 'c1');
    expect(timeline.result()[2]).toMatchObject({ stage: 'c', outcome: 'error', error: 'first' });
    feed('stage_start', { stage: 'c' }, 'c3');
    feed('stage_end', { stage: 'c' }, 'c3');
    expect(timeline.result()[2]).not.toHaveProperty('error');
    feed('stage_start', { stage: 'c' }, 'c4');
    feed('stage_error', { stage: 'c', error: 'third' }, 'c4');
    expect(timeline.result()[2]).toMatchObject({ outcome: 'error', error: 'third' });
  });

  it('reads the timeline of a recorded run: durations, outcomes, failures, the stage still open', () => {
    const stages = analyzeRunSync(join(__dirname, 'fixtures', 'runs', 'stage_hang')).report.stages;
    expect(stages.map((s) => [s.stage, s.outcome, s.failures, s.ended === null])).toEqual([
      ['stage1', 'ok', 0, false],
      ['stage2', 'unfinished', 0, true],
    ]);
    const slow = analyzeRunSync(join(__dirname, 'fixtures', 'runs', 'slow_stage')).report.stages;
    expect(slow.map((s) => s.stage)).toEqual(['stage1', 'stage2', 'stage3', 'stage4']);
    expect(slow[2].duration_seconds).toBeGreaterThan(3);
    for (const other of [slow[0], slow[1], slow[3]]) expect(other.duration_seconds).toBeLessThan(1);
  });
});

describe('llm_usage', () => {
  it('counts errors by the HTTP status a seed-style message states', () => {
    const usage = new LlmUsageAggregate();
    usage.observe(ev(0, 'llm_call_error', { model: 'gpt-4o', error: "Error code: 429 - {'error': {'message': 'Rate limit exceeded'}}" }));
    usage.observe(ev(1, 'llm_call_error', { model: 'gpt-4o', error: 'Rate limit exceeded' }));
    usage.observe(ev(2, 'llm_call_error', { model: 'gpt-4o', error: '529 {"type":"error"}', error_type: 'OverloadedError', http_status: 529 }));
    usage.observe(ev(3, 'llm_call_end', { model: 'gpt-4o', input_tokens: 100, output_tokens: 20, duration: 1.5 }));
    const result = usage.result();
    // One call: its percentiles are its own duration (the buckets are clamped to the values seen).
    expect(result).toEqual({
      calls: 4,
      errors: 3,
      input_tokens: 100,
      output_tokens: 20,
      total_tokens: 120,
      by_model: { 'gpt-4o': { calls: 4, errors: 3, input_tokens: 100, output_tokens: 20 } },
      latency_seconds: { p50: 1.5, p95: 1.5, max: 1.5 },
      errors_by_type: { unknown: 2, OverloadedError: 1 },
      errors_by_status: { '429': 1, '529': 1 },
    });
  });

  it('percentiles: within 2% of the true value, never outside the values seen', () => {
    const usage = new LlmUsageAggregate();
    for (let i = 1; i <= 100; i++) usage.observe(ev(i, 'llm_call_end', { model: 'm', duration: i / 10 }));
    const { p50, p95, max } = usage.result().latency_seconds;
    expect(Math.abs(p50! - 5.0) / 5.0).toBeLessThan(0.02);
    expect(Math.abs(p95! - 9.5) / 9.5).toBeLessThan(0.02);
    expect(max).toBe(10);
    // Calls that all took the same time, or only tiny ones (the first bucket holds everything under 0.1 ms).
    for (const duration of [1.5, 7.77, 0.00002]) {
      const same = new LlmUsageAggregate();
      for (let i = 0; i < 3; i++) same.observe(ev(i, 'llm_call_end', { model: 'm', duration }));
      expect(same.result().latency_seconds).toEqual({ p50: Math.round(duration * 1000) / 1000, p95: Math.round(duration * 1000) / 1000, max: Math.round(duration * 1000) / 1000 });
    }
  });

  it('summarises the recorded runs made with the official SDKs', () => {
    const usage = analyzeRunSync(join(__dirname, 'fixtures', 'runs', 'llm_server_error')).report.llm_usage;
    expect(usage.calls).toBe(4);
    expect(usage.errors).toBe(3);
    expect(usage.errors_by_type).toEqual({ OverloadedError: 2, InternalServerError: 1 });
    expect(usage.errors_by_status).toEqual({ '529': 2, '500': 1 });
    expect(Object.keys(usage.by_model)).toEqual(['claude-sonnet-4-5']);
    const seed = analyzeRunSync(join(__dirname, 'fixtures', 'runs', 'py_seed_sample')).report.llm_usage;
    expect([seed.calls, seed.errors, seed.errors_by_type, seed.errors_by_status]).toEqual([11, 8, { unknown: 8 }, {}]);
  });
});

describe('run.duration_seconds', () => {
  it('is rounded to the microsecond like the other durations', () => {
    const analyzer = new RunAnalyzer();
    analyzer.observe({ ...ev(0, 'stage_start', { stage: 'a' }), timestamp: '2026-11-26T04:37:31.969060Z' });
    const report = analyzer.buildReport({ now: Date.parse('2026-11-26T04:37:31.969060Z') + 962.4626464843 });
    analyzer.dispose();
    expect(report.run.duration_seconds).toBe(0.962463);
  });
});
