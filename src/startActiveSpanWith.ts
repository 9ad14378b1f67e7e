import { context, trace, type Context, type Span, type SpanOptions } from '@opentelemetry/api';

/**
 * `Tracer.startActiveSpan(...args)` built on `start`, a startSpan: `fn` runs in the context with the
 * new span set (through `trace.setSpan`, which separateSpans.ts may route), and gets it. The
 * overloads are read as the SDK's Tracer reads them; without a function there is nothing to call.
 */
export function startActiveSpanWith(args: readonly unknown[], start: (name: string, options: SpanOptions | undefined, parent: Context) => Span): unknown {
  if (args.length < 2) return undefined;
  const fn = args[Math.min(args.length, 4) - 1];
  if (typeof fn !== 'function') return undefined;
  const options = args.length >= 3 ? (args[1] as SpanOptions | undefined) : undefined;
  const parent = (args.length >= 4 ? (args[2] as Context | undefined) : undefined) ?? context.active();
  const span = start(args[0] as string, options, parent);
  return context.with(trace.setSpan(parent, span), fn as (span: Span) => unknown, undefined, span);
}
