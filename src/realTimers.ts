import * as timers from 'node:timers';

/**
 * Node's own timers, taken when the library loads. A test runner's fake timers (vitest's
 * `vi.useFakeTimers()`, jest's, @sinonjs/fake-timers) replace `setTimeout` on the global object
 * and in `node:timers` while a test runs: a log flush scheduled then sat in the fake clock, and
 * once the test restored real timers it was gone with it, so nothing more reached the disk until
 * the run ended. Telemetry keeps to real time; these timers are unref'd, like every timer here.
 */
export const realSetTimeout: typeof setTimeout = timers.setTimeout;
export const realClearTimeout: typeof clearTimeout = timers.clearTimeout;
