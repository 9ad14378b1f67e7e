import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { nowMs } from './clock';
import { reportError } from './errorHandler';
import { realClearTimeout, realSetTimeout } from './realTimers';

type Method = 'onStart' | 'onEnding' | 'onEnd' | 'forceFlush' | 'shutdown';

const guards = new WeakMap<object, GuardedSpanProcessor>();

/** While this library ends a run: until when (epoch ms) the app's processors are waited for, of how long in all. */
let bound: { until: number; ms: number } | undefined;

/**
 * Bounds the app's processors' forceFlush() and shutdown() calls, until the returned function is
 * called, to `ms` in all: calls made after that time are not waited for. Used while this library
 * ends a run (shutdown(), the drained event loop): the SDK waits up to 30 s for each processor,
 * and without the library nothing would have flushed them at exit at all. A flush the app starts
 * itself at another time is not bounded.
 */
export function boundAppFlushes(ms: number): () => void {
  const current = { until: nowMs() + ms, ms };
  bound = current;
  return () => {
    if (bound === current) bound = undefined;
  };
}

/**
 * A span processor the app passed to `init({ spanProcessors })`, made harmless: a method it lacks
 * does nothing (flush and shutdown resolve at once), and one that throws or rejects is reported
 * once per method through the error handler instead of failing the span or the flush.
 *
 * Why: the SDK's provider flushes each processor under a 30 s timer that is only cleared when the
 * processor's forceFlush() settles. `{ onStart, onEnd, shutdown }` without forceFlush threw there,
 * the timer stayed, and every exit took 31 s. A throwing onStart/onEnd would also have cut the
 * processors after it (the OTLP export) out of that span, or lost the span for the autopsy.
 */
export class GuardedSpanProcessor implements SpanProcessor {
  private readonly reported = new Set<Method>();
  /** Methods whose call outlived its bound and has not settled yet: not waited for again meanwhile. */
  private readonly stuck = new Set<'forceFlush' | 'shutdown'>();

  /** The guard of `processor` (the same one each time: a processor given to two init() calls joins once). */
  static of(processor: SpanProcessor, label: string): SpanProcessor {
    if (processor instanceof GuardedSpanProcessor) return processor;
    if (processor === null || typeof processor !== 'object') return new GuardedSpanProcessor(processor, label);
    let guard = guards.get(processor);
    if (!guard) {
      guard = new GuardedSpanProcessor(processor, label);
      guards.set(processor, guard);
    }
    return guard;
  }

  private constructor(
    /** The app's processor. */
    readonly processor: SpanProcessor,
    private readonly label: string,
  ) {}

  onStart(span: Span, parentContext: Context): void {
    try {
      const processor = this.processor;
      if (typeof processor?.onStart === 'function') processor.onStart(span, parentContext);
    } catch (error) {
      this.report('onStart', error);
    }
  }

  onEnding(span: Span): void {
    try {
      const processor = this.processor;
      if (typeof processor?.onEnding === 'function') processor.onEnding(span);
    } catch (error) {
      this.report('onEnding', error);
    }
  }

  onEnd(span: ReadableSpan): void {
    try {
      const processor = this.processor;
      if (typeof processor?.onEnd === 'function') processor.onEnd(span);
    } catch (error) {
      this.report('onEnd', error);
    }
  }

  forceFlush(): Promise<void> {
    return this.settle('forceFlush');
  }

  shutdown(): Promise<void> {
    return this.settle('shutdown');
  }

  /** Calls a method that returns a promise; always resolves. */
  private settle(method: 'forceFlush' | 'shutdown'): Promise<void> {
    try {
      const processor = this.processor as unknown as Record<string, unknown> | undefined;
      const fn = processor?.[method];
      if (typeof fn !== 'function' || (bound && this.stuck.has(method))) return Promise.resolve();
      const result: unknown = fn.call(processor);
      if (result === null || (typeof result !== 'object' && typeof result !== 'function')) return Promise.resolve();
      const settled = Promise.resolve(result).then(
        () => undefined,
        (error: unknown) => this.report(method, error),
      );
      return bound ? this.within(settled, method, bound) : settled;
    } catch (error) {
      this.report(method, error);
      return Promise.resolve();
    }
  }

  /** `settled`, or at the bound's end (a timer that keeps nothing alive) a note that it was not waited for. */
  private within(settled: Promise<void>, method: 'forceFlush' | 'shutdown', limit: { until: number; ms: number }): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = realSetTimeout(() => {
        this.stuck.add(method);
        this.report(method, new Error(`it did not settle within ${Math.ceil(limit.ms / 1000)} s, and the run ended without waiting for it`));
        resolve();
      }, Math.max(0, limit.until - nowMs()));
      timer.unref();
      void settled.then(() => {
        realClearTimeout(timer);
        this.stuck.delete(method);
        resolve();
      });
    });
  }

  private report(method: Method, error: unknown): void {
    if (this.reported.has(method)) return;
    this.reported.add(method);
    reportError(error, `span processor ${this.label} failed in ${method}()`);
  }
}
