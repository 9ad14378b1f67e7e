import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { runZeroCode } from './helpers/childProcess';
import { llmCallEnds } from './helpers/llmEvents';
import { logPath, readReport, readTrackerDocument } from './helpers/runFiles';

/**
 * The real `openai` client under `--import agent-autopsy/register`, against
 * examples/fake-llm-server.mjs: a chat stream made without `stream_options: { include_usage: true }`
 * gets no usage from the API (as the real one), so its call states no token count. The
 * instrumentation does not add the option (it would change the stream the app reads: one more
 * chunk, without choices); the report says how many calls its token totals leave out instead.
 */

const APP = `
import OpenAI from 'openai';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer();
const openai = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test-0123456789abcdefghij', maxRetries: 0 });
const chat = (content, extra = {}) => openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content }], ...extra });
/** What the app reads of a stream: its chunks, and whether one carried usage. */
const read = async (stream) => { const seen = { chunks: 0, usage: false }; for await (const chunk of stream) { seen.chunks++; if (chunk.usage) seen.usage = true; } return seen; };
const seen = [];
seen.push(await read(await chat('hello stream', { stream: true })));
seen.push(await read(await chat('hello stream', { stream: true, stream_options: { include_usage: true } })));
seen.push(await read(await chat('another one', { stream: true })));
await chat('hello chat');
// A stream cut off half way fails: not counted as a call without tokens.
server.script([{ kind: 'reset', midStream: true }]);
try { await read(await chat('cut off', { stream: true })); } catch (error) { seen.push(error.constructor.name); }
await server.close();
process.stdout.write(JSON.stringify(seen) + '\\n');
`;

it('a chat stream without include_usage states no tokens, the report counts it in calls_without_tokens and says so', async () => {
  const { result, runDir } = await runZeroCode(APP, 'autopsy-zero-code-stream-usage-');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  // The app's streams are as the API sent them: no usage chunk unless asked for.
  expect(JSON.parse(result.stdout)).toEqual([{ chunks: 11, usage: false }, { chunks: 12, usage: true }, { chunks: 11, usage: false }, 'TypeError']);

  const { events } = readTrackerDocument(runDir);
  expect(llmCallEnds(events, ['model', 'input_tokens', 'output_tokens', 'tokens_used', 'finish_reasons', 'error_type'])).toEqual([
    { type: 'llm_call_end', model: 'gpt-4o', finish_reasons: ['stop'] },
    { type: 'llm_call_end', model: 'gpt-4o', input_tokens: 3, output_tokens: 12, tokens_used: 15, finish_reasons: ['stop'] },
    { type: 'llm_call_end', model: 'gpt-4o', finish_reasons: ['stop'] },
    { type: 'llm_call_end', model: 'gpt-4o', input_tokens: 3, output_tokens: 12, tokens_used: 15, finish_reasons: ['stop'] },
    { type: 'llm_call_error', model: 'gpt-4o', error_type: 'TypeError' },
  ]);

  const { latency_seconds: _latency, ...usage } = readReport(runDir).llm_usage;
  expect(usage).toEqual({
    calls: 5,
    errors: 1,
    input_tokens: 6,
    output_tokens: 24,
    total_tokens: 30,
    // The usage the fake server sends, as the API's, states these shares.
    cache_read_input_tokens: 0,
    reasoning_tokens: 0,
    calls_without_tokens: 2,
    by_model: { 'gpt-4o': { calls: 5, errors: 1, input_tokens: 6, output_tokens: 24, cache_read_input_tokens: 0, reasoning_tokens: 0, calls_without_tokens: 2 } },
    errors_by_type: { TypeError: 1 },
    errors_by_status: {},
  });
  const md = readFileSync(logPath(runDir, 'autopsy.md'), 'utf8').split('\n');
  expect(md).toContain('| Total tokens | 30 (2 of 5 calls not counted) |');
  expect(md).toContain('The token totals leave out 2 of 5 calls: they stated no token counts. An openai stream states its usage only with stream\\_options: { include\\_usage: true }, and OpenLLMetry\'s and OpenInference\'s instrumentations record none for a stream even then. A call recorded from its HTTP request alone (a client no instrumentation sees, such as an AI SDK provider without telemetry) has none either.');
});
