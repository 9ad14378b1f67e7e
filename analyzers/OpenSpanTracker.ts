import { parseEventType } from '../src/eventTypes';
import type { TruthEvent } from '../src/types';
import { stageKey } from './FailureAggregate';
import type { UnfinishedSpan } from './reportTypes';

interface Open {
  key: string;
  name: string;
  kind: string;
  stage: string;
  started: string;
}

/**
 * Rebuilds, from a log on disk, which spans were still open when it ends (a killed process never
 * wrote their end). Events with span ids pair by id; seed-style events pair by kind and name.
 */
export class OpenSpanTracker {
  private readonly open = new Map<string, Open>();
  private readonly anonymous = new Map<string, Open[]>();
  /** Spans the process itself recorded as unfinished at exit (`<kind>_unfinished`). */
  private readonly recorded: UnfinishedSpan[] = [];

  observe(event: TruthEvent): void {
    const unfinished = parseUnfinished(event.type);
    const parsed = unfinished ?? parseEventType(event.type);
    if (!parsed) return;
    const data = event.data ?? {};
    const identity = parsed.kind === 'stage' ? data.stage : parsed.kind === 'task' ? data.task : undefined;
    const anonymousKey = `${parsed.kind}\u0000${identity === undefined ? '' : String(identity)}`;
    if (parsed.phase === 'start') {
      const entry: Open = {
        key: event.span_id ?? anonymousKey,
        name: spanName(parsed.kind, data),
        kind: parsed.kind,
        stage: stageKey(data),
        started: event.timestamp,
      };
      if (event.span_id) this.open.set(event.span_id, entry);
      else {
        const stack = this.anonymous.get(anonymousKey) ?? [];
        stack.push(entry);
        this.anonymous.set(anonymousKey, stack);
      }
      return;
    }
    let entry: Open | undefined;
    if (event.span_id && this.open.has(event.span_id)) {
      entry = this.open.get(event.span_id);
      this.open.delete(event.span_id);
    } else {
      const stack = this.anonymous.get(anonymousKey);
      if (stack) {
        entry = stack.pop();
        if (stack.length === 0) this.anonymous.delete(anonymousKey);
      }
    }
    if (unfinished) {
      const age = typeof data.age_seconds === 'number' ? data.age_seconds : 0;
      const span: UnfinishedSpan = {
        name: entry?.name ?? spanName(parsed.kind, data),
        kind: parsed.kind,
        stage: entry?.stage ?? stageKey(data),
        started: entry?.started ?? event.timestamp,
        age_seconds: age,
      };
      if (event.span_id) span.span_id = event.span_id;
      this.recorded.push(span);
    }
  }

  /** Spans without an end, oldest first; age measured to `endTimestamp` (the last event). */
  unfinished(endTimestamp: string | null): UnfinishedSpan[] {
    const endMs = endTimestamp ? Date.parse(endTimestamp) : NaN;
    const all = [...this.open.values(), ...[...this.anonymous.values()].flat()];
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
      if (this.open.has(entry.key)) span.span_id = entry.key;
      return span;
    })];
  }
}

function text(value: unknown): string | undefined {
  return value === undefined || value === null || value === '' ? undefined : String(value);
}

/**
 * The span's name as the live run reports it: a foreign span's own name (`data.span`), else the
 * name the API wrappers give (`stage <id>`, `task <name>`, `chat <model>`, a label …).
 */
function spanName(kind: string, data: Record<string, unknown>): string {
  const own = text(data.span);
  if (own) return own;
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

/** `stage_unfinished` (written at exit) closes its span and lists it as unfinished. */
function parseUnfinished(type: string): { kind: string; phase: 'end' } | undefined {
  if (!type.endsWith('_unfinished')) return undefined;
  const parsed = parseEventType(`${type.slice(0, -'_unfinished'.length)}_end`);
  return parsed ? { kind: parsed.kind, phase: 'end' } : undefined;
}
