import { join } from 'node:path';
import { expect } from 'vitest';
import type { AutopsyReport } from '../../analyzers/reportTypes';
import type { TruthEvent } from '../../src/types';
import { REPO_ROOT, runNode, type ChildResult, type RunOptions } from './childProcess';
import { readReadableLines, readReport, readTrackerDocument } from './runFiles';
import { tempRunDir } from './tempDirs';

export const EXIT_FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'exit');

export interface PairResult {
  /** The same script without init(). */
  baseline: ChildResult;
  /** The script with the library recording into `dir`. */
  instrumented: ChildResult;
  dir: string;
  /** Scratch directory of the baseline run (for files its handlers write). */
  baselineDir: string;
}

/**
 * Runs a fixture twice at once: as a baseline (AUTOPSY_BASELINE=1, no init()) and instrumented.
 * The caller removes both directories.
 */
export async function runWithBaseline(fixture: string, args: (dir: string, role: 'baseline' | 'instrumented') => string[], options: RunOptions = {}): Promise<PairResult> {
  const dir = tempRunDir('autopsy-exit-');
  const baselineDir = tempRunDir('autopsy-baseline-');
  const script = join(EXIT_FIXTURES, fixture);
  const [baseline, instrumented] = await Promise.all([
    runNode(script, { ...options, args: args(baselineDir, 'baseline'), env: { ...options.env, AUTOPSY_BASELINE: '1' } }),
    runNode(script, { ...options, args: args(dir, 'instrumented') }),
  ]);
  return { baseline, instrumented, dir, baselineDir };
}

/**
 * Frames inside Node's own scheduler (`runNextTicks`, `processTimers` …) appear in an async stack
 * or not depending on which tick a continuation happened to run in, so they differ between two
 * runs of the same script on a busy machine. Everything else of the crash output must match.
 */
function withoutSchedulerFrames(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => !/^\s+at (?:\S+ )?\(?node:internal\/(?:process\/task_queues|timers)[:)]/.test(line))
    .join('\n');
}

/** Node's own behaviour is kept: same exit code, same signal, same stderr. */
export function expectSameBehaviour({ baseline, instrumented }: PairResult): void {
  expect({ code: instrumented.code, signal: instrumented.signal, stderr: withoutSchedulerFrames(instrumented.stderr) }).toEqual({
    code: baseline.code,
    signal: baseline.signal,
    stderr: withoutSchedulerFrames(baseline.stderr),
  });
}

export interface CompleteRun {
  events: TruthEvent[];
  readable: string[];
  report: AutopsyReport;
}

/**
 * The run left a complete autopsy: execution_tracker.json is one JSON document whose total_events
 * matches its events, the readable log has the same events in the same order, and the report
 * counted them all.
 */
export function expectCompleteRun(dir: string): CompleteRun {
  const document = readTrackerDocument(dir);
  expect(document.total_events).toBe(document.events.length);
  const readable = readReadableLines(dir);
  const readableTypes = readable.map((line) => /^\[[^\]]+\] \(\+\d+\.\d{3}s\) \[(?:INFO|WARNING|ERROR)\] ([^:]+): /.exec(line)?.[1]);
  expect(readableTypes).toEqual(document.events.map((event) => event.type));
  const report = readReport(dir);
  expect(report.run.total_events).toBe(document.events.length);
  return { events: document.events, readable, report };
}

/** The unfinished section and the `<kind>_unfinished` WARNING events agree with `expected`. */
export function expectUnfinished(run: CompleteRun, expected: Array<{ name: string; kind: string; stage: string }>): void {
  const unfinished = run.report.unfinished;
  expect(unfinished.map(({ name, kind, stage }) => ({ name, kind, stage }))).toEqual(expected);
  const starts = new Map(run.events.filter((event) => event.span_id && event.type.endsWith('_start')).map((event) => [event.span_id, event]));
  for (const span of unfinished) {
    expect(span.age_seconds).toBeGreaterThanOrEqual(0);
    expect(span.started).toBe(starts.get(span.span_id)?.timestamp);
    // The span it ran inside, as its start event names it (absent for a root span).
    expect(span.parent_span_id).toBe(starts.get(span.span_id)?.parent_span_id);
  }
  const prefix: Record<string, string> = { stage: 'stage', task: 'task', llm: 'llm_call', code_exec: 'code_exec', autofix: 'autofix' };
  const events = run.events.filter((event) => event.type.endsWith('_unfinished'));
  expect(events.map((event) => [event.type, event.level, event.span_id, event.data.stage, event.data.unfinished])).toEqual(
    unfinished.map((span) => [`${prefix[span.kind]}_unfinished`, 'WARNING', span.span_id, span.stage, true]),
  );
  for (const [index, event] of events.entries()) expect(event.data.age_seconds).toBe(unfinished[index].age_seconds);
}
