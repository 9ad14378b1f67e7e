import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { reportError } from './errorHandler';

type Method = 'onStart' | 'onEnding' | 'onEnd' | 'forceFlush' | 'shutdown';

const guards = new WeakMap<object, GuardedSpanProcessor>();

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
      if (typeof fn !== 'function') return Promise.resolve();
      const result: unknown = fn.call(processor);
      if (result === null || (typeof result !== 'object' && typeof result !== 'function')) return Promise.resolve();
      return Promise.resolve(result).then(
        () => undefined,
        (error: unknown) => this.report(method, error),
      );
    } catch (error) {
      this.report(method, error);
      return Promise.resolve();
    }
  }

  private report(method: Method, error: unknown): void {
    if (this.reported.has(method)) return;
    this.reported.add(method);
    reportError(error, `span processor ${this.label} failed in ${method}()`);
  }
}
