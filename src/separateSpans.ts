import { context, trace, type Context, type Span, type SpanOptions, type Tracer } from '@opentelemetry/api';
import { startActiveSpanWith } from './startActiveSpanWith';
import { twinHalves } from './TwinSpan';

/**
 * agent-autopsy's spans kept apart from the app's tracing, when that tracing is a provider
 * agent-autopsy cannot join (Sentry 10's SentryTracerProvider, dd-trace's; see tracing.ts).
 *
 * Why: OpenTelemetry's context has one slot for the active span, and every tracer takes the span
 * there for the parent of the spans it starts. With agent-autopsy's stage() active, the app's
 * tracer would parent its spans (Sentry's HTTP and database spans, `Sentry.startSpan`, any
 * OpenTelemetry instrumentation) to a span its pipeline never receives, and Sentry drops those.
 * So, once separated, a span of agent-autopsy's provider goes into a slot of its own instead:
 * `trace.setSpan()` puts it there (ours, and that of the instrumentations agent-autopsy enables),
 * the app's tracers go on seeing the app's own active span, and agent-autopsy's tracers and
 * bookkeeping read its slot first (activeOwnSpan).
 */

/** The context slot of agent-autopsy's spans once separated; the same for every copy of agent-autopsy. */
const OWN_SPAN_KEY = Symbol.for('agent-autopsy.own-span');
/** The API's own slot of the active span (its createContextKey uses Symbol.for). */
const SPAN_KEY = Symbol.for('OpenTelemetry Context Key SPAN');
/** Marks a span a separated agent-autopsy provider started. A field, not a WeakSet: no weak-table insertion per span. */
const OWN_SPAN = Symbol.for('agent-autopsy.separated-span');
/** Marks an API `trace` singleton whose setSpan is already patched (by this copy of agent-autopsy or another). */
const PATCHED = Symbol.for('agent-autopsy.separating-set-span');

let separated = false;

/** True once agent-autopsy traces beside a provider it cannot join. */
export function spansSeparated(): boolean {
  return separated;
}

interface TraceApiLike {
  setSpan: (ctx: Context, span: Span) => Context;
}

/**
 * From now on spans of agent-autopsy's provider stay out of the context slot the app's tracing
 * reads. Patches `setSpan` of the given `trace` singletons (ours, and the app's own copy of the
 * API when it has one); idempotent. Spans made earlier stay where they are.
 */
export function separateOwnSpans(traceApis: readonly unknown[]): void {
  separated = true;
  for (const api of traceApis) {
    const target = api as TraceApiLike & { [PATCHED]?: true };
    if (target === undefined || target === null || typeof target.setSpan !== 'function' || target[PATCHED]) continue;
    const setSpan = target.setSpan;
    target.setSpan = function setSpanOutOfAppsSight(ctx: Context, span: Span): Context {
      if (span === null || typeof span !== 'object') return setSpan.call(this, ctx, span);
      if ((span as { [OWN_SPAN]?: true })[OWN_SPAN] === true) return ctx.setValue(OWN_SPAN_KEY, span);
      // A span both providers record: each half where its own tracing reads it.
      const twin = twinHalves(span);
      return twin ? setSpan.call(this, ctx.setValue(OWN_SPAN_KEY, twin.own), twin.apps) : setSpan.call(this, ctx, span);
    };
    target[PATCHED] = true;
  }
}

/** The innermost span of agent-autopsy's in `ctx`: its own slot first, then the shared one. */
export function activeOwnSpan(ctx: Context = context.active()): Span | undefined {
  if (separated) {
    const own = ctx.getValue(OWN_SPAN_KEY) as Span | undefined;
    if (own !== undefined) return own;
  }
  return trace.getSpan(ctx);
}

/**
 * `ctx` as agent-autopsy's provider must see it to parent a new span: its span in the shared
 * slot. Only for the SDK's tracer, which reads that slot; never made active.
 */
function parentContextForOwnTracer(ctx: Context): Context {
  const own = ctx.getValue(OWN_SPAN_KEY) as Span | undefined;
  // Set directly: the patched setSpan would route it to our slot.
  return own === undefined ? ctx : ctx.setValue(SPAN_KEY, own);
}

/**
 * startSpan of a tracer of agent-autopsy's provider once separated: parented to the innermost span
 * of agent-autopsy's (over one of the app's started inside it), and marked for setSpan.
 */
export function startOwnSpan(tracer: Tracer, name: string, options: SpanOptions | undefined, ctx: Context | undefined): Span {
  const active = ctx ?? context.active();
  const span = tracer.startSpan(name, options, options?.root ? active : parentContextForOwnTracer(active));
  (span as { [OWN_SPAN]?: true })[OWN_SPAN] = true;
  return span;
}

/** startActiveSpan of a tracer of agent-autopsy's provider once separated (see startOwnSpan). */
export function startActiveOwnSpan(tracer: Tracer, args: readonly unknown[]): unknown {
  return startActiveSpanWith(args, (name, options, parent) => startOwnSpan(tracer, name, options, parent));
}
