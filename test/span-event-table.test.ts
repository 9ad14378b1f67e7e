import { describe, expect, it } from 'vitest';
import { parseSpanEvent } from '../analyzers/SpanPairing';
import { EVENT_PREFIX, parseEventType, SPAN_KINDS } from '../src/eventTypes';

// parseSpanEvent() looks span event types up in a table. It must answer exactly what cutting the
// type apart with parseEventType() answers, `<prefix>_unfinished` read as an end.

function general(type: string): { kind: string; phase: string; unfinished: boolean } | undefined {
  const unfinished = type.endsWith('_unfinished');
  const parsed = parseEventType(unfinished ? `${type.slice(0, -'_unfinished'.length)}_end` : type);
  return parsed ? { kind: parsed.kind, phase: parsed.phase, unfinished } : undefined;
}

const prefixes = [...SPAN_KINDS.map((kind) => EVENT_PREFIX[kind]), 'llm', 'call', 'code', 'exec', 'checkpoint', 'syntax', '', '_', 'Stage', 'task_task'];
const suffixes = ['start', 'end', 'error', 'unfinished', 'save', 'End', 'start_end', 'end_unfinished', ''];
const types = [
  ...prefixes.flatMap((prefix) => suffixes.flatMap((suffix) => [`${prefix}_${suffix}`, `${prefix}${suffix}`, `x_${prefix}_${suffix}`])),
  '_unfinished',
  'unfinished',
  'llm_call_end_unfinished',
  'stage_start ',
  ' stage_start',
  'uncaught_exception',
  'signal_received',
];

describe('parseSpanEvent', () => {
  it('answers as parseEventType does, for span types and others', () => {
    for (const type of types) expect({ type, parsed: parseSpanEvent(type) && { ...parseSpanEvent(type) } }).toEqual({ type, parsed: general(type) });
  });

  it('knows every kind and phase', () => {
    const known = types.filter((type) => parseSpanEvent(type) !== undefined);
    expect(known).toHaveLength(SPAN_KINDS.length * 4);
  });
});
