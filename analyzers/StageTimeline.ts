import type { TruthEvent } from '../src/types';
import { eventKind, type EventKind } from './eventKind';
import { stageKey } from './FailureAggregate';
import type { StageTimeline as StageEntry } from './reportTypes';

/** Start, end, duration and outcome of each stage, from stage_* events. */
export class StageTimeline {
  private readonly stages = new Map<string, StageEntry>();

  observe(event: TruthEvent, kind: EventKind = eventKind(event.type)): void {
    if (event.level === 'ERROR') {
      const entry = this.stages.get(stageKey(event.data));
      if (entry) entry.failures++;
    }
    if (!kind.stage) return;
    const type = event.type;
    // An end without a stage id (`track('stage_end', { duration })`) closes the stage that is running.
    const key = event.data?.stage === undefined && type !== 'stage_start' ? (this.running() ?? 'unknown') : stageKey(event.data);
    let entry = this.stages.get(key);
    if (type === 'stage_start') {
      if (entry && entry.ended === null) return; // a repeated start of a running stage
      const failures = entry?.failures ?? 0;
      entry = {
        stage: key,
        started: event.timestamp,
        ended: null,
        duration_seconds: null,
        outcome: 'unfinished',
        failures,
      };
      const name = event.data?.name;
      if (name !== undefined) entry.name = String(name);
      this.stages.delete(key); // re-run stages move to the end of the timeline
      this.stages.set(key, entry);
      return;
    }
    if (!entry) {
      entry = { stage: key, started: null, ended: null, duration_seconds: null, outcome: 'unfinished', failures: type === 'stage_error' ? 1 : 0 };
      this.stages.set(key, entry);
    }
    entry.ended = event.timestamp;
    entry.outcome = type === 'stage_error' ? 'error' : 'ok';
    const duration = event.data?.duration;
    if (typeof duration === 'number') entry.duration_seconds = duration;
    // Timestamps are parsed only here, when the end event does not say how long the stage took
    // (live events always do): Date.parse costs more than the rest of this method.
    else if (entry.started !== null) entry.duration_seconds = Math.max(0, (Date.parse(event.timestamp) - Date.parse(entry.started)) / 1000);
  }

  /** The most recently started stage that has not ended. */
  private running(): string | undefined {
    let found: string | undefined;
    for (const [key, entry] of this.stages) if (entry.started !== null && entry.ended === null) found = key;
    return found;
  }

  result(): StageEntry[] {
    return [...this.stages.values()].map((entry) => ({ ...entry }));
  }
}
