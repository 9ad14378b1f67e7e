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
  /** uncaught_exception, unhandled_rejection or signal_received: may tell how the process ended. */
  readonly ending: boolean;
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
    ending: type === 'uncaught_exception' || type === 'unhandled_rejection' || type === 'signal_received',
  });
}

const kinds = new Map<string, EventKind>();
/** Distinct types remembered; a run with more (types made per request) works them out each time. */
const MAX_KINDS = 4096;

/**
 * The last type seen in each of 64 slots, picked by its length and last character. A type read
 * from a log is a new string each time, and a map lookup hashes it first: comparing it with the
 * slot's type is about half the work (bench/README.md, item 21). Types that share a slot take
 * turns in it; the map still knows them all.
 */
const SLOTS = 64;
const slotTypes: Array<string | undefined> = new Array<string | undefined>(SLOTS).fill(undefined);
const slotKinds: Array<EventKind | undefined> = new Array<EventKind | undefined>(SLOTS).fill(undefined);

export function eventKind(type: string): EventKind {
  const slot = (type.length * 7 + (type.charCodeAt(type.length - 1) | 0)) & (SLOTS - 1);
  if (slotTypes[slot] === type) return slotKinds[slot] as EventKind;
  let kind = kinds.get(type);
  if (kind === undefined) {
    kind = kindOf(type);
    if (kinds.size < MAX_KINDS) kinds.set(type, kind);
  }
  slotTypes[slot] = type;
  slotKinds[slot] = kind;
  return kind;
}
