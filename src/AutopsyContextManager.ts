import { context, trace, type Context, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { suppressTracing } from '@opentelemetry/core';

/**
 * The context manager agent-autopsy registers when the app has none: OpenTelemetry's
 * AsyncLocalStorage manager, plus what agent-autopsy's own bookkeeping needs without turning
 * AsyncLocalStorage on: a context current for synchronous code only (runSync), and knowing whether
 * anything could read a context entered for it (withSpanIfObserved).
 *
 * Why: on Node 20 the first `AsyncLocalStorage.run()` in a process installs a hook that runs for
 * every promise the app creates, for the rest of the process (11–19 % more instructions per call
 * of an openai client against a local server, bench/README.md item 26). An app that uses the
 * wrappers (`stage()`, `task()` …) needs it, to carry their spans across awaits, and turns it on
 * with its first wrapper. A zero-code app does not: there only the log writer (hiding its writes
 * from fs instrumentations) and the openai instrumentation (whose span nothing inside the SDK
 * reads unless another instrumentation is there) entered contexts, and the whole app paid for it.
 */
export class AutopsyContextManager extends AsyncLocalStorageContextManager {
  /** The context runSync() made current, for synchronous code only. */
  private syncContext: Context | undefined;
  /** Something entered a context through this manager (with(), attach()): AsyncLocalStorage is on. */
  private entered = false;

  override active(): Context {
    return this.syncContext ?? super.active();
  }

  override with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    this.entered = true;
    const syncContext = this.syncContext;
    if (syncContext === undefined) return super.with(context, fn, thisArg, ...args);
    // Inside runSync(): the context entered here is the current one until fn returns.
    this.syncContext = undefined;
    try {
      return super.with(context, fn, thisArg, ...args);
    } finally {
      this.syncContext = syncContext;
    }
  }

  override attach(context: Context): ReturnType<AsyncLocalStorageContextManager['attach']> {
    this.entered = true;
    return super.attach(context);
  }

  override disable(): this {
    if (registered === this) registered = undefined;
    this.syncContext = undefined;
    return super.disable();
  }

  /**
   * Calls `fn` with `context` current while it runs synchronously. Callbacks it schedules do not
   * see `context` (they see what was current before), and AsyncLocalStorage is not turned on.
   */
  runSync<T>(context: Context, fn: (this: unknown) => T, thisArg?: unknown): T {
    const previous = this.syncContext;
    this.syncContext = context;
    try {
      return fn.call(thisArg);
    } finally {
      this.syncContext = previous;
    }
  }

  /** Something entered a context through this manager: contexts propagate already. */
  get hasEntered(): boolean {
    return this.entered;
  }
}

/** The AutopsyContextManager registered globally, until the app's replaces it. */
let registered: AutopsyContextManager | undefined;
/** A tracer other than agent-autopsy's was asked for: another instrumentation may start spans. */
let foreignTracers = false;

/** Registers `manager` globally; false when a context manager already is (the API's rule). */
export function registerContextManager(manager: AutopsyContextManager): boolean {
  const done = context.setGlobalContextManager(manager.enable());
  if (done) registered = manager;
  return done;
}

/** Says that another instrumentation's tracer exists (HandOverTracerProvider hands it out). */
export function noteForeignTracer(): void {
  foreignTracers = true;
}

/**
 * Calls synchronous `fn` with tracing suppressed, so an fs instrumentation in the app does not
 * trace agent-autopsy's own writes. With agent-autopsy's context manager this turns nothing on;
 * with the app's, it enters the suppressed context as any exporter does.
 */
export function runUntraced<T>(fn: (this: unknown) => T, thisArg?: unknown): T {
  const suppressed = suppressTracing(context.active());
  if (registered !== undefined) return registered.runSync(suppressed, fn, thisArg);
  return context.with(suppressed, fn, thisArg);
}

/**
 * Calls `fn` with `span` current, so spans that start inside (an HTTP instrumentation's, another
 * LLM instrumentation's) are its children. When nothing could read it (agent-autopsy's context
 * manager, no context ever entered, no other instrumentation) `fn` is called as it is: see
 * AutopsyContextManager for what entering would cost.
 */
export function withSpanIfObserved<T>(span: Span, fn: () => T): T {
  if (registered !== undefined && !registered.hasEntered && !foreignTracers) return fn();
  return context.with(trace.setSpan(context.active(), span), fn);
}
