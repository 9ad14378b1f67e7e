import { EventEmitter } from 'node:events';

/**
 * Process listeners of agent-autopsy that code counting listeners must not see.
 *
 * Some libraries act on a process event only when no one else listens, and stand back otherwise:
 * signal-exit (npm's, and many libraries'), and the OpenAI Agents SDK, which ends the process on
 * SIGTERM (exit 0) and SIGINT (130), and on an unhandled rejection (1), only while
 * `process.listeners(event).length` is 1. Our listeners would count as someone else for them,
 * and theirs as the app's for us: both would stand back, and the signal would end nothing. So our
 * listeners of these events are left out of `process.listeners()` and `process.rawListeners()`: a
 * library that counts them sees the process as it would be without agent-autopsy.
 * (`listenerCount` is left as it is: Node itself reads it to stop listening for a signal, and
 * code that hides its listener from it, as tsx's CLI does, makes Node stop listening while that
 * listener is still there; exitHooks.ts `onSignal` deals with that.)
 */
export const HIDDEN_EVENTS: ReadonlyArray<string | symbol> = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR2', 'unhandledRejection'];

// The registry's name is kept from when it held signal handlers only: copies of older versions share it.
const REGISTRY = Symbol.for('agent-autopsy.signal-handlers');
const HIDES_OUR_LISTENERS = Symbol.for('agent-autopsy.hides-signal-listeners');

/**
 * Our listeners in every copy of this module in the process (the app's dependency and a plugin's
 * nested one, or the zero-code flag's install and the app's): each copy must not take the others'
 * for the app's, or all of them stand back.
 */
export function ourListeners(): Set<unknown> {
  const registry = globalThis as Record<symbol, Set<unknown> | undefined>;
  let listeners = registry[REGISTRY];
  if (!(listeners instanceof Set)) registry[REGISTRY] = listeners = new Set();
  return listeners;
}

/** The listeners of `event` that are not ours (in any copy), counted whatever hides them. */
export function othersListening(event: string | symbol): Function[] {
  const ours = ourListeners();
  return EventEmitter.prototype.rawListeners.call(process, event).filter((fn) => !ours.has(fn));
}

type ListenersOf = ((this: unknown, event: string | symbol) => Function[]) & { [HIDES_OUR_LISTENERS]?: true };

/** Leaves our listeners of HIDDEN_EVENTS out of `process.listeners()` and `process.rawListeners()`; once per process. */
export function hideOurListeners(): void {
  const proc = process as unknown as Record<'listeners' | 'rawListeners', ListenersOf>;
  for (const name of ['listeners', 'rawListeners'] as const) {
    const original = proc[name];
    if (typeof original !== 'function' || original[HIDES_OUR_LISTENERS]) continue;
    const withoutOurs = function (this: unknown, event: string | symbol): Function[] {
      const all = original.call(this, event);
      if (this !== process || !HIDDEN_EVENTS.includes(event) || !Array.isArray(all)) return all;
      const ours = ourListeners();
      return all.filter((fn) => !ours.has(fn));
    };
    Object.defineProperty(withoutOurs, 'name', { value: name });
    Object.defineProperty(withoutOurs, HIDES_OUR_LISTENERS, { value: true });
    Object.defineProperty(process, name, { value: withoutOurs, writable: true, configurable: true, enumerable: false });
  }
}
