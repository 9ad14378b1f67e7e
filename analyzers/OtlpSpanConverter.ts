import type { Attributes, AttributeValue } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { isoMicros, secondsBetween } from '../src/clock';
import { EVENT_PREFIX, spanEventType, type SpanKindName } from '../src/eventTypes';
import { cleanAttributes, DEFAULT_MAX_STRING_LENGTH, safeString } from '../src/safeValue';
import { addResends, applyNestedLlm, foldNestedLlm, statedFailedAttempts, type NestedLlmData } from '../src/nestedLlm';
import * as sc from '../src/semconv';
import { isPartOfCallType } from '../src/mastraSpans';
import { classifySpan, declaredStage, errorData, finishedWithError, finishReasonErrorData, foreignStartData, isOwnSpan, keepToolArguments, llmEndData, llmUsageDetails, resendCount, clientResends, unfinishedStreamData } from '../src/spanMapping';
import type { EventData, Level, TruthEvent } from '../src/types';
import { addAutofixAttempt, emptyAutofixStats } from './autofixStats';
import { addFailure, addStreamFacts, spanName } from './OpenSpanTracker';
import type { AutofixStatistics, UnfinishedSpan } from './reportTypes';

/** One span of an OTLP JSON export, reduced to what the Truth-Mode mapping reads. */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Attributes;
  status: { code: number; message?: string };
  events: Array<{ name: string; attributes: Attributes }>;
  /** Epoch milliseconds (fractional). */
  startMs: number;
  endMs: number;
  /** Set for the spans of agent-autopsy's openai instrumentation (their scope's name), to find the spans they supersede. */
  openaiClient?: true;
}

const STATUS_ERROR = 2;
/**
 * The OpenTelemetry SDK anchors each span's clock to its start in whole milliseconds (Date.now())
 * and measures the rest with performance.now(): a child that ended just before its parent may be
 * stamped up to 1 ms after it.
 */
const CLOCK_SLACK_MS = 1;

/** What the spans of a file say once turned into Truth-Mode events. */
export interface ConvertedSpans {
  /** Sorted by time: starts before ends at the same instant, parents before children. */
  events: TruthEvent[];
  autofix: AutofixStatistics;
  /** Spans the process closed as unfinished (`autopsy.unfinished`). */
  unfinished: UnfinishedSpan[];
  startMs: number | null;
  endMs: number | null;
  serviceName?: string;
}

// ---------------------------------------------------------------------------------------------
// OTLP/JSON value decoding (protobuf JSON mapping: int64 as strings, ids as hex or base64)
// ---------------------------------------------------------------------------------------------

type AnyValue = {
  stringValue?: unknown;
  intValue?: unknown;
  boolValue?: unknown;
  doubleValue?: unknown;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: Array<{ key?: unknown; value?: AnyValue }> };
  bytesValue?: unknown;
};

function decodeValue(value: AnyValue | undefined): unknown {
  if (!value || typeof value !== 'object') return undefined;
  if (value.stringValue !== undefined) return String(value.stringValue);
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return Number(value.doubleValue);
  if (value.boolValue !== undefined) return value.boolValue === true || value.boolValue === 'true';
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(decodeValue);
  if (value.kvlistValue !== undefined) {
    const out: Record<string, unknown> = {};
    for (const kv of value.kvlistValue.values ?? []) if (typeof kv?.key === 'string') out[kv.key] = decodeValue(kv.value);
    return out;
  }
  if (value.bytesValue !== undefined) return String(value.bytesValue);
  return undefined;
}

/** `[{key, value:{stringValue|intValue|…}}]` → a plain attribute map. */
export function decodeAttributes(list: unknown): Attributes {
  const attributes: Attributes = {};
  if (!Array.isArray(list)) return attributes;
  for (const item of list) {
    const key = (item as { key?: unknown })?.key;
    if (typeof key !== 'string') continue;
    const value = decodeValue((item as { value?: AnyValue }).value);
    if (value === undefined) continue;
    // Attribute values are primitives or arrays of them; nested maps are kept as JSON text.
    attributes[key] = (value !== null && typeof value === 'object' && !Array.isArray(value) ? JSON.stringify(value) : value) as AttributeValue;
  }
  return attributes;
}

/** Ids are hex in the collector's JSON; the protobuf JSON mapping allows base64 too. */
function decodeId(value: unknown): string {
  if (typeof value !== 'string' || value === '') return '';
  if (/^[0-9a-f]+$/i.test(value) && (value.length === 16 || value.length === 32)) return value.toLowerCase();
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === 8 || bytes.length === 16 ? bytes.toString('hex') : value;
}

function nanosToMs(value: unknown): number {
  if (typeof value === 'number') return value / 1e6;
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return NaN;
  // Split so the nanoseconds beyond 2^53 keep their sub-millisecond part.
  const ms = value.length > 6 ? Number(value.slice(0, -6)) : 0;
  return ms + Number(value.slice(-6)) / 1e6;
}

function statusCode(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value === 'STATUS_CODE_ERROR' || value === 'ERROR') return STATUS_ERROR;
  if (value === 'STATUS_CODE_OK' || value === 'OK') return 1;
  return 0;
}

/**
 * A trace file may come from any SDK, unredacted: its strings are redacted and bounded on the way
 * in, as the live processor's are, so no report written from it shows a credential.
 */
const MAX = DEFAULT_MAX_STRING_LENGTH;

function clean(text: string): string {
  return safeString(text, MAX);
}

/** One `spans[]` element of an ExportTraceServiceRequest; undefined when it has no usable id or time. */
export function decodeSpan(raw: unknown): OtlpSpan | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const span = raw as Record<string, unknown>;
  const spanId = decodeId(span.spanId ?? span.span_id);
  const startMs = nanosToMs(span.startTimeUnixNano ?? span.start_time_unix_nano);
  if (!spanId || !Number.isFinite(startMs)) return undefined;
  let endMs = nanosToMs(span.endTimeUnixNano ?? span.end_time_unix_nano);
  if (!Number.isFinite(endMs) || endMs < startMs) endMs = startMs;
  const status = (span.status ?? {}) as { code?: unknown; message?: unknown };
  const parentSpanId = decodeId(span.parentSpanId ?? span.parent_span_id);
  const events = Array.isArray(span.events)
    ? span.events.map((event: { name?: unknown; attributes?: unknown }) => ({ name: clean(String(event?.name ?? '')), attributes: cleanAttributes(decodeAttributes(event?.attributes), MAX) }))
    : [];
  return {
    traceId: decodeId(span.traceId ?? span.trace_id),
    spanId,
    ...(parentSpanId ? { parentSpanId } : {}),
    name: typeof span.name === 'string' ? clean(span.name) : '',
    attributes: cleanAttributes(decodeAttributes(span.attributes), MAX),
    status: { code: statusCode(status.code), ...(typeof status.message === 'string' && status.message ? { message: clean(status.message) } : {}) },
    events,
    startMs,
    endMs,
  };
}

// ---------------------------------------------------------------------------------------------
// Span → Truth-Mode events, with the live processor's mapping
// ---------------------------------------------------------------------------------------------

const OWN_DATA_FIRST: Partial<Record<SpanKindName, Array<[string, string]>>> = {
  stage: [['stage', sc.ATTR_AUTOPSY_STAGE]],
  task: [['task', sc.ATTR_AUTOPSY_TASK]],
  llm: [
    ['model', sc.ATTR_GEN_AI_REQUEST_MODEL],
    ['provider', sc.ATTR_GEN_AI_PROVIDER_NAME],
  ],
  code_exec: [['language', sc.ATTR_CODE_LANGUAGE]],
  autofix: [
    ['layer', sc.ATTR_AUTOFIX_LAYER],
    ['type', sc.ATTR_AUTOFIX_TYPE],
  ],
};

/** Start data of one of our own spans, rebuilt from its attributes (live, it is handed over in memory). */
function ownStartData(kind: SpanKindName, span: OtlpSpan): EventData {
  const attributes = span.attributes;
  const data: EventData = {};
  const label = attributes[`${sc.ATTR_AUTOPSY_DATA_PREFIX}name`];
  if (label !== undefined && kind !== 'stage' && kind !== 'task') data.name = label;
  for (const [field, key] of OWN_DATA_FIRST[kind] ?? []) {
    const value = attributes[key];
    if (value !== undefined) data[field] = kind === 'autofix' && field === 'layer' && /^\d+$/.test(String(value)) ? Number(value) : value;
  }
  // Spans paired from track('task_start') carry the task only in their name.
  if (kind === 'task' && data.task === undefined) data.task = span.name.replace(/^task /, '');
  const operation = attributes[sc.ATTR_GEN_AI_OPERATION_NAME];
  if (kind === 'llm' && typeof operation === 'string' && operation !== 'chat') data.operation = operation;
  // A provider the span names by its well-known value (`openai` for `OpenAI`, see providerName.ts) keeps the app's name here.
  const givenProvider = attributes[`${sc.ATTR_AUTOPSY_DATA_PREFIX}provider`];
  if (kind === 'llm' && givenProvider !== undefined) data.provider = givenProvider;
  for (const [key, value] of Object.entries(attributes)) {
    if (!key.startsWith(sc.ATTR_AUTOPSY_DATA_PREFIX)) continue;
    const field = key.slice(sc.ATTR_AUTOPSY_DATA_PREFIX.length);
    if (data[field] === undefined) data[field] = value;
  }
  return data;
}

/** What `AgentSpan.setResult` adds to a code_exec end event. */
function codeExecEndData(attributes: Attributes): EventData {
  const data: EventData = {};
  if (attributes[sc.ATTR_CODE_EXIT_CODE] !== undefined) data.exit_code = attributes[sc.ATTR_CODE_EXIT_CODE];
  if (attributes[sc.ATTR_CODE_STDERR_TAIL] !== undefined) data.stderr_tail = attributes[sc.ATTR_CODE_STDERR_TAIL];
  if (attributes[sc.ATTR_CODE_COMMAND] !== undefined) data.command = attributes[sc.ATTR_CODE_COMMAND];
  return data;
}

/** Where one of a span's events falls in the time order; the event itself is built when delivered. */
interface Slot {
  atMs: number;
  /** 0 for a start, 1 for an end: a zero-length span starts before it ends. */
  phase: 0 | 1;
  depth: number;
  order: number;
  span: OtlpSpan;
  kind: SpanKindName;
  stage: string | undefined;
}

/** The spans' events in time order, built one at a time as they are read (see convertStreaming). */
export interface StreamedSpans extends Omit<ConvertedSpans, 'events'> {
  events: Iterable<TruthEvent>;
  /** How many events `events` yields. */
  count: number;
}

/**
 * Collects the spans of an OTLP JSON export and turns them into the Truth-Mode events the live
 * span processor would have written: the same classification (own, GenAI, OpenInference,
 * OpenLLMetry), the same start/end/error data, and the stage inherited through parent links.
 * Needs every span before it can answer (a file is not in time order), so memory grows with spans
 * (the decoded spans; their events are built one at a time, as they are read).
 */
export class OtlpSpanConverter {
  private readonly spans = new Map<string, OtlpSpan>();
  private serviceName: string | undefined;

  get size(): number {
    return this.spans.size;
  }

  /** Adds the spans of one ExportTraceServiceRequest (`{resourceSpans:[…]}`); returns how many. */
  addRequest(request: unknown): number {
    let added = 0;
    const resourceSpans = (request as { resourceSpans?: unknown; resource_spans?: unknown })?.resourceSpans ?? (request as { resource_spans?: unknown })?.resource_spans;
    if (!Array.isArray(resourceSpans)) return 0;
    for (const resource of resourceSpans) {
      if (this.serviceName === undefined) {
        const name = decodeAttributes(resource?.resource?.attributes)['service.name'];
        if (typeof name === 'string') this.serviceName = clean(name);
      }
      const scopes = resource?.scopeSpans ?? resource?.scope_spans ?? resource?.instrumentationLibrarySpans ?? [];
      if (!Array.isArray(scopes)) continue;
      for (const scope of scopes) {
        if (!Array.isArray(scope?.spans)) continue;
        const openaiClient = (scope.scope ?? scope.instrumentationLibrary)?.name === sc.OPENAI_CLIENT_SCOPE;
        for (const raw of scope.spans) {
          const span = decodeSpan(raw);
          if (!span) continue;
          if (openaiClient) span.openaiClient = true;
          // A span exported twice (a retry) counts once; the later copy wins.
          this.spans.set(`${span.traceId}/${span.spanId}`, span);
          added++;
        }
      }
    }
    return added;
  }

  /** Every event at once, in time order (convertStreaming, collected). */
  convert(): ConvertedSpans {
    const { events, count: _count, ...rest } = this.convertStreaming();
    return { events: [...events], ...rest };
  }

  /**
   * The events in time order, each built only when the iteration reaches it: what is held for the
   * whole file is the decoded spans and two small slots per span, not two events with their data
   * (a 200,000-span export peaked at 677 MB when every event was built before the first was read).
   */
  convertStreaming(): StreamedSpans {
    const byKey = this.spans;
    const superseded = supersededSpans(byKey);
    // Per span: its kind, the stage it inherits and its depth, keyed by the span object itself.
    const resolved = new Map<OtlpSpan, { kind: SpanKindName | undefined; stage: string | undefined; depth: number }>();
    // Walks up the parent chain iteratively (no recursion limit on deep traces), memoised.
    const resolve = (span: OtlpSpan): { kind: SpanKindName | undefined; stage: string | undefined; depth: number } => {
      const chain: OtlpSpan[] = [];
      let current: OtlpSpan | undefined = span;
      const seen = new Set<OtlpSpan>();
      while (current) {
        if (resolved.has(current) || seen.has(current)) break;
        seen.add(current);
        chain.push(current);
        current = current.parentSpanId ? byKey.get(`${current.traceId}/${current.parentSpanId}`) : undefined;
      }
      const top = current ? resolved.get(current) : undefined;
      let inherited = top?.stage;
      let depth = top?.depth ?? -1;
      for (let i = chain.length - 1; i >= 0; i--) {
        const link = chain[i];
        const kind = superseded.has(link) ? undefined : classifySpan(link.attributes);
        inherited = declaredStage(kind, link) ?? inherited;
        depth++;
        resolved.set(link, { kind, stage: inherited, depth });
      }
      return resolved.get(span)!;
    };

    const parentOf = (span: OtlpSpan): OtlpSpan | undefined => (span.parentSpanId ? byKey.get(`${span.traceId}/${span.parentSpanId}`) : undefined);
    const slots: Slot[] = [];
    const autofix = emptyAutofixStats();
    const unfinished: UnfinishedSpan[] = [];
    // An llm span inside an llm span that was still open when it ended is folded into it, as the
    // live processor does: no events of its own, its usage and failed attempts go to the parent's end.
    const folded = new Map<OtlpSpan, OtlpSpan[]>();
    let order = 0;
    let startMs = Infinity;
    let endMs = -Infinity;
    for (const span of byKey.values()) {
      const { kind, stage, depth } = resolve(span);
      if (!kind) continue;
      let parent = kind === 'llm' ? parentOf(span) : undefined;
      // A step of the call between them (Mastra's model_step) is passed over, as live.
      while (parent && resolve(parent).kind === undefined && isPartOfCallType(parent.attributes)) parent = parentOf(parent);
      if (parent && resolve(parent).kind === 'llm' && foldsInto(span, parent)) {
        const list = folded.get(parent);
        if (list) list.push(span);
        else folded.set(parent, [span]);
        continue;
      }
      startMs = Math.min(startMs, span.startMs);
      endMs = Math.max(endMs, span.endMs);
      slots.push({ atMs: span.startMs, phase: 0, depth, order: order++, span, kind, stage });
      slots.push({ atMs: span.endMs, phase: 1, depth, order: order++, span, kind, stage });
      if (span.attributes[sc.ATTR_AUTOPSY_UNFINISHED] === true) {
        // Named as the live run names it (an AI SDK call by its operation and model).
        const name = kind === 'llm' && !isOwnSpan(span.attributes) ? spanName('llm', foreignStartData(kind, span)) : span.name;
        const entry: UnfinishedSpan = { name, kind, stage: stage ?? 'unknown', started: isoMicros(span.startMs), age_seconds: secondsBetween(span.startMs, span.endMs), span_id: span.spanId };
        if (span.parentSpanId) entry.parent_span_id = span.parentSpanId;
        if (failedBeforeExit(span)) addFailure(entry, spanError(span));
        unfinished.push(kind === 'llm' ? addStreamFacts(entry, unfinishedStreamData(span.attributes, {})) : entry);
      } else if (kind === 'autofix') {
        const failed = span.status.code === STATUS_ERROR;
        const data = startDataOf(span, kind, stage);
        addAutofixAttempt(autofix, { type: data.type, layer: data.layer, success: !failed && span.attributes[sc.ATTR_AUTOFIX_SUCCESS] !== false });
      }
    }
    resolved.clear();
    // Same instant: starts before ends, outer spans start first and end last.
    slots.sort((a, b) => a.atMs - b.atMs || a.phase - b.phase || (a.phase === 0 ? a.depth - b.depth : b.depth - a.depth) || a.order - b.order);
    const origin = Number.isFinite(startMs) ? startMs : 0;
    unfinished.sort((a, b) => (a.started < b.started ? -1 : a.started > b.started ? 1 : 0));
    return {
      events: eventsOf(slots, origin, folded),
      count: slots.length,
      autofix,
      unfinished,
      startMs: Number.isFinite(startMs) ? startMs : null,
      endMs: Number.isFinite(endMs) ? endMs : null,
      ...(this.serviceName !== undefined ? { serviceName: this.serviceName } : {}),
    };
  }
}

/** The start data of a span, as the live processor writes it, with the stage it inherits. */
function startDataOf(span: OtlpSpan, kind: SpanKindName, stage: string | undefined): EventData {
  // A tool call's arguments are kept as the live run keeps them without content capture (the file has them).
  const data = isOwnSpan(span.attributes) ? ownStartData(kind, span) : keepToolArguments(foreignStartData(kind, span), false);
  if (data.stage === undefined && stage !== undefined) data.stage = stage;
  return data;
}

function isUnfinished(span: OtlpSpan): boolean {
  return span.attributes[sc.ATTR_AUTOPSY_UNFINISHED] === true;
}

/**
 * A span the app had failed before the process ended with it still open: the exit kept its status
 * and error.type (a span that had not failed gets UNFINISHED_STATUS_MESSAGE and `unfinished`).
 */
function failedBeforeExit(span: OtlpSpan): boolean {
  return span.status.code === STATUS_ERROR && span.status.message !== sc.UNFINISHED_STATUS_MESSAGE && span.attributes[sc.ATTR_ERROR_TYPE] !== sc.ERROR_TYPE_UNFINISHED;
}

/** A failed span's `error`, `error_type` (and HTTP status), as the live processor writes them. */
function spanError(span: OtlpSpan): EventData {
  return errorData({ status: span.status, attributes: span.attributes, events: span.events as unknown as ReadableSpan['events'] });
}

/**
 * What the llm spans folded into `top` (and those folded into them) hand to its end event, built
 * from the innermost up without recursion (a file may nest spans arbitrarily deep).
 */
function nestedOf(top: OtlpSpan, folded: Map<OtlpSpan, OtlpSpan[]>): NestedLlmData | undefined {
  if (!folded.has(top)) return undefined;
  const order: OtlpSpan[] = [];
  const stack = [top];
  while (stack.length > 0) {
    const span = stack.pop()!;
    order.push(span);
    for (const child of folded.get(span) ?? []) stack.push(child);
  }
  const nested = new Map<OtlpSpan, NestedLlmData>();
  for (let i = order.length - 1; i >= 0; i--) {
    const span = order[i];
    const children = folded.get(span);
    if (!children) continue;
    const into: NestedLlmData = { data: {}, failedAttempts: 0 };
    // In file order: span processors export spans as they end, the order the live processor saw
    // them in (their end times cannot tell calls less than 1 ms apart). A span closed as
    // unfinished at exit did not end.
    for (const child of children) {
      if (isUnfinished(child)) continue;
      const data: EventData = { ...startDataOf(child, 'llm', undefined), ...llmUsageDetails(child.attributes, llmEndData(child.attributes)) };
      delete data.span;
      delete data.stage;
      const error = child.status.code === STATUS_ERROR ? errorData({ status: child.status, attributes: child.attributes, events: child.events as unknown as ReadableSpan['events'] }) : undefined;
      foldNestedLlm(into, data, nested.get(child), error, resendCount(child.attributes));
      nested.delete(child);
    }
    nested.set(span, into);
  }
  return nested.get(top);
}

/** One slot's event: the span's start, or its end, error or unfinished record. */
function eventOf(slot: Slot, origin: number, folded: Map<OtlpSpan, OtlpSpan[]>): TruthEvent {
  const { span, kind } = slot;
  const ids = { trace_id: span.traceId, span_id: span.spanId, ...(span.parentSpanId ? { parent_span_id: span.parentSpanId } : {}) };
  const timestamp = isoMicros(slot.atMs);
  const elapsed = secondsBetween(origin, slot.atMs);
  const startData = startDataOf(span, kind, slot.stage);
  if (slot.phase === 0) return { timestamp, elapsed_seconds: elapsed, type: spanEventType(kind, 'start'), level: 'INFO', data: startData, ...ids };
  const data: EventData = startData;
  if (span.attributes[sc.ATTR_AUTOPSY_UNFINISHED] === true) {
    Object.assign(data, { unfinished: true, age_seconds: secondsBetween(span.startMs, span.endMs) });
    // What its stream had sent, as the process set it on the span when it closed it (closeStream).
    if (kind === 'llm') unfinishedStreamData(span.attributes, data);
    if (failedBeforeExit(span)) Object.assign(data, spanError(span));
    return { timestamp, elapsed_seconds: elapsed, type: `${EVENT_PREFIX[kind]}_unfinished`, level: 'WARNING', data, ...ids };
  }
  const failedAsStatus = span.status.code === STATUS_ERROR;
  const failed = failedAsStatus || (kind === 'llm' && finishedWithError(span.attributes) && !isOwnSpan(span.attributes));
  if (kind === 'llm') {
    // What the app gave itself (its attributes or set(), both among the span's data) wins, as in a live run.
    const stated = statedFailedAttempts(data);
    Object.assign(data, llmUsageDetails(span.attributes, llmEndData(span.attributes)));
    const nested = nestedOf(span, folded);
    if (nested) applyNestedLlm(nested, data, failed);
    addResends(data, clientResends(span, data), stated);
  }
  if (kind === 'code_exec') Object.assign(data, codeExecEndData(span.attributes));
  let level: Level = 'INFO';
  if (failed) {
    Object.assign(data, failedAsStatus ? spanError(span) : finishReasonErrorData());
    level = 'ERROR';
  }
  data.duration = secondsBetween(span.startMs, span.endMs);
  if (kind === 'autofix') {
    const success = !failed && span.attributes[sc.ATTR_AUTOFIX_SUCCESS] !== false;
    data.success = success;
    if (!failed && !success) level = 'WARNING';
  }
  return { timestamp, elapsed_seconds: elapsed, type: spanEventType(kind, failed ? 'error' : 'end'), level, data, ...ids };
}

function* eventsOf(slots: Slot[], origin: number, folded: Map<OtlpSpan, OtlpSpan[]>): Generator<TruthEvent> {
  for (let i = 0; i < slots.length; i++) {
    yield eventOf(slots[i], origin, folded);
    // Delivered: the slot need not keep its span alive any longer than the span's other slot.
    (slots as Array<Slot | undefined>)[i] = undefined;
  }
}

/**
 * The llm spans of other instrumentations that a span of agent-autopsy's openai instrumentation
 * ran in: the same request, recorded by the flag's span, as the live run has it (src/supersededSpans.ts).
 */
function supersededSpans(byKey: ReadonlyMap<string, OtlpSpan>): Set<OtlpSpan> {
  const superseded = new Set<OtlpSpan>();
  for (const span of byKey.values()) {
    if (!span.openaiClient || !span.parentSpanId) continue;
    const parent = byKey.get(`${span.traceId}/${span.parentSpanId}`);
    if (parent && !parent.openaiClient && !isOwnSpan(parent.attributes) && classifySpan(parent.attributes) === 'llm') superseded.add(parent);
  }
  return superseded;
}

/**
 * Whether an llm span folds into its llm parent, as the live processor decides it: it ended while
 * the parent was open (both still open at the end, too); inside another instrumentation's span,
 * whose end waits for the spans folded into it, it started while the parent was open.
 */
function foldsInto(span: OtlpSpan, parent: OtlpSpan): boolean {
  if (span.endMs <= parent.endMs + CLOCK_SLACK_MS || (isUnfinished(span) && isUnfinished(parent))) return true;
  return !isOwnSpan(parent.attributes) && span.startMs <= parent.endMs + CLOCK_SLACK_MS;
}
