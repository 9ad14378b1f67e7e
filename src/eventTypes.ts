/** The seed's event vocabulary. Custom types (e.g. `syntax_error`) are allowed everywhere. */
export const EventTypes = {
  STAGE_START: 'stage_start',
  STAGE_END: 'stage_end',
  TASK_START: 'task_start',
  TASK_END: 'task_end',
  TASK_ERROR: 'task_error',
  LLM_CALL_START: 'llm_call_start',
  LLM_CALL_END: 'llm_call_end',
  LLM_CALL_ERROR: 'llm_call_error',
  CODE_EXEC_START: 'code_exec_start',
  CODE_EXEC_END: 'code_exec_end',
  CODE_EXEC_ERROR: 'code_exec_error',
  CHECKPOINT_SAVE: 'checkpoint_save',
  CHECKPOINT_LOAD: 'checkpoint_load',
  ERROR_RECOVERY: 'error_recovery',
} as const;

export type SeedEventType = (typeof EventTypes)[keyof typeof EventTypes];

/** The kinds of agent span; each maps to `<prefix>_start`, `<prefix>_end`, `<prefix>_error` events. */
export type SpanKindName = 'stage' | 'task' | 'llm' | 'code_exec' | 'autofix';

export const SPAN_KINDS: readonly SpanKindName[] = ['stage', 'task', 'llm', 'code_exec', 'autofix'];

/** Event-type prefix of each kind (`llm` spans write `llm_call_*` as the seed does). */
export const EVENT_PREFIX: Readonly<Record<SpanKindName, string>> = {
  stage: 'stage',
  task: 'task',
  llm: 'llm_call',
  code_exec: 'code_exec',
  autofix: 'autofix',
};

export type EventPhase = 'start' | 'end' | 'error';

export interface ParsedEventType {
  readonly kind: SpanKindName;
  readonly phase: EventPhase;
}

export const EVENT_PHASES: readonly EventPhase[] = ['start', 'end', 'error'];

/**
 * Every span event type, looked up whole: it is asked of every event (live and when reading logs),
 * and a table lookup costs less than cutting the type apart.
 */
const SPAN_EVENT_TYPES = new Map<string, ParsedEventType>();
/**
 * The same types by kind and phase, made once: every span event is stamped with one of these very
 * strings, so the analyzers' maps hash each only once and the formatter's comparison with the last
 * type it wrote finds the same string.
 */
const SPAN_EVENT_TYPE_TEXT = {} as Record<SpanKindName, Record<EventPhase, string>>;
for (const kind of SPAN_KINDS) {
  const byPhase = {} as Record<EventPhase, string>;
  for (const phase of EVENT_PHASES) {
    const type = `${EVENT_PREFIX[kind]}_${phase}`;
    byPhase[phase] = type;
    SPAN_EVENT_TYPES.set(type, Object.freeze({ kind, phase }));
  }
  SPAN_EVENT_TYPE_TEXT[kind] = byPhase;
}

/** The event type of a span of `kind` at `phase`: `llm` and `error` give `llm_call_error`. */
export function spanEventType(kind: SpanKindName, phase: EventPhase): string {
  return SPAN_EVENT_TYPE_TEXT[kind][phase];
}

/** Splits `llm_call_error` into `{ kind: 'llm', phase: 'error' }`; undefined for other types. */
export function parseEventType(type: string): ParsedEventType | undefined {
  return SPAN_EVENT_TYPES.get(type);
}

/** Event types the seed reports as critical failures. */
export const CRITICAL_EVENT_TYPES: ReadonlySet<string> = new Set([
  EventTypes.TASK_ERROR,
  EventTypes.LLM_CALL_ERROR,
  EventTypes.CODE_EXEC_ERROR,
]);
