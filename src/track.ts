import { isMainThread } from 'node:worker_threads';
import { isSpanContextValid, type Context, type Span } from '@opentelemetry/api';
import type { AutopsyRun } from './AutopsyRun';
import { nowMs } from './clock';
import { reportError } from './errorHandler';
import { parseEventType, type SpanKindName } from './eventTypes';
import { currentRun, getAutopsyTracer, warnOnce } from './runtime';
import { safeData, safeString, WARNING_QUOTE_LENGTH } from './safeValue';
import { activeOwnSpan } from './separateSpans';
import * as sc from './semconv';
import { spanStage } from './spanStage';
import { TrackedSpans } from './TrackedSpans';
import { LEVELS, type Level } from './types';

const trackedByRun = new WeakMap<AutopsyRun, TrackedSpans>();
/** Whether track() ever paired spans in this process: until then the wrappers need not look. */
let anyTracked = false;

/**
 * The context a wrapper's span starts in while seed-style spans are open (`llmCall()` after
 * `track('stage_start')`): the newer of the innermost tracked span and the active span is its
 * parent, so the call belongs to the tracked stage. Undefined when none is open.
 */
export function trackedParentContext(run: AutopsyRun, kind: SpanKindName): Context | undefined {
  return anyTracked ? trackedByRun.get(run)?.enclosingContext(kind) : undefined;
}

function normalizeLevel(level: unknown): Level | undefined {
  if (level === undefined || level === 'INFO') return 'INFO';
  if (level === 'ERROR' || level === 'WARNING') return level;
  if (typeof level !== 'string') return undefined;
  const upper = level.toUpperCase();
  if (upper === 'WARN') return 'WARNING';
  return (LEVELS as readonly string[]).includes(upper) ? (upper as Level) : undefined;
}

/**
 * Records one event in `run` as the seed tracker does (both logs, in call order; see AutopsyRun.record),
 * and pairs `<kind>_start` / `_end` / `_error` calls into spans. Misuse warns and never throws.
 */
export function trackIn(run: AutopsyRun, type: unknown, data: unknown, level: unknown): void {
  try {
    if (typeof type !== 'string' || type.trim() === '') {
      warnOnce('track-type', `track() needs an event type string as its first argument, got ${typeof type === 'string' ? 'an empty string' : typeof type}; the event was not recorded`);
      return;
    }
    let normalized = normalizeLevel(level);
    if (!normalized) {
      const quoted = safeString(String(level), WARNING_QUOTE_LENGTH);
      warnOnce(`track-level-${quoted}`, `track(): unknown level ${JSON.stringify(quoted)}; use INFO, WARNING or ERROR (recorded as INFO)`);
      normalized = 'INFO';
    }
    if (data !== undefined && data !== null && (typeof data !== 'object' || Array.isArray(data))) {
      warnOnce('track-data', 'track(): data should be an object; other values are recorded under data.value');
    }
    const clean = safeData(data, { maxStringLength: run.config.maxStringLength });
    if (clean.stage === undefined) {
      // Inside a stage() span the event belongs to that stage, as span events do; so does work the
      // stage left running after it ended (a timer it set): its span is still the active one.
      const active = activeOwnSpan();
      const stage = active ? (run.openSpanOf(active)?.stage ?? spanStage(active)) : undefined;
      if (stage !== undefined) clean.stage = stage;
    }
    // The type is written as it is, in both logs and the report's counts: clipped and redacted like
    // data strings (a short type is cleaned once, then looked up).
    const eventType = safeString(type, run.config.maxStringLength);
    const parsed = parseEventType(eventType);
    if (!parsed) {
      run.record(eventType, normalized, clean);
      return;
    }
    let tracked = trackedByRun.get(run);
    if (!tracked) {
      tracked = new TrackedSpans((span) => run.openSpanOf(span)?.startMs);
      trackedByRun.set(run, tracked);
      anyTracked = true;
    }
    if (parsed.phase === 'start') {
      const span = tracked.start(getAutopsyTracer(), parsed.kind, clean, run.config.maxStringLength);
      // The start event carries the span's start time, as a wrapper's does: the report dates an
      // unfinished span by its start, and a reader of the log only has this event's time.
      let startMs = run.spanStartMs(span);
      const ids = spanIdsOf(span);
      if (startMs === undefined) {
        startMs = nowMs();
        // A bare ExecutionTracker's run (not init()'s) does not see its spans (no tracer provider,
        // or init()'s run sees them): it keeps the pair itself, to list it as unfinished at exit if
        // it is still open then, as a reader of its log will.
        if (run !== currentRun()) run.openUntraced({ kind: parsed.kind, data: clean, startMs, span, ids });
      }
      run.record(eventType, normalized, clean, startMs, ids);
      return;
    }
    const span = tracked.take(parsed.kind, clean);
    const ids = span && spanIdsOf(span);
    run.record(eventType, normalized, clean, undefined, ids);
    run.untraced?.end(parsed.kind, clean, ids);
    if (span) {
      if (parsed.phase === 'error') {
        span.setStatus({ code: 2, message: typeof clean.error === 'string' ? clean.error : 'error' });
        // The event's error_type, as the wrappers' failed spans carry their error's class; an OTLP
        // file's reader takes it from here, since a tracked span has no exception event.
        const type = clean.error_type;
        span.setAttribute(sc.ATTR_ERROR_TYPE, typeof type === 'string' && type !== '' ? type : sc.ERROR_TYPE_OTHER);
      }
      span.end();
    }
  } catch (error) {
    reportError(error, 'track() failed');
  }
}

/**
 * The span's ids for its events, with its parent's as the span events of the wrappers have them;
 * none for a span without real ids (no tracer provider: a no-op span's are all zeros).
 */
function spanIdsOf(span: Span): { traceId: string; spanId: string; parentSpanId?: string } | undefined {
  const context = span.spanContext();
  if (!isSpanContextValid(context)) return undefined;
  // The SDK's span (sdk-trace-base 2.x) knows its parent; the API's Span type does not say so.
  const parentSpanId = (span as { parentSpanContext?: { spanId?: unknown } }).parentSpanContext?.spanId;
  return typeof parentSpanId === 'string' ? { traceId: context.traceId, spanId: context.spanId, parentSpanId } : { traceId: context.traceId, spanId: context.spanId };
}

/**
 * `track(type, data, level = 'INFO')`: the original tracker's call, recorded in the run started by
 * `init()`. Warns (once) and does nothing before init().
 */
export function track(type: string, data?: Record<string, unknown> | unknown, level: Level | Lowercase<Level> | 'warn' = 'INFO'): void {
  const run = currentRun();
  if (!run) {
    // A worker thread loads its own copy of the library: the main thread's init() is not its own.
    if (isMainThread) warnOnce('track-no-init', 'track() was called before init(); call init({ outputDir }) first (the event was not recorded)');
    else warnOnce('track-no-init', 'track() was called in a worker thread that has not called init(); the run of the main thread records nothing from workers, so call init() in the worker (the event was not recorded)');
    return;
  }
  if (run.isFinished) {
    warnOnce('track-after-shutdown', 'track() was called after shutdown(); the event was not recorded');
    return;
  }
  trackIn(run, type, data, level);
}
