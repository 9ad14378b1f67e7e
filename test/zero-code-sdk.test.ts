import { readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TruthEvent } from '../src/types';
import { runNode, STEP_HELPER, writeScript, type ChildResult } from './helpers/childProcess';
import { llmCallEnds } from './helpers/llmEvents';
import { logPath, readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * Zero code, real clients: an app that only uses the official `openai` and `@anthropic-ai/sdk`
 * clients against the fake LLM server, started with `--import agent-autopsy/register` (ESM) or
 * `--require agent-autopsy/register` (CommonJS), gets one llm_call_* pair per call with model,
 * provider, usage, finish reason and, on failure, error type and HTTP status.
 */

const OPENAI_KEY = 'sk-test-0123456789abcdefghij';
const ANTHROPIC_KEY = 'sk-ant-test-0123456789abcdef';

const BODY = `
const server = await startFakeLlmServer();
const openai = new OpenAI({ baseURL: server.baseURL, apiKey: '${OPENAI_KEY}', maxRetries: 0 });
const anthropic = new Anthropic({ baseURL: server.anthropicBaseURL, apiKey: '${ANTHROPIC_KEY}', maxRetries: 0 });
${STEP_HELPER}
const chat = (content, extra = {}, options) => openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content }], ...extra }, options);
const drain = async (stream, stopAfter = Infinity) => { let n = 0; for await (const _ of stream) if (++n >= stopAfter) break; };
const message = (content, extra = {}, options) => anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 200, messages: [{ role: 'user', content }], ...extra }, options);

await step('chat', [], () => chat('hello chat'));
await step('chat_stream', [], async () => drain(await chat('hello stream', { stream: true, stream_options: { include_usage: true } })));
await step('responses', [], () => openai.responses.create({ model: 'gpt-4o-mini', input: 'hello responses' }));
await step('responses_stream', [], async () => drain(await openai.responses.create({ model: 'gpt-4o-mini', input: 'hello responses stream', stream: true })));
await step('embeddings', [], () => openai.embeddings.create({ model: 'text-embedding-3-small', input: 'embed me' }));
await step('chat_429', [{ kind: 'rate_limit', retryAfter: 2 }], () => chat('limited'));
await step('chat_401', ['auth'], () => chat('who am i'));
await step('chat_500', ['server_error'], () => chat('boom'));
await step('chat_timeout', ['timeout'], () => chat('slow', {}, { timeout: 300 }));
await step('responses_stream_429', ['rate_limit'], async () => drain(await openai.responses.create({ model: 'gpt-4o-mini', input: 'limited stream', stream: true })));
await step('chat_stream_reset', [{ kind: 'reset', midStream: true }], async () => drain(await chat('cut off', { stream: true })));
await step('chat_stream_break', [], async () => drain(await chat('stop early', { stream: true }), 2));
// Helpers built on create(): they chain and parse the same response (it must be read once).
await step('chat_stream_helper', [], () => openai.chat.completions.stream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'helper stream' }] }).finalChatCompletion());
await step('responses_stream_helper', [], () => openai.responses.stream({ model: 'gpt-4o-mini', input: 'helper responses' }).finalResponse());
await step('chat_parse', [], () => openai.chat.completions.parse({ model: 'gpt-4o', messages: [{ role: 'user', content: 'parse me' }] }));
await step('chat_with_response', [], async () => { const { response } = await chat('with response').withResponse(); if (response.status !== 200) throw new Error('status'); });
await step('chat_parse_429', ['rate_limit'], () => openai.chat.completions.parse({ model: 'gpt-4o', messages: [{ role: 'user', content: 'parse limited' }] }));
await step('messages', [], () => message('hello claude'));
await step('messages_stream', [], async () => drain(await message('hello claude stream', { stream: true })));
await step('messages_stream_helper', [], () => anthropic.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 200, messages: [{ role: 'user', content: 'hello helper' }] }).finalMessage());
await step('messages_529', ['overloaded'], () => message('busy'));
await step('messages_401', ['auth'], () => message('who am i'));
await step('messages_stream_429', ['rate_limit'], async () => drain(await message('limited stream', { stream: true })));
await step('messages_timeout', ['timeout'], () => message('slow', {}, { timeout: 300 }));
await server.close();
process.stdout.write(JSON.stringify(outcomes) + '\\n');
`;

const ESM = `import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
${BODY}`;

const CJS = `'use strict';
const { OpenAI } = require('openai');
const Anthropic = require('@anthropic-ai/sdk');
(async () => {
const { startFakeLlmServer } = await import('../../examples/fake-llm-server.mjs');
${BODY}
})();
`;

/** What the app itself saw: the instrumentation changes nothing about results and errors. */
const OUTCOMES = [
  ['chat', 'ok'],
  ['chat_stream', 'ok'],
  ['responses', 'ok'],
  ['responses_stream', 'ok'],
  ['embeddings', 'ok'],
  ['chat_429', 'RateLimitError', 429],
  ['chat_401', 'AuthenticationError', 401],
  ['chat_500', 'InternalServerError', 500],
  ['chat_timeout', 'APIConnectionTimeoutError', null],
  ['responses_stream_429', 'RateLimitError', 429],
  ['chat_stream_reset', 'TypeError', null],
  ['chat_stream_break', 'ok'],
  ['chat_stream_helper', 'ok'],
  ['responses_stream_helper', 'ok'],
  ['chat_parse', 'ok'],
  ['chat_with_response', 'ok'],
  ['chat_parse_429', 'RateLimitError', 429],
  ['messages', 'ok'],
  ['messages_stream', 'ok'],
  ['messages_stream_helper', 'ok'],
  ['messages_529', 'OverloadedError', 529],
  ['messages_401', 'AuthenticationError', 401],
  ['messages_stream_429', 'RateLimitError', 429],
  ['messages_timeout', 'APIConnectionTimeoutError', null],
];

const openai = { provider: 'openai', operation: 'chat' };
const anthropic = { model: 'claude-sonnet-4-6', provider: 'anthropic', operation: 'chat' };

/** The end (or error) event of every call, in order, reduced to the fields that matter. */
const ENDS = [
  { type: 'llm_call_end', model: 'gpt-4o', ...openai, input_tokens: 3, output_tokens: 12, tokens_used: 15, finish_reasons: ['stop'] },
  { type: 'llm_call_end', model: 'gpt-4o', ...openai, input_tokens: 3, output_tokens: 12, tokens_used: 15, finish_reasons: ['stop'] },
  { type: 'llm_call_end', model: 'gpt-4o-mini', ...openai, input_tokens: 4, output_tokens: 13, tokens_used: 17, finish_reasons: ['stop'] },
  { type: 'llm_call_end', model: 'gpt-4o-mini', ...openai, input_tokens: 6, output_tokens: 15, tokens_used: 21, finish_reasons: ['stop'] },
  { type: 'llm_call_end', model: 'text-embedding-3-small', provider: 'openai', operation: 'embeddings', input_tokens: 2, tokens_used: 2 },
  { type: 'llm_call_error', model: 'gpt-4o', ...openai, error_type: 'RateLimitError', http_status: 429 },
  { type: 'llm_call_error', model: 'gpt-4o', ...openai, error_type: 'AuthenticationError', http_status: 401 },
  { type: 'llm_call_error', model: 'gpt-4o', ...openai, error_type: 'InternalServerError', http_status: 500 },
  { type: 'llm_call_error', model: 'gpt-4o', ...openai, error_type: 'APIConnectionTimeoutError' },
  { type: 'llm_call_error', model: 'gpt-4o-mini', ...openai, error_type: 'RateLimitError', http_status: 429 },
  { type: 'llm_call_error', model: 'gpt-4o', ...openai, error_type: 'TypeError' },
  // The app stopped reading after two chunks: the call ends there, without a finish reason.
  { type: 'llm_call_end', model: 'gpt-4o', ...openai },
  // Helpers (the chat stream helper asks for no usage).
  { type: 'llm_call_end', model: 'gpt-4o', ...openai, finish_reasons: ['stop'] },
  { type: 'llm_call_end', model: 'gpt-4o-mini', ...openai, input_tokens: 4, output_tokens: 13, tokens_used: 17, finish_reasons: ['stop'] },
  { type: 'llm_call_end', model: 'gpt-4o', ...openai, input_tokens: 2, output_tokens: 11, tokens_used: 13, finish_reasons: ['stop'] },
  { type: 'llm_call_end', model: 'gpt-4o', ...openai, input_tokens: 4, output_tokens: 13, tokens_used: 17, finish_reasons: ['stop'] },
  { type: 'llm_call_error', model: 'gpt-4o', ...openai, error_type: 'RateLimitError', http_status: 429 },
  { type: 'llm_call_end', ...anthropic, input_tokens: 3, output_tokens: 12, tokens_used: 15, finish_reasons: ['end_turn'] },
  { type: 'llm_call_end', ...anthropic, input_tokens: 5, output_tokens: 14, tokens_used: 19, finish_reasons: ['end_turn'] },
  { type: 'llm_call_end', ...anthropic, input_tokens: 3, output_tokens: 12, tokens_used: 15, finish_reasons: ['end_turn'] },
  { type: 'llm_call_error', ...anthropic, error_type: 'overloaded_error', http_status: 529 },
  { type: 'llm_call_error', ...anthropic, error_type: 'authentication_error', http_status: 401 },
  { type: 'llm_call_error', ...anthropic, error_type: 'rate_limit_error', http_status: 429 },
  { type: 'llm_call_error', ...anthropic, error_type: 'client_timeout_error' },
];

const FIELDS = ['model', 'provider', 'operation', 'input_tokens', 'output_tokens', 'tokens_used', 'finish_reasons', 'error_type', 'http_status'];

const ends = (events: TruthEvent[]) => llmCallEnds(events, FIELDS);

const cleanup: string[] = [];
afterAll(() => {
  for (const path of cleanup) rmSync(path, { recursive: true, force: true });
});

async function runApp(source: string, extension: '.mjs' | '.cjs', env: Record<string, string> = {}): Promise<{ result: ChildResult; runDir: string }> {
  const script = writeScript(source, extension);
  const runDir = tempRunDir('autopsy-zero-code-');
  cleanup.push(dirname(script), runDir);
  const flag = extension === '.mjs' ? '--import' : '--require';
  const result = await runNode(script, { nodeArgs: [flag, 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: runDir, ...env }, timeoutMs: 60_000 });
  return { result, runDir };
}

describe.each([
  ['ESM app, --import', ESM, '.mjs'],
  ['CommonJS app, --require', CJS, '.cjs'],
] as const)('%s', (_name, source, extension) => {
  it('records every openai and anthropic call with usage, finish reason, error type and HTTP status', async () => {
    const { result, runDir } = await runApp(source, extension);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(OUTCOMES);

    const tracker = readTrackerDocument(runDir);
    const llm = tracker.events.filter((event) => event.type.startsWith('llm_call_'));
    expect(llm).toHaveLength(2 * ENDS.length);
    // Each call is a start followed by its own end or error.
    for (let i = 0; i < llm.length; i += 2) {
      expect(llm[i].type).toBe('llm_call_start');
      expect(llm[i + 1].span_id).toBe(llm[i].span_id);
    }
    expect(ends(tracker.events)).toEqual(ENDS);
    expect(tracker.events.find((event) => event.type === 'llm_call_error')?.data.error).toMatch(/^429 Rate limit reached for gpt-4o/);

    const report = readReport(runDir);
    expect(report.unfinished).toEqual([]);
    expect(report.llm_usage.calls).toBe(24);
    expect(report.llm_usage.errors).toBe(11);
    // The stream the app stopped reading and the chat stream helper's (no include_usage) state no tokens.
    expect(report.llm_usage.calls_without_tokens).toBe(2);
    expect(report.llm_usage.errors_by_status).toEqual({ '401': 2, '429': 4, '500': 1, '529': 1 });
    expect(report.exit).toMatchObject({ reason: 'normal', exit_code: 0 });

    // Neither prompts, replies nor API keys are written without captureContent.
    const written = readFileSync(logPath(runDir, 'execution_tracker.json'), 'utf8');
    for (const secret of ['hello chat', 'Fake reply', OPENAI_KEY, ANTHROPIC_KEY]) expect(written).not.toContain(secret);
    expect(llm.some((event) => 'prompt' in event.data || 'response' in event.data)).toBe(false);
  });
});

it("records a vision prompt's text whole and its inline data without the bytes, with AGENT_AUTOPSY_CAPTURE_CONTENT=true", async () => {
  const image = `data:image/png;base64,${'iVBORw0KGgo'.repeat(4000)}`;
  const app = `
import OpenAI from 'openai';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer();
const openai = new OpenAI({ baseURL: server.baseURL, apiKey: '${OPENAI_KEY}', maxRetries: 0 });
const image = '${image}';
await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: image } }, { type: 'text', text: 'what is in this picture?' }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }, { type: 'input_audio', input_audio: { data: 'UklGRiQAAABXQVZF', format: 'wav' } }] }] });
await openai.responses.create({ model: 'gpt-4o-mini', input: [{ role: 'user', content: [{ type: 'input_image', image_url: image }, { type: 'input_text', text: 'and this one?' }] }] });
await server.close();
`;
  const { result, runDir } = await runApp(app, '.mjs', { AGENT_AUTOPSY_CAPTURE_CONTENT: 'true' });
  expect([result.code, result.stderr]).toEqual([0, '']);
  const prompts = readTrackerDocument(runDir).events.filter((event) => event.type === 'llm_call_end').map((event) => JSON.parse(String(event.data.prompt)));
  const leftOut = `data:image/png;base64,[${image.length - 'data:image/png;base64,'.length} characters left out]`;
  expect(prompts).toEqual([
    [
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: leftOut } },
          { type: 'text', text: 'what is in this picture?' },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
          { type: 'input_audio', input_audio: { data: '[16 characters of base64 left out]', format: 'wav' } },
        ],
      },
    ],
    [{ role: 'user', content: [{ type: 'input_image', image_url: leftOut }, { type: 'input_text', text: 'and this one?' }] }],
  ]);
  expect(readFileSync(logPath(runDir, 'execution_tracker.json'), 'utf8')).not.toContain('iVBORw0KGgo');
});

it('records prompts and replies with AGENT_AUTOPSY_CAPTURE_CONTENT=true', async () => {
  const { result, runDir } = await runApp(ESM, '.mjs', { AGENT_AUTOPSY_CAPTURE_CONTENT: 'true' });
  expect(result.code).toBe(0);
  const done = readTrackerDocument(runDir).events.filter((event) => event.type === 'llm_call_end');
  const content = done.map((event) => [event.data.prompt, event.data.response]);
  expect(content[0]).toEqual(['[{"role":"user","content":"hello chat"}]', '[{"role":"assistant","content":"Fake reply to: \\"hello chat\\". The answer is 42."}]']);
  expect(content[1]).toEqual(['[{"role":"user","content":"hello stream"}]', '[{"role":"assistant","content":"Fake reply to: \\"hello stream\\". The answer is 42."}]']);
  expect(content[2]).toEqual(['[{"role":"user","content":"hello responses"}]', '[{"role":"assistant","content":"Fake reply to: \\"hello responses\\". The answer is 42."}]']);
  expect(content[3][1]).toBe('[{"role":"assistant","content":"Fake reply to: \\"hello responses stream\\". The answer is 42."}]');
  // Anthropic's own spans, in the GenAI "parts" shape.
  expect(content[10]).toEqual([
    '[{"role":"user","parts":[{"type":"text","content":"hello claude"}]}]',
    '[{"role":"assistant","parts":[{"type":"text","content":"Fake reply to: \\"hello claude\\". The answer is 42."}]}]',
  ]);
  const written = readFileSync(logPath(runDir, 'execution_tracker.json'), 'utf8');
  for (const secret of [OPENAI_KEY, ANTHROPIC_KEY]) expect(written).not.toContain(secret);
});
