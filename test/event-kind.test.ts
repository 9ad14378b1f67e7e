import { describe, expect, it } from 'vitest';
import { eventKind } from '../analyzers/eventKind';

describe('eventKind: what a type tells the analyzers', () => {
  it.each([
    ['stage_start', { span: { kind: 'stage', phase: 'start', unfinished: false }, ends: false, unfinished: false, error: false, critical: false, llmCall: false, stage: true }],
    ['stage_end', { span: { kind: 'stage', phase: 'end', unfinished: false }, ends: true, unfinished: false, error: false, critical: false, llmCall: false, stage: true }],
    ['stage_error', { span: { kind: 'stage', phase: 'error', unfinished: false }, ends: false, unfinished: false, error: true, critical: false, llmCall: false, stage: true }],
    ['task_error', { span: { kind: 'task', phase: 'error', unfinished: false }, ends: false, unfinished: false, error: true, critical: true, llmCall: false, stage: false }],
    ['llm_call_end', { span: { kind: 'llm', phase: 'end', unfinished: false }, ends: true, unfinished: false, error: false, critical: false, llmCall: true, stage: false }],
    ['llm_call_error', { span: { kind: 'llm', phase: 'error', unfinished: false }, ends: false, unfinished: false, error: true, critical: true, llmCall: true, stage: false }],
    ['code_exec_error', { span: { kind: 'code_exec', phase: 'error', unfinished: false }, ends: false, unfinished: false, error: true, critical: true, llmCall: false, stage: false }],
    ['llm_call_unfinished', { span: { kind: 'llm', phase: 'end', unfinished: true }, ends: true, unfinished: true, error: false, critical: false, llmCall: false, stage: false }],
    // Foreign spans and seed-style types: no span kind, but the suffixes still count.
    ['http_request_end', { span: undefined, ends: true, unfinished: false, error: false, critical: false, llmCall: false, stage: false }],
    ['tool_unfinished', { span: undefined, ends: true, unfinished: true, error: false, critical: false, llmCall: false, stage: false }],
    ['syntax_error', { span: undefined, ends: false, unfinished: false, error: true, critical: false, llmCall: false, stage: false }],
    ['checkpoint_save', { span: undefined, ends: false, unfinished: false, error: false, critical: false, llmCall: false, stage: false }],
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
});
