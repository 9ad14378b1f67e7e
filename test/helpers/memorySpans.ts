import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeAll } from 'vitest';
import { init, shutdown } from '../../src/index';
import type { TruthEvent } from '../../src/types';
import { readTrackerDocument } from './runFiles';
import { tempRunDir } from './tempDirs';

export interface MemorySpans {
  /** Every span that ended since the test began (reset after each test). */
  memory: InMemorySpanExporter;
  /** Runs `body` in a run of its own and returns the events it logged. */
  record(body: () => Promise<void> | void): Promise<TruthEvent[]>;
}

/**
 * For a test file of the API's spans: the first init() of the process sets up tracing, with an
 * in-memory exporter that sees every span from then on; each test's spans are dropped after it.
 */
export function memorySpans(): MemorySpans {
  const memory = new InMemorySpanExporter();
  beforeAll(async () => {
    init({ outputDir: tempRunDir(), handleExit: false, spanProcessors: [new SimpleSpanProcessor(memory)] });
    await shutdown();
  });
  afterEach(async () => {
    await shutdown();
    memory.reset();
  });
  return {
    memory,
    async record(body) {
      const dir = tempRunDir();
      init({ outputDir: dir, handleExit: false });
      await body();
      await shutdown();
      return readTrackerDocument(dir).events;
    },
  };
}
