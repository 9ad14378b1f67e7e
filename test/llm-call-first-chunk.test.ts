import { SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { analyzeRunSync } from '../analyzers/readRun';
import type { AutopsyReport } from '../analyzers/reportTypes';
import { renderHtmlReport } from '../exporters/htmlReport';
import { renderMarkdownReport } from '../exporters/markdownReport';
import { init, LatentReporter, llmCall, shutdown, stage } from '../src/index';
import type { TruthEvent } from '../src/types';
import { chatCompletionChunks, startFakeLlmServer, type FakeLlmServer } from './helpers/fakeLlmServer';
import { llmCallEnds, llmEventsBySpan } from './helpers/llmEvents';
import { writeOtlpFile } from './helpers/otlpFile';
import { readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';
import { atLeast, timerSeconds } from './helpers/timerSlack';

/**
 * The time to first chunk of a streamed LLM call: `gen_ai.response.time_to_first_chunk` (seconds)
 * on a span becomes `time_to_first_chunk` in the call's end or error event, rounded to
 * microseconds as `duration` is, live and read back from an OTLP file of the same spans. Spans of
 * other instrumentations are made here through @opentelemetry/api, in the shape @anthropic-ai/sdk
 * 1.14's own streamed `anthropic.messages.create` spans have (it sets the attribute itself). An
 * `llmCall()` whose callback returns a generator streams its answer through the wrapper, which
 * times the first value the generator yields from the call's start; those generators read
 * examples/fake-llm-server.mjs on 127.0.0.1 themselves (server-sent events over fetch), its first
 * chunk held back FIRST_CHUNK_MS after the response's headers.
 */

const FIRST_CHUNK_MS = 300;
const TTFC = 'gen_ai.response.time_to_first_chunk';

interface Recorded {
  events: TruthEvent[];
  report: AutopsyReport;
  spans: ReadableSpan[];
  otlp: { events: TruthEvent[]; report: AutopsyReport };
}

let runDir = '';
const currentOutputDir = () => runDir;

async function record(fn: (server: FakeLlmServer) => Promise<void>): Promise<Recorded> {
  const server = await startFakeLlmServer({ firstChunkDelayMs: FIRST_CHUNK_MS });
  const dir = (runDir = tempRunDir('autopsy-first-chunk-'));
  const exporter = new InMemorySpanExporter();
  init({ outputDir: dir, handleExit: false, reportFormats: [], spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let report: AutopsyReport;
  try {
    await fn(server);
  } finally {
    report = (await shutdown())!;
    await server.close();
  }
  const spans = exporter.getFinishedSpans();
  const fromOtlp: TruthEvent[] = [];
  const read = analyzeRunSync(writeOtlpFile(spans), { onEvent: (event) => fromOtlp.push(event) });
  return { events: readTrackerDocument(dir).events, report, spans, otlp: { events: fromOtlp, report: read.report } };
}

/** A request span of a client's own instrumentation; `ttfc`: the time to first chunk it states. */
function request(model: string, { ttfc, stream = true, failed = false }: { ttfc?: number; stream?: boolean; failed?: boolean }): void {
  const span = trace.getTracer('com.anthropic.sdk.typescript').startSpan('anthropic.messages.create', {
    attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'anthropic', 'gen_ai.request.model': model, ...(stream ? { 'gen_ai.request.stream': true } : {}) },
  });
  if (ttfc !== undefined) span.setAttribute(TTFC, ttfc);
  if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: 'terminated' });
  span.end();
}

describe('a streamed span of another instrumentation', () => {
  it('has its time to first chunk in its end or error event, as @anthropic-ai/sdk\'s own spans state it', async () => {
    const { events, otlp } = await record(() =>
      stage('answer', async () => {
        request('streamed', { ttfc: 0.3121 });
        // The SDK's value is to the millisecond; another instrumentation's may be finer.
        request('finer', { ttfc: 1.23456789 });
        request('not_streamed', { stream: false });
        request('failed_early', { failed: true });
        request('failed_late', { ttfc: 0.5, failed: true });
        // Not a time: left out.
        request('negative', { ttfc: -1 });
      }),
    );
    expect(llmCallEnds(events, ['model', 'time_to_first_chunk'])).toEqual([
      { type: 'llm_call_end', model: 'streamed', time_to_first_chunk: 0.3121 },
      { type: 'llm_call_end', model: 'finer', time_to_first_chunk: 1.234568 },
      { type: 'llm_call_end', model: 'not_streamed' },
      { type: 'llm_call_error', model: 'failed_early' },
      { type: 'llm_call_error', model: 'failed_late', time_to_first_chunk: 0.5 },
      { type: 'llm_call_end', model: 'negative' },
    ]);
    expect(llmEventsBySpan(otlp.events)).toEqual(llmEventsBySpan(events));
  });

  it('folded into an llmCall(): the first of its streams that sent a chunk is the call\'s', async () => {
    const { events, otlp } = await record(async () => {
      // A first attempt that failed before its first chunk, then two streams (a tool loop's steps).
      await llmCall({ model: 'claude-sonnet-4-6' }, async () => {
        request('claude-sonnet-4-6', { failed: true });
        request('claude-sonnet-4-6', { ttfc: 0.8123456 });
        request('claude-sonnet-4-6', { ttfc: 0.2 });
      });
    });
    expect(llmCallEnds(events, ['time_to_first_chunk', 'failed_attempts'])).toEqual([{ type: 'llm_call_end', time_to_first_chunk: 0.812346, failed_attempts: 1 }]);
    expect(llmEventsBySpan(otlp.events)).toEqual(llmEventsBySpan(events));
  });
});

/** The app's own stream of an answer: the text of each chunk the API sent. */
function streamedAnswer(server: FakeLlmServer, model: string) {
  return llmCall({ model, provider: 'openai' }, async function* () {
    for await (const chunk of chatCompletionChunks(server, model, 'hello there')) {
      const choices = chunk.choices as Array<{ delta?: { content?: string } }>;
      yield choices[0]?.delta?.content ?? '';
    }
  });
}

async function readAll(stream: AsyncIterable<string>): Promise<string> {
  let text = '';
  for await (const piece of stream) text += piece;
  return text;
}

const llmSpans = (spans: ReadableSpan[]) => spans.filter((span) => span.attributes['autopsy.kind'] === 'llm');

describe('an llmCall() whose callback returns a generator', () => {
  it('has the time to its first yielded chunk, from its start, on its span and in its end or error event', async () => {
    const { events, spans, otlp } = await record((server) =>
      stage('answer', async () => {
        expect(await readAll(streamedAnswer(server, 'streamed'))).toBe('Fake reply to: "hello there". The answer is 42.');
        // Not streamed: neither the attribute nor the event's key.
        await llmCall({ model: 'whole', provider: 'openai' }, async () => {
          const response = await fetch(`${server.baseURL}/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'whole', messages: [{ role: 'user', content: 'hi' }] }) });
          return response.json();
        });
        // The connection drops after the headers: the call failed before its first chunk.
        server.script([{ kind: 'reset', midStream: true, midStreamAfter: 0 }]);
        await expect(readAll(streamedAnswer(server, 'dropped_early'))).rejects.toThrow();
        // It drops half way: the call failed after its first chunk, which it had.
        server.script([{ kind: 'reset', midStream: true }]);
        await expect(readAll(streamedAnswer(server, 'dropped_late'))).rejects.toThrow();
      }),
    );

    const ends = llmCallEnds(events, ['model', 'time_to_first_chunk']);
    expect(ends).toEqual([
      { type: 'llm_call_end', model: 'streamed', time_to_first_chunk: expect.any(Number) },
      { type: 'llm_call_end', model: 'whole' },
      { type: 'llm_call_error', model: 'dropped_early' },
      { type: 'llm_call_error', model: 'dropped_late', time_to_first_chunk: expect.any(Number) },
    ]);
    // Seconds, at least the server's delay of the first chunk.
    for (const end of [ends[0], ends[3]]) expect(end.time_to_first_chunk).toBeGreaterThanOrEqual(timerSeconds(FIRST_CHUNK_MS));

    const byModel = new Map(llmSpans(spans).map((span) => [span.attributes['gen_ai.request.model'], span]));
    expect([...byModel.keys()]).toEqual(['streamed', 'whole', 'dropped_early', 'dropped_late']);
    expect(byModel.get('streamed')!.attributes[TTFC]).toBe(ends[0].time_to_first_chunk);
    expect(byModel.get('dropped_late')!.attributes[TTFC]).toBe(ends[3].time_to_first_chunk);
    expect(byModel.get('dropped_late')!.status.code).toBe(SpanStatusCode.ERROR);
    for (const model of ['whole', 'dropped_early']) expect(byModel.get(model)!.attributes).not.toHaveProperty(TTFC);
    // The generator's calls are streamed calls, as an instrumented client's streaming request is.
    expect([...byModel.values()].map((span) => span.attributes['gen_ai.request.stream'])).toEqual([true, undefined, true, true]);

    // An OTLP file of the spans reads back the same events.
    expect(llmEventsBySpan(otlp.events)).toEqual(llmEventsBySpan(events));
  });
});

describe('a streamed llmCall() still open when the run ends', () => {
  it('says whether its answer had started, and how long its stream had then been silent', async () => {
    let silent: Promise<unknown> | undefined;
    let snapshot: AutopsyReport | undefined;
    const { events, report, otlp } = await record(async (server) => {
      server.script([
        // One event, the one the app reads: a second, arriving as the wait began, would start the silence later.
        { kind: 'timeout', midStream: true, midStreamAfter: 1, match: { model: 'stalls' } },
        { kind: 'timeout', midStream: true, midStreamAfter: 0, match: { model: 'silent' } },
      ]);
      await stage('answer', async () => {
        // The app reads the first chunk, then waits for the next one, which never comes.
        const stalls = streamedAnswer(server, 'stalls');
        await stalls.next();
        void stalls.next().catch(() => undefined);
        // The response's headers came, then nothing.
        silent = streamedAnswer(server, 'silent')
          .next()
          .catch(() => undefined);
        await atLeast(100);
        // A report of the live run lists the calls as the exit will.
        snapshot = new LatentReporter(currentOutputDir(), { formats: [] }).generateReport();
      });
    });
    await silent;

    const unfinished = events
      .filter((event) => event.type === 'llm_call_unfinished')
      .map((event): Record<string, unknown> => ({ model: event.data.model, ...pick(event.data, ['stream', 'time_to_first_chunk', 'seconds_since_last_chunk']) }));
    expect(unfinished).toEqual([
      { model: 'stalls', stream: true, time_to_first_chunk: expect.any(Number), seconds_since_last_chunk: expect.any(Number) },
      { model: 'silent', stream: true },
    ]);
    expect(unfinished[0].time_to_first_chunk).toBeGreaterThanOrEqual(timerSeconds(FIRST_CHUNK_MS));
    // The app waited 100 ms after it took the first chunk.
    expect(unfinished[0].seconds_since_last_chunk).toBeGreaterThanOrEqual(0.1);

    // The report's list of unfinished spans says the same, also when read back from an OTLP file.
    const llmUnfinished = (list: AutopsyReport['unfinished']) => list.filter((span) => span.kind === 'llm').map(({ started: _started, age_seconds: _age, ...span }) => span);
    expect(llmUnfinished(report.unfinished).map((span) => pick(span, ['name', 'stream', 'time_to_first_chunk', 'seconds_since_last_chunk']))).toEqual([
      { name: 'chat stalls', stream: true, time_to_first_chunk: unfinished[0].time_to_first_chunk, seconds_since_last_chunk: unfinished[0].seconds_since_last_chunk },
      { name: 'chat silent', stream: true },
    ]);
    expect(llmUnfinished(otlp.report.unfinished)).toEqual(llmUnfinished(report.unfinished));
    expect(llmEventsBySpan(otlp.events)).toEqual(llmEventsBySpan(events));
    const live = llmUnfinished(snapshot!.unfinished);
    expect(live.map((span) => pick(span, ['name', 'stream']))).toEqual([
      { name: 'chat stalls', stream: true },
      { name: 'chat silent', stream: true },
    ]);
    expect(live[0].time_to_first_chunk).toBe(unfinished[0].time_to_first_chunk);
    expect(live[0].seconds_since_last_chunk).toBeGreaterThanOrEqual(0.1);
    expect(live[0].seconds_since_last_chunk).toBeLessThanOrEqual(unfinished[0].seconds_since_last_chunk as number);
    expect(live[1]).not.toHaveProperty('time_to_first_chunk');

    // The pages say it in a Stream column (seconds to two places), shown only when a call was streamed.
    const seconds = (value: unknown) => String(Math.round((value as number) * 100) / 100);
    const stalled = `first chunk after ${seconds(unfinished[0].time_to_first_chunk)} s, then nothing for ${seconds(unfinished[0].seconds_since_last_chunk)} s`;
    const markdown = renderMarkdownReport(report);
    // The summary's call count says the calls still running are not in it.
    expect(report.llm_usage.calls).toBe(0);
    expect(markdown).toContain('| LLM usage: Calls / Errors | 0 / 0 (+2 still running at the end) |');
    expect(markdown).toContain('| Name | Kind | Stage | Started | Age (s) | Stream |');
    expect(markdown).toMatch(new RegExp(`^\\| chat stalls \\| llm \\| answer \\| [^|]+ \\| [0-9.]+ \\| ${stalled} \\|$`, 'm'));
    expect(markdown).toMatch(/^\| chat silent \| llm \| answer \| [^|]+ \| [0-9.]+ \| no chunk yet \|$/m);
    const html = renderHtmlReport(report);
    expect(html).toContain('0 (0 errors) (+2 still running at the end)');
    expect(html).toContain('<th class="num">Age (s)</th><th>Stream</th></tr>');
    expect(html).toContain(`<td class="wrap">${stalled}</td></tr>`);
    expect(html).toContain('<td class="wrap">no chunk yet</td></tr>');
    const chinese = renderMarkdownReport({ ...report, run: { ...report.run, locale: 'zh-CN' } });
    expect(chinese).toContain(`| 首个数据块在 ${seconds(unfinished[0].time_to_first_chunk)} 秒后，此后 ${seconds(unfinished[0].seconds_since_last_chunk)} 秒无数据 |`);
    expect(chinese).toContain('| 尚无数据块 |');
    expect(chinese).toContain('0 / 0 (另有 2 次在结束时仍在进行) |');
    // None running and none counted: the 0 says what it does not prove.
    const none = { ...report, unfinished: report.unfinished.filter((span) => span.kind !== 'llm') };
    const noCalls = 'none recorded: a client no instrumentation here sees, such as an AI SDK provider without telemetry or the Bedrock client under init(), or a client on gRPC, is not counted';
    expect(renderMarkdownReport(none)).toContain(`| LLM usage: Calls / Errors | 0 / 0 (${noCalls}) |`);
    expect(renderHtmlReport(none)).toContain(`0 (0 errors) (${noCalls})`);
    expect(renderMarkdownReport({ ...none, run: { ...none.run, locale: 'zh-CN' } })).toContain('0 / 0 (未记录到调用：没有插桩能看到的客户端（例如 init() 下未开启遥测的 AI SDK 提供方或 Bedrock 客户端，或走 gRPC 的客户端）的调用不会被计入) |');
  });

  it('a run with no streamed call open has no Stream column', async () => {
    const { report } = await record(async () => {
      void llmCall({ model: 'whole', provider: 'openai' }, () => new Promise(() => undefined));
    });
    expect(report.unfinished.map((span) => span.name)).toEqual(['chat whole']);
    expect(renderMarkdownReport(report)).toContain('| Name | Kind | Stage | Started | Age (s) |\n');
    expect(renderHtmlReport(report)).toContain('<th class="num">Age (s)</th></tr>');
  });
});

function pick(data: object, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).filter(([key, value]) => keys.includes(key) && value !== undefined));
}
