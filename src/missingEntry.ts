import { pathToFileURL } from 'node:url';

/**
 * Is `error` node's "the app's entry file does not exist" (`node --import agent-autopsy/register
 * typo.mjs`)? Then nothing of the app ever ran, and the zero-code run has nothing to tell: a crash
 * autopsy of it would only blame the loader. `entry` is node's `process.argv[1]`, made absolute at
 * startup.
 *
 * Under an ES module loader (any `--import`) the entry is imported by URL and the error carries that
 * URL; under CommonJS (`--require`) it is the require of the entry itself: no module required it.
 */
export function isMissingEntryError(error: unknown, entry: string | undefined = process.argv[1]): boolean {
  if (typeof entry !== 'string' || entry === '' || typeof error !== 'object' || error === null) return false;
  try {
    const { code, url, requireStack, message } = error as { code?: unknown; url?: unknown; requireStack?: unknown; message?: unknown };
    if (code === 'ERR_MODULE_NOT_FOUND') return typeof url === 'string' && url === pathToFileURL(entry).href;
    if (code === 'MODULE_NOT_FOUND') {
      return Array.isArray(requireStack) && requireStack.length === 0 && typeof message === 'string' && message.startsWith(`Cannot find module '${entry}'`);
    }
  } catch {
    // An error whose properties throw when read (a Proxy) is the app's: it ran.
  }
  return false;
}
