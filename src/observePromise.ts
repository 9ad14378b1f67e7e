/**
 * Following a Promise subclass (openai's APIPromise, any `class X extends Promise`) without
 * changing it: the app gets the very object it made, with its own methods, and learns nothing
 * new from being observed.
 *
 * Two things rule out the obvious `promise.then(onValue, onError)` the moment it is returned
 * (checked with openai 6.x against examples/fake-llm-server.mjs):
 * - An APIPromise's then() is lazy: it starts parse(), which reads the response body. An app
 *   that only takes `.asResponse()` and reads the body itself then gets "Body is unusable: Body
 *   has already been read".
 * - Any handler marks a rejection handled. An APIPromise that fails while nobody awaits it ends
 *   the process with an unhandled rejection; observed that way it would fail silently.
 * So the outcome is taken from the consumption the app itself starts, on this very object: its
 * own then() (await, catch() and finally() go through it), or for an APIPromise its parse()
 * (then, catch, finally and withResponse go through it) and asResponse(). A promise the app never
 * consumes is never observed, and fails exactly as it would without the library.
 */

/** What an observer is told: the first outcome wins (see once()). Handlers never throw. */
export interface Settle {
  /** The promise fulfilled with `value` (an APIPromise: its parsed body). */
  value: (value: unknown) => void;
  error: (error: unknown) => void;
  /** An APIPromise the app took only through `.asResponse()`: the raw HTTP `Response` arrived. */
  response: (response: unknown) => void;
}

/** The first outcome wins: a promise may be consumed through several paths (withResponse() takes two). */
export function once(settle: Settle): Settle {
  let settled = false;
  const first =
    <A>(handler: (arg: A) => void) =>
    (arg: A): void => {
      if (settled) return;
      settled = true;
      try {
        handler(arg);
      } catch {
        /* telemetry never fails the call */
      }
    };
  return { value: first(settle.value), error: first(settle.error), response: first(settle.response) };
}

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * Observes `promise` (an instance of a Promise subclass) through the consumption the app starts
 * (see the module comment); false when it cannot be observed (a frozen object, an exotic then).
 * Never throws.
 */
export function observePromiseSubclass(promise: object, settle: Settle): boolean {
  try {
    if (observeApiPromise(promise, settle)) return true;
    return observeThen(promise, settle);
  } catch {
    return false;
  }
}

/**
 * Follows an openai (or other Stainless SDK) APIPromise without reading its response itself:
 * `then()` on it would start its parse, and SDK helpers (`chat.completions.parse()`,
 * `responses.create()` …) chain `_thenUnwrap()`, which parses the same response again: the body
 * would be read twice and the app's call would fail. So the outcome is taken from the parse the
 * app (or the helper) starts: `parse()` of this promise, or of the promise `_thenUnwrap()` derives
 * from it. An app that takes only `.asResponse()` settles it with the raw response (or the
 * request's failure) unless a parse started by then, whose outcome then wins. Returns false for
 * anything that is not such a promise. Never throws.
 */
export function observeApiPromise(promise: any, settle: Settle): boolean {
  try {
    if (!promise || typeof promise.parse !== 'function' || typeof promise.then !== 'function') return false;
  } catch {
    return false;
  }
  // Its parse has started already: the app (a then() inside the callback) or a library between
  // the client and the app did it. Sentry's openAIIntegration does it inside create() and hands
  // back a Proxy whose then() is its own promise's, so no later parse() would be seen. Following
  // that parse reads nothing more, and its rejection is handled by whoever started it already.
  const started = parsedPromiseOf(promise);
  if (started !== undefined) {
    started.then(
      (value: unknown) => guard(() => settle.value(value)),
      (error: unknown) => guard(() => settle.error(error)),
    );
    return true;
  }
  let parsing = false;
  // Both hand the caller a promise derived from the SDK's: it settles as the SDK's would, and a
  // caller that ignores it still gets the unhandled rejection it would get without the library.
  const parse = promise.parse as () => unknown;
  const hooked = hook(promise, 'parse', function observedParse(this: unknown) {
    parsing = true;
    return follow(parse.call(this), settle.value, settle.error);
  });
  if (!hooked) return false;
  const asResponse = promise.asResponse;
  if (typeof asResponse === 'function') {
    hook(promise, 'asResponse', function observedAsResponse(this: unknown, ...args: unknown[]) {
      return follow(
        asResponse.apply(this, args),
        (response) => {
          if (!parsing) settle.response(response);
        },
        (error) => {
          if (!parsing) settle.error(error);
        },
      );
    });
  }
  const thenUnwrap = promise._thenUnwrap;
  if (typeof thenUnwrap === 'function') {
    hook(promise, '_thenUnwrap', function observedThenUnwrap(this: unknown, ...args: unknown[]) {
      const derived = thenUnwrap.apply(this, args);
      observeApiPromise(derived, settle);
      return derived;
    });
  }
  return true;
}

/** The promise of an APIPromise's parse once it has started (the SDK caches it as `parsedPromise`), else undefined. */
function parsedPromiseOf(promise: any): { then: (onValue: (value: unknown) => void, onError: (error: unknown) => void) => unknown } | undefined {
  try {
    const parsed = promise.parsedPromise;
    return parsed && typeof parsed.then === 'function' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Any other Promise subclass: its then(), on the instance, reports the outcome of the app's first
 * call (await, catch() and finally() call then() too) and then steps aside. The app's handlers run
 * as they would, after the outcome is recorded; no promise is added.
 */
function observeThen(promise: any, settle: Settle): boolean {
  const then = promise.then;
  if (typeof then !== 'function') return false;
  const own = Object.getOwnPropertyDescriptor(promise, 'then');
  return hook(promise, 'then', function observedThen(this: unknown, onFulfilled?: unknown, onRejected?: unknown) {
    guard(() => {
      if (own) Object.defineProperty(promise, 'then', own);
      else delete promise.then;
    });
    return then.call(
      this,
      (value: unknown) => {
        settle.value(value);
        return typeof onFulfilled === 'function' ? onFulfilled(value) : value;
      },
      (error: unknown) => {
        settle.error(error);
        if (typeof onRejected === 'function') return onRejected(error);
        throw error;
      },
    );
  });
}

/**
 * `promise.then()` that reports the outcome and passes it on unchanged (a derived promise, as any
 * async wrapper returns: one the app ignores still rejects unhandled, as the original would have);
 * anything else is returned as it is. The reports are guarded.
 */
export function follow(promise: any, onValue: (value: unknown) => void, onError: (error: unknown) => void): unknown {
  if (!promise || typeof promise.then !== 'function') return promise;
  return promise.then(
    (value: unknown) => {
      guard(() => onValue(value));
      return value;
    },
    (error: unknown) => {
      guard(() => onError(error));
      throw error;
    },
  );
}

/** Puts `fn` in place of the instance's `name` method (not enumerable, like a prototype method). */
function hook(target: object, name: string, fn: (...args: any[]) => unknown): boolean {
  try {
    Object.defineProperty(target, name, { value: fn, writable: true, configurable: true, enumerable: false });
    return true;
  } catch {
    return false;
  }
}

function guard(fn: () => void): void {
  try {
    fn();
  } catch {
    /* telemetry never fails the call */
  }
}
