import { CRITICAL_EVENT_TYPES } from '../src/eventTypes';
import { parseSpanEvent, type SpanEvent } from './SpanPairing';

/**
 * What an event's type tells the analyzers, worked out once per distinct type. Every analyzer
 * asks it of every event, live and read back, and each used to test the type on its own (suffixes,
 * comparisons with a string JSON.parse has just made): one lookup now serves them all
 * (bench/README.md, item 19).
 */
export interface EventKind {
  /** `<kind>_start`, `_end`, `_error` or `_unfinished` of an agent span kind; undefined otherwise. */
  readonly span: SpanEvent | undefined;
  /** `*_end` or `*_unfinished`, whatever the prefix: a span ended. */
  readonly ends: boolean;
  /** `*_unfinished`: written at exit for a span still open. */
  readonly unfinished: boolean;
  /** `*_error`: reports an error whatever its level. */
  readonly error: boolean;
  /** One of the seed's critical failure types (task_error, llm_call_error, code_exec_error). */
  readonly critical: boolean;
  /** llm_call_end or llm_call_error. */
  readonly llmCall: boolean;
  /** stage_start, stage_end or stage_error. */
  readonly stage: boolean;
}

function kindOf(type: string): EventKind {
  const span = parseSpanEvent(type);
  const unfinished = type.endsWith('_unfinished');
  return Object.freeze({
    span,
    ends: unfinished || type.endsWith('_end'),
    unfinished,
    error: type.endsWith('_error'),
    critical: CRITICAL_EVENT_TYPES.has(type),
    llmCall: type === 'llm_call_end' || type === 'llm_call_error',
    stage: type === 'stage_start' || type === 'stage_end' || type === 'stage_error',
  });
}

const kinds = new Map<string, EventKind>();
/** Distinct types remembered; a run with more (types made per request) works them out each time. */
const MAX_KINDS = 4096;

export function eventKind(type: string): EventKind {
  let kind = kinds.get(type);
  if (kind === undefined) {
    kind = kindOf(type);
    if (kinds.size < MAX_KINDS) kinds.set(type, kind);
  }
  return kind;
}
