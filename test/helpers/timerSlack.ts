/**
 * The least number of seconds a clock reading can show after `setTimeout(ms)` fired.
 *
 * Node fires a timer by the event loop's millisecond clock, which lags the high-resolution clock
 * the spans are timed with by up to a millisecond, so a 100 ms timer can be seen to take 99.7 ms
 * (CI saw exactly that). Two milliseconds of slack keep a lower bound honest without making it
 * flaky, for a timer set at the start of a turn (a server's, a child's): a test that waits for a
 * time it then asserts waits with atLeast().
 */
export function timerSeconds(ms: number): number {
  return (ms - 2) / 1000;
}

/**
 * Resolves once at least `ms` have passed on the high-resolution clock, counted from the call. A
 * timer alone can fire early against it by however long the event loop's current turn had already
 * run when it was set (Node counts timers from the turn's start): 2.4 ms early under load here.
 */
export async function atLeast(ms: number): Promise<void> {
  const until = performance.now() + ms;
  for (let left = ms; left > 0; left = until - performance.now()) await new Promise((resolve) => setTimeout(resolve, Math.ceil(left)));
}
