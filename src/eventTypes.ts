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

const KIND_BY_PREFIX = new Map<string, SpanKindName>(
  SPAN_KINDS.map((kind) => [EVENT_PREFIX[kind], kind]),
);

export type EventPhase = 'start' | 'end' | 'error';

export interface ParsedEventType {
  readonly kind: SpanKindName;
  readonly phase: EventPhase;
}

/** Answers per type (bounded): every event's type is parsed, live and when reading logs, and a run has few types. */
const parsedTypes = new Map<string, ParsedEventType | null>();
const PARSED_TYPES_LIMIT = 4096;

/** Splits `llm_call_error` into `{ kind: 'llm', phase: 'error' }`; undefined for other types. */
export function parseEventType(type: string): ParsedEventType | undefined {
  const known = parsedTypes.get(type);
  if (known !== undefined) return known ?? undefined;
  const parsed = splitEventType(type);
  if (parsedTypes.size < PARSED_TYPES_LIMIT) parsedTypes.set(type, parsed ?? null);
  return parsed;
}

function splitEventType(type: string): ParsedEventType | undefined {
  const cut = type.lastIndexOf('_');
  if (cut <= 0) return undefined;
  const phase = type.slice(cut + 1);
  if (phase !== 'start' && phase !== 'end' && phase !== 'error') return undefined;
  const kind = KIND_BY_PREFIX.get(type.slice(0, cut));
  return kind ? Object.freeze({ kind, phase }) : undefined;
}

/** Event types the seed reports as critical failures. */
export const CRITICAL_EVENT_TYPES: ReadonlySet<string> = new Set([
  EventTypes.TASK_ERROR,
  EventTypes.LLM_CALL_ERROR,
  EventTypes.CODE_EXEC_ERROR,
]);
