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
 * error, so it reads nothing.) With source maps on, the text is Node's source-mapped one, made
 * the way Node makes it from the same call sites and the same source maps (module.findSourceMap).
 */

import { findSourceMap, type SourceMap, type SourceMapping } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Stack text computed for each error, for this library's own later reads only. */
const computedStacks = new WeakMap<Error, string | undefined>();

const STOP = Symbol('agent-autopsy.stop-formatting');

type PrepareStackTrace = (error: Error, callSites: NodeJS.CallSite[]) => unknown;

function errorHead(error: Error): string {
  try {
    return Error.prototype.toString.call(error);
  } catch {
    return 'Error';
  }
}

/** Node's default stack text for errors that are not Node's own (`ERR_*`) ones. */
function defaultFormat(error: Error, callSites: NodeJS.CallSite[]): string {
  const head = errorHead(error);
  return callSites.length === 0 ? head : `${head}\n    at ${callSites.join('\n    at ')}`;
}

/** A source map lookup: empty when nothing maps there; `name` when the map names the symbol. */
type MapEntry = Partial<SourceMapping> & { name?: string };

/**
 * Node's stack text with source maps on (`--enable-source-maps`, `process.setSourceMapsEnabled`,
 * which tsx and other TypeScript runners turn on): each frame of a file that has a source map
 * names the original file, line, column and symbol, as Node's own formatter writes it.
 */
function sourceMappedFormat(error: Error, callSites: NodeJS.CallSite[]): string {
  let text = errorHead(error);
  let lastFile: string | undefined;
  let lastMap: SourceMap | undefined;
  for (let i = 0; i < callSites.length; i++) {
    const site = callSites[i];
    let frame: string | undefined;
    try {
      const file = site.getFileName() ?? site.getEvalOrigin();
      const map = file === lastFile ? lastMap : findSourceMap(file as string);
      if (map) {
        lastFile = file;
        lastMap = map;
        frame = mappedFrame(map, site, callSites[i + 1]);
      }
    } catch {
      // Unreadable map or call site: the frame as V8 writes it, as Node does.
    }
    text += `\n    at ${frame ?? String(site)}`;
  }
  return text;
}

/** One frame in original positions (V8's call sites count from 1, source maps from 0). */
function mappedFrame(map: SourceMap, site: NodeJS.CallSite, caller: NodeJS.CallSite | undefined): string {
  const entry = map.findEntry((site.getLineNumber() ?? 0) - 1, (site.getColumnNumber() ?? 0) - 1) as MapEntry;
  const { originalSource, originalLine, originalColumn } = entry;
  if (originalSource === undefined || originalLine === undefined || originalColumn === undefined) return String(site);
  const symbol = originalSymbol(map, site, caller);
  const source = originalSource.startsWith('file://') ? fileURLToPath(originalSource) : originalSource;
  const prefix = site.isAsync() ? 'async ' : site.isConstructor() ? 'new ' : '';
  const typeName = site.getTypeName();
  const ownName = `${typeName !== null && typeName !== 'global' ? `${typeName}.` : ''}${(site.getFunctionName() ?? site.getMethodName()) || '<anonymous>'}`;
  const name = symbol && symbol !== ownName ? symbol : ownName;
  return `${prefix}${name} (${source}:${originalLine + 1}:${originalColumn + 1})`;
}

/** The original name of the frame's function, when a transpiler renamed it: the map's names field. */
function originalSymbol(map: SourceMap, site: NodeJS.CallSite, caller: NodeJS.CallSite | undefined): string | undefined {
  const enclosing = map.findEntry((site.getEnclosingLineNumber() ?? 0) - 1, (site.getEnclosingColumnNumber() ?? 0) - 1) as MapEntry;
  if (enclosing.name) return enclosing.name;
  if (caller && site.getFileName() === caller.getFileName()) {
    return (map.findEntry((caller.getLineNumber() ?? 0) - 1, (caller.getColumnNumber() ?? 0) - 1) as MapEntry).name;
  }
  return undefined;
}

function sourceMapsEnabled(): boolean {
  return (process as { sourceMapsEnabled?: boolean }).sourceMapsEnabled === true;
}

/** True where this module cannot reproduce Node's formatting: read `.stack` plainly there. */
function plainReadOnly(error: Error): boolean {
  // Node's internal errors add `[ERR_…]` to their first line.
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
    const text = previous ? previous(target, callSites) : sourceMapsEnabled() ? sourceMappedFormat(target, callSites) : defaultFormat(target, callSites);
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
  // Any object may be a key; no instanceof, which runs a Proxy's getPrototypeOf trap (it may throw).
  if (typeof error === 'object' && error !== null) computedStacks.delete(error as Error);
}
