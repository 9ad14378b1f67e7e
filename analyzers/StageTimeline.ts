import type { TruthEvent } from '../src/types';
import { eventKind, type EventKind } from './eventKind';
import { stageKey } from './FailureAggregate';
import type { StageTimeline as StageEntry } from './reportTypes';

/**
 * Runs of one stage id that overlap (a service's `stage('answer', { request_id }, fn)` handling
 * requests at once) share a row: it starts with the first, ends with the last, failed when one of
 * them failed, and its duration is the longest run's (slow_stage compares runs, not a busy period).
 */
interface OverlappingRuns {
  /**
   * Span ids of the runs still going: one run's id as it is, a Set only once runs overlap (most
   * stages run once at a time: no Set to allocate per start, bench/README.md item 25).
   */
  open: string | Set<string>;
  failed: boolean;
  overlapped: boolean;
  /** The longest duration an ended run reported; -1: none did. */
  longest: number;
}

/** Takes a run's span id out of the open ones ('' when none is left); false when it was not open. */
function closeRun(runs: OverlappingRuns, spanId: string): boolean {
  if (typeof runs.open !== 'string') return runs.open.delete(spanId);
  if (runs.open !== spanId) return false;
  runs.open = '';
  return true;
}

/**
 * A stage's row while it is built: the report's row, and the runs of its span ids still going.
 * The runs live on the row, not in a map of their own: one entry added and deleted per stage run
 * churned that map's table in the old generation (bench/README.md, item 30).
 */
interface StageRow {
  stage: string;
  started: string | null;
  ended: string | null;
  duration_seconds: number | null;
  outcome: StageEntry['outcome'];
  failures: number;
  name: string | undefined;
  /** The error of the stage's first failed run since it started (a stage_error's `data.error`). */
  error: string | undefined;
  /** The runs going on, when the row's start carried a span id; undefined otherwise. */
  runs: OverlappingRuns | undefined;
}

function newRow(stage: string, started: string | null, failures: number): StageRow {
  return { stage, started, ended: null, duration_seconds: null, outcome: 'unfinished', failures, name: undefined, error: undefined, runs: undefined };
}

/** Start, end, duration and outcome of each stage, from stage_* events. */
export class StageTimeline {
  private readonly stages = new Map<string, StageRow>();
  /** The stage id added to `stages` last: a re-run of it keeps its place without a delete. */
  private newestKey: string | undefined;
  /**
   * Rows in the order they started, for runningStage(): ended or re-run rows are dropped when
   * they reach the top, and the whole stack is compacted when it holds twice the running ones.
   */
  private starts: StageRow[] = [];
  private runningCount = 0;

  observe(event: TruthEvent, kind: EventKind = eventKind(event.type)): void {
    if (event.level === 'ERROR') {
      const entry = this.stages.get(stageKey(event.data));
      if (entry) entry.failures++;
    }
    if (!kind.stage) return;
    const type = event.type;
    // An end without a stage id (`track('stage_end', { duration })`) closes the stage that is running.
    const key = event.data?.stage === undefined && type !== 'stage_start' ? (this.runningStage() ?? 'unknown') : stageKey(event.data);
    let entry = this.stages.get(key);
    const spanId = event.span_id;
    if (type === 'stage_start') {
      if (entry && entry.ended === null) {
        // Another run of a running stage: the row ends with the last of them. Without span ids
        // (the seed's track() calls), a repeated start of the same stage.
        const runs = spanId === undefined ? undefined : entry.runs;
        if (runs) {
          if (typeof runs.open === 'string') runs.open = new Set([runs.open, spanId!]);
          else runs.open.add(spanId!);
          runs.overlapped = true;
        }
        return;
      }
      entry = newRow(key, event.timestamp, entry?.failures ?? 0);
      if (spanId !== undefined) entry.runs = { open: spanId, failed: false, overlapped: false, longest: -1 };
      const name = event.data?.name;
      if (name !== undefined) entry.name = String(name);
      // Re-run stages move to the end of the timeline (one that is there already stays).
      if (key !== this.newestKey) this.stages.delete(key);
      this.stages.set(key, entry);
      this.newestKey = key;
      this.starts.push(entry);
      this.runningCount++;
      if (this.starts.length > 2 * this.runningCount + 64) this.starts = this.starts.filter((started) => this.isRunning(started));
      return;
    }
    if (!entry) {
      entry = newRow(key, null, type === 'stage_error' ? 1 : 0);
      this.stages.set(key, entry);
      this.newestKey = key;
    }
    let duration = event.data?.duration;
    const runs = spanId === undefined ? undefined : entry.runs;
    let failed = type === 'stage_error';
    if (failed && entry.error === undefined && typeof event.data?.error === 'string') entry.error = event.data.error;
    if (runs && closeRun(runs, spanId!)) {
      if (failed) runs.failed = true;
      if (typeof duration === 'number' && duration > runs.longest) runs.longest = duration;
      if (typeof runs.open === 'string' ? runs.open !== '' : runs.open.size > 0) return; // other runs of this stage are still going
      entry.runs = undefined;
      if (runs.overlapped) {
        failed = runs.failed;
        duration = runs.longest >= 0 ? runs.longest : undefined;
      }
    }
    if (entry.started !== null && entry.ended === null) this.runningCount--;
    entry.ended = event.timestamp;
    entry.outcome = failed ? 'error' : 'ok';
    if (typeof duration === 'number') entry.duration_seconds = duration;
    // Timestamps are parsed only here, when the end event does not say how long the stage took
    // (live events always do): Date.parse costs more than the rest of this method.
    else if (entry.started !== null) entry.duration_seconds = Math.max(0, (Date.parse(event.timestamp) - Date.parse(entry.started)) / 1000);
  }

  /** The most recently started stage that has not ended. */
  private runningStage(): string | undefined {
    const starts = this.starts;
    while (starts.length > 0 && !this.isRunning(starts[starts.length - 1])) starts.pop();
    return starts.length > 0 ? starts[starts.length - 1].stage : undefined;
  }

  /** Started, not ended, and still its stage's row (a re-run replaces it). */
  private isRunning(entry: StageRow): boolean {
    return entry.ended === null && this.stages.get(entry.stage) === entry;
  }

  result(): StageEntry[] {
    return [...this.stages.values()].map(reportRow);
  }
}

/** The report's row: the keys in the order the report has always written them. */
function reportRow(row: StageRow): StageEntry {
  const entry: StageEntry = { stage: row.stage, started: row.started, ended: row.ended, duration_seconds: row.duration_seconds, outcome: row.outcome, failures: row.failures };
  if (row.name !== undefined) entry.name = row.name;
  if (row.outcome === 'error' && row.error !== undefined) entry.error = row.error;
  return entry;
}
