import { performance } from 'node:perf_hooks';
import type { HrTime } from '@opentelemetry/api';
import { sixDigitsZ } from '../exporters/numberText';

// Fixed for the life of the process; Node's getter validates its receiver and crosses into C++ on
// every read, a few percent of a track() call.
const TIME_ORIGIN = performance.timeOrigin;
// Node's own clock, taken when the library loads: a test runner's fake timers replace the global
// `performance` (and `performance.now` of node:perf_hooks) while a test runs, and events stamped
// with the real time origin plus the fake clock's reading went back to the start of the process.
const PERFORMANCE = performance;
const performanceNow = performance.now;

/** Wall-clock epoch milliseconds with sub-millisecond precision (the real clock, also under fake timers). */
export function nowMs(): number {
  return TIME_ORIGIN + performanceNow.call(PERFORMANCE);
}

// The system clock itself, as file times are: taken when the library loads, for the same reason.
const DATE_NOW = Date.now;

/**
 * The system clock's epoch milliseconds (also under fake timers), to compare with file times:
 * nowMs() follows the monotonic clock from the process's start and can drift from it by a few ms.
 */
export function systemClockMs(): number {
  return DATE_NOW();
}

export function hrTimeToMs(time: HrTime): number {
  return time[0] * 1000 + time[1] / 1e6;
}

let cachedSecond = -1;
/** `2026-11-25T16:32:52.` of the second last stamped. */
let cachedPrefix = '';

/** ISO 8601 in UTC with microseconds: `2026-11-25T16:32:52.123456Z`. */
export function isoMicros(epochMs: number): string {
  const second = Math.floor(epochMs / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    const iso = new Date(second * 1000).toISOString();
    // Up to the milliseconds' dot: a year past 9999 has six digits and a sign there.
    cachedPrefix = iso.slice(0, iso.lastIndexOf('.') + 1);
  }
  const micros = Math.floor((epochMs - second * 1000) * 1000);
  // Two pieces, not four: the time is written twice per event (bench/README.md item 24).
  return cachedPrefix + sixDigitsZ(Math.min(micros, 999_999));
}

/** Seconds between two epoch-ms instants, rounded to microseconds as Python's total_seconds() is. */
export function secondsBetween(fromMs: number, toMs: number): number {
  return Math.round((toMs - fromMs) * 1000) / 1e6;
}

/** One moment on the two clocks a span's end is read from: the run's and OpenTelemetry's SDK's. */
export interface Instant {
  /** The run's clock (nowMs): the end event's time and the start of its `duration`. */
  ms: number;
  /**
   * `performance.now()` as the SDK reads it at `span.end()` (the method installed now: a fake
   * one under fake timers), which `span.end(time)` takes as the span's end.
   */
  sdk: number;
}

/** Now on both clocks; one read when no fake timers are installed (the same clock then). */
export function instantNow(): Instant {
  const real = performanceNow.call(PERFORMANCE);
  const installed = PERFORMANCE.now;
  return { ms: TIME_ORIGIN + real, sdk: installed === performanceNow ? real : installed.call(PERFORMANCE) };
}
