import { describe, expect, it } from 'vitest';
import { messagesFor } from '../analyzers/messages';
import { esmAndCommonJsApps, runZeroCode } from './helpers/childProcess';
import { cliReport } from './helpers/cli';
import { llmCallEnds } from './helpers/llmEvents';
import { readReport, readTrackerDocument } from './helpers/runFiles';

/**
 * Zero code, the SDKs' own retries: the real `openai` and `@anthropic-ai/sdk` clients, left at
 * their default `maxRetries` (2), against the fake server on 127.0.0.1 answering 429 with
 * `retry-after: 0` (and 5xx). The server sees every attempt (`x-stainless-retry-count`: 0, 1, 2);
 * the agent sees one error per call. The events say how many attempts failed before each outcome
 * (`failed_attempts`), the failures stay counted per call, and the autopsy says how many requests
 * lay behind them instead of telling the user to honour retry-after, which the SDK already did.
 */

const FIELDS = ['error_type', 'http_status', 'failed_attempts'];

// Three calls rate-limited on every attempt, a stream and an embedding whose first two attempts
// failed, and a call made with maxRetries: 0.
const OPENAI_APP = `
const limited = { kind: 'rate_limit', retryAfter: 0 };
const failed = { status: 500, retryAfter: 0 };
const overloaded = { kind: 'overloaded', retryAfter: 0 };
const server = await startFakeLlmServer({
  script: [limited, limited, limited, limited, limited, limited, limited, limited, limited, failed, failed, 'ok', overloaded, overloaded, overloaded, limited],
});
const openai = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-proj-test0123456789abcdefghij' });
const chat = (content, extra = {}, options) => openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content }], ...extra }, options);
async function step(fn) {
  try {
    await fn();
    console.log('ok');
  } catch (error) {
    console.log(error.constructor.name);
  }
}
for (const question of ['plan', 'answer', 'review']) await step(() => chat(question));
await step(async () => { for await (const _ of await chat('stream', { stream: true })); });
await step(() => openai.embeddings.create({ model: 'text-embedding-3-small', input: 'embed me' }));
const once = { maxRetries: 0 };
await step(() => chat('once', {}, once));
// The app's own options object is left as it was.
console.log(JSON.stringify(once), Object.getOwnPropertySymbols(once).length);
console.log(server.requests.map((request) => request.headers['x-stainless-retry-count']).join(','));
await server.close();
`;

describe('zero code: the retries the SDKs make before a call fails', () => {
  it.each(esmAndCommonJsApps('OpenAI', 'openai', OPENAI_APP))('openai, %s: each call records its failed attempts, and the autopsy counts the requests behind the failures', async (_name, extension, source) => {
    const { result, runDir } = await runZeroCode(source, undefined, extension);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines.slice(0, -1)).toEqual(['RateLimitError', 'RateLimitError', 'RateLimitError', 'ok', 'InternalServerError', 'RateLimitError', '{"maxRetries":0} 0']);
    // What the server saw: the SDK made up to three attempts per call, numbering them itself.
    expect(lines.at(-1)).toBe('0,1,2,0,1,2,0,1,2,0,1,2,0,1,2,0');
    const events = readTrackerDocument(runDir).events;
    expect(llmCallEnds(events, FIELDS)).toEqual([
      { type: 'llm_call_error', error_type: 'RateLimitError', http_status: 429, failed_attempts: 2 },
      { type: 'llm_call_error', error_type: 'RateLimitError', http_status: 429, failed_attempts: 2 },
      { type: 'llm_call_error', error_type: 'RateLimitError', http_status: 429, failed_attempts: 2 },
      { type: 'llm_call_end', failed_attempts: 2 },
      { type: 'llm_call_error', error_type: 'InternalServerError', http_status: 503, failed_attempts: 2 },
      { type: 'llm_call_error', error_type: 'RateLimitError', http_status: 429 },
    ]);
    for (const report of [readReport(runDir), await cliReport(runDir)]) {
      // Failures the agent saw: one per call.
      expect(report.failure_analysis.failures_by_type).toEqual({ llm_call_error: 5 });
      expect(report.llm_usage).toMatchObject({ calls: 6, errors: 5, retried_calls: 5, failed_attempts: 10 });
      expect(report.diagnoses.map((d) => [d.id, d.evidence.count])).toEqual([
        ['rate_limited', 4],
        ['llm_server_error', 1],
      ]);
      const [rate, server] = report.diagnoses;
      expect(rate.evidence.examples[0]).toBe('4 failed calls, at least 10 HTTP requests: 3 of them were retried (twice each) before the agent saw the error');
      // retry-after: 0 asked for no wait: nothing to quote.
      expect(rate.suggestion).toBe(messagesFor('en').diagnoses.suggestionsAfterRetries.rate_limited);
      expect(rate.suggestion).not.toMatch(/honour the retry-after/);
      expect(server.evidence.examples[0]).toBe('1 failed call, 3 HTTP requests: it was retried twice before the agent saw the error');
      expect(server.suggestion).toBe(messagesFor('en').diagnoses.suggestionsAfterRetries.llm_server_error);
      expect(report.fix_suggestions).toEqual([{ priority: 'P0', category: 'api_management', ...messagesFor('en').apiManagementAfterRetries }]);
    }
  });

  it("openai: a client subclass whose prepareRequest does not call the client's (a documented hook) is counted too", async () => {
    const source = `
import OpenAI from 'openai';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer({ script: [{ kind: 'rate_limit', retryAfter: 0 }, { status: 500, retryAfter: 0 }, 'ok'] });
class TaggingClient extends OpenAI {
  async prepareRequest(request) {
    request.headers = { ...Object.fromEntries(new Headers(request.headers)), 'x-team': 'agents' };
  }
}
const openai = new TaggingClient({ baseURL: server.baseURL, apiKey: 'sk-proj-test0123456789abcdefghij' });
await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
console.log(server.requests.map((request) => request.headers['x-stainless-retry-count'] + '/' + request.headers['x-team']).join(','));
await server.close();
`;
    const { result, runDir } = await runZeroCode(source);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('0/agents,1/agents,2/agents');
    expect(llmCallEnds(readTrackerDocument(runDir).events, FIELDS)).toEqual([{ type: 'llm_call_end', failed_attempts: 2 }]);
  });

  it("@anthropic-ai/sdk: its own spans' http.request.resend_count becomes failed_attempts, and the autopsy says how many requests lay behind the failures", async () => {
    // The Anthropic SDK takes retry-after: 0 as no advice and backs off 0.5–1 s; retry-after-ms keeps the test quick.
    const source = `
import Anthropic from '@anthropic-ai/sdk';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
const limited = { kind: 'rate_limit', retryAfter: 0, retryAfterMs: 1 };
const overloaded = { kind: 'overloaded', retryAfter: 0, retryAfterMs: 1 };
const server = await startFakeLlmServer({ script: [limited, limited, limited, limited, limited, limited, limited, limited, limited, overloaded, overloaded, 'ok'] });
const anthropic = new Anthropic({ baseURL: server.anthropicBaseURL, apiKey: 'sk-ant-api03-test0123456789abcdef' });
let failed = 0;
for (const question of ['plan', 'answer', 'review', 'summary']) {
  try {
    await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: question }] });
    console.log('ok');
  } catch (error) {
    failed++;
    console.log(error.constructor.name);
  }
}
console.log(server.requests.map((request) => request.headers['x-stainless-retry-count']).join(','));
await server.close();
if (failed) process.exitCode = 1;
`;
    const { result, runDir } = await runZeroCode(source);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    expect(result.stdout.trim().split('\n')).toEqual(['RateLimitError', 'RateLimitError', 'RateLimitError', 'ok', '0,1,2,0,1,2,0,1,2,0,1,2']);
    const events = readTrackerDocument(runDir).events;
    expect(llmCallEnds(events, FIELDS)).toEqual([
      { type: 'llm_call_error', error_type: 'rate_limit_error', http_status: 429, failed_attempts: 2 },
      { type: 'llm_call_error', error_type: 'rate_limit_error', http_status: 429, failed_attempts: 2 },
      { type: 'llm_call_error', error_type: 'rate_limit_error', http_status: 429, failed_attempts: 2 },
      { type: 'llm_call_end', failed_attempts: 2 },
    ]);
    for (const report of [readReport(runDir), await cliReport(runDir)]) {
      expect(report.failure_analysis.failures_by_type).toEqual({ llm_call_error: 3 });
      expect(report.llm_usage).toMatchObject({ calls: 4, errors: 3, retried_calls: 4, failed_attempts: 8 });
      expect(report.diagnoses.map((d) => [d.id, d.evidence.count])).toEqual([
        ['rate_limited', 3],
        ['crash', 1],
      ]);
      const rate = report.diagnoses[0];
      expect(rate.evidence.examples[0]).toBe('3 failed calls, 9 HTTP requests: each was retried twice before the agent saw the error');
      expect(rate.suggestion.startsWith(messagesFor('en').diagnoses.suggestionsAfterRetries.rate_limited)).toBe(true);
      expect(rate.suggestion).not.toMatch(/honour the retry-after/);
    }
  });
});
