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

/**
 * llmCallEnds in the order of their span ids, to compare a live run with the OTLP file of its
 * spans: the SDK stamps each span's start in whole milliseconds (Date.now()), so two calls less
 * than 1 ms apart can come out of the file in the other order.
 */
export function llmCallEndsBySpan(events: TruthEvent[], fields: readonly string[]): Array<Record<string, unknown>> {
  const ends = events.filter((event) => event.type === 'llm_call_end' || event.type === 'llm_call_error');
  const fieldsOf = llmCallEnds(ends, fields);
  return ends.map((event, index) => ({ span_id: event.span_id, ...fieldsOf[index] })).sort((a, b) => (String(a.span_id) < String(b.span_id) ? -1 : 1));
}

/**
 * The llm_call_* events of a log by span and phase, without their times (`duration`,
 * `age_seconds`): a live run and the OTLP file of its spans compare equal this way. The SDK's span
 * times are coarser than the live clock, so the order of events less than 1 ms apart may differ.
 */
export function llmEventsBySpan(events: TruthEvent[]): Array<{ type: string; span_id: string | undefined; data: Record<string, unknown> }> {
  return events
    .filter((event) => event.type.startsWith('llm_call_'))
    .map((event) => {
      const { duration: _duration, age_seconds: _age, ...data } = event.data;
      return { type: event.type, span_id: event.span_id, data };
    })
    .sort((a, b) => (`${a.span_id}/${a.type}` < `${b.span_id}/${b.type}` ? -1 : 1));
}
