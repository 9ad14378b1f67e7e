/**
 * The least number of seconds a clock reading can show after `setTimeout(ms)` fired.
 *
 * Node fires a timer by the event loop's millisecond clock, which lags the high-resolution clock
 * the spans are timed with by up to a millisecond, so a 100 ms timer can be seen to take 99.7 ms
 * (CI saw exactly that). Two milliseconds of slack keep a lower bound honest without making it flaky.
 */
export function timerSeconds(ms: number): number {
  return (ms - 2) / 1000;
}
