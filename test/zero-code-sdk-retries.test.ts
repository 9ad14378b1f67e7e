import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AutopsyReport } from '../analyzers/reportTypes';
import { messagesFor } from '../analyzers/messages';
import { REPO_ROOT, runNode, writeScript } from './helpers/childProcess';
import { llmCallEnds } from './helpers/llmEvents';
import { readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * Zero code, the SDKs' own retries: the real `openai` and `@anthropic-ai/sdk` clients, left at
 * their default `maxRetries` (2), against the fake server on 127.0.0.1 answering 429 with
 * `retry-after: 0` (and 5xx). The server sees every attempt (`x-stainless-retry-count`: 0, 1, 2);
 * the agent sees one error per call. The events say how many attempts failed before each outcome
 * (`failed_attempts`), the failures stay counted per call, and the autopsy says how many requests
 * lay behind them instead of telling the user to honour retry-after, which the SDK already did.
 */

const CLI = join(REPO_ROOT, 'dist', 'cli.cjs');
const FIELDS = ['error_type', 'http_status', 'failed_attempts'];

async function cliReport(dir: string): Promise<AutopsyReport> {
  const result = await runNode(CLI, { args: ['report', dir] });
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

describe('zero code: the retries the SDKs make before a call fails', () => {
  it("@anthropic-ai/sdk: its own spans' http.request.resend_count becomes failed_attempts, and the autopsy says how many requests lay behind the failures", async () => {
    const runDir = tempRunDir('autopsy-zero-code-');
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
    const result = await runNode(writeScript(source), { nodeArgs: ['--import', 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: runDir }, timeoutMs: 60_000 });
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
