import { expect, it } from 'vitest';
import type { TruthEvent } from '../src/types';
import { runNode, writeScript } from './helpers/childProcess';
import { llmCallEnds } from './helpers/llmEvents';
import { startOtlpReceiver } from './helpers/otlpReceiver';
import { readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * Token accounting as a team tracking spend and quota reads it: the exact counts in each
 * llm_call_* event and in the report's llm_usage, with the real `openai` and `@anthropic-ai/sdk`
 * clients talking to a server on 127.0.0.1 that answers each request with the next body of a
 * queue (so usage details such as cached and reasoning tokens are exactly what a provider sends).
 */

/** A server answering each request with the next queued `{ status, json }` or `{ sse, destroy }`. */
const QUEUE_SERVER = `
import http from 'node:http';
const queue = [];
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const next = queue.shift() ?? { status: 500, json: { error: { message: 'nothing queued' } } };
    res.writeHead(next.status ?? 200, { 'content-type': next.sse ? 'text/event-stream' : 'application/json' });
    if (!next.sse) return res.end(JSON.stringify(next.json));
    for (const e of next.sse) res.write((e.event ? 'event: ' + e.event + '\\n' : '') + 'data: ' + (typeof e.data === 'string' ? e.data : JSON.stringify(e.data)) + '\\n\\n');
    if (next.destroy) setTimeout(() => res.destroy(), 20);
    else res.end();
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = 'http://127.0.0.1:' + server.address().port;
const close = () => { server.closeAllConnections(); return new Promise((resolve) => server.close(resolve)); };
`;

const ANTHROPIC_MESSAGE = `
const amsg = (usage, content = [{ type: 'text', text: 'hi' }], stop = 'end_turn') => ({ id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-6', content, stop_reason: stop, stop_sequence: null, usage });
`;

async function run(source: string, nodeArgs: string[] = [], env: Record<string, string> = {}) {
  const script = writeScript(source, '.mjs');
  const runDir = tempRunDir('autopsy-llm-usage-');
  const result = await runNode(script, { nodeArgs, env: { AGENT_AUTOPSY_DIR: runDir, OUT: runDir, ...env } });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return { runDir, stdout: result.stdout, events: readTrackerDocument(runDir).events, report: readReport(runDir) };
}

const FIELDS = ['name', 'model', 'input_tokens', 'output_tokens', 'tokens_used', 'cache_read_input_tokens', 'cache_creation_input_tokens', 'reasoning_tokens', 'error_type', 'http_status'];
const ends = (events: TruthEvent[]) => llmCallEnds(events, FIELDS);

it('llmCall(): counts given in parts (setUsage twice, or one count and the SDK span inside) give a tokens_used that adds up', async () => {
  // setUsage() wins for what it sets; the Anthropic SDK's own span (folded into the llmCall) fills
  // the rest. tokens_used was left at the one count given, so llm_usage.total_tokens came out
  // smaller than input_tokens + output_tokens.
  const { events, report } = await run(`
import Anthropic from '@anthropic-ai/sdk';
import { init, llmCall, shutdown } from 'agent-autopsy';
${QUEUE_SERVER}
${ANTHROPIC_MESSAGE}
init({ outputDir: process.env.OUT });
const anthropic = new Anthropic({ baseURL: url, apiKey: 'sk-ant-test', maxRetries: 0 });
const ask = () => anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: 'x' }] });
queue.push({ json: amsg({ input_tokens: 30, output_tokens: 12 }) }, { json: amsg({ input_tokens: 40, output_tokens: 5 }) }, { json: amsg({ input_tokens: 50, output_tokens: 6 }) });
// Only the output counted by the app (say, from its own tokenizer).
await llmCall('output_only', { model: 'claude-sonnet-4-6' }, async (call) => { await ask(); call.setUsage({ outputTokens: 20 }); });
// Only the input.
await llmCall('input_only', { model: 'claude-sonnet-4-6' }, async (call) => { call.setUsage({ inputTokens: 400 }); await ask(); });
// An explicit total is the app's and stays.
await llmCall('explicit_total', { model: 'claude-sonnet-4-6' }, async (call) => { await ask(); call.setUsage({ outputTokens: 6, totalTokens: 1000 }); });
// The counts given in two calls (input before the request, output after the stream).
await llmCall('two_calls', { model: 'm' }, (call) => { call.setUsage({ inputTokens: 7 }); call.setUsage({ outputTokens: 3 }); });
// The shares of the counts, as the app reads them from its provider's reply.
await llmCall('details', { model: 'm' }, (call) => call.setUsage({ inputTokens: 100, outputTokens: 10, cacheReadInputTokens: 60, cacheCreationInputTokens: 20, reasoningTokens: 4 }));
await close();
await shutdown();
`);
  expect(ends(events)).toEqual([
    { type: 'llm_call_end', name: 'output_only', model: 'claude-sonnet-4-6', input_tokens: 30, output_tokens: 20, tokens_used: 50 },
    { type: 'llm_call_end', name: 'input_only', model: 'claude-sonnet-4-6', input_tokens: 400, output_tokens: 5, tokens_used: 405 },
    { type: 'llm_call_end', name: 'explicit_total', model: 'claude-sonnet-4-6', input_tokens: 50, output_tokens: 6, tokens_used: 1000 },
    { type: 'llm_call_end', name: 'two_calls', model: 'm', input_tokens: 7, output_tokens: 3, tokens_used: 10 },
    {
      type: 'llm_call_end', name: 'details', model: 'm', input_tokens: 100, output_tokens: 10, tokens_used: 110,
      cache_read_input_tokens: 60, cache_creation_input_tokens: 20, reasoning_tokens: 4,
    },
  ]);
  expect(report.llm_usage).toMatchObject({ calls: 5, input_tokens: 587, output_tokens: 44, total_tokens: 1575, cache_read_input_tokens: 60, cache_creation_input_tokens: 20, reasoning_tokens: 4 });
  expect(report.llm_usage.by_model.m).toEqual({ calls: 2, errors: 0, input_tokens: 107, output_tokens: 13, cache_read_input_tokens: 60, cache_creation_input_tokens: 20, reasoning_tokens: 4 });
  // The Anthropic calls here state no shares (their replies have no cache fields): none are made up.
  expect(report.llm_usage.by_model['claude-sonnet-4-6']).toEqual({ calls: 3, errors: 0, input_tokens: 480, output_tokens: 31 });
});

it('zero code: the counts each openai and anthropic call reports, cached and reasoning tokens included as the GenAI conventions count them', async () => {
  const { stdout, events, report } = await run(
    `
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
${QUEUE_SERVER}
${ANTHROPIC_MESSAGE}
const openai = new OpenAI({ baseURL: url + '/v1', apiKey: 'sk-test', maxRetries: 0 });
const anthropic = new Anthropic({ baseURL: url, apiKey: 'sk-ant-test', maxRetries: 0 });
const outcomes = [];
async function step(name, fn) {
  try { await fn(); outcomes.push([name, 'ok']); } catch (error) { outcomes.push([name, error.constructor.name]); }
}
const drain = async (stream) => { for await (const _ of stream); };
const user = [{ role: 'user', content: 'x' }];
// OpenAI: prompt_tokens counts the cached tokens, completion_tokens the reasoning tokens.
const chatUsage = { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120, prompt_tokens_details: { cached_tokens: 80 }, completion_tokens_details: { reasoning_tokens: 15 } };
const completion = (n) => ({ id: 'c1', object: 'chat.completion', created: 1, model: 'gpt-4o-2024-08-06', choices: Array.from({ length: n }, (_, index) => ({ index, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' })), usage: chatUsage });
const chunk = (choices, extra = {}) => ({ id: 'c2', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-2024-08-06', choices, ...extra });
const chatStream = (usage) => ({ sse: [
  { data: chunk([{ index: 0, delta: { role: 'assistant', content: 'hi' }, finish_reason: null }], usage ? { usage: null } : {}) },
  { data: chunk([{ index: 0, delta: {}, finish_reason: 'stop' }], usage ? { usage: null } : {}) },
  ...(usage ? [{ data: chunk([], { usage }) }] : []),
  { data: '[DONE]' },
] });
const respUsage = { input_tokens: 200, input_tokens_details: { cached_tokens: 150 }, output_tokens: 40, output_tokens_details: { reasoning_tokens: 30 }, total_tokens: 240 };
const response = (status, usage) => ({ id: 'resp_1', object: 'response', created_at: 1, status, model: 'o4-mini-2025-04-16', output: [{ type: 'message', id: 'm1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'hi', annotations: [] }] }], usage });
// Anthropic: input_tokens leaves out what the cache wrote and read; message_start has the input
// and a placeholder output count, message_delta the final output count.
const cached = { input_tokens: 10, cache_creation_input_tokens: 1000, cache_read_input_tokens: 3000, output_tokens: 50 };
const messageStart = { event: 'message_start', data: { type: 'message_start', message: { id: 'msg_2', type: 'message', role: 'assistant', model: 'claude-sonnet-4-6', content: [], stop_reason: null, stop_sequence: null, usage: { ...cached, output_tokens: 1 } } } };
const firstBlock = [
  { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } },
  { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } } },
];
const messageEnd = [
  { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
  { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 50 } } },
  { event: 'message_stop', data: { type: 'message_stop' } },
];
const overloaded = { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } };
const claude = { model: 'claude-sonnet-4-6', max_tokens: 100, messages: user };

queue.push({ json: completion(1) });
await step('chat', () => openai.chat.completions.create({ model: 'gpt-4o', messages: user }));
queue.push({ json: completion(2) });
await step('chat_n2', () => openai.chat.completions.create({ model: 'gpt-4o', n: 2, messages: user }));
queue.push(chatStream(chatUsage));
await step('chat_stream_usage', async () => drain(await openai.chat.completions.create({ model: 'gpt-4o', stream: true, stream_options: { include_usage: true }, messages: user })));
queue.push(chatStream(undefined));
await step('chat_stream_no_usage', async () => drain(await openai.chat.completions.create({ model: 'gpt-4o', stream: true, messages: user })));
queue.push({ json: response('completed', respUsage) });
await step('responses', () => openai.responses.create({ model: 'o4-mini', input: 'x' }));
queue.push({ sse: [
  { event: 'response.created', data: { type: 'response.created', sequence_number: 0, response: response('in_progress', null) } },
  { event: 'response.output_text.delta', data: { type: 'response.output_text.delta', sequence_number: 1, item_id: 'm1', output_index: 0, content_index: 0, delta: 'hi' } },
  { event: 'response.completed', data: { type: 'response.completed', sequence_number: 2, response: response('completed', respUsage) } },
] });
await step('responses_stream', async () => drain(await openai.responses.create({ model: 'o4-mini', input: 'x', stream: true })));
queue.push({ json: { object: 'list', model: 'text-embedding-3-small', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], usage: { prompt_tokens: 7, total_tokens: 7 } } });
await step('embeddings', () => openai.embeddings.create({ model: 'text-embedding-3-small', input: 'x', encoding_format: 'float' }));
queue.push({ json: amsg(cached) });
await step('messages', () => anthropic.messages.create(claude));
queue.push({ json: amsg(cached, [{ type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { q: 'x' } }], 'tool_use') });
await step('messages_tool_use', () => anthropic.messages.create({ ...claude, tools: [{ name: 'lookup', input_schema: { type: 'object' } }] }));
queue.push({ sse: [messageStart, ...firstBlock, ...messageEnd] });
await step('messages_stream', async () => drain(await anthropic.messages.create({ ...claude, stream: true })));
queue.push({ sse: [messageStart, ...firstBlock, ...messageEnd] });
await step('messages_stream_helper', () => anthropic.messages.stream(claude).finalMessage());
queue.push({ status: 529, json: overloaded });
await step('messages_529', () => anthropic.messages.create(claude));
// The input was reported (message_start), the output never was.
queue.push({ sse: [messageStart, ...firstBlock, { event: 'error', data: overloaded }] });
await step('messages_stream_error', async () => drain(await anthropic.messages.create({ ...claude, stream: true })));
await close();
process.stdout.write(JSON.stringify(outcomes) + '\\n');
`,
    ['--import', 'agent-autopsy/register'],
  );
  expect(JSON.parse(stdout).filter(([, outcome]: string[]) => outcome !== 'ok')).toEqual([
    ['messages_529', 'OverloadedError'],
    ['messages_stream_error', 'APIError'],
  ]);
  // The shares as the providers state them: OpenAI's cached and reasoning tokens, what Anthropic's cache read and wrote.
  const chat = { type: 'llm_call_end', model: 'gpt-4o', input_tokens: 100, output_tokens: 20, tokens_used: 120, cache_read_input_tokens: 80, reasoning_tokens: 15 };
  const o4 = { type: 'llm_call_end', model: 'o4-mini', input_tokens: 200, output_tokens: 40, tokens_used: 240, cache_read_input_tokens: 150, reasoning_tokens: 30 };
  const cache = { cache_read_input_tokens: 3000, cache_creation_input_tokens: 1000 };
  const claude = { type: 'llm_call_end', model: 'claude-sonnet-4-6', input_tokens: 4010, output_tokens: 50, tokens_used: 4060, ...cache };
  expect(ends(events)).toEqual([
    chat,
    chat,
    chat,
    { type: 'llm_call_end', model: 'gpt-4o' },
    o4,
    o4,
    { type: 'llm_call_end', model: 'text-embedding-3-small', input_tokens: 7, tokens_used: 7 },
    claude,
    claude,
    claude,
    claude,
    { type: 'llm_call_error', model: 'claude-sonnet-4-6', error_type: 'overloaded_error', http_status: 529 },
    { type: 'llm_call_error', model: 'claude-sonnet-4-6', input_tokens: 4010, tokens_used: 4010, ...cache, error_type: 'overloaded_error' },
  ]);
  const { latency_seconds: _latency, ...usage } = report.llm_usage;
  expect(usage).toEqual({
    calls: 13,
    errors: 2,
    input_tokens: 3 * 100 + 2 * 200 + 7 + 5 * 4010,
    output_tokens: 3 * 20 + 2 * 40 + 4 * 50,
    total_tokens: 3 * 120 + 2 * 240 + 7 + 4 * 4060 + 4010,
    cache_read_input_tokens: 3 * 80 + 2 * 150 + 5 * 3000,
    cache_creation_input_tokens: 5 * 1000,
    reasoning_tokens: 3 * 15 + 2 * 30,
    // The streamed call without usage, which the totals leave out.
    calls_without_tokens: 1,
    by_model: {
      // The streamed call without usage states no shares either; the embedding none at all.
      'gpt-4o': { calls: 4, errors: 0, input_tokens: 300, output_tokens: 60, cache_read_input_tokens: 240, reasoning_tokens: 45, calls_without_tokens: 1 },
      'o4-mini': { calls: 2, errors: 0, input_tokens: 400, output_tokens: 80, cache_read_input_tokens: 300, reasoning_tokens: 60 },
      'text-embedding-3-small': { calls: 1, errors: 0, input_tokens: 7, output_tokens: 0 },
      'claude-sonnet-4-6': { calls: 6, errors: 2, input_tokens: 5 * 4010, output_tokens: 200, cache_read_input_tokens: 15000, cache_creation_input_tokens: 5000 },
    },
    errors_by_type: { overloaded_error: 2 },
    errors_by_status: { '529': 1 },
  });
});

it('zero code: a Responses call that fails inside a 200 (response.failed, an error event) is counted under its error code', async () => {
  // Both end as llm_call_error; errors_by_type had them as "unknown", so a rate limit or a server
  // error sent this way was not told apart (nor diagnosed) by its type.
  const receiver = await startOtlpReceiver();
  const { events, report } = await run(
    `
import OpenAI from 'openai';
${QUEUE_SERVER}
const openai = new OpenAI({ baseURL: url + '/v1', apiKey: 'sk-test', maxRetries: 0 });
const usage = { input_tokens: 200, input_tokens_details: { cached_tokens: 150 }, output_tokens: 40, output_tokens_details: { reasoning_tokens: 30 }, total_tokens: 240 };
const response = (status, usage, extra = {}) => ({ id: 'resp_1', object: 'response', created_at: 1, status, model: 'o4-mini-2025-04-16', output: [], usage, ...extra });
const created = { event: 'response.created', data: { type: 'response.created', sequence_number: 0, response: response('in_progress', null) } };
const drain = async (stream) => { try { for await (const _ of stream); } catch {} };
queue.push({ sse: [created, { event: 'response.failed', data: { type: 'response.failed', sequence_number: 1, response: response('failed', usage, { error: { code: 'server_error', message: 'The model failed' } }) } }] });
await drain(await openai.responses.create({ model: 'o4-mini', input: 'x', stream: true }));
queue.push({ sse: [created, { event: 'error', data: { type: 'error', sequence_number: 1, code: 'rate_limit_exceeded', message: 'Slow down', param: null } }] });
await drain(await openai.responses.create({ model: 'o4-mini', input: 'x', stream: true }));
queue.push({ sse: [created, { event: 'error', data: { type: 'error', sequence_number: 1, code: null, message: 'Something went wrong', param: null } }] });
await drain(await openai.responses.create({ model: 'o4-mini', input: 'x', stream: true }));
await close();
`,
    ['--import', 'agent-autopsy/register'],
    { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
  ).finally(() => receiver.close());
  expect(llmCallEnds(events, ['input_tokens', 'output_tokens', 'error', 'error_type'])).toEqual([
    { type: 'llm_call_error', input_tokens: 200, output_tokens: 40, error: 'The model failed', error_type: 'server_error' },
    { type: 'llm_call_error', error: 'Slow down', error_type: 'rate_limit_exceeded' },
    { type: 'llm_call_error', error: 'Something went wrong' },
  ]);
  expect(report.llm_usage).toMatchObject({ calls: 3, errors: 3, input_tokens: 200, output_tokens: 40, errors_by_type: { server_error: 1, rate_limit_exceeded: 1 } });
  // The spans name the code too, and without one the conventions' fallback: every failed span has an error.type.
  const spans = [...receiver.spans].sort((a, b) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : 1));
  expect(spans.map((span) => [span.status.code, span.attributes['error.type']])).toEqual([
    [2, 'server_error'],
    [2, 'rate_limit_exceeded'],
    [2, '_OTHER'],
  ]);
});
