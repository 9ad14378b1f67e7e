/**
 * Reading an error's stack without changing how Node reports the error.
 *
 * The first read of `error.stack` makes V8 format the stack and keep only the text: the frames it
 * was built from are dropped. When that error later ends the process as an unhandled rejection,
 * Node can no longer point at the line that threw, and the crash output starts with
 * `node:internal/process/promises:…  triggerUncaughtException(…)` instead of the app's own source
 * line. An agent that crashes with this library installed must print exactly what it prints
 * without it, and this library (and the OpenTelemetry SDK's `recordException`, which reads
 * `.stack`) looks at every error that passes through a span.
 *
 * So the text is computed here the way Node would compute it, from the frames, while the frames are
 * kept: the formatting step is made to fail after it has produced the text (V8 caches nothing then).
 * The error itself is left untouched: the text is remembered in a private WeakMap for this
 * library's next reads (an error is read two or three times as its span ends), and the app's own
 * reads and Node's crash printer format it when they read it, as without the library — with a
 * message the app changed since (`e.message = 'startup failed: ' + e.message; throw e`) and an
 * `Error.prepareStackTrace` installed since. (The OpenTelemetry SDK is given the text, not the
 * error, so it reads nothing.)
 */

/** Stack text computed for each error, for this library's own later reads only. */
const computedStacks = new WeakMap<Error, string | undefined>();

const STOP = Symbol('agent-autopsy.stop-formatting');

type PrepareStackTrace = (error: Error, callSites: NodeJS.CallSite[]) => unknown;

/** Node's default stack text for errors that are not Node's own (`ERR_*`) ones. */
function defaultFormat(error: Error, callSites: NodeJS.CallSite[]): string {
  let head: string;
  try {
    head = Error.prototype.toString.call(error);
  } catch {
    head = 'Error';
  }
  return callSites.length === 0 ? head : `${head}\n    at ${callSites.join('\n    at ')}`;
}

/** True where this module cannot reproduce Node's formatting: read `.stack` plainly there. */
function plainReadOnly(error: Error): boolean {
  // Source-mapped stacks are formatted by Node's own callback; Node's internal errors add `[ERR_…]`.
  if ((process as { sourceMapsEnabled?: boolean }).sourceMapsEnabled) return true;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('ERR_');
}

function plainRead(error: Error): string | undefined {
  try {
    const stack = error.stack;
    return typeof stack === 'string' ? stack : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The stack text of `error`, exactly as `error.stack` would give it, without losing the frames
 * Node needs to point at the throwing line in its crash output. Never throws.
 */
export function stackOf(error: Error): string | undefined {
  if (computedStacks.has(error)) return computedStacks.get(error);
  if (plainReadOnly(error) || !Object.prototype.hasOwnProperty.call(error, 'stack')) return plainRead(error);
  const previous = Error.prepareStackTrace as PrepareStackTrace | undefined;
  let computed: unknown;
  let formatted = false;
  const capture: PrepareStackTrace = (target, callSites) => {
    const text = previous ? previous(target, callSites) : defaultFormat(target, callSites);
    // Another error formatted on the way (a custom getter): let it be cached as usual.
    if (target !== error) return text;
    computed = text;
    formatted = true;
    throw STOP;
  };
  let read: unknown;
  try {
    Error.prepareStackTrace = capture as typeof Error.prepareStackTrace;
    read = error.stack;
  } catch (thrown) {
    if (thrown !== STOP) return undefined;
  } finally {
    Error.prepareStackTrace = previous as typeof Error.prepareStackTrace;
  }
  if (!formatted) return typeof read === 'string' ? read : undefined;
  const text = typeof computed === 'string' ? computed : computed === undefined ? undefined : String(computed);
  computedStacks.set(error, text);
  return text;
}

/**
 * Drops the remembered text of `error`, so the next stackOf() formats it anew: when the error ends
 * the process, its record must say what Node prints, message changes since its span ended included.
 */
export function forgetStack(error: unknown): void {
  if (error instanceof Error) computedStacks.delete(error);
}
