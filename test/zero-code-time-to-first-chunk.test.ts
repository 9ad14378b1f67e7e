import { describe, expect, it } from 'vitest';
import { analyzeRunSync } from '../analyzers/readRun';
import type { AutopsyReport } from '../analyzers/reportTypes';
import type { TruthEvent } from '../src/types';
import { runNode, writeScript } from './helpers/childProcess';
import { startOtlpReceiver, type ReceivedSpan } from './helpers/otlpReceiver';
import { readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';
import { timerSeconds } from './helpers/timerSlack';

/**
 * The time to first chunk of the real clients' streamed calls under `--import agent-autopsy/register`,
 * against examples/fake-llm-server.mjs holding each stream's first event back FIRST_CHUNK_MS after
 * its headers: `gen_ai.response.time_to_first_chunk` (seconds) on the span, sent over OTLP to a
 * receiver on 127.0.0.1, and `time_to_first_chunk` in the call's end or error event. The zero-code
 * openai spans time the answer's first chunk (a chat chunk with a choice, a Responses `….delta`
 * event); @anthropic-ai/sdk's own spans set the attribute themselves (its first
 * `content_block_delta`), and the log reads it from them. And a streamed call still open when a
 * signal ends the process: its `llm_call_unfinished` and the hang's evidence say whether its
 * answer had started.
 */

const FIRST_CHUNK_MS = 300;
/** The client's wait before its retry: far longer than any first chunk here, so a time that counted it would show. */
const RETRY_WAIT_MS = 3000;
const TTFC = 'gen_ai.response.time_to_first_chunk';

const CLIENTS = `
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer({ firstChunkDelayMs: ${FIRST_CHUNK_MS} });
const openai = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test-0123456789abcdefghij', maxRetries: 0 });
const anthropic = new Anthropic({ baseURL: server.anthropicBaseURL, apiKey: 'sk-ant-test-0123456789abcdef', maxRetries: 0 });
const drain = async (stream) => { let n = 0; for await (const _ of stream) n++; return n; };
const chat = (model, extra = {}, options) => openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'hello there' }], ...extra }, options);
const responses = (model) => openai.responses.create({ model, input: 'hello there', stream: true });
const messages = (model) => anthropic.messages.create({ model, max_tokens: 100, messages: [{ role: 'user', content: 'hello there' }], stream: true });
`;

const APP = `${CLIENTS}
const outcomes = [];
async function step(name, rules, fn) {
  server.script(rules);
  try {
    outcomes.push([name, await fn()]);
  } catch (error) {
    outcomes.push([name, error.constructor.name]);
  }
}
await step('chat', [], async () => drain(await chat('chat-stream', { stream: true })));
// Rate-limited once, the client waits RETRY_WAIT_MS (retry-after-ms), then streams: timed from the retry.
await step('chat retried', [{ status: 429, retryAfterMs: ${RETRY_WAIT_MS} }], async () => drain(await chat('chat-retried', { stream: true }, { maxRetries: 1 })));
await step('responses', [], async () => drain(await responses('responses-stream')));
await step('messages', [], async () => drain(await messages('messages-stream')));
await step('not streamed', [], async () => (await chat('not-streamed')).choices.length);
// Failures before the answer's first chunk: the connection drops after the headers, after a
// Responses stream's response.created and response.in_progress, after Anthropic's message_start,
// content_block_start and ping.
await step('chat dropped early', [{ kind: 'reset', midStream: true, midStreamAfter: 0 }], async () => drain(await chat('chat-dropped-early', { stream: true })));
await step('responses dropped early', [{ kind: 'reset', midStream: true, midStreamAfter: 2 }], async () => drain(await responses('responses-dropped-early')));
await step('messages dropped early', [{ kind: 'reset', midStream: true, midStreamAfter: 3 }], async () => drain(await messages('messages-dropped-early')));
// After it: half of the stream came.
await step('chat dropped late', [{ kind: 'reset', midStream: true }], async () => drain(await chat('chat-dropped-late', { stream: true })));
await server.close();
process.stdout.write(JSON.stringify(outcomes) + '\\n');
`;

/** The llm_call_end / llm_call_error events by model, with the time to first chunk where they have one. */
function ends(events: TruthEvent[]): Array<[string, unknown, string]> {
  return events.filter((event) => event.type === 'llm_call_end' || event.type === 'llm_call_error').map((event) => [String(event.data.model), event.data.time_to_first_chunk, event.type]);
}

describe('the time to first chunk of the real clients\' streams', () => {
  it('is on the span, in seconds, at least the delay of the first chunk, and in the end or error event', async () => {
    const receiver = await startOtlpReceiver();
    const runDir = tempRunDir('autopsy-zero-code-ttfc-');
    let spans: ReceivedSpan[];
    try {
      const result = await runNode(writeScript(APP), {
        nodeArgs: ['--import', 'agent-autopsy/register'],
        env: { AGENT_AUTOPSY_DIR: runDir, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
        timeoutMs: 60_000,
      });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual([
        ['chat', 11],
        ['chat retried', 11],
        ['responses', 17],
        ['messages', 14],
        ['not streamed', 1],
        ['chat dropped early', 'TypeError'],
        ['responses dropped early', 'TypeError'],
        ['messages dropped early', 'TypeError'],
        ['chat dropped late', 'TypeError'],
      ]);
      spans = await receiver.waitForSpans(9);
    } finally {
      await receiver.close();
    }

    const events = readTrackerDocument(runDir).events;
    const timed = (value: unknown) => typeof value === 'number' && value >= timerSeconds(FIRST_CHUNK_MS);
    expect(ends(events).map(([model, ttfc, type]) => [model, ttfc === undefined ? 'none' : timed(ttfc) ? 'timed' : ttfc, type])).toEqual([
      ['chat-stream', 'timed', 'llm_call_end'],
      ['chat-retried', 'timed', 'llm_call_end'],
      ['responses-stream', 'timed', 'llm_call_end'],
      ['messages-stream', 'timed', 'llm_call_end'],
      ['not-streamed', 'none', 'llm_call_end'],
      ['chat-dropped-early', 'none', 'llm_call_error'],
      ['responses-dropped-early', 'none', 'llm_call_error'],
      ['messages-dropped-early', 'none', 'llm_call_error'],
      ['chat-dropped-late', 'timed', 'llm_call_error'],
    ]);

    // The span's attribute is the event's value (the event's is rounded to microseconds).
    const eventOf = new Map(events.filter((event) => event.type.startsWith('llm_call_') && event.type !== 'llm_call_start').map((event) => [event.span_id, event]));
    const attributes = spans.map((span) => [span.attributes['gen_ai.request.model'], span.attributes[TTFC]] as const);
    expect(attributes.map(([model, value]) => [model, value === undefined ? 'none' : timed(value) ? 'timed' : value]).sort()).toEqual(
      [
        ['chat-stream', 'timed'],
        ['chat-retried', 'timed'],
        ['responses-stream', 'timed'],
        ['messages-stream', 'timed'],
        ['not-streamed', 'none'],
        ['chat-dropped-early', 'none'],
        ['responses-dropped-early', 'none'],
        ['messages-dropped-early', 'none'],
        ['chat-dropped-late', 'timed'],
      ].sort(),
    );
    // From the request that answered: the retry, not the first attempt the 429 answered.
    const retried = events.find((event) => event.type === 'llm_call_end' && event.data.model === 'chat-retried')!;
    expect(retried.data.failed_attempts).toBe(1);
    expect(retried.data.time_to_first_chunk).toBeLessThan(RETRY_WAIT_MS / 1000);
    expect(retried.data.duration).toBeGreaterThanOrEqual(timerSeconds(RETRY_WAIT_MS + FIRST_CHUNK_MS));
    for (const span of spans) {
      const value = span.attributes[TTFC];
      if (typeof value === 'number') expect(eventOf.get(span.spanId)!.data.time_to_first_chunk).toBe(Math.round(value * 1e6) / 1e6);
    }
  });
});

/** How long the hung streams stay silent, at least, before the signal. */
const QUIET_MS = 200;

const HUNG = `${CLIENTS}
import { llmCall, stage } from 'agent-autopsy';
server.script([
  // As many events as the reader waits for (got): a later one would start the quiet time after it began.
  { kind: 'timeout', midStream: true, midStreamAfter: 5, match: { model: 'stalls' } },
  { kind: 'timeout', midStream: true, midStreamAfter: 0, match: { model: 'never-starts' } },
  { kind: 'timeout', midStream: true, match: { model: 'claude-stalls' } },
  { kind: 'timeout', midStream: true, midStreamAfter: 5, match: { model: 'wrapped' } },
]);
// Each stream's reader says when it has what it will get: the server holds the rest back.
const got = { stalls: 5, wrapped: 5, 'claude-stalls': 1 };
const waiting = new Set(Object.keys(got));
const atLeast = async (ms) => {
  const until = performance.now() + ms;
  for (let left = ms; left > 0; left = until - performance.now()) await new Promise((resolve) => setTimeout(resolve, Math.ceil(left)));
};
const read = async (model, stream) => {
  let n = 0;
  for await (const _ of stream) {
    if (++n === got[model]) {
      waiting.delete(model);
      // At least QUIET_MS by the clock the chunks are timed with (a timer alone can fire early).
      if (waiting.size === 0) void atLeast(${QUIET_MS}).then(() => process.stdout.write('READY\\n'));
    }
  }
};
await Promise.all([
  stage('stalled', async () => read('stalls', await chat('stalls', { stream: true }))),
  stage('silent', async () => read('never-starts', await chat('never-starts', { stream: true }))),
  stage('anthropic', async () => read('claude-stalls', await messages('claude-stalls'))),
  stage('wrapped', async () => read('wrapped', await llmCall({ model: 'wrapped', provider: 'openai' }, () => chat('wrapped', { stream: true })))),
]);
`;

describe('a streamed call still open when a signal ends the process', () => {
  it('says in its llm_call_unfinished and in the hang\'s evidence whether its answer had started, and how long it had then been silent', async () => {
    const runDir = tempRunDir('autopsy-zero-code-ttfc-hang-');
    const result = await runNode(writeScript(HUNG), {
      nodeArgs: ['--import', 'agent-autopsy/register'],
      env: { AGENT_AUTOPSY_DIR: runDir },
      timeoutMs: 60_000,
      onStdoutLine: (line, child) => {
        if (line === 'READY') child.kill('SIGTERM');
      },
    });
    expect(result.signal).toBe('SIGTERM');

    const events = readTrackerDocument(runDir).events;
    const unfinished = events
      .filter((event) => event.type === 'llm_call_unfinished')
      .map((event) => ({ model: event.data.model, stream: event.data.stream, first: event.data.time_to_first_chunk, quiet: event.data.seconds_since_last_chunk }))
      .sort((a, b) => String(a.model).localeCompare(String(b.model)));
    expect(unfinished).toEqual([
      // @anthropic-ai/sdk's own span says when the first chunk came, not the last.
      { model: 'claude-stalls', stream: true, first: expect.any(Number), quiet: undefined },
      { model: 'never-starts', stream: true, first: undefined, quiet: undefined },
      { model: 'stalls', stream: true, first: expect.any(Number), quiet: expect.any(Number) },
      // The app's llmCall() around the request: the request's stream speaks for it.
      { model: 'wrapped', stream: true, first: expect.any(Number), quiet: expect.any(Number) },
    ]);
    for (const { first } of unfinished) if (first !== undefined) expect(first).toBeGreaterThanOrEqual(timerSeconds(FIRST_CHUNK_MS));
    for (const { quiet } of unfinished) if (quiet !== undefined) expect(quiet).toBeGreaterThanOrEqual(QUIET_MS / 1000);

    const report = readReport(runDir);
    const hang = report.diagnoses.find((diagnosis) => diagnosis.id === 'stage_hang')!;
    const clauses = (examples: string[]) => examples.map((example) => example.replace(/^(\w+) was still running.*still waiting on llm "([^"]+)" \(open for [\d.]+ s\); /, '$1 / $2 / ').replace(/\d+(\.\d+)?/g, 'N'));
    const expected = [
      'stalled / chat stalls / its streamed answer had started after N s (first chunk), then nothing came for the last N s',
      'silent / chat never-starts / its streamed answer had not started (no chunk came)',
      'anthropic / anthropic.messages.create / its streamed answer had started after N s (first chunk)',
      'wrapped / chat wrapped / its streamed answer had started after N s (first chunk), then nothing came for the last N s',
    ];
    // The evidence keeps 3 examples (the stages in the order they started).
    expect(clauses(hang.evidence.examples)).toEqual(expected.slice(0, hang.evidence.examples.length));
    expect(hang.evidence.count).toBe(4);

    // The report rebuilt from the log on disk says the same.
    const read: AutopsyReport = analyzeRunSync(runDir).report;
    const streamed = (list: AutopsyReport['unfinished']) => list.filter((span) => span.kind === 'llm').map(({ age_seconds: _age, started: _started, ...span }) => span);
    expect(streamed(read.unfinished)).toEqual(streamed(report.unfinished));
    expect(read.diagnoses.find((diagnosis) => diagnosis.id === 'stage_hang')!.evidence.examples).toEqual(hang.evidence.examples);
  });
});
