import { expect, it } from 'vitest';
import type { TruthEvent } from '../src/types';
import { runNode, writeScript } from './helpers/childProcess';
import { llmCallEnds } from './helpers/llmEvents';
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

async function run(source: string, nodeArgs: string[] = []) {
  const script = writeScript(source, '.mjs');
  const runDir = tempRunDir('autopsy-llm-usage-');
  const result = await runNode(script, { nodeArgs, env: { AGENT_AUTOPSY_DIR: runDir, OUT: runDir } });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return { runDir, stdout: result.stdout, events: readTrackerDocument(runDir).events, report: readReport(runDir) };
}

const FIELDS = ['name', 'model', 'input_tokens', 'output_tokens', 'tokens_used', 'error_type', 'http_status'];
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
await close();
await shutdown();
`);
  expect(ends(events)).toEqual([
    { type: 'llm_call_end', name: 'output_only', model: 'claude-sonnet-4-6', input_tokens: 30, output_tokens: 20, tokens_used: 50 },
    { type: 'llm_call_end', name: 'input_only', model: 'claude-sonnet-4-6', input_tokens: 400, output_tokens: 5, tokens_used: 405 },
    { type: 'llm_call_end', name: 'explicit_total', model: 'claude-sonnet-4-6', input_tokens: 50, output_tokens: 6, tokens_used: 1000 },
    { type: 'llm_call_end', name: 'two_calls', model: 'm', input_tokens: 7, output_tokens: 3, tokens_used: 10 },
  ]);
  expect(report.llm_usage).toMatchObject({ calls: 4, input_tokens: 487, output_tokens: 34, total_tokens: 1465 });
});
