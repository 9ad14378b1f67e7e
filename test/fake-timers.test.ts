import { afterEach, describe, expect, it, vi } from 'vitest';
import { init, llmCall, shutdown, stage, track } from '../src/index';
import { readTrackerDocument, readReadableLines } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * An app's own test suite that records with agent-autopsy and uses the test runner's fake timers
 * (`vi.useFakeTimers()`: setTimeout, setImmediate, Date and performance.now faked, also in
 * node:timers and node:perf_hooks). The library keeps to the real clock and the real timers.
 */

afterEach(() => {
  vi.useRealTimers();
});

/** Waits (real time) until `ready()` holds, at most `limitMs`. */
async function until(ready: () => boolean, limitMs = 3000): Promise<void> {
  for (let waited = 0; waited < limitMs && !ready(); waited += 20) await new Promise((done) => setTimeout(done, 20));
}

describe('under fake timers', () => {
  it('events recorded while they are installed reach the disk when real timers are back, without shutdown()', async () => {
    const dir = tempRunDir();
    init({ outputDir: dir, handleExit: false });
    vi.useFakeTimers();
    await stage('s1', async () => {
      await llmCall({ model: 'gpt-4o' }, async () => 'ok');
    });
    vi.useRealTimers();
    await until(() => readReadableLines(dir).length >= 4);
    expect(readReadableLines(dir).map((line) => line.replace(/^.*\] (\w+):.*$/, '$1'))).toEqual([
      'stage_start',
      'llm_call_start',
      'llm_call_end',
      'stage_end',
    ]);
    await shutdown();
  });

  it('events carry the real time: not the faked one, not the time the process started', async () => {
    const dir = tempRunDir();
    const before = Date.now();
    init({ outputDir: dir, handleExit: false });
    track('before_fake', {});
    vi.useFakeTimers({ now: new Date('2001-02-03T04:05:06Z') });
    track('during_fake', {});
    await stage('s1', async () => {
      vi.advanceTimersByTime(60_000);
    });
    vi.useRealTimers();
    track('after_fake', {});
    await shutdown();
    const after = Date.now();
    const events = readTrackerDocument(dir).events;
    expect(events.map((event) => event.type)).toEqual(['before_fake', 'during_fake', 'stage_start', 'stage_end', 'after_fake']);
    let previous = 0;
    // Event times follow the monotonic clock from the process's start, which can drift from
    // Date.now() by a few ms over a long test process: 5 ms either way (the fake clock is years off).
    for (const event of events) {
      const at = Date.parse(event.timestamp);
      expect(at, `${event.type} at ${event.timestamp}`).toBeGreaterThanOrEqual(Math.floor(before) - 5);
      expect(at, `${event.type} at ${event.timestamp}`).toBeLessThanOrEqual(after + 5);
      expect(event.elapsed_seconds, event.type).toBeGreaterThanOrEqual(previous);
      previous = event.elapsed_seconds;
    }
    // The stage ran for microseconds of real time, whatever the fake clock was advanced by.
    expect(events[3].data.duration as number).toBeLessThan(60);
  });
});
