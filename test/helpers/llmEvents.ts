import type { TruthEvent } from '../../src/types';

/** The llm_call_end / llm_call_error events of a log, each reduced to its type and the `fields` of its data that are set. */
export function llmCallEnds(events: TruthEvent[], fields: readonly string[]): Array<Record<string, unknown>> {
  return events
    .filter((event) => event.type === 'llm_call_end' || event.type === 'llm_call_error')
    .map((event) => {
      const out: Record<string, unknown> = { type: event.type };
      for (const field of fields) if (event.data[field] !== undefined) out[field] = event.data[field];
      return out;
    });
}
