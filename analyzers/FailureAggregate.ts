import type { TruthEvent } from '../src/types';
import { CriticalFailureList } from './CriticalFailureList';
import { eventKind, type EventKind } from './eventKind';

/** The stage key of events outside every stage (the seed's default). */
export const UNKNOWN_STAGE = 'unknown';

/** The seed's `data.get('stage', 'unknown')`, with non-string stages keyed as Python's json.dump would. */
export function stageKey(data: Record<string, unknown> | undefined): string {
  const stage = data?.stage;
  return stage === undefined ? UNKNOWN_STAGE : stageText(stage);
}

/**
 * A stage value as the failures_by_stage key it makes: the text of a string, `null`, `2`, `true`.
 * The original reporter copies a stage that is not a string (a Python agent's None or number) as
 * it is into critical_failures and most_problematic_stage; shown with this, a saved report's rows
 * name it as its failures_by_stage row does. Nothing (undefined) shows as nothing.
 */
export function stageText(stage: unknown): string {
  if (stage === undefined) return '';
  if (typeof stage === 'string') return stage;
  if (stage === null) return 'null';
  if (typeof stage === 'number' || typeof stage === 'boolean') return String(stage);
  try {
    return JSON.stringify(stage);
  } catch {
    return String(stage);
  }
}

/**
 * The seed's `data.get('error', 'Unknown error')`: the error of a critical failure whose event has
 * none. It is the entry's data, not a message, so it is the same in every locale, as in the original.
 */
export const UNKNOWN_ERROR = 'Unknown error';

/**
 * Streaming form of the seed's failure analysis: counts by type and stage in first-seen order
 * (so ties resolve to the key seen first, as Python's max over a dict does).
 */
export class FailureAggregate {
  total = 0;
  readonly byType = new Map<string, number>();
  readonly byStage = new Map<string, number>();
  readonly critical: CriticalFailureList;

  constructor(criticalInMemory?: number, criticalDir?: string) {
    this.critical = new CriticalFailureList(criticalInMemory, criticalDir);
  }

  observe(event: TruthEvent, kind: EventKind = eventKind(event.type)): void {
    if (event.level !== 'ERROR') return;
    this.total++;
    this.byType.set(event.type, (this.byType.get(event.type) ?? 0) + 1);
    const stage = stageKey(event.data);
    this.byStage.set(stage, (this.byStage.get(stage) ?? 0) + 1);
    if (kind.critical) {
      const error = event.data?.error;
      this.critical.push({
        timestamp: event.timestamp,
        type: event.type,
        stage,
        error: error === undefined ? UNKNOWN_ERROR : error,
      });
    }
  }
}

/** Key with the highest count; the first one seen wins a tie; 'N/A' when empty. */
export function firstMaximum(counts: Map<string, number>): string {
  let best = 'N/A';
  let bestCount = -Infinity;
  for (const [key, count] of counts) {
    if (count > bestCount) {
      best = key;
      bestCount = count;
    }
  }
  return best;
}
