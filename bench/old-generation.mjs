// On request (bench/README.md, item 30): how much a span adds to V8's old generation.
//
// `node bench/old-generation.mjs` runs each kind of span in its own child process (the hot path's
// loops, a stage at the top level, task and llm spans inside a stage) and bare OpenTelemetry task
// spans next to them. After a warm-up, the child samples the old space's used size every 1,000
// spans and adds up its increases (what was allocated or promoted there; a full collection's drop
// is not subtracted), and counts the full collections. Memory that survives a span's life is not
// the point: a table that V8 reallocates in the old generation is garbage at once, and only full
// collections find it. Instruction counts do not show that cost; CPU time does (item 30).

import v8 from 'node:v8';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { argNumber, loadLibrary, printTable, removeDir, runChild, scenarioMain, sendResult, spanLoops, tempDir, yieldToLoop } from './common.mjs';

const SCRIPT = new URL(import.meta.url).pathname;
const VARIANTS = ['autopsy:stage', 'autopsy:task', 'autopsy:llm', 'otel:task'];
const CHUNK = 1000;

function oldSpaceUsed() {
  return v8.getHeapSpaceStatistics().find((space) => space.space_name === 'old_space').space_used_size;
}

/** Runs `body(CHUNK)` until `count` spans, yielding between chunks; old-space increases and full GCs. */
async function measure(body, { warmup, count }) {
  for (let done = 0; done < warmup; done += CHUNK) {
    body(CHUNK);
    await yieldToLoop();
  }
  let majors = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++;
  });
  observer.observe({ entryTypes: ['gc'] });
  let added = 0;
  let before = oldSpaceUsed();
  for (let done = 0; done < count; done += CHUNK) {
    body(CHUNK);
    await yieldToLoop();
    const now = oldSpaceUsed();
    if (now > before) added += now - before;
    before = now;
  }
  // GC entries are delivered asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  return { old_bytes_per_span: added / count, major_gcs_per_100k_spans: (majors * 100_000) / count };
}

async function child(variant) {
  const plan = { warmup: argNumber('warmup', 50_000), count: argNumber('count', 200_000) };
  const [family, kind] = variant.split(':');
  if (family === 'otel') {
    const { NodeTracerProvider } = await import('@opentelemetry/sdk-trace-node');
    const { BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
    const exporter = { export: (_spans, done) => done({ code: 0 }), shutdown: () => Promise.resolve(), forceFlush: () => Promise.resolve() };
    const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
    provider.register();
    const tracer = provider.getTracer('bench');
    const body = (n) => {
      for (let i = 0; i < n; i++) tracer.startActiveSpan('task work', (span) => span.end());
    };
    const result = await tracer.startActiveSpan('stage bench', async (outer) => {
      const measured = await measure(body, plan);
      outer.end();
      return measured;
    });
    await provider.shutdown();
    sendResult({ variant, ...result });
    return;
  }
  const lib = await loadLibrary();
  const dir = tempDir('old-generation');
  lib.init({ outputDir: dir, handleExit: false, reportFormats: [] });
  const bodies = spanLoops(lib);
  // As in hot-path.mjs: stages at the top level, task and llm spans inside a stage.
  const result = kind === 'stage' ? await measure(bodies.stage, plan) : await lib.stage('bench', () => measure(bodies[kind], plan));
  await lib.shutdown();
  removeDir(dir);
  sendResult({ variant, ...result });
}

async function run({ rounds = 3 } = {}) {
  const rows = [];
  for (const variant of VARIANTS) {
    const results = [];
    for (let round = 0; round < rounds; round++) results.push(await runChild([SCRIPT, '--child', variant]));
    results.sort((a, b) => a.old_bytes_per_span - b.old_bytes_per_span);
    rows.push(results[Math.floor(results.length / 2)]);
  }
  return { scenario: 'old-generation', rows };
}

function print(result) {
  printTable(
    'old generation per span (median of the processes by bytes; 200,000 spans after 50,000)',
    ['variant', 'old-space bytes added per span', 'full GCs per 100,000 spans'],
    result.rows.map((row) => [row.variant, Math.round(row.old_bytes_per_span), Math.round(row.major_gcs_per_100k_spans * 10) / 10]),
  );
}

await scenarioMain(import.meta.url, { child, run, print, rounds: 3 });
