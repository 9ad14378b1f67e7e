// Scenario 1 — the hot path.
//
// One instrumented span (stage / task / llmCall: start + end = two Truth-Mode events, two lines in
// each log file, analyzer updates) against what a user would otherwise pick:
//   (a) bare OpenTelemetry: the same spans with the same attributes, NodeTracerProvider +
//       BatchSpanProcessor + a no-op exporter (nothing written anywhere);
//   (b) pino writing one line per event (the same event data) to a file, with its default
//       destination and with its buffered one (minLength 4096).
// Targets (issue 7): per event ≤ pino's per line; per span ≤ 2 × bare OpenTelemetry.
//
// Cost is CPU time of the whole process (user + system, every thread: pino's asynchronous writes
// run on libuv's pool) per operation; wall time is reported next to it. Every variant runs in a
// long-lived child; after a warm-up, each round measures one segment of 10,000 operations in every
// child, one after another in a shuffled order, and a ratio is the median of the rounds' own ratios
// (pairedRounds in common.mjs: on this machine speed changes for seconds at a time, bench/README.md
// item 25). `--child <variant>` alone (as instructions.mjs runs it) measures fixed segments.

import { join } from 'node:path';
import {
  argNumber,
  check,
  loadLibrary,
  median,
  measureSegments,
  pairedRounds,
  printChecks,
  printTable,
  progress,
  quartiles,
  removeDir,
  round,
  scenarioMain,
  sendResult,
  spanLoops,
  tempDir,
  yieldToLoop,
} from './common.mjs';

const SCRIPT = new URL(import.meta.url).pathname;
const KINDS = ['stage', 'task', 'llm'];
const CHUNK = 1000;

/** The attributes agent-autopsy's own wrappers put on each kind of span (see src/api.ts). */
const OTEL_ATTRIBUTES = {
  stage: { 'autopsy.kind': 'stage', 'autopsy.event_type': 'stage_start', 'autopsy.stage': 'plan' },
  task: { 'autopsy.kind': 'task', 'autopsy.event_type': 'task_start', 'autopsy.task': 'work' },
  llm: {
    'autopsy.kind': 'llm',
    'autopsy.event_type': 'llm_call_start',
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.provider.name': 'openai',
    'gen_ai.system': 'openai',
  },
};

/** The events pino writes, one per line: what agent-autopsy writes for an llm span. */
const PINO_EVENTS = [
  { type: 'llm_call_start', data: { model: 'gpt-4o', provider: 'openai', stage: 'bench' } },
  { type: 'llm_call_end', data: { model: 'gpt-4o', provider: 'openai', stage: 'bench', input_tokens: 10, output_tokens: 20, tokens_used: 30, duration: 0.000123 } },
];

function chunked(body) {
  return async (count) => {
    for (let done = 0; done < count; done += CHUNK) {
      body(Math.min(CHUNK, count - done));
      await yieldToLoop();
    }
  };
}

async function measureAutopsy(kind, plan) {
  const lib = await loadLibrary();
  const { trace } = await import('@opentelemetry/api');
  const dir = tempDir('hot');
  lib.init({ outputDir: dir, handleExit: false, reportFormats: [] });
  const provider = trace.getTracerProvider();
  const flush = () => (provider.getDelegate?.() ?? provider).forceFlush?.();
  const loop = chunked(spanLoops(lib)[kind]);
  const op = async (count) => {
    await loop(count);
    await flush();
  };
  // task and llm spans run inside a stage, as in an agent (their events carry data.stage).
  const result = kind === 'stage' ? await measureSegments(op, plan) : await lib.stage('bench', () => measureSegments(op, plan));
  await lib.shutdown();
  removeDir(dir);
  return result;
}

async function measureOtel(kind, plan) {
  const { NodeTracerProvider } = await import('@opentelemetry/sdk-trace-node');
  const { BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  const noopExporter = {
    export: (_spans, done) => done({ code: 0 }),
    shutdown: () => Promise.resolve(),
    forceFlush: () => Promise.resolve(),
  };
  const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(noopExporter)] });
  provider.register();
  const tracer = provider.getTracer('bench');
  const attributes = OTEL_ATTRIBUTES[kind];
  const name = kind === 'stage' ? 'stage plan' : kind === 'task' ? 'task work' : 'chat gpt-4o';
  const body = (n) => {
    for (let i = 0; i < n; i++) {
      tracer.startActiveSpan(name, { attributes }, (span) => {
        if (kind === 'llm') {
          span.setAttribute('gen_ai.usage.input_tokens', 10);
          span.setAttribute('gen_ai.usage.output_tokens', 20);
        }
        span.end();
        return i;
      });
    }
  };
  const loop = chunked(body);
  const op = async (count) => {
    await loop(count);
    await provider.forceFlush();
  };
  const result =
    kind === 'stage'
      ? await measureSegments(op, plan)
      : await tracer.startActiveSpan('stage bench', { attributes: OTEL_ATTRIBUTES.stage }, async (outer) => {
          const measured = await measureSegments(op, plan);
          outer.end();
          return measured;
        });
  await provider.shutdown();
  return result;
}

async function measurePino(mode, plan) {
  const { default: pino } = await import('pino');
  const dir = tempDir('pino');
  const file = join(dir, 'pino.log');
  const destination = mode === 'buffered' ? pino.destination({ dest: file, minLength: 4096, sync: false }) : pino.destination(file);
  const logger = pino(destination);
  await new Promise((done) => (destination.fd >= 0 ? done() : destination.once('ready', done)));
  const body = (n) => {
    for (let i = 0; i < n; i++) logger.info(PINO_EVENTS[i & 1]);
  };
  const loop = chunked(body);
  const op = async (count) => {
    await loop(count);
    await new Promise((done) => logger.flush(() => done()));
  };
  const result = await measureSegments(op, plan);
  destination.flushSync();
  destination.end();
  removeDir(dir);
  return result;
}

async function child(variant) {
  const plan = { warmup: argNumber('warmup', 10_000), count: argNumber('count', 20_000), segments: argNumber('segments', 5) };
  // `autopsy:task@<bundle>`: that build instead of AUTOPSY_BENCH_LIB's (hot-path-builds.mjs).
  const at = variant.indexOf('@');
  const measured = at === -1 ? variant : variant.slice(0, at);
  if (at !== -1) process.env.AUTOPSY_BENCH_LIB = variant.slice(at + 1);
  const [family, kind] = measured.split(':');
  const result = family === 'autopsy' ? await measureAutopsy(kind, plan) : family === 'otel' ? await measureOtel(kind, plan) : await measurePino(kind, plan);
  // Served segment by segment (--serve), the child has sent its figures already.
  if (result) sendResult({ variant, ...result });
}

export async function run({ rounds = Number(process.env.AUTOPSY_BENCH_ROUNDS) || 40, quick = false } = {}) {
  const variants = [...KINDS.flatMap((kind) => [`autopsy:${kind}`, `otel:${kind}`]), 'pino:default', 'pino:buffered'];
  const plan = quick ? { warmup: 2_000, count: 2_000, rounds: Math.min(rounds, 4) } : { warmup: 30_000, count: 10_000, rounds };
  const results = await pairedRounds({
    script: SCRIPT,
    variants,
    ...plan,
    onProgress: (round) => progress(`hot path: round ${round + 1}/${plan.rounds} (${variants.length} children, ${plan.count} operations each)`),
  });
  const perRound = (compute) => results[variants[0]].map((_, round) => compute((variant, field = 'cpuUsPerOp') => results[variant][round][field]));
  const cost = (variant, field = 'cpuUsPerOp') => median(results[variant].map((segment) => segment[field]));
  const pinoLineOf = (at, field) => Math.min(at('pino:default', field), at('pino:buffered', field));
  const rows = KINDS.map((kind) => {
    const span = `autopsy:${kind}`;
    const otel = `otel:${kind}`;
    // Ratios are taken within each round (both sides measured within a second), then their median.
    const spanRatios = perRound((at) => at(span) / at(otel));
    const eventRatios = perRound((at) => at(span) / 2 / pinoLineOf(at));
    return {
      kind,
      autopsy_us_per_span: round(cost(span)),
      autopsy_us_per_event: round(cost(span) / 2),
      autopsy_wall_us_per_span: round(cost(span, 'wallUsPerOp')),
      otel_batch_us_per_span: round(cost(otel)),
      otel_batch_wall_us_per_span: round(cost(otel, 'wallUsPerOp')),
      span_vs_otel: round(median(spanRatios), 3),
      span_vs_otel_quartiles: quartiles(spanRatios),
      event_vs_pino_line: round(median(eventRatios), 3),
      event_vs_pino_line_quartiles: quartiles(eventRatios),
      span_vs_otel_wall: round(median(perRound((at) => at(span, 'wallUsPerOp') / at(otel, 'wallUsPerOp'))), 3),
      event_vs_pino_line_wall: round(median(perRound((at) => at(span, 'wallUsPerOp') / 2 / pinoLineOf(at, 'wallUsPerOp'))), 3),
    };
  });
  const checks = rows.flatMap((row) => [
    check(`${row.kind}: per-event cost / pino per-line cost`, row.event_vs_pino_line, '<=', 1),
    check(`${row.kind}: per-span cost / bare OpenTelemetry span`, row.span_vs_otel, '<=', 2),
  ]);
  return {
    scenario: 'hot-path',
    description: 'one instrumented span (2 events, 4 lines, analyzer) vs bare OpenTelemetry (BatchSpanProcessor, no-op exporter) and pino (one line per event)',
    unit: 'µs of process CPU time per operation (median over rounds); wall time alongside',
    rounds: plan.rounds,
    operations_per_segment: plan.count,
    warmup_operations: plan.warmup,
    pino: {
      default_us_per_line: round(cost('pino:default')),
      buffered_us_per_line: round(cost('pino:buffered')),
      default_wall_us_per_line: round(cost('pino:default', 'wallUsPerOp')),
      buffered_wall_us_per_line: round(cost('pino:buffered', 'wallUsPerOp')),
      reference_us_per_line: round(median(perRound((at) => pinoLineOf(at)))),
      reference_wall_us_per_line: round(median(perRound((at) => pinoLineOf(at, 'wallUsPerOp')))),
    },
    rows,
    checks,
  };
}

export function print(result) {
  printTable(
    `Hot path — ${result.unit}; pino per line: default ${result.pino.default_us_per_line}, buffered ${result.pino.buffered_us_per_line}`,
    ['span kind', 'autopsy/span', 'autopsy/event', 'OTel batch/span', 'span ÷ OTel', 'event ÷ pino line'],
    result.rows.map((row) => [row.kind, row.autopsy_us_per_span, row.autopsy_us_per_event, row.otel_batch_us_per_span, row.span_vs_otel, row.event_vs_pino_line]),
  );
  printChecks(result.checks);
}

await scenarioMain(import.meta.url, { child: child, run, print, rounds: 40 });
