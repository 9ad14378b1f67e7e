import type { TruthEvent } from '../src/types';
import { stageKey } from './FailureAggregate';
import type { UnfinishedSpan } from './reportTypes';
import { eventKind, type EventKind } from './eventKind';
import { parseSpanEvent, SpanPairing } from './SpanPairing';

interface Open {
  spanId?: string;
  parentSpanId?: string;
  name: string;
  kind: string;
  stage: string;
  started: string;
}

/** The open span a start event describes (computed only for spans that stay open). */
function openSpan(start: TruthEvent): Open {
  const kind = parseSpanEvent(start.type)?.kind ?? start.type;
  const data = start.data ?? {};
  return {
    spanId: start.span_id,
    parentSpanId: start.parent_span_id,
    name: spanName(kind, data),
    kind,
    stage: stageKey(data),
    started: start.timestamp,
  };
}

/**
 * Rebuilds, from a log on disk, which spans were still open when it ends (a killed process never
 * wrote their end). Events with span ids pair by id; seed-style events pair by kind and name.
 * The start event of each open span is kept as it is, and read only if the span never ends:
 * nearly all spans end, and naming each at its start cost more than the pairing itself. (The
 * readers hand it events that nothing changes afterwards.)
 */
export class OpenSpanTracker {
  private readonly pairing = new SpanPairing<TruthEvent>();
  /** Spans the process itself recorded as unfinished at exit (`<kind>_unfinished`). */
  private readonly recorded: UnfinishedSpan[] = [];

  observe(event: TruthEvent, kind: EventKind = eventKind(event.type)): void {
    const parsed = kind.span;
    if (!parsed) return;
    if (parsed.phase === 'start') {
      this.pairing.open(event, parsed.kind, event);
      return;
    }
    if (!parsed.unfinished) {
      this.pairing.end(event, parsed.kind);
      return;
    }
    const start = this.pairing.close(event, parsed.kind, true);
    const data = event.data ?? {};
    const entry = start && openSpan(start);
    const age = typeof data.age_seconds === 'number' ? data.age_seconds : 0;
    const span: UnfinishedSpan = {
      name: entry?.name ?? spanName(parsed.kind, data),
      kind: parsed.kind,
      stage: entry?.stage ?? stageKey(data),
      started: entry?.started ?? event.timestamp,
      age_seconds: age,
    };
    addEventIds(span, event);
    addFailure(span, data);
    this.recorded.push(addStreamFacts(span, data));
  }

  /** Spans without an end, oldest first; age measured to `endTimestamp` (the last event). */
  unfinished(endTimestamp: string | null): UnfinishedSpan[] {
    const endMs = endTimestamp ? Date.parse(endTimestamp) : NaN;
    const all = this.pairing.pending().map(openSpan);
    all.sort((a, b) => (a.started < b.started ? -1 : a.started > b.started ? 1 : 0));
    return [...this.recorded, ...all.map((entry) => {
      const startMs = Date.parse(entry.started);
      const span: UnfinishedSpan = {
        name: entry.name,
        kind: entry.kind,
        stage: entry.stage,
        started: entry.started,
        age_seconds: Number.isFinite(endMs) && Number.isFinite(startMs) ? Math.max(0, (endMs - startMs) / 1000) : 0,
      };
      if (entry.spanId) span.span_id = entry.spanId;
      if (entry.parentSpanId) span.parent_span_id = entry.parentSpanId;
      return span;
    })];
  }
}

/**
 * What the `llm_call_unfinished` event of a streamed call says of its stream (`data`, see
 * unfinishedStreamData in src/spanMapping.ts), set on its entry in the report's `unfinished`:
 * `stream`, `time_to_first_chunk`, `seconds_since_last_chunk`. Nothing for any other span.
 */
export function addStreamFacts(span: UnfinishedSpan, data: Record<string, unknown>): UnfinishedSpan {
  if (data.stream !== true) return span;
  span.stream = true;
  const first = data.time_to_first_chunk;
  if (typeof first !== 'number' || !Number.isFinite(first) || first < 0) return span;
  span.time_to_first_chunk = first;
  const quiet = data.seconds_since_last_chunk;
  if (typeof quiet === 'number' && Number.isFinite(quiet) && quiet >= 0) span.seconds_since_last_chunk = quiet;
  return span;
}

/** The span ids an event carries (`span_id`, `parent_span_id`), onto the unfinished span it describes. */
export function addEventIds(span: UnfinishedSpan, event: TruthEvent): void {
  if (event.span_id) span.span_id = event.span_id;
  if (event.parent_span_id) span.parent_span_id = event.parent_span_id;
}

/** The failure an unfinished event carries (its span had failed before the process ended), onto `span`. */
export function addFailure(span: UnfinishedSpan, data: Record<string, unknown>): void {
  if (data.error === undefined || data.error === null) return;
  span.error = String(data.error);
  if (data.error_type !== undefined && data.error_type !== null) span.error_type = String(data.error_type);
}

function text(value: unknown): string | undefined {
  return value === undefined || value === null || value === '' ? undefined : String(value);
}

/**
 * The span's name as the live run reports it: a foreign span's own name (`data.span`, with its
 * model when the name is only its operation), else the name the API wrappers give (`stage <id>`,
 * `task <name>`, `chat <model>`, a label …).
 */
export function spanName(kind: string, data: Record<string, unknown>): string {
  const own = text(data.span);
  if (own) {
    // The AI SDK names its spans by operation (`ai.streamText`): the model says which call it was.
    const model = kind === 'llm' && own === text(data.operation) ? text(data.model) : undefined;
    return model ? `${own} ${model}` : own;
  }
  const label = text(data.name);
  switch (kind) {
    case 'stage':
      return `stage ${text(data.stage) ?? label ?? 'stage'}`;
    case 'task':
      return `task ${text(data.task) ?? label ?? 'task'}`;
    case 'llm': {
      const model = text(data.model);
      return label ?? `${text(data.operation) ?? 'chat'}${model ? ` ${model}` : ''}`;
    }
    case 'code_exec': {
      const language = text(data.language);
      return label ?? `code_exec${language ? ` ${language}` : ''}`;
    }
    default: {
      const type = text(data.type);
      return label ?? `${kind}${type ? ` ${type}` : ''}`;
    }
  }
}
