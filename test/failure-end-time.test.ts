import { describe, expect, it } from 'vitest';
import { runNode, writeScript } from './helpers/childProcess';
import { readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

// A failing span ends when its work ended, not when the library was done reading the error's stack:
// with source maps on (`--enable-source-maps`, tsx) the first stack a process formats made Node
// decode a 1.1 MB source map, 0.1–0.3 s recorded inside the first failing span (src/spanEndTime.ts).
// Each error here records when its stack was first read (a getter on `stack`): the span's end must
// not be later, whatever the reading costs. No durations are compared with wall time. An error
// given to fail() is recorded when fail() is called, while the span's work goes on: its stack is
// read then, before the end.

const APP = `
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { init, shutdown, stage, task, llmCall, codeExec, autofix } from 'agent-autopsy';

const memory = new InMemorySpanExporter();
init({ outputDir: process.argv[2], handleExit: false, reportFormats: [], spanProcessors: [new SimpleSpanProcessor(memory)] });

// The run's clock (performance.timeOrigin + performance.now(), in ms) when each error's stack was first read.
const reads = {};
function tracedError(name) {
  const error = new Error(name + ' failed');
  const text = error.stack;
  Object.defineProperty(error, 'stack', {
    configurable: true,
    get() {
      reads[name] ??= performance.timeOrigin + performance.now();
      return text;
    },
  });
  return error;
}

try {
  task('sync throw', () => { throw tracedError('sync throw'); });
} catch {}
await task('rejection', async () => { throw tracedError('rejection'); }).catch(() => {});
await llmCall('fail then return', { model: 'gpt-4o' }, async (call) => { call.fail(tracedError('fail then return')); });
await codeExec('exec rejection', { language: 'python' }, async () => { throw tracedError('exec rejection'); }).catch(() => {});
try {
  autofix('autofix throw', { layer: 1 }, () => { throw tracedError('autofix throw'); });
} catch {}
try {
  for (const _ of task('generator throw', function* () { yield 1; throw tracedError('generator throw'); }));
} catch {}
class AppPromise extends Promise {}
await task('subclass rejection', () => AppPromise.reject(tracedError('subclass rejection'))).catch(() => {});
await stage('stage throw', async () => { throw tracedError('stage throw'); }).catch(() => {});
await shutdown();

const spans = memory.getFinishedSpans().map((span) => ({
  name: span.name,
  endTime: span.endTime,
  exceptionTimes: span.events.filter((event) => event.name === 'exception').map((event) => event.time),
}));
console.log(JSON.stringify({ reads, spans }));
`;

const THROWN = ['sync throw', 'rejection', 'exec rejection', 'autofix throw', 'generator throw', 'subclass rejection', 'stage throw'];
const NAMES = [...THROWN, 'fail then return'];

/** An event's timestamp (`2026-11-25T16:32:52.123456Z`) in whole microseconds since the epoch. */
function micros(timestamp: string): number {
  return Date.parse(`${timestamp.slice(0, 23)}Z`) * 1000 + Number(timestamp.slice(23, 26));
}

type HrTime = [number, number];

function hrNanos([seconds, nanos]: HrTime): bigint {
  return BigInt(seconds) * 1_000_000_000n + BigInt(nanos);
}

describe("a failing span's end time", () => {
  it('is taken before the error is recorded, in every wrapper path (run with --enable-source-maps)', async () => {
    const dir = tempRunDir('autopsy-end-time-');
    const result = await runNode(writeScript(APP), { args: [dir], nodeArgs: ['--enable-source-maps'], timeoutMs: 60_000 });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const { reads, spans } = JSON.parse(result.stdout) as { reads: Record<string, number>; spans: Array<{ name: string; endTime: HrTime; exceptionTimes: HrTime[] }> };
    const events = readTrackerDocument(dir).events.filter((event) => event.type.endsWith('_error'));
    for (const name of NAMES) {
      // Each error's stack was read (its exception event was written) …
      expect(reads[name], name).toBeTypeOf('number');
      const ended = events.find((event) => (event.data.task ?? event.data.name ?? event.data.stage) === name);
      expect(ended, name).toBeDefined();
      // … a thrown one's not before the span's end event: the event's time is the end, in whole
      // microseconds; one given to fail() when fail() was called, before the end.
      if (THROWN.includes(name)) expect(micros(ended!.timestamp), name).toBeLessThanOrEqual(Math.floor(reads[name] * 1000));
      else expect(micros(ended!.timestamp), name).toBeGreaterThanOrEqual(Math.floor(reads[name] * 1000));
      // The duration is the time up to that end.
      const started = readTrackerDocument(dir).events.find((event) => event.type.endsWith('_start') && (event.data.task ?? event.data.name ?? event.data.stage) === name)!;
      expect(ended!.data.duration, name).toBeCloseTo((micros(ended!.timestamp) - micros(started.timestamp)) / 1e6, 5);
    }
    // The SDK's span ends at the same moment: a thrown error's exception event is dated at the end
    // (the time read before its stack), and an error given to fail() when fail() was called.
    for (const name of NAMES) {
      const span = spans.find((candidate) => candidate.name.includes(name))!;
      expect(span, name).toBeDefined();
      expect(span.exceptionTimes, name).toHaveLength(1);
      const exception = hrNanos(span.exceptionTimes[0]);
      const end = hrNanos(span.endTime);
      if (name === 'fail then return') expect(exception < end, name).toBe(true);
      else expect(exception, name).toBe(end);
    }
  }, 60_000);
});
