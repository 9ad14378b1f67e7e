import { describe, expect, it } from 'vitest';
import { eventKind } from '../analyzers/eventKind';

describe('eventKind: what a type tells the analyzers', () => {
  it.each([
    ['stage_start', { span: { kind: 'stage', phase: 'start', unfinished: false }, ends: false, unfinished: false, error: false, critical: false, llmCall: false, stage: true, ending: false }],
    ['stage_end', { span: { kind: 'stage', phase: 'end', unfinished: false }, ends: true, unfinished: false, error: false, critical: false, llmCall: false, stage: true, ending: false }],
    ['stage_error', { span: { kind: 'stage', phase: 'error', unfinished: false }, ends: false, unfinished: false, error: true, critical: false, llmCall: false, stage: true, ending: false }],
    ['task_error', { span: { kind: 'task', phase: 'error', unfinished: false }, ends: false, unfinished: false, error: true, critical: true, llmCall: false, stage: false, ending: false }],
    ['llm_call_end', { span: { kind: 'llm', phase: 'end', unfinished: false }, ends: true, unfinished: false, error: false, critical: false, llmCall: true, stage: false, ending: false }],
    ['llm_call_error', { span: { kind: 'llm', phase: 'error', unfinished: false }, ends: false, unfinished: false, error: true, critical: true, llmCall: true, stage: false, ending: false }],
    ['code_exec_error', { span: { kind: 'code_exec', phase: 'error', unfinished: false }, ends: false, unfinished: false, error: true, critical: true, llmCall: false, stage: false, ending: false }],
    ['llm_call_unfinished', { span: { kind: 'llm', phase: 'end', unfinished: true }, ends: true, unfinished: true, error: false, critical: false, llmCall: false, stage: false, ending: false }],
    // Foreign spans and seed-style types: no span kind, but the suffixes still count.
    ['http_request_end', { span: undefined, ends: true, unfinished: false, error: false, critical: false, llmCall: false, stage: false, ending: false }],
    ['tool_unfinished', { span: undefined, ends: true, unfinished: true, error: false, critical: false, llmCall: false, stage: false, ending: false }],
    ['syntax_error', { span: undefined, ends: false, unfinished: false, error: true, critical: false, llmCall: false, stage: false, ending: false }],
    ['checkpoint_save', { span: undefined, ends: false, unfinished: false, error: false, critical: false, llmCall: false, stage: false, ending: false }],
    // How the process ended, for the readers.
    ['uncaught_exception', { span: undefined, ends: false, unfinished: false, error: false, critical: false, llmCall: false, stage: false, ending: true }],
    ['unhandled_rejection', { span: undefined, ends: false, unfinished: false, error: false, critical: false, llmCall: false, stage: false, ending: true }],
    ['signal_received', { span: undefined, ends: false, unfinished: false, error: false, critical: false, llmCall: false, stage: false, ending: true }],
  ])('%s', (type, expected) => {
    expect({ ...eventKind(type), span: eventKind(type).span && { ...eventKind(type).span } }).toEqual(expected);
  });

  it('is worked out once per type, and still right for types past the remembered ones', () => {
    expect(eventKind('task_end')).toBe(eventKind('task_end'));
    for (let i = 0; i < 5000; i++) eventKind(`custom_${i}_end`);
    const late = eventKind('late_type_error');
    expect(late.error).toBe(true);
    expect(late.ends).toBe(false);
    expect(eventKind('stage_end').stage).toBe(true);
  });

  it('tells apart types that share a slot (same length and last character), read as new strings each time', () => {
    const pairs = [
      ['task_start', 'tool_start'],
      ['llm_call_end', 'custom_a_end'],
      ['stage_error', 'stage_rumor'],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [a, b] of pairs) {
        expect(b.length).toBe(a.length);
        expect(b.at(-1)).toBe(a.at(-1));
        // A type parsed from a log line is a string of its own, not the interned literal.
        const readA = JSON.parse(JSON.stringify({ t: a })).t as string;
        const readB = JSON.parse(JSON.stringify({ t: b })).t as string;
        expect(eventKind(readA)).toBe(eventKind(a));
        expect(eventKind(readB)).toBe(eventKind(b));
        expect(eventKind(readA)).not.toBe(eventKind(readB));
      }
    }
    expect(eventKind('task_start').span?.kind).toBe('task');
    expect(eventKind('tool_start').span).toBeUndefined();
    expect(eventKind('custom_a_end').llmCall).toBe(false);
    expect(eventKind('llm_call_end').llmCall).toBe(true);
    expect(eventKind('').ends).toBe(false);
  });
});
