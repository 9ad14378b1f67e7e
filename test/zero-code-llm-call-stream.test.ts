import { expect, it } from 'vitest';
import type { TruthEvent } from '../src/types';
import { runZeroCode } from './helpers/childProcess';
import { readReport, readTrackerDocument } from './helpers/runFiles';

/**
 * `llmCall()` around a streaming request of the real clients, under `--import agent-autopsy/register`
 * and against examples/fake-llm-server.mjs, with the stream read after the callback returned (the
 * usual `const stream = await llmCall(…, () => client.….create({ stream: true }))`, then
 * `for await`). Each call is one llm_call pair that ends with its stream: the stream's usage and
 * finish reason, the app's events while it waited before reading it come before the call's end,
 * and a stream cut off mid-way makes the call an llm_call_error.
 */

const APP = `
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { llmCall, stage, track } from 'agent-autopsy';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer();
const openai = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test-0123456789abcdefghij', maxRetries: 0 });
const anthropic = new Anthropic({ baseURL: server.anthropicBaseURL, apiKey: 'sk-ant-test-0123456789abcdef', maxRetries: 0 });
const read = async (stream) => { let n = 0; for await (const _ of stream) n++; return n; };
const later = () => new Promise((resolve) => setTimeout(resolve, 20));
const outcomes = [];
await stage('answer', async () => {
  const chat = await llmCall({ model: 'gpt-4o', provider: 'openai' }, () =>
    openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }], stream: true, stream_options: { include_usage: true } }));
  await later();
  track('reading', { call: 'chat' });
  outcomes.push(['chat', await read(chat)]);

  const messages = await llmCall({ model: 'claude-sonnet-4-6', provider: 'anthropic' }, () =>
    anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: 'hello' }], stream: true }));
  await later();
  track('reading', { call: 'messages' });
  outcomes.push(['messages', await read(messages)]);

  const helper = await llmCall({ model: 'claude-sonnet-4-6', provider: 'anthropic' }, async () =>
    anthropic.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: 'hello there' }] }));
  track('reading', { call: 'messages.stream' });
  outcomes.push(['messages.stream', (await helper.finalMessage()).usage.output_tokens]);

  server.script([{ kind: 'reset', midStream: true }]);
  const cut = await llmCall({ model: 'gpt-4o', provider: 'openai' }, () =>
    openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'cut off' }], stream: true }));
  track('reading', { call: 'cut' });
  try {
    await read(cut);
  } catch (error) {
    outcomes.push(['cut', error.constructor.name]);
  }
});
await server.close();
process.stdout.write(JSON.stringify(outcomes) + '\\n');
`;


const FIELDS = ['model', 'provider', 'call', 'input_tokens', 'output_tokens', 'finish_reasons', 'error', 'error_type', 'failed_attempts'];

/** The llm events and the app's own, with the fields that matter here (the fake server's counts are deterministic). */
function outline(events: TruthEvent[]) {
  return events
    .filter((event) => event.type.startsWith('llm_call_') || event.type === 'reading')
    .map((event) => {
      const picked: Record<string, unknown> = { type: event.type };
      for (const field of FIELDS) if (event.data[field] !== undefined) picked[field] = event.data[field];
      return picked;
    });
}

it('counts a streamed llmCall() once, ended with its stream, whether it ran to its end or broke', async () => {
  const { result, runDir } = await runZeroCode(APP, 'autopsy-zero-code-llm-stream-');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual([
    ['chat', 11],
    ['messages', 13],
    ['messages.stream', 12],
    ['cut', 'TypeError'],
  ]);
  const events = readTrackerDocument(runDir).events;
  expect(outline(events)).toEqual([
    { type: 'llm_call_start', model: 'gpt-4o', provider: 'openai' },
    { type: 'reading', call: 'chat' },
    { type: 'llm_call_end', model: 'gpt-4o', provider: 'openai', input_tokens: 2, output_tokens: 11, finish_reasons: ['stop'] },
    { type: 'llm_call_start', model: 'claude-sonnet-4-6', provider: 'anthropic' },
    { type: 'reading', call: 'messages' },
    { type: 'llm_call_end', model: 'claude-sonnet-4-6', provider: 'anthropic', input_tokens: 2, output_tokens: 11, finish_reasons: ['end_turn'] },
    { type: 'llm_call_start', model: 'claude-sonnet-4-6', provider: 'anthropic' },
    { type: 'reading', call: 'messages.stream' },
    { type: 'llm_call_end', model: 'claude-sonnet-4-6', provider: 'anthropic', input_tokens: 3, output_tokens: 12, finish_reasons: ['end_turn'] },
    { type: 'llm_call_start', model: 'gpt-4o', provider: 'openai' },
    { type: 'reading', call: 'cut' },
    { type: 'llm_call_error', model: 'gpt-4o', provider: 'openai', error: 'terminated (cause: UND_ERR_SOCKET: other side closed)', error_type: 'TypeError' },
  ]);
  // One span per call: the client's own span is folded into it, so no event has another span id.
  const starts = events.filter((event) => event.type === 'llm_call_start').map((event) => event.span_id);
  const ends = events.filter((event) => event.type === 'llm_call_end' || event.type === 'llm_call_error').map((event) => event.span_id);
  expect(ends).toEqual(starts);
  const report = readReport(runDir);
  expect(report.llm_usage).toMatchObject({ calls: 4, errors: 1, input_tokens: 7, output_tokens: 34, errors_by_type: { TypeError: 1 } });
  expect(report.unfinished).toEqual([]);
});

it('records a stream the app never reads as an unfinished call, and one that ends in the tick the process exits as ended', async () => {
  const app = `
import OpenAI from 'openai';
import { trace } from '@opentelemetry/api';
import { llmCall, stage } from 'agent-autopsy';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer();
const openai = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test-0123456789abcdefghij', maxRetries: 0 });
await stage('answer', async () => {
  await llmCall({ model: 'abandoned' }, () => openai.chat.completions.create({ model: 'abandoned', messages: [{ role: 'user', content: 'hi' }], stream: true }));
  // A client whose request span ends in the app's own code: the exit comes in that very tick.
  const request = await llmCall({ model: 'last' }, async () => trace.getTracer('client').startSpan('chat last', { attributes: { 'gen_ai.operation.name': 'chat' } }));
  request.setAttribute('gen_ai.usage.output_tokens', 4);
  request.end();
  process.exit(3);
});
`;
  const { result, runDir } = await runZeroCode(app, 'autopsy-zero-code-llm-stream-');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(3);
  const events = readTrackerDocument(runDir).events;
  expect(outline(events).filter((event) => event.type !== 'reading')).toEqual([
    { type: 'llm_call_start', model: 'abandoned' },
    { type: 'llm_call_start', model: 'last' },
    { type: 'llm_call_end', model: 'last', output_tokens: 4 },
    { type: 'llm_call_unfinished', model: 'abandoned' },
  ]);
  const report = readReport(runDir);
  expect(report.llm_usage.calls).toBe(1);
  expect(report.unfinished.map((span) => [span.kind, span.name, span.stage])).toEqual([
    ['stage', 'stage answer', 'answer'],
    ['llm', 'chat abandoned', 'answer'],
  ]);
});
