import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AutopsyReport } from '../analyzers/reportTypes';
import { REPO_ROOT, runNode, runZeroCode } from './helpers/childProcess';
import { readReport, readTrackerDocument } from './helpers/runFiles';

/**
 * What the on-call engineer reads after a zero-code run of an agent whose LLM calls failed the way
 * the real `openai` and `@anthropic-ai/sdk` clients fail against a provider (the fake server on
 * 127.0.0.1): the top diagnosis names the cause the SDK reported, not the crash or the exit code
 * it led to.
 */

const CLI = join(REPO_ROOT, 'dist', 'cli.cjs');

async function cliReport(dir: string): Promise<AutopsyReport> {
  const result = await runNode(CLI, { args: ['report', dir] });
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

const ids = (report: AutopsyReport) => report.diagnoses.map((d) => [d.id, d.evidence.count]);

describe('zero code: failures of the real SDKs are diagnosed by their cause', () => {
  it("Anthropic timeouts and dropped connections (the SDK's own spans: client_timeout_error, connection_error)", async () => {
    const { result, runDir } = await runZeroCode(`
import Anthropic from '@anthropic-ai/sdk';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer({ script: ['timeout', 'timeout', 'reset'] });
const anthropic = new Anthropic({ baseURL: server.anthropicBaseURL, apiKey: 'sk-ant-api03-test0123456789abcdef', timeout: 300, maxRetries: 0 });
let failed = 0;
for (const question of ['plan', 'answer', 'review']) {
  try {
    await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: question }] });
  } catch (error) {
    failed++;
    console.log(error.constructor.name);
  }
}
await server.close();
if (failed) process.exitCode = 1;
`);
    expect(result.stdout.trim().split('\n')).toEqual(['APIConnectionTimeoutError', 'APIConnectionTimeoutError', 'APIConnectionError']);
    expect(result.code).toBe(1);
    const errors = readTrackerDocument(runDir).events.filter((event) => event.type === 'llm_call_error');
    expect(errors.map((event) => event.data.error_type)).toEqual(['client_timeout_error', 'client_timeout_error', 'connection_error']);
    for (const report of [readReport(runDir), await cliReport(runDir)]) {
      expect(ids(report)).toEqual([
        ['llm_timeout', 2],
        ['llm_server_error', 1],
        ['crash', 1],
      ]);
      const [timeout, server, crash] = report.diagnoses;
      expect(timeout).toMatchObject({ severity: 'high', confidence: 0.95 });
      expect(timeout.evidence.examples).toEqual(['llm_call_error (unknown): client_timeout_error']);
      expect(timeout.evidence.span_ids).toEqual([errors[0].span_id, errors[1].span_id]);
      // Medium by itself, as severe as the exit it led to.
      expect(server).toMatchObject({ severity: 'high', confidence: 0.86 });
      expect(server.evidence.span_ids).toEqual([errors[2].span_id]);
      // The exit code 1 came from the last failure the agent saw: the dropped connection.
      expect(crash.suggestion).toMatch(/^Most likely a consequence of llm_server_error: fix that first\. /);
    }
  });

  it('an OpenAI client made without a key (openai 6: "Missing credentials") is an auth failure, not just a crash', async () => {
    const { result, runDir } = await runZeroCode(`
import OpenAI from 'openai';
delete process.env.OPENAI_API_KEY;
const openai = new OpenAI();
await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
`);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('OpenAIError: Missing credentials.');
    for (const report of [readReport(runDir), await cliReport(runDir)]) {
      expect(ids(report)).toEqual([
        ['auth_failure', 1],
        ['crash', 1],
      ]);
      const [auth, crash] = report.diagnoses;
      expect(auth.severity).toBe('critical');
      expect(auth.evidence.examples).toEqual([
        'unhandled_rejection (unknown): Missing credentials. Please pass an `apiKey`, `workloadIdentity`, `adminAPIKey`, or set the `OPENAI_API_KEY` or `OPENAI_ADMIN_KEY` environment variable.',
      ]);
      expect(crash.suggestion).toMatch(/^Most likely a consequence of auth_failure: fix that first\. /);
    }
    expect(readFileSync(join(runDir, 'Memory', 'logs', 'autopsy.md'), 'utf8')).toContain('### 1. LLM calls were rejected: authentication failed (HTTP 401/403)');
  }, 30_000);
});
