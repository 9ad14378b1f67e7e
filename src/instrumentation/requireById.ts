import Module from 'node:module';

type OnLoad = (exports: unknown) => void;

const listeners = new Map<string, OnLoad[]>();
let installed = false;

/**
 * Calls `onLoad` with the exports of each `require(id)` of one of `ids`, exactly as written (a
 * package's export path, such as `@modelcontextprotocol/sdk/client/index.js`), after it loaded;
 * what `onLoad` throws is dropped (the app's `require()` returns as it would). For a module
 * OpenTelemetry's require hook cannot hand over (see McpClientInstrumentation). Not
 * require-in-the-middle: it resolves the file of every `require()` the app makes, which here cost
 * ~25 ms more to load 1,000 files under the flag; this compares one string per call. Installed
 * once, for the process.
 */
export function onRequireById(ids: readonly string[], onLoad: OnLoad): void {
  for (const id of ids) listeners.set(id, [...(listeners.get(id) ?? []), onLoad]);
  if (installed) return;
  installed = true;
  const prototype = Module.prototype as { require: (id: string) => unknown };
  const original = prototype.require;
  prototype.require = function requireById(this: unknown, id: string) {
    // eslint-disable-next-line prefer-rest-params
    const exports = original.apply(this, arguments as unknown as [string]);
    const found = typeof id === 'string' ? listeners.get(id) : undefined;
    if (found) {
      for (const listener of found) {
        try {
          listener(exports);
        } catch {
          /* the app's require never fails for a listener */
        }
      }
    }
    return exports;
  };
}
