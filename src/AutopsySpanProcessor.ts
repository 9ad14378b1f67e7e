import { trace, type Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { AutopsyRun, OpenSpanEntry } from './AutopsyRun';
import { spanName } from '../analyzers/OpenSpanTracker';
import { nowMs, secondsBetween } from './clock';
import { reportError } from './errorHandler';
import { spanEventType, type SpanKindName } from './eventTypes';
import { addResends, applyNestedLlm, foldNestedLlm, statedFailedAttempts, type NestedLlmData } from './nestedLlm';
import { safeData, safeString } from './safeValue';
import * as sc from './semconv';
import { takeEndData, takePendingStart, type SpanHandover } from './spanData';
import { spanEndMs } from './spanEndTime';
import { nestedLlmEnded, nestedLlmStarted } from './streamedLlmCalls';
import { SpanMark, type SpanMarkMapper, type SpanStartFacts } from './SpanMark';
import { attributesOf } from './StreamChunks';
import { setSpanStage, spanStage } from './spanStage';
import { isSuperseded, isToolSpanOfMcpCall, markSuperseded, noteStartInMcpToolCall } from './supersededSpans';
import { enclosingCall } from './enclosingCall';
import { mastraStart, MASTRA_BRIDGE_SCOPE, type MastraStart } from './mastraSpans';
import { noteLlmSpanScope } from './doubleCountedCalls';
import { classifySpan, declaredStage, errorData, finishedWithError, finishReasonErrorData, foreignStartData, isOwnSpan, keepToolArguments, lateLlmIdentity, llmContentData, llmEndData, llmUsageDetails, resendCount, clientResends, scopeNameOf } from './spanMapping';
import type { EventData, Level } from './types';

const STATUS_ERROR = 2;

/**
 * Turns agent spans into Truth-Mode events as they start and end, and feeds the run's analyzer.
 * `onStart` and `onEnd` only queue a mark of what happened (SpanMark); the events are made from the
 * marks when the run's queue drains, in order (`mapMark`). Like the processors in sdk-trace-base it
 * never throws into the caller: failures go to the error handler. It keeps only the spans that are
 * open, so memory does not grow with the run.
 */
export class AutopsySpanProcessor implements SpanProcessor, SpanMarkMapper {
  /** Nested llm spans folded into their parent llm span (keyed by the parent's entry). */
  private readonly nested = new WeakMap<OpenSpanEntry, NestedLlmData>();
  /** Nested llm spans being folded: entry → the parent's entry. */
  private readonly folded = new WeakMap<OpenSpanEntry, OpenSpanEntry>();
  /** Per llm entry, how many of the spans folded into it have not ended yet. */
  private readonly openFolded = new WeakMap<OpenSpanEntry, number>();
  /**
   * Ends of other instrumentations' llm spans that ended before a span folded into them: the same
   * request in a second instrumentation (@anthropic-ai/sdk's own span inside OpenInference's,
   * which the SDK ends a moment later). The call's end waits for them (see deferEnd).
   */
  private readonly deferredEnds = new Map<OpenSpanEntry, { mark: SpanMark; parent: OpenSpanEntry | undefined }>();
  /** llm calls that ended with a failure while spans folded into them were still open. */
  private readonly failedWithOpenFolded = new WeakSet<OpenSpanEntry>();

  constructor(private readonly getRun: () => AutopsyRun | undefined) {}

  onStart(span: Span, parentContext: Context): void {
    const pending = takePendingStart();
    try {
      const run = this.getRun();
      if (!run || run.isFinished) return;
      // The service the traces carry: the app's own provider (NodeSDK's serviceName) may name it.
      if (run.tracedResource === undefined) run.tracedResource = span.resource ?? null;
      const facts = startFacts(span, pending);
      if (!facts.own) noteStartInMcpToolCall(span);
      // Another instrumentation's request inside an llmCall(): the call waits for it (a stream read later).
      if (facts.kind === 'llm' && !facts.own) nestedLlmStarted(span, parentContext);
      // Our clock, not span.startTime (millisecond resolution in the SDK): event times then follow write order.
      run.recordSpan(SpanMark.start(this, span, nowMs(), pending, parentContext, facts));
    } catch (error) {
      reportError(error, 'span start could not be recorded');
    }
  }

  onEnd(span: ReadableSpan): void {
    try {
      const run = this.getRun();
      if (!run || run.isFinished) return;
      // End data set on a handle is taken now: set after the end, it is not the span's (AgentSpan warns).
      // The time is the one a wrapper read before it recorded a failure, if it did (spanEndTime.ts).
      run.recordSpan(SpanMark.end(this, span, spanEndMs(span), takeEndData(span)));
    } catch (error) {
      reportError(error, 'span end could not be recorded');
    }
    try {
      // After this span's mark: a streamed llmCall() it ends (its last nested request) is queued after it.
      nestedLlmEnded(span);
    } catch (error) {
      reportError(error, 'a streamed llm call could not be ended');
    }
  }

  /** Makes the events of a span's start or end (AutopsyRun calls it for each mark, in queue order). */
  mapMark(run: AutopsyRun, mark: SpanMark): void {
    try {
      if (mark.isStart) this.start(run, mark);
      else this.end(run, mark);
    } catch (error) {
      reportError(error, mark.isStart ? 'span start could not be recorded' : 'span end could not be recorded');
    }
  }

  forceFlush(): Promise<void> {
    try {
      this.getRun()?.flush();
    } catch (error) {
      reportError(error, 'flush failed');
    }
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.forceFlush();
  }

  private start(run: AutopsyRun, mark: SpanMark): void {
    const span = mark.span as Span;
    const pending = mark.handover;
    const facts = mark.facts as SpanStartFacts;
    const { own, tracked, declaredStage: declared, name, foreignData } = facts;
    if (facts.kind === 'task' && isToolSpanOfMcpCall(span, span.attributes)) markSuperseded(span);
    // Another instrumentation's span of a request or tool call the flag's own span records: no events (supersededSpans.ts).
    const kind = isSuperseded(span) ? undefined : facts.kind;
    const context = span.spanContext();
    const parentSpanId = span.parentSpanContext?.spanId;
    const parentSpan = parentSpanId && mark.parentContext ? trace.getSpan(mark.parentContext) : undefined;
    // The span in the parent context is the parent itself, nearly always: its entry is on it.
    const parent = parentSpanId ? run.openSpans.lookup(parentSpan, parentSpanId) : undefined;
    // Names and stage ids of other instrumentations' spans are cleaned (secrets redacted, cut at
    // maxStringLength) as ours are where they are made (src/api.ts, TrackedSpans.ts).
    const max = run.config.maxStringLength;
    // A parent that has ended (work its stage left running) is no longer open: its span, still in
    // the context, says which stage it was in.
    const stage = declared !== undefined ? safeString(declared, max) : parent ? parent.stage : parentSpan ? spanStage(parentSpan) : undefined;
    if (stage !== undefined) setSpanStage(span, stage);
    const entry: OpenSpanEntry = {
      spanId: context.spanId,
      traceId: context.traceId,
      parentSpanId,
      kind,
      name: own ? name : safeString(name, max),
      stage,
      startMs: mark.atMs,
      tracked,
      span,
      // Only a span of ours is the one its handover was parked for.
      handover: own ? pending : undefined,
      // Set below; named here so the entry holds it in place (a key added later costs a store per span).
      data: undefined,
      parent,
      // OpenSpans's links, set as it adds the entry.
      list: undefined,
      previous: undefined,
      next: undefined,
    };
    run.openSpans.add(entry);
    if (!kind) {
      this.classifyLate(run, entry, parent, span);
      return;
    }
    if (kind === 'llm') noteLlmSpanScope(span);
    entry.data = this.startData(run, own ? pending : undefined, foreignData, stage);
    if (this.foldIntoParent(run, entry, parent)) return;
    if (!tracked) run.record(spanEventType(kind, 'start'), 'INFO', entry.data, entry.startMs, entry);
  }

  classifyOpen(run: AutopsyRun, entry: OpenSpanEntry): void {
    try {
      // The entry's span is the SDK span onStart was given: it has its name and attributes.
      if (!entry.kind && entry.span) this.classifyLate(run, entry, entry.parent, entry.span as unknown as ReadableSpan);
    } catch (error) {
      reportError(error, 'span start could not be recorded');
    }
  }

  /**
   * A span whose attributes said nothing of its kind as it started, looked at again (when its
   * start is mapped, when it ends, or when the open spans are listed): some instrumentations add
   * their conventions' attributes right after startSpan. With a kind now, its entry gets its name,
   * stage and start data, and its start event is recorded, at the time it started.
   */
  private classifyLate(run: AutopsyRun, entry: OpenSpanEntry, parent: OpenSpanEntry | undefined, span: Pick<ReadableSpan, 'name' | 'attributes'>): SpanKindName | undefined {
    let kind = isSuperseded(span) ? undefined : classifySpan(span.attributes);
    if (kind === 'task' && isToolSpanOfMcpCall(span, span.attributes)) {
      markSuperseded(span);
      kind = undefined;
    }
    if (!kind) return undefined;
    const max = run.config.maxStringLength;
    entry.kind = kind;
    const declared = declaredStage(kind, span);
    if (declared !== undefined) {
      entry.stage = safeString(declared, max);
      if (entry.span) setSpanStage(entry.span, entry.stage);
    }
    const foreignData = foreignStartData(kind, span);
    entry.name = safeString(kind === 'llm' ? spanName('llm', foreignData) : span.name, max);
    entry.data = this.startData(run, undefined, foreignData, entry.stage);
    if (kind === 'llm') noteLlmSpanScope(span);
    if (!this.foldIntoParent(run, entry, parent) && !entry.tracked) run.record(spanEventType(kind, 'start'), 'INFO', entry.data, entry.startMs, entry);
    return kind;
  }

  /** An llm span inside another open llm span (enclosingCall.ts) is folded into it: no events of its own. */
  private foldIntoParent(run: AutopsyRun, entry: OpenSpanEntry, direct: OpenSpanEntry | undefined): boolean {
    if (entry.kind !== 'llm') return false;
    const parent = enclosingCall(run.openSpans, direct);
    if (parent === undefined) return false;
    // The flag's own span of a client's request inside another instrumentation's span of the same
    // request (OpenInference wraps around the flag's wrapper) stays a call of its own: that span
    // ends before it, or never when the request fails, and the failure is this one's to record.
    if (sc.isFlagClientScope(scopeNameOf(entry.span)) && !isOwnSpan(attributesOf(parent.span) ?? {})) return false;
    this.folded.set(entry, parent);
    this.openFolded.set(parent, (this.openFolded.get(parent) ?? 0) + 1);
    return true;
  }

  /** Hands a folded span's details, and what the app set() on it (`extra`), to its parent; false when the parent already ended. */
  private foldEnd(run: AutopsyRun, entry: OpenSpanEntry, span: ReadableSpan, extra: EventData | undefined, atMs: number): boolean {
    const parent = this.folded.get(entry);
    if (!parent || (!run.openSpans.holds(parent) && !this.deferredEnds.has(parent))) return false;
    const nested = this.nested.get(parent) ?? { data: {}, failedAttempts: 0 };
    this.nested.set(parent, nested);
    const data: EventData = { ...entry.data, ...llmUsageDetails(span.attributes, llmEndData(span.attributes)) };
    if (run.config.captureContent) Object.assign(data, llmContentData(span.attributes));
    if (extra) Object.assign(data, extra);
    delete data.span;
    delete data.stage;
    // Spans folded into this one (an AI SDK call's provider calls inside the app's llmCall()) go up with it.
    const inner = this.nested.get(entry);
    this.nested.delete(entry);
    const max = { maxStringLength: run.config.maxStringLength };
    foldNestedLlm(nested, safeData(data, max), inner, span.status.code === STATUS_ERROR ? safeData(errorData(span), max) : undefined, resendCount(span.attributes));
    this.foldedEnded(run, parent, atMs);
    return true;
  }

  /** One span folded into `parent` has ended: the last one ends the parent's call if its end was waiting. */
  private foldedEnded(run: AutopsyRun, parent: OpenSpanEntry, atMs: number): void {
    const open = (this.openFolded.get(parent) ?? 1) - 1;
    if (open > 0) {
      this.openFolded.set(parent, open);
      return;
    }
    this.openFolded.delete(parent);
    const deferred = this.deferredEnds.get(parent);
    if (deferred === undefined) return;
    this.deferredEnds.delete(parent);
    // Timed to the last of them: the call ended when its request did, and the log stays in time order.
    this.endEntry(run, parent, deferred.mark, deferred.parent, Math.max(deferred.mark.atMs, atMs));
  }

  /**
   * Writes the ends that still wait for a span folded into them (it never ended): with what the
   * others reported, at their own time. The run calls it before it closes the open spans.
   */
  endDeferred(run: AutopsyRun): void {
    for (const [entry, { mark, parent }] of this.deferredEnds) {
      this.deferredEnds.delete(entry);
      this.openFolded.delete(entry);
      try {
        this.endEntry(run, entry, mark, parent, mark.atMs);
      } catch (error) {
        reportError(error, 'span end could not be recorded');
      }
    }
  }

  /** Fills the parent's end data with what its folded spans reported (the parent's own values win). */
  private applyNested(entry: OpenSpanEntry, data: EventData, failed: boolean): void {
    const nested = this.nested.get(entry);
    if (!nested) return;
    this.nested.delete(entry);
    applyNestedLlm(nested, data, failed);
  }

  /** Start data from a wrapper's handover (`handover`), else from the span's attributes (`foreignData`). */
  private startData(run: AutopsyRun, handover: SpanHandover | undefined, foreignData: EventData | undefined, stage: string | undefined): EventData {
    // Clean data from the API wrappers is ours to keep; anything else is cleaned into a new object.
    const data = handover?.clean
      ? handover.data
      : safeData(handover ? handover.data : foreignData && keepToolArguments(foreignData, run.config.captureContent), { maxStringLength: run.config.maxStringLength });
    if (data.stage === undefined && stage !== undefined) data.stage = stage;
    return data;
  }

  private end(run: AutopsyRun, mark: SpanMark): void {
    const span = mark.span as ReadableSpan;
    const entry = run.openSpans.of(span);
    // Absent: started before the run, or already closed as unfinished at exit.
    if (!entry) return;
    run.openSpans.remove(entry);
    // An ended entry lets go of its parent's: an open child keeps at most one ended entry alive.
    const parent = entry.parent;
    entry.parent = undefined;
    // Another instrumentation's span of a call whose folded span (the same request, in a second
    // instrumentation) is still open: the call ends with it. The app's llmCall() waits for its
    // requests itself where it should (streamedLlmCalls.ts), and a failure of its own is not held.
    if (entry.kind === 'llm' && (this.openFolded.get(entry) ?? 0) > 0 && !isOwnSpan(span.attributes)) {
      this.deferredEnds.set(entry, { mark, parent });
      return;
    }
    this.endEntry(run, entry, mark, parent, mark.atMs);
  }

  /** The events of an entry's end (`mark`), at `endMs`. */
  private endEntry(run: AutopsyRun, entry: OpenSpanEntry, mark: SpanMark, parent: OpenSpanEntry | undefined, endMs: number): void {
    const span = mark.span as ReadableSpan;
    let extra = mark.endData;
    const handed = entry.handover?.endData;
    // One object AgentSpan cleaned (setUsage on an llm span) is not cleaned a second time.
    const extraClean = handed !== undefined && extra === undefined && entry.handover!.endClean;
    if (handed !== undefined) extra = extra === undefined ? handed : Object.assign({}, handed, extra);
    const kind = entry.kind ?? this.classifyLate(run, entry, parent, span);
    if (!kind) return;
    if (this.folded.has(entry)) {
      if (this.foldEnd(run, entry, span, extra, endMs)) return;
      // The call failed first and this span of its request fails a moment later (an APM's span,
      // ended by its own handler of the rejection): that failure is the call's, written already.
      if (span.status.code === STATUS_ERROR && this.failedWithOpenFolded.has(this.folded.get(entry)!)) return;
      // The parent ended first (a stream read after llmCall() returned): write the span after all.
      if (!entry.tracked) run.record(spanEventType(kind, 'start'), 'INFO', entry.data ?? {}, entry.startMs, entry);
    }
    if (entry.tracked) return;
    const failedAsStatus = span.status.code === STATUS_ERROR;
    const failed = failedAsStatus || (kind === 'llm' && finishedWithError(span.attributes) && !isOwnSpan(span.attributes));
    // Object.assign, not a spread: on Node 20 adding keys to a `{ ...spread }` copy costs ~1 µs each (bench/README.md).
    const data: EventData = Object.assign({}, entry.data);
    if (kind === 'llm') {
      llmEndData(span.attributes, data);
      // The app's own calls hand their usage details over (setUsage); other instrumentations' state them on the span.
      if (!isOwnSpan(span.attributes)) {
        if (data.model === undefined || data.provider === undefined) lateLlmIdentity(span.attributes, data);
        llmUsageDetails(span.attributes, data);
        if (run.config.captureContent) Object.assign(data, safeData(llmContentData(span.attributes), { maxStringLength: run.config.maxStringLength }));
      }
      this.applyNested(entry, data, failed);
      // The client's retries before this outcome (one attribute read; set only after a retry); the app's own count wins.
      addResends(data, clientResends(span, data), entry.data && statedFailedAttempts(entry.data));
    }
    if (extra) Object.assign(data, extraClean ? extra : safeData(extra, { maxStringLength: run.config.maxStringLength }));
    let level: Level = 'INFO';
    let phase: 'end' | 'error' = 'end';
    if (failed) {
      Object.assign(data, failedAsStatus ? safeData(errorData(span), { maxStringLength: run.config.maxStringLength }) : finishReasonErrorData());
      level = 'ERROR';
      phase = 'error';
      if ((this.openFolded.get(entry) ?? 0) > 0) this.failedWithOpenFolded.add(entry);
    }
    data.duration = secondsBetween(entry.startMs, endMs);
    if (kind === 'autofix') {
      const success = !failed && span.attributes[sc.ATTR_AUTOFIX_SUCCESS] !== false;
      data.success = success;
      if (!failed && !success) level = 'WARNING';
      run.recordAutofix({ type: data.type, layer: data.layer, success });
    }
    run.record(spanEventType(kind, phase), level, data, endMs, entry);
  }
}

/**
 * What a span's start event is made of, read as it starts: its event is made later (SpanMark), and
 * the span's name and attributes may change meanwhile. Only a span no wrapper handed data over for
 * needs its start data read from its attributes.
 */
function startFacts(span: Span, handover: SpanHandover | undefined): SpanStartFacts {
  const attributes = span.attributes;
  const kind = classifySpan(attributes);
  if (kind === undefined && scopeNameOf(span) === MASTRA_BRIDGE_SCOPE) {
    const mastra = mastraStart(span, span.name);
    if (mastra) return mastraStartFacts(span.name, mastra);
  }
  const own = isOwnSpan(attributes);
  const foreignData = kind !== undefined && !(own && handover !== undefined) ? foreignStartData(kind, span) : undefined;
  return {
    kind,
    own,
    tracked: attributes[sc.ATTR_AUTOPSY_TRACKED] === true,
    declaredStage: declaredStage(kind, span),
    // As a reader of the log names it (an AI SDK call by its operation and model).
    name: kind === 'llm' && foreignData !== undefined && !own ? spanName('llm', foreignData) : span.name,
    foreignData,
  };
}

/** A Mastra bridge span's start, by the name it starts with (its attributes come as it ends: mastraSpans.ts). */
function mastraStartFacts(name: string, start: MastraStart): SpanStartFacts {
  const foreignData: EventData = start.kind === 'stage' ? { stage: start.stage } : start.model !== undefined ? { model: start.model } : {};
  foreignData.span = name;
  return { kind: start.kind, own: false, tracked: false, declaredStage: start.stage, name, foreignData };
}
