import { context, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { analyzeRunSync } from '../analyzers/readRun';
import type { AutopsyReport } from '../analyzers/reportTypes';
import { init, llmCall, shutdown, stage } from '../src/index';
import type { TruthEvent } from '../src/types';
import { readTrackerDocument } from './helpers/runFiles';
import { llmEventsBySpan } from './helpers/llmEvents';
import { writeOtlpFile } from './helpers/otlpFile';
import { tempRunDir } from './helpers/tempDirs';

/**
 * Spans of the Vercel AI SDK (`ai` 3.x – 6.x, `experimental_telemetry: { isEnabled: true }`), made
 * here through @opentelemetry/api in the shape `ai` 5.0.277 makes them (dist/index.mjs,
 * recordSpan / selectTelemetryAttributes): an outer `ai.generateText` span (`ai.operationId`,
 * `ai.model.id`, `ai.model.provider`, no gen_ai.* at all) with one `ai.generateText.doGenerate`
 * span per provider call and per retry attempt (`gen_ai.system`, `gen_ai.request.model`, usage as
 * `gen_ai.usage.input_tokens` / `output_tokens` when it ends), `ai.toolCall` spans for the tools
 * it runs, errors as `recordException({ name, message, stack })` plus an ERROR status.
 */

const tracer = () => trace.getTracer('ai');

interface Outcome {
  late?: Attributes;
  /** Ends the span the way the AI SDK's recordErrorOnSpan() does. */
  error?: { name: string; message: string };
}

async function aiSpan(name: string, attributes: Attributes, fn: () => unknown = () => undefined, outcome: Outcome = {}): Promise<void> {
  const span: Span = tracer().startSpan(name, { attributes });
  await context.with(trace.setSpan(context.active(), span), async () => fn());
  if (outcome.late) span.setAttributes(outcome.late);
  if (outcome.error) {
    span.recordException({ name: outcome.error.name, message: outcome.error.message, stack: `${outcome.error.name}: ${outcome.error.message}\n    at doGenerate` });
    span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error.message });
  }
  span.end();
}

function outer(operationId: string, model = 'gpt-4o-mini'): Attributes {
  return { 'operation.name': operationId, 'ai.operationId': operationId, 'ai.model.provider': 'openai.chat', 'ai.model.id': model, 'ai.settings.maxRetries': 2 };
}

function doGenerate(operationId = 'ai.generateText.doGenerate', model = 'gpt-4o-mini'): Attributes {
  return { ...outer(operationId, model), 'gen_ai.system': 'openai.chat', 'gen_ai.request.model': model };
}

function usage(input: number, output: number, finishReason = 'stop'): Attributes {
  return {
    'ai.response.finishReason': finishReason,
    'ai.response.model': 'gpt-4o-mini-2024-07-18',
    'ai.usage.promptTokens': input,
    'ai.usage.completionTokens': output,
    'gen_ai.response.finish_reasons': [finishReason],
    'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
    'gen_ai.usage.input_tokens': input,
    'gen_ai.usage.output_tokens': output,
  };
}

async function record(fn: () => Promise<void>, exporter?: InMemorySpanExporter): Promise<{ events: TruthEvent[]; report: AutopsyReport }> {
  const dir = tempRunDir('autopsy-ai-sdk-');
  init({ outputDir: dir, handleExit: false, reportFormats: [], spanProcessors: exporter ? [new SimpleSpanProcessor(exporter)] : [] });
  await fn();
  const report = (await shutdown())!;
  return { events: readTrackerDocument(dir).events, report };
}

function llmEvents(events: TruthEvent[]): Array<Record<string, unknown>> {
  return events
    .filter((event) => event.type.startsWith('llm_call_') || event.type.startsWith('task_'))
    .map((event) => {
      const { duration: _duration, ...data } = event.data;
      return { type: event.type, ...data };
    });
}

describe('Vercel AI SDK spans', () => {
  it('count each generateText as one llm call of its model, with the tokens of all its steps', async () => {
    const { events, report } = await record(() =>
      stage('research', async () => {
        // Two steps: the model asks for a tool, the SDK runs it, then the model answers.
        await aiSpan('ai.generateText', outer('ai.generateText'), async () => {
          await aiSpan('ai.generateText.doGenerate', doGenerate(), undefined, { late: usage(120, 30, 'tool-calls') });
          await aiSpan('ai.toolCall', { 'operation.name': 'ai.toolCall', 'ai.operationId': 'ai.toolCall', 'ai.toolCall.name': 'web_search', 'ai.toolCall.id': 'call_1' });
          await aiSpan('ai.generateText.doGenerate', doGenerate(), undefined, { late: usage(200, 50) });
          // The outer span's usage is the last step's in ai 5 (generateText), so it is not what counts.
        }, { late: { 'ai.response.finishReason': 'stop', 'ai.usage.promptTokens': 200, 'ai.usage.completionTokens': 50 } });
      }),
    );
    expect(llmEvents(events)).toEqual([
      { type: 'llm_call_start', model: 'gpt-4o-mini', provider: 'openai.chat', operation: 'ai.generateText', span: 'ai.generateText', stage: 'research' },
      { type: 'task_start', task: 'web_search', tool: 'web_search', span: 'ai.toolCall', stage: 'research' },
      { type: 'task_end', task: 'web_search', tool: 'web_search', span: 'ai.toolCall', stage: 'research' },
      {
        type: 'llm_call_end', model: 'gpt-4o-mini', provider: 'openai.chat', operation: 'ai.generateText', span: 'ai.generateText', stage: 'research',
        input_tokens: 320, output_tokens: 80, tokens_used: 400, response_model: 'gpt-4o-mini-2024-07-18', finish_reasons: ['stop'],
      },
    ]);
    expect(report.llm_usage).toMatchObject({ calls: 1, errors: 0, input_tokens: 320, output_tokens: 80, total_tokens: 400, by_model: { 'gpt-4o-mini': { calls: 1, errors: 0, input_tokens: 320, output_tokens: 80 } } });
  });

  it('diagnose a generateText that failed after its retries as one rate-limited call', async () => {
    const message = 'Rate limit reached for gpt-4o-mini in organization org-abc on tokens per min (TPM): Limit 200000, Used 199000, Requested 2000. Please try again in 20s.';
    const { events, report } = await record(() =>
      stage('writing', async () => {
        for (let call = 0; call < 4; call++) {
          await aiSpan('ai.generateText', outer('ai.generateText'), async () => {
            for (let attempt = 0; attempt < 3; attempt++) await aiSpan('ai.generateText.doGenerate', doGenerate(), undefined, { error: { name: 'AI_APICallError', message } });
          }, { error: { name: 'AI_RetryError', message: `Failed after 3 attempts. Last error: ${message}` } });
        }
      }),
    );
    const failures = events.filter((event) => event.level === 'ERROR');
    expect(failures.map((event) => [event.type, event.data.stage, event.data.error_type, event.data.failed_attempts])).toEqual(
      Array.from({ length: 4 }, () => ['llm_call_error', 'writing', 'AI_RetryError', 2]),
    );
    expect(report.llm_usage).toMatchObject({ calls: 4, errors: 4, errors_by_type: { AI_RetryError: 4 } });
    expect(report.diagnoses[0]).toMatchObject({ id: 'rate_limited', evidence: { count: 4 } });
  });

  it('diagnose context length and auth failures from the provider error the SDK recorded', async () => {
    const { report } = await record(() =>
      stage('answer', async () => {
        await aiSpan('ai.streamText', outer('ai.streamText', 'gpt-4o'), async () => {
          await aiSpan('ai.streamText.doStream', doGenerate('ai.streamText.doStream', 'gpt-4o'), undefined, {
            error: { name: 'AI_APICallError', message: "This model's maximum context length is 128000 tokens. However, your messages resulted in 130512 tokens. Please reduce the length of the messages." },
          });
        }, { error: { name: 'AI_APICallError', message: "This model's maximum context length is 128000 tokens. However, your messages resulted in 130512 tokens. Please reduce the length of the messages." } });
        await aiSpan('ai.generateObject', outer('ai.generateObject', 'gpt-4o'), async () => {
          await aiSpan('ai.generateObject.doGenerate', doGenerate('ai.generateObject.doGenerate', 'gpt-4o'), undefined, { error: { name: 'AI_APICallError', message: 'Incorrect API key provided: sk-proj-****abcd.' } });
        }, { error: { name: 'AI_APICallError', message: 'Incorrect API key provided: sk-proj-****abcd.' } });
      }),
    );
    expect(report.llm_usage).toMatchObject({ calls: 2, errors: 2, by_model: { 'gpt-4o': { calls: 2, errors: 2 } } });
    expect(report.diagnoses.map((diagnosis) => [diagnosis.id, diagnosis.evidence.count]).sort()).toEqual([
      ['auth_failure', 1],
      ['context_length_exceeded', 1],
    ]);
  });

  it('inside the app\'s own llmCall(), add no call of their own and hand up the usage of every step', async () => {
    const { events, report } = await record(() =>
      stage('plan', () =>
        llmCall({ model: 'gpt-4o-mini', provider: 'openai' }, () =>
          aiSpan('ai.generateText', outer('ai.generateText'), async () => {
            await aiSpan('ai.generateText.doGenerate', doGenerate(), undefined, { error: { name: 'AI_APICallError', message: '503 Service Unavailable' } });
            await aiSpan('ai.generateText.doGenerate', doGenerate(), undefined, { late: usage(10, 4, 'tool-calls') });
            await aiSpan('ai.generateText.doGenerate', doGenerate(), undefined, { late: usage(20, 6) });
          }),
        ),
      ),
    );
    const llm = events.filter((event) => event.type.startsWith('llm_call_'));
    expect(llm.map((event) => event.type)).toEqual(['llm_call_start', 'llm_call_end']);
    expect(llm[1].data).toMatchObject({ model: 'gpt-4o-mini', input_tokens: 30, output_tokens: 10, tokens_used: 40, failed_attempts: 1, last_attempt_error: '503 Service Unavailable' });
    expect(report.llm_usage).toMatchObject({ calls: 1, input_tokens: 30, output_tokens: 10 });
  });

  it('count embeddings with their tokens and leave spans of other libraries that use the ai.* names alone', async () => {
    const { events, report } = await record(() =>
      stage('index', async () => {
        // embedMany splits the values into chunks: one doEmbed per chunk, each with the tokens it used.
        await aiSpan('ai.embedMany', { ...outer('ai.embedMany', 'text-embedding-3-small'), 'ai.model.provider': 'openai.embedding' }, async () => {
          await aiSpan('ai.embedMany.doEmbed', { ...outer('ai.embedMany.doEmbed', 'text-embedding-3-small'), 'ai.model.provider': 'openai.embedding' }, undefined, { late: { 'ai.usage.tokens': 30 } });
          await aiSpan('ai.embedMany.doEmbed', { ...outer('ai.embedMany.doEmbed', 'text-embedding-3-small'), 'ai.model.provider': 'openai.embedding' }, undefined, { late: { 'ai.usage.tokens': 12 } });
        });
        await aiSpan('ai.somethingElse', { 'ai.operationId': 'ai.somethingElse' });
        await aiSpan('ai.generateText', { 'ai.operationId': 42 });
      }),
    );
    expect(llmEvents(events).map((event) => [event.type, event.model, event.provider, event.operation])).toEqual([
      ['llm_call_start', 'text-embedding-3-small', 'openai.embedding', 'ai.embedMany'],
      ['llm_call_end', 'text-embedding-3-small', 'openai.embedding', 'ai.embedMany'],
    ]);
    expect(report.llm_usage).toMatchObject({ calls: 1, input_tokens: 42, output_tokens: 0, total_tokens: 42 });
  });
});

describe('llm spans folded into an llmCall()', () => {
  it('add up their token counts (a tool loop of the openai client inside one llmCall)', async () => {
    const chat = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o' };
    const { events, report } = await record(() =>
      stage('tools', () =>
        llmCall({ model: 'gpt-4o' }, async () => {
          await aiSpan('chat gpt-4o', chat, undefined, { late: { 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 10, 'gen_ai.response.finish_reasons': ['tool_calls'] } });
          await aiSpan('chat gpt-4o', chat, undefined, { late: { 'gen_ai.usage.input_tokens': 150, 'gen_ai.usage.output_tokens': 40, 'gen_ai.response.finish_reasons': ['stop'] } });
        }),
      ),
    );
    const end = events.find((event) => event.type === 'llm_call_end')!;
    expect(end.data).toMatchObject({ input_tokens: 250, output_tokens: 50, tokens_used: 300, finish_reasons: ['stop'] });
    expect(report.llm_usage).toMatchObject({ calls: 1, input_tokens: 250, output_tokens: 50, total_tokens: 300 });
  });
});

describe('a request span inside an attempt span', () => {
  it('is one failed attempt when both failed: the attempt failed with its request (the flag records the requests of an AI SDK call with telemetry)', async () => {
    const request = { 'gen_ai.operation.name': 'chat', 'server.address': 'api.openai.com' };
    const { events } = await record(() =>
      llmCall({ model: 'gpt-4o-mini' }, () =>
        aiSpan('ai.generateText', outer('ai.generateText'), async () => {
          await aiSpan('ai.generateText.doGenerate', doGenerate(), () => aiSpan('chat api.openai.com', request, undefined, { error: { name: '503', message: 'HTTP 503 Service Unavailable' } }), {
            error: { name: 'AI_APICallError', message: '503 Service Unavailable' },
          });
          await aiSpan('ai.generateText.doGenerate', doGenerate(), () => aiSpan('chat api.openai.com', request), { late: usage(10, 4) });
        }),
      ),
    );
    const calls = events.filter((event) => event.type.startsWith('llm_call_'));
    expect(calls.map((event) => event.type)).toEqual(['llm_call_start', 'llm_call_end']);
    expect(calls[1].data).toMatchObject({ input_tokens: 10, output_tokens: 4, failed_attempts: 1, last_attempt_error: '503 Service Unavailable' });
  });
});

describe('odd attribute values of other instrumentations', () => {
  it('name no event type "undefined_*" for an operation or span kind that is a property name of every object', async () => {
    const { events, report } = await record(() =>
      stage('odd', async () => {
        await aiSpan('constructor', { 'gen_ai.operation.name': 'constructor', 'gen_ai.request.model': 'm' });
        await aiSpan('toString', { 'traceloop.span.kind': 'toString' });
        await aiSpan('__proto__', { 'openinference.span.kind': '__proto__' });
      }),
    );
    expect(events.map((event) => event.type)).toEqual(['stage_start', 'llm_call_start', 'llm_call_end', 'stage_end']);
    expect(report.llm_usage).toMatchObject({ calls: 1, by_model: { m: { calls: 1 } } });
  });

  it('leave out token counts that are not numbers of 0 or more, so tokens_used is the sum of what is written', async () => {
    const chat = { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o' };
    const { events, report } = await record(() =>
      stage('odd', async () => {
        await aiSpan('chat gpt-4o', chat, undefined, { late: { 'gen_ai.usage.input_tokens': '12', 'gen_ai.usage.output_tokens': Number.NaN } });
        await aiSpan('chat gpt-4o', chat, undefined, { late: { 'gen_ai.usage.input_tokens': -5, 'gen_ai.usage.output_tokens': 7 } });
      }),
    );
    const ends = events.filter((event) => event.type === 'llm_call_end').map((event) => [event.data.input_tokens, event.data.output_tokens, event.data.tokens_used]);
    expect(ends).toEqual([
      [undefined, undefined, undefined],
      [undefined, 7, 7],
    ]);
    expect(report.llm_usage).toMatchObject({ calls: 2, input_tokens: 0, output_tokens: 7, total_tokens: 7 });
  });
});

describe('a call still running when the run ends', () => {
  it('is one unfinished llm call, not one per nested span', async () => {
    const { events, report } = await record(async () => {
      // An AI SDK call waiting on its provider, and an llmCall() waiting on an instrumented client.
      void stage('hung', async () => {
        const call = tracer().startSpan('ai.generateText', { attributes: outer('ai.generateText') });
        context.with(trace.setSpan(context.active(), call), () => tracer().startSpan('ai.generateText.doGenerate', { attributes: doGenerate() }));
        await llmCall({ model: 'gpt-4o' }, () => {
          tracer().startSpan('chat gpt-4o', { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o' } });
          return new Promise(() => undefined);
        });
      });
      await new Promise((resolve) => setTimeout(resolve, 10));
    });
    expect(report.unfinished.map((span) => [span.kind, span.name, span.stage])).toEqual([
      ['stage', 'stage hung', 'hung'],
      // Named by its operation and its model: the AI SDK names its spans by operation only.
      ['llm', 'ai.generateText gpt-4o-mini', 'hung'],
      ['llm', expect.any(String), 'hung'],
    ]);
    expect(events.filter((event) => event.type === 'llm_call_unfinished').map((event) => event.data.span ?? event.data.model)).toEqual(['ai.generateText', 'gpt-4o']);
  });
});

describe('an AI SDK stream', () => {
  it("has its doStream span's time to first chunk (ai.response.msToFirstChunk) in its end event, also read back from an OTLP file", async () => {
    const exporter = new InMemorySpanExporter();
    const live = await record(
      () =>
        stage('answer', async () => {
          await aiSpan('ai.streamText', outer('ai.streamText', 'gpt-4o'), async () => {
            await aiSpan('ai.streamText.doStream', doGenerate('ai.streamText.doStream', 'gpt-4o'), undefined, { late: { ...usage(40, 10), 'ai.response.msToFirstChunk': 812.5, 'ai.response.msToFinish': 1400 } });
          });
          // A stream that failed before its first chunk states none.
          await aiSpan('ai.streamText', outer('ai.streamText', 'gpt-4o'), async () => {
            await aiSpan('ai.streamText.doStream', doGenerate('ai.streamText.doStream', 'gpt-4o'), undefined, { error: { name: 'AI_APICallError', message: '500 Internal Server Error' } });
          }, { error: { name: 'AI_APICallError', message: '500 Internal Server Error' } });
        }),
      exporter,
    );
    const ends = live.events.filter((event) => event.type === 'llm_call_end' || event.type === 'llm_call_error').map((event) => [event.type, event.data.time_to_first_chunk]);
    expect(ends).toEqual([
      ['llm_call_end', 0.8125],
      ['llm_call_error', undefined],
    ]);
    const fromOtlp: TruthEvent[] = [];
    analyzeRunSync(writeOtlpFile(exporter.getFinishedSpans()), { onEvent: (event) => fromOtlp.push(event) });
    expect(llmEventsBySpan(fromOtlp)).toEqual(llmEventsBySpan(live.events));
  });

  it('still open at the end says whether its answer had started', async () => {
    const exporter = new InMemorySpanExporter();
    const { events, report } = await record(async () => {
      void stage('answer', async () => {
        for (const [model, late] of [['started', { 'ai.response.msToFirstChunk': 300 }], ['silent', {}]] as const) {
          const call = tracer().startSpan('ai.streamText', { attributes: outer('ai.streamText', model) });
          const doStream = context.with(trace.setSpan(context.active(), call), () => tracer().startSpan('ai.streamText.doStream', { attributes: doGenerate('ai.streamText.doStream', model) }));
          doStream.setAttributes(late);
        }
        await new Promise(() => undefined);
      });
      await new Promise((resolve) => setTimeout(resolve, 10));
    }, exporter);
    const llm = report.unfinished.filter((span) => span.kind === 'llm').map(({ name, stream, time_to_first_chunk }) => ({ name, stream, time_to_first_chunk }));
    // An OTLP file of the spans lists them the same way.
    const fromOtlp = analyzeRunSync(writeOtlpFile(exporter.getFinishedSpans())).report.unfinished.filter((span) => span.kind === 'llm');
    expect(fromOtlp.map(({ name, stream, time_to_first_chunk }) => ({ name, stream, time_to_first_chunk }))).toEqual(llm);
    expect(llm).toEqual([
      { name: 'ai.streamText started', stream: true, time_to_first_chunk: 0.3 },
      { name: 'ai.streamText silent', stream: true, time_to_first_chunk: undefined },
    ]);
    expect(events.filter((event) => event.type === 'llm_call_unfinished').map((event) => [event.data.model, event.data.stream, event.data.time_to_first_chunk])).toEqual([
      ['started', true, 0.3],
      ['silent', true, undefined],
    ]);
  });
});

describe('the same spans read back from an OTLP file', () => {
  it('fold the nested llm spans as the live run did: the same llm events and usage', async () => {
    const exporter = new InMemorySpanExporter();
    const live = await record(
      () =>
        stage('mixed', async () => {
          await aiSpan('ai.generateText', outer('ai.generateText'), async () => {
            await aiSpan('ai.generateText.doGenerate', doGenerate(), undefined, { error: { name: 'AI_APICallError', message: '429 Rate limit reached for gpt-4o-mini' } });
            await aiSpan('ai.generateText.doGenerate', doGenerate(), undefined, { late: usage(120, 30, 'tool-calls') });
            await aiSpan('ai.generateText.doGenerate', doGenerate(), undefined, { late: usage(200, 50) });
          });
          await llmCall({ model: 'gpt-4o', provider: 'openai' }, () =>
            aiSpan('chat gpt-4o', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o' }, undefined, { late: { 'gen_ai.usage.input_tokens': 9, 'gen_ai.usage.output_tokens': 1, 'error.type': 'RateLimitError', 'http.response.status_code': 429 }, error: { name: 'RateLimitError', message: '429 Rate limit reached' } }),
          ).catch(() => undefined);
        }),
      exporter,
    );
    const fromOtlp: TruthEvent[] = [];
    const read = analyzeRunSync(writeOtlpFile(exporter.getFinishedSpans()), { onEvent: (event) => fromOtlp.push(event) });
    expect(llmEventsBySpan(live.events)).toHaveLength(4);
    expect(llmEventsBySpan(fromOtlp)).toEqual(llmEventsBySpan(live.events));
    const usageOf = (report: AutopsyReport) => ({ ...report.llm_usage, latency_seconds: null });
    expect(usageOf(read.report)).toEqual(usageOf(live.report));
    expect(read.report.llm_usage).toMatchObject({ calls: 2, errors: 0, input_tokens: 329, output_tokens: 81 });
  });
});

describe('GenAI operations that are not LLM calls', () => {
  it('are tasks and stages: retrieval, invoke_workflow, and the AI SDK 7 agent_step around its chat call', async () => {
    const { events, report } = await record(() =>
      stage('answer', async () => {
        await aiSpan('invoke_workflow support', { 'gen_ai.operation.name': 'invoke_workflow' }, async () => {
          await aiSpan('retrieval docs', { 'gen_ai.operation.name': 'retrieval', 'gen_ai.data_source.id': 'docs', 'gen_ai.provider.name': 'pinecone' });
          // @ai-sdk/otel 1.x (ai 7): a step span holds the model call and the tools it asked for.
          await aiSpan('step 1', { 'gen_ai.operation.name': 'agent_step' }, async () => {
            await aiSpan('chat gpt-4o', { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o' }, undefined, { late: { 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 2 } });
            await aiSpan('execute_tool search', { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search' });
          });
        });
      }),
    );
    expect(events.map((event) => [event.type, event.data.stage, event.data.task ?? event.data.model])).toEqual([
      ['stage_start', 'answer', undefined],
      ['stage_start', 'invoke_workflow support', undefined],
      ['task_start', 'invoke_workflow support', 'retrieval docs'],
      ['task_end', 'invoke_workflow support', 'retrieval docs'],
      ['task_start', 'invoke_workflow support', 'step 1'],
      ['llm_call_start', 'invoke_workflow support', 'gpt-4o'],
      ['llm_call_end', 'invoke_workflow support', 'gpt-4o'],
      ['task_start', 'invoke_workflow support', 'search'],
      ['task_end', 'invoke_workflow support', 'search'],
      ['task_end', 'invoke_workflow support', 'step 1'],
      ['stage_end', 'invoke_workflow support', undefined],
      ['stage_end', 'answer', undefined],
    ]);
    expect(report.llm_usage).toMatchObject({ calls: 1, by_model: { 'gpt-4o': { calls: 1, input_tokens: 10, output_tokens: 2 } } });
  });
});

/**
 * `ai` 7 with @ai-sdk/otel's `OpenTelemetry` (registerTelemetry): GenAI spans, as the SDK made them
 * in an audit against a local server (ai 7.0.173, @ai-sdk/otel 1.0.173): `invoke_agent <model>`,
 * a `step N` (agent_step) per step, a `chat <model>` span around every attempt of its provider
 * call, `execute_tool <name>` with its arguments.
 */
describe('AI SDK 7 (@ai-sdk/otel) spans', () => {
  const chat = (model: string): Attributes => ({ 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': model, 'server.address': '127.0.0.1' });

  it("read a streamed chat's gen_ai.client.operation.time_to_first_chunk, and count the retries its AI_RetryError states", async () => {
    const { events, report } = await record(() =>
      stage('answer', async () => {
        await aiSpan('invoke_agent gpt-4o', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o' }, async () => {
          await aiSpan('step 1', { 'gen_ai.operation.name': 'agent_step' }, async () => {
            await aiSpan('chat gpt-4o', chat('gpt-4o'), undefined, {
              late: { 'gen_ai.client.operation.time_to_first_chunk': 0.8792306840000002, 'gen_ai.usage.input_tokens': 15, 'gen_ai.usage.output_tokens': 7, 'gen_ai.response.finish_reasons': ['stop'] },
            });
          });
        });
        const message = 'Failed after 3 attempts. Last error: Rate limit reached for gpt-4o. Please try again in 20s.';
        await aiSpan('chat gpt-4o', chat('gpt-4o'), undefined, { error: { name: 'AI_RetryError', message } });
        // One attempt only: no retry to count.
        await aiSpan('chat gpt-4o', chat('gpt-4o'), undefined, { error: { name: 'AI_APICallError', message: 'Bad Request' } });
      }),
    );
    const ends = events.filter((event) => event.type.startsWith('llm_call_') && event.type !== 'llm_call_start');
    expect(ends.map((event) => [event.type, event.data.time_to_first_chunk, event.data.failed_attempts])).toEqual([
      ['llm_call_end', 0.879231, undefined],
      ['llm_call_error', undefined, 2],
      ['llm_call_error', undefined, undefined],
    ]);
    // The client retried: the advice says so, and no retry storm is made of one call's attempts.
    expect(report.diagnoses[0]).toMatchObject({ id: 'rate_limited' });
    expect(report.diagnoses[0].evidence.examples.join('\n')).toMatch(/1 failed call, 3 HTTP requests/);
  });

  it("with LegacyOpenTelemetry, one doGenerate span covers every attempt: the outer span's AI_RetryError counts them", async () => {
    const message = 'Failed after 3 attempts. Last error: Rate limit reached for gpt-4o-mini. Please try again in 20s.';
    const { events } = await record(() =>
      stage('answer', () =>
        aiSpan('ai.generateText', outer('ai.generateText'), () => aiSpan('ai.generateText.doGenerate', doGenerate(), undefined, { error: { name: 'AI_APICallError', message: 'Rate limit reached' } }), {
          error: { name: 'AI_RetryError', message },
        }),
      ),
    );
    expect(events.filter((event) => event.type === 'llm_call_error').map((event) => [event.data.error_type, event.data.failed_attempts])).toEqual([['AI_RetryError', 2]]);
  });

  it('a chat span still open whose first chunk came is a streamed call that had started', async () => {
    const { report } = await record(async () => {
      void stage('answer', async () => {
        tracer().startSpan('chat gpt-4o', { attributes: { ...chat('gpt-4o'), 'gen_ai.client.operation.time_to_first_chunk': 0.5 } });
        await new Promise(() => undefined);
      });
      await new Promise((resolve) => setTimeout(resolve, 10));
    });
    expect(report.unfinished.filter((span) => span.kind === 'llm').map(({ stream, time_to_first_chunk }) => ({ stream, time_to_first_chunk }))).toEqual([{ stream: true, time_to_first_chunk: 0.5 }]);
  });
});
