import { describe, expect, it } from 'vitest';
import type { TruthEvent } from '../src/types';
import { expectSameBehaviour } from './helpers/autopsyRun';
import { runNode, writeScript, type ChildResult } from './helpers/childProcess';
import { readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * A callback that returns a Promise subclass gets that very object back from the wrapper: the real
 * `openai` client's APIPromise keeps `.withResponse()` and `.asResponse()` through `llmCall()`, its
 * body is read only when the app asks for it, and its failures reach the app as the SDK's own
 * error classes, without an extra unhandled rejection. Child processes, so that an unhandled
 * rejection would show as it does in an app: on stderr, with exit code 1.
 */

const PRELUDE = `
import OpenAI from 'openai';
import { init, llmCall } from 'agent-autopsy';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
if (process.env.RUN_DIR) init({ outputDir: process.env.RUN_DIR });
const server = await startFakeLlmServer();
const openai = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test-0123456789abcdefghij', maxRetries: 0 });
const chat = (content) => openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content }] });
// The baseline is the same app without the library.
const call = process.env.BASELINE ? chat : (content) => llmCall({ model: 'gpt-4o', provider: 'openai' }, () => chat(content));
`;

const APP = `${PRELUDE}
const out = {};
const made = chat('same object');
out.sameObject = llmCall({ model: 'gpt-4o' }, () => made) === made;
await made;
const withResponse = await call('with response').withResponse();
out.withResponse = [withResponse.data.object, withResponse.response.status, typeof withResponse.request_id];
const raw = await call('as response').asResponse();
// The body is the app's to read: nothing read it before.
out.asResponse = [raw.status, (await raw.json()).object];
out.awaited = (await call('awaited')).object;
const failure = async (rule, run) => {
  server.script([rule]);
  try {
    await run();
    return 'no error';
  } catch (error) {
    return [error.constructor.name, error instanceof OpenAI.APIError, error.status];
  }
};
out.withResponse500 = await failure('server_error', () => call('fails').withResponse());
out.awaited429 = await failure({ kind: 'rate_limit', retryAfterMs: 1 }, () => call('limited'));
out.asResponse429 = await failure({ kind: 'rate_limit', retryAfterMs: 1 }, () => call('limited raw').asResponse());
await server.close();
// Give an orphaned rejection, if there were one, the time to end the process.
await new Promise((resolve) => setTimeout(resolve, 50));
process.stdout.write(JSON.stringify(out) + '\\n');
`;

const OUT = {
  sameObject: true,
  withResponse: ['chat.completion', 200, 'string'],
  asResponse: [200, 'chat.completion'],
  awaited: 'chat.completion',
  withResponse500: ['InternalServerError', true, 500],
  awaited429: ['RateLimitError', true, 429],
  asResponse429: ['RateLimitError', true, 429],
};

function llmEnds(events: TruthEvent[]): Array<[string, unknown, unknown]> {
  return events
    .filter((event) => event.type === 'llm_call_end' || event.type === 'llm_call_error')
    .map((event) => [event.type, event.data.error_type, event.data.http_status]);
}

const ENDS = [
  ['llm_call_end', undefined, undefined],
  ['llm_call_end', undefined, undefined],
  ['llm_call_end', undefined, undefined],
  ['llm_call_end', undefined, undefined],
  ['llm_call_error', 'InternalServerError', 500],
  ['llm_call_error', 'RateLimitError', 429],
  ['llm_call_error', 'RateLimitError', 429],
];

async function run(source: string, mode: 'init' | 'zero-code' | 'baseline'): Promise<{ result: ChildResult; runDir: string }> {
  const runDir = tempRunDir('autopsy-subclass-');
  const env: Record<string, string> = mode === 'init' ? { RUN_DIR: runDir } : mode === 'zero-code' ? { AGENT_AUTOPSY_DIR: runDir } : { BASELINE: '1' };
  const nodeArgs = mode === 'zero-code' ? ['--import', 'agent-autopsy/register'] : [];
  const result = await runNode(writeScript(source), { env, nodeArgs, timeoutMs: 30_000 });
  return { result, runDir };
}

describe('llmCall() around the openai client (a Promise subclass)', () => {
  it('returns the APIPromise itself: withResponse() and asResponse() work, failures are the SDK errors, no unhandled rejection', async () => {
    const { result, runDir } = await run(APP, 'init');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(OUT);
    const events = readTrackerDocument(runDir).events;
    expect(llmEnds(events)).toEqual(ENDS);
    const ends = events.filter((event) => event.type.startsWith('llm_call_') && event.type !== 'llm_call_start');
    expect(ends[4].data).toMatchObject({ model: 'gpt-4o', provider: 'openai', error: expect.stringMatching(/^500 /) });
    const report = readReport(runDir);
    expect(report.unfinished).toEqual([]);
    expect(report.llm_usage).toMatchObject({ calls: 7, errors: 3, errors_by_status: { '429': 2, '500': 1 } });
  });

  it('with the zero-code openai instrumentation too: its span folds into the llmCall (usage of parsed replies), none left open', async () => {
    const { result, runDir } = await run(APP, 'zero-code');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(OUT);
    const events = readTrackerDocument(runDir).events;
    // The call made before llmCall() is the instrumentation's own span, beside the llmCall's.
    expect(llmEnds(events)).toEqual([['llm_call_end', undefined, undefined], ...ENDS]);
    const ends = events.filter((event) => event.type === 'llm_call_end');
    // Parsed replies (withResponse, awaited) give their usage to the llmCall; the raw response alone has none.
    expect(ends.map((event) => event.data.tokens_used !== undefined)).toEqual([true, false, true, false, true]);
    expect(readReport(runDir).unfinished).toEqual([]);
  });

  it('a failing call nobody awaits still ends the process as it would without the library', async () => {
    const source = `${PRELUDE}
server.script(['server_error']);
call('ignored');
setTimeout(() => server.close(), 2000).unref();
`;
    const [baseline, instrumented] = await Promise.all([run(source, 'baseline'), run(source, 'init')]);
    expect(baseline.result.code).toBe(1);
    expect(baseline.result.stderr).toContain('InternalServerError: 500');
    expectSameBehaviour({ baseline: baseline.result, instrumented: instrumented.result, dir: instrumented.runDir, baselineDir: baseline.runDir });
    const report = readReport(instrumented.runDir);
    expect(report.exit).toMatchObject({ reason: 'unhandled_rejection' });
  });

  /**
   * An APIPromise whose parse started before the callback returned it: the app's own then() inside
   * the callback, or a library between the client and the app. Sentry 10's openAIIntegration calls
   * then() inside create() and returns a Proxy whose then() is its own promise's (as in
   * @sentry/core's wrapPromiseWithMethods), so no later parse() goes through the APIPromise.
   */
  it.for(['init', 'zero-code'] as const)("an APIPromise whose parse has started (a Sentry-style Proxy, or the app's own then()), %s: the call still ends with its outcome", async (mode) => {
    const source = `${PRELUDE}
const proxied = (original) => {
  const instrumented = original.then((value) => value);
  return new Proxy(original, {
    get(target, prop) {
      const source = prop in Promise.prototype || prop === Symbol.toStringTag ? instrumented : target;
      const value = Reflect.get(source, prop);
      return typeof value === 'function' ? value.bind(source) : value;
    },
  });
};
const out = [];
const ask = (content, wrap) => llmCall({ model: 'gpt-4o', provider: 'openai' }, () => wrap(chat(content)));
out.push((await ask('proxied', proxied)).object);
server.script(['auth']);
out.push(await ask('proxied 401', proxied).catch((error) => error.status));
out.push((await ask('then inside', (promise) => { promise.then(() => undefined); return promise; })).object);
await server.close();
process.stdout.write(JSON.stringify(out) + '\\n');
`;
    const { result, runDir } = await run(source, mode);
    expect(result).toMatchObject({ code: 0, stderr: '', stdout: '["chat.completion",401,"chat.completion"]\n' });
    const events = readTrackerDocument(runDir).events;
    // The tokens come from the zero-code span folded into the call (an llmCall() alone reads none from the reply).
    const tokens = mode === 'zero-code' ? 'number' : 'undefined';
    expect(events.filter((event) => event.type !== 'llm_call_start').map((event) => [event.type, event.data.http_status, typeof event.data.tokens_used])).toEqual([
      ['llm_call_end', undefined, tokens],
      ['llm_call_error', 401, 'undefined'],
      ['llm_call_end', undefined, tokens],
    ]);
    expect(readReport(runDir).unfinished).toEqual([]);
  });
});

