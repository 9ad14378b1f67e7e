import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { analyzeRunSync } from '../analyzers/readRun';
import type { AutopsyReport } from '../analyzers/reportTypes';
import { init, shutdown, stage } from '../src/index';
import { classifySpan, finishedWithError } from '../src/spanMapping';
import type { TruthEvent } from '../src/types';
import { writeOtlpFile } from './helpers/otlpFile';
import { readReadableLines, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * Spans of a Mastra agent with its OtelBridge, made here through @opentelemetry/api in the shape
 * @mastra/otel-bridge 1.5.4 makes them with @mastra/core 1.71 (dist/index.js, createSpan and
 * handleSpanEnded; the attributes are @mastra/otel-exporter's getAttributes, as a real
 * `agent.generate()` with one tool call left them). The bridge starts each span with Mastra's name
 * for it and the span kind only, and as the span ends renames it, sets every attribute one by one,
 * then its status and exception. One generate() is a `model_generation` (`llm: 'gpt-4o'`) holding
 * a `model_step` per turn, each with its `model_inference` (the request), its chunks, and the tools
 * it ran.
 */

const bridge = () => trace.getTracer('@mastra/otel-bridge', '1.0.0');

interface BridgeEnd {
  name: string;
  attributes: Attributes;
  /** Mastra's errorInfo: an ERROR status and an exception event. */
  error?: string;
}

async function bridgeSpan(startName: string, end: BridgeEnd, fn: () => unknown = () => undefined, kind = SpanKind.INTERNAL): Promise<void> {
  const span: Span = bridge().startSpan(startName, { kind });
  await context.with(trace.setSpan(context.active(), span), async () => fn());
  span.updateName(end.name);
  for (const [key, value] of Object.entries(end.attributes)) span.setAttribute(key, value!);
  span.setStatus(end.error === undefined ? { code: SpanStatusCode.OK } : { code: SpanStatusCode.ERROR, message: end.error });
  if (end.error !== undefined) span.recordException(new Error(end.error));
  span.end();
}

const runId = { 'mastra.metadata.runId': '3e36c4b4-7ba9-43a0-ae1f-ec028c1a557f' };

const agentRun = (error?: string): BridgeEnd => ({
  name: 'invoke_agent weather-agent',
  attributes: {
    'gen_ai.operation.name': 'invoke_agent',
    'mastra.span.type': 'agent_run',
    'mastra.agent_run.input': 'What is the weather in Paris?',
    'gen_ai.agent.id': 'weather-agent',
    'gen_ai.agent.name': 'weather-agent',
    'gen_ai.tool.definitions': '["get_weather"]',
    ...runId,
    ...(error === undefined ? {} : { 'error.type': 'unknown', 'error.message': error }),
  },
  error,
});

const generation = (finishReason: string, usage: Attributes): BridgeEnd => ({
  name: 'chat gpt-4o',
  attributes: {
    'gen_ai.operation.name': 'chat',
    'mastra.span.type': 'model_generation',
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.provider.name': 'openai.responses',
    ...usage,
    'gen_ai.agent.id': 'weather-agent',
    'gen_ai.agent.name': 'weather-agent',
    'gen_ai.response.finish_reasons': JSON.stringify([finishReason]),
    'gen_ai.response.model': 'gpt-4o',
    ...runId,
  },
});

const step = (): BridgeEnd => ({ name: 'model_step weather-agent', attributes: { 'gen_ai.operation.name': 'model_step', 'mastra.span.type': 'model_step', ...runId } });
const inference = (): BridgeEnd => ({ name: 'model_inference weather-agent', attributes: { 'gen_ai.operation.name': 'model_inference', 'mastra.span.type': 'model_inference', ...runId } });
const chunk = (): BridgeEnd => ({ name: 'model_chunk weather-agent', attributes: { 'gen_ai.operation.name': 'model_chunk', 'mastra.span.type': 'model_chunk', ...runId } });
const toolCall = (): BridgeEnd => ({
  name: 'execute_tool get_weather',
  attributes: {
    'gen_ai.operation.name': 'execute_tool',
    'mastra.span.type': 'tool_call',
    'gen_ai.tool.call.arguments': '{"city":"Paris"}',
    'gen_ai.tool.call.result': '{"city":"Paris","tempC":21,"sky":"sunny"}',
    'gen_ai.tool.name': 'get_weather',
    'gen_ai.tool.call.id': 'call_0000',
    'gen_ai.tool.type': 'tool',
    ...runId,
  },
});

/** One `agent.generate()` with a tool call: two turns, two requests. */
async function generateWithTool(): Promise<void> {
  await bridgeSpan("agent run: 'weather-agent'", agentRun(), () =>
    bridgeSpan(
      "llm: 'gpt-4o'",
      generation('stop', { 'gen_ai.usage.input_tokens': 72, 'gen_ai.usage.output_tokens': 19 }),
      async () => {
        await bridgeSpan('step: 0', step(), async () => {
          await bridgeSpan('inference: 0', inference(), () => bridgeSpan("chunk: 'tool-call'", chunk()));
          await bridgeSpan("tool: 'get_weather'", toolCall());
        });
        await bridgeSpan('step: 1', step(), () => bridgeSpan('inference: 1', inference(), () => bridgeSpan("chunk: 'text-delta'", chunk())));
      },
      SpanKind.CLIENT,
    ),
  );
}

async function record(fn: () => Promise<void>, exporter?: InMemorySpanExporter): Promise<{ dir: string; events: TruthEvent[]; report: AutopsyReport }> {
  const dir = tempRunDir('autopsy-mastra-');
  init({ outputDir: dir, handleExit: false, reportFormats: [], spanProcessors: exporter ? [new SimpleSpanProcessor(exporter)] : [] });
  await fn();
  const report = (await shutdown())!;
  return { dir, events: readTrackerDocument(dir).events, report };
}

function eventRows(events: TruthEvent[]): Array<Record<string, unknown>> {
  return events
    .filter((event) => /^(stage|task|llm_call)_/.test(event.type))
    .map((event) => {
      const { duration: _duration, ...data } = event.data;
      return { type: event.type, ...data };
    });
}

describe("Mastra's OtelBridge spans", () => {
  it('are one stage per agent run and one llm call per generate(), its steps, requests and chunks no calls of their own; in time order', async () => {
    const exporter = new InMemorySpanExporter();
    const { dir, events, report } = await record(() => stage('answer', generateWithTool), exporter);
    const call = { model: 'gpt-4o', span: "llm: 'gpt-4o'", stage: 'weather-agent' };
    const tool = { task: 'get_weather', tool: 'get_weather', span: 'execute_tool get_weather', arguments_sha256: expect.stringMatching(/^sha256:[0-9a-f]{16}$/), stage: 'weather-agent' };
    expect(eventRows(events)).toEqual([
      { type: 'stage_start', stage: 'answer' },
      // Named as the agent's span starts, so everything inside it is in its stage.
      { type: 'stage_start', stage: 'weather-agent', span: "agent run: 'weather-agent'" },
      { type: 'llm_call_start', ...call },
      { type: 'task_start', ...tool },
      { type: 'task_end', ...tool },
      {
        type: 'llm_call_end',
        ...call,
        input_tokens: 72,
        output_tokens: 19,
        tokens_used: 91,
        response_model: 'gpt-4o',
        finish_reasons: '["stop"]',
        provider: 'openai.responses',
      },
      { type: 'stage_end', stage: 'weather-agent', span: "agent run: 'weather-agent'" },
      { type: 'stage_end', stage: 'answer' },
    ]);
    // Written as they happened: no start after an end of something inside it.
    const times = events.map((event) => Date.parse(event.timestamp));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(readReadableLines(dir).filter((line) => /model_(step|inference|chunk)/.test(line))).toEqual([]);
    expect(report.llm_usage).toMatchObject({ calls: 1, errors: 0, input_tokens: 72, output_tokens: 19, total_tokens: 91 });
    expect(report.stages.map((row) => [row.stage, row.failures])).toEqual([
      ['answer', 0],
      ['weather-agent', 0],
    ]);

    // The same spans exported and read back from an OTLP file (their attributes all there by then).
    const fromOtlp: TruthEvent[] = [];
    const read = analyzeRunSync(writeOtlpFile(exporter.getFinishedSpans()), { onEvent: (event) => fromOtlp.push(event) });
    expect(fromOtlp.filter((event) => event.type.startsWith('llm_call_')).map((event) => [event.type, event.data.stage, event.data.input_tokens])).toEqual([
      ['llm_call_start', 'weather-agent', undefined],
      ['llm_call_end', 'weather-agent', 72],
    ]);
    expect(read.report.llm_usage).toMatchObject({ calls: 1, total_tokens: 91 });
    expect(fromOtlp.filter((event) => event.type.startsWith('task_')).map((event) => [event.type, event.data.tool, event.data.stage])).toEqual([
      ['task_start', 'get_weather', 'weather-agent'],
      ['task_end', 'get_weather', 'weather-agent'],
    ]);
  });

  it('still open at the end are the agent stage and its call, named by what they started as', async () => {
    const { events, report } = await record(async () => {
      // The bridge sets nothing on a span before it ends: these never get an attribute.
      const agent = bridge().startSpan("agent run: 'weather-agent'");
      context.with(trace.setSpan(context.active(), agent), () => {
        const call = bridge().startSpan("llm: 'gpt-4o'", { kind: SpanKind.CLIENT });
        context.with(trace.setSpan(context.active(), call), () => {
          const turn = bridge().startSpan('step: 0');
          context.with(trace.setSpan(context.active(), turn), () => bridge().startSpan('inference: 0'));
        });
      });
      await new Promise((resolve) => setTimeout(resolve, 10));
    });
    expect(report.unfinished.map((span) => [span.kind, span.name, span.stage])).toEqual([
      ['stage', "agent run: 'weather-agent'", 'weather-agent'],
      // One call: its request (`inference: 0`) is part of it.
      ['llm', "llm: 'gpt-4o'", 'weather-agent'],
    ]);
    expect(events.filter((event) => event.type.endsWith('_unfinished')).map((event) => [event.type, event.data.span, event.data.model])).toEqual([
      ['stage_unfinished', "agent run: 'weather-agent'", undefined],
      ['llm_call_unfinished', "llm: 'gpt-4o'", 'gpt-4o'],
    ]);
  });

  it("count a generation that finished with reason \"error\" as a failed call, keep the agent's error in its stage, and a tool's arguments for tool_loop", async () => {
    const exporter = new InMemorySpanExporter();
    const { events, report } = await record(async () => {
      for (let turn = 0; turn < 4; turn++) await bridgeSpan("tool: 'get_weather'", toolCall());
      // Mastra ends the failed generation with an OK status; only its finish reason says it failed.
      await bridgeSpan("agent run: 'weather-agent'", agentRun('Rate limit reached for gpt-4o'), () =>
        bridgeSpan("llm: 'gpt-4o'", generation('error', {}), () => bridgeSpan('step: 0', step(), () => bridgeSpan('inference: 0', inference())), SpanKind.CLIENT),
      ).catch(() => undefined);
    }, exporter);
    const failures = (list: TruthEvent[]) => list.filter((event) => event.level === 'ERROR').map((event) => [event.type, event.data.stage, event.data.error, event.data.error_type]);
    const expected = [
      ['llm_call_error', 'weather-agent', 'The call ended with finish reason "error" (its span records no error)', 'finish_reason_error'],
      ['stage_error', 'weather-agent', 'Rate limit reached for gpt-4o', 'unknown'],
    ];
    expect(failures(events)).toEqual(expected);
    expect(report.llm_usage).toMatchObject({ calls: 1, errors: 1 });
    expect(report.stages.map((row) => [row.stage, row.failures])).toEqual([['weather-agent', 2]]);
    expect(report.diagnoses.map((diagnosis) => diagnosis.id)).toEqual(['rate_limited', 'tool_loop']);
    // Read back from an OTLP file of the spans, the same.
    const fromOtlp: TruthEvent[] = [];
    analyzeRunSync(writeOtlpFile(exporter.getFinishedSpans()), { onEvent: (event) => fromOtlp.push(event) });
    expect(failures(fromOtlp)).toEqual(expected);
  });
});

describe('classifying a span by its Mastra type', () => {
  it.each([
    ['agent_run', 'invoke_agent', 'stage'],
    ['workflow_run', 'invoke_workflow', 'stage'],
    ['workflow_step', 'workflow_step', 'task'],
    ['tool_call', 'execute_tool', 'task'],
    ['mcp_tool_call', 'execute_tool', 'task'],
    ['model_generation', 'chat', 'llm'],
    // With Mastra's model-inference feature on, the generation is the loop and each inference the `chat` call.
    ['model_generation', 'model_generation', 'llm'],
    ['model_inference', 'chat', 'llm'],
    ['model_inference', 'model_inference', 'llm'],
    ['rag_embedding', 'embeddings', 'llm'],
    // Parts of a call and Mastra's own machinery are no agent spans, whatever their operation says.
    ['model_step', 'model_step', undefined],
    ['model_step', 'agent_step', undefined],
    ['model_chunk', 'model_chunk', undefined],
    ['processor_run', 'processor_run', undefined],
    ['memory_operation', 'memory_operation', undefined],
    ['generic', 'generic', undefined],
    ['toString', 'toString', undefined],
  ])('mastra.span.type %s (operation %s) is %s', (type, operation, kind) => {
    expect(classifySpan({ 'mastra.span.type': type, 'gen_ai.operation.name': operation })).toBe(kind);
  });

  it('reads a finish reason "error" as a failure in either form, and no other reason', () => {
    expect(finishedWithError({ 'gen_ai.response.finish_reasons': ['error'] })).toBe(true);
    expect(finishedWithError({ 'gen_ai.response.finish_reasons': ['stop', 'error'] })).toBe(true);
    expect(finishedWithError({ 'gen_ai.response.finish_reasons': '["error"]' })).toBe(true);
    expect(finishedWithError({ 'gen_ai.response.finish_reasons': '["tool-calls", "error"]' })).toBe(true);
    expect(finishedWithError({ 'gen_ai.response.finish_reasons': '["stop"] "error"' })).toBe(false);
    expect(finishedWithError({ 'gen_ai.response.finish_reasons': ['stop'] })).toBe(false);
    expect(finishedWithError({ 'gen_ai.response.finish_reasons': '["content_filter"]' })).toBe(false);
    expect(finishedWithError({})).toBe(false);
  });

  it('reads names only from the bridge: another tracer\'s "llm: \'x\'" span is no call', async () => {
    const { events } = await record(async () => {
      const span = trace.getTracer('app').startSpan("llm: 'gpt-4o'");
      span.end();
    });
    expect(events.filter((event) => event.type.startsWith('llm_call_'))).toEqual([]);
  });
});
