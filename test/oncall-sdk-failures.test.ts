import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AutopsyReport } from '../analyzers/reportTypes';
import type { TruthEvent } from '../src/types';
import { esmAndCommonJsApps, runNode, runZeroCode, writeScript } from './helpers/childProcess';
import { cliReport } from './helpers/cli';
import { readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * What the on-call engineer reads after a zero-code run of an agent whose LLM calls failed the way
 * the real `openai` and `@anthropic-ai/sdk` clients fail against a provider (the fake server on
 * 127.0.0.1): the top diagnosis names the cause the SDK reported, not the crash or the exit code
 * it led to.
 */

const ids = (report: AutopsyReport) => report.diagnoses.map((d) => [d.id, d.evidence.count]);

describe("errors that carry their HTTP status as statusCode (the Vercel AI SDK's, as agent frameworks surface them)", () => {
  // The AI SDK's APICallError and RetryError, as @ai-sdk/provider-utils makes them (a provider 503).
  const AGENT = `import { init, stage } from 'agent-autopsy';
init();
class APICallError extends Error { constructor(message, statusCode) { super(message); this.name = 'AI_APICallError'; this.statusCode = statusCode; } }
class RetryError extends Error { constructor(lastError) { super('Failed after 3 attempts. Last error: ' + lastError.message); this.name = 'AI_RetryError'; this.lastError = lastError; } }
await stage('plan', async () => { throw new APICallError('Service Unavailable', 503); }).catch(() => undefined);
await stage('answer', async () => { throw new RetryError(new APICallError('Service Unavailable', 503)); });
`;

  it('a stage that failed with one, and the crash it led to, have http_status 503: a server error of the provider, not a crash to validate output for', async () => {
    const runDir = tempRunDir('autopsy-status-code-');
    const result = await runNode(writeScript(AGENT), { env: { AGENT_AUTOPSY_DIR: runDir } });
    expect(result.code).toBe(1);
    const failures = readTrackerDocument(runDir).events.filter((event) => event.level === 'ERROR');
    expect(failures.map((event) => [event.type, event.data.stage, event.data.http_status])).toEqual([
      ['stage_error', 'plan', 503],
      ['stage_error', 'answer', 503],
      ['unhandled_rejection', 'answer', 503],
    ]);
    expect(readReport(runDir).diagnoses[0]).toMatchObject({ id: 'llm_server_error' });
  });
});

describe('zero code: failures of the real SDKs are diagnosed by their cause', () => {
  it("Anthropic timeouts and dropped connections (the SDK's own spans: client_timeout_error, connection_error)", async () => {
    const { result, runDir } = await runZeroCode(`
import Anthropic from '@anthropic-ai/sdk';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer({ script: ['timeout', 'timeout', 'reset'] });
const anthropic = new Anthropic({ baseURL: server.anthropicBaseURL, apiKey: 'sk-ant-api03-test0123456789abcdef', maxRetries: 0 });
let failed = 0;
for (const question of ['plan', 'answer', 'review']) {
  try {
    // The short timeout only where a timeout is expected: the dropped connection may take longer on a loaded machine.
    await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: question }] }, { timeout: question === 'review' ? 30_000 : 300 });
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
    expect(readFileSync(join(runDir, 'Memory', 'logs', 'autopsy.md'), 'utf8')).toContain('### 1. LLM calls were rejected: authentication failed (HTTP 401/403, or a key refused as invalid)');
  }, 30_000);

  // The SDK's own span of a failed call has only the error type: a 400 is a bare invalid_request_error.
  const ANTHROPIC_KEY = 'sk-ant-api03-Xy9Kp2Lm4Nq6Rs8Tu0Vw3Yz5Ab7Cd9Ef1Gh';
  const BAD_REQUESTS = `
const server = await startFakeLlmServer({
  contextWindow: 1000,
  handler: (request) => (request.index === 1 ? { kind: 'auth', message: 'invalid x-api-key: ' + request.headers['x-api-key'] } : undefined),
});
const anthropic = new Anthropic({ baseURL: server.anthropicBaseURL, apiKey: '${ANTHROPIC_KEY}', maxRetries: 0 });
const document = 'row 1: value=7\\n'.repeat(1000);
for (const content of ['Summarise: ' + document, 'hello']) {
  try {
    await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content }] });
  } catch (error) {
    console.log(error.constructor.name);
  }
}
await server.close();
`;

  it.each(esmAndCommonJsApps('Anthropic', '@anthropic-ai/sdk', BAD_REQUESTS))("%s: an Anthropic 400 'prompt is too long' is a context-window overflow, with the message on the SDK's span (redacted)", async (_name, extension, source) => {
    const { result, runDir } = await runZeroCode(source, undefined, extension);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual(['BadRequestError', 'AuthenticationError']);
    const errors = readTrackerDocument(runDir).events.filter((event) => event.type === 'llm_call_error');
    expect(errors.map((event) => [event.data.error, event.data.error_type, event.data.http_status])).toEqual([
      ['400 {"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 3753 tokens > 1000 maximum"},"request_id":"req_fake000000"}', 'invalid_request_error', 400],
      ['401 {"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key: [REDACTED]"},"request_id":"req_fake000001"}', 'authentication_error', 401],
    ]);
    for (const report of [readReport(runDir), await cliReport(runDir)]) {
      expect(ids(report)).toEqual([
        ['auth_failure', 1],
        ['context_length_exceeded', 1],
      ]);
      const overflow = report.diagnoses[1];
      expect(overflow.evidence.span_ids).toEqual([errors[0].span_id]);
      expect(overflow.suggestion).toMatch(/ The window is 1000 tokens; a request needed 3753\.$/);
    }
    for (const file of ['execution_tracker.json', 'execution_tracker_readable.txt', 'latent_analysis_report.json', 'autopsy.md', 'autopsy.html']) {
      expect(readFileSync(join(runDir, 'Memory', 'logs', file), 'utf8')).not.toContain('Xy9Kp2Lm4Nq6');
    }
  });

  // The second call never gets an answer (the SDKs' default timeout is 10 minutes) until the orchestrator ends the process.
  const HUNG_CALL = `
import OpenAI from 'openai';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer({ script: ['ok', 'timeout'], log: (line) => line.includes('timeout') && console.log('waiting') });
const openai = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-proj-test0123456789abcdefghij' });
await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'outline' }] });
await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'write the report' }] });
`;

  /** Calls `kill` once the log at `path` holds two llm_call_start events (checked every 20 ms). */
  function killOnceLogged(path: string, kill: () => void): void {
    const check = () => {
      const starts = readFileSync(path, 'utf8').split('"type":"llm_call_start"').length - 1;
      if (starts >= 2) kill();
      else setTimeout(check, 20);
    };
    check();
  }

  it.each([
    ['SIGTERM', /^by a signal; still waiting on llm "chat gpt-4o" \(open for \d+(?:\.\d+)? s\)$/],
    // Nothing is written after the call's start: the log ends with it.
    ['SIGKILL', /^abruptly, killed or lost \(no clean end recorded\); still waiting on llm "chat gpt-4o" \(its start is the log's last event\)$/],
  ] as const)('an LLM call outside every stage that never came back, then %s: stage_hang names the call, the crash follows from it', async (signal, ending) => {
    const runDir = tempRunDir('autopsy-zero-code-');
    const result = await runNode(writeScript(HUNG_CALL), {
      nodeArgs: ['--import', 'agent-autopsy/register'],
      env: { AGENT_AUTOPSY_DIR: runDir },
      // The kill comes once the log holds the second call's start (events reach the disk within
      // ~25 ms; waiting for it rather than a fixed delay keeps a loaded machine from killing first).
      onStdoutLine: (line, child) => line === 'waiting' && killOnceLogged(join(runDir, 'Memory', 'logs', 'execution_tracker.json'), () => child.kill(signal)),
    });
    expect(result.signal).toBe(signal);
    // After a kill the log is not one JSON document: its event lines are.
    const lines = readFileSync(join(runDir, 'Memory', 'logs', 'execution_tracker.json'), 'utf8').split('\n');
    const events = lines.filter((line) => line.startsWith('{"timestamp"')).map((line) => JSON.parse(line.replace(/,$/, '')) as TruthEvent);
    const start = events.filter((event) => event.type === 'llm_call_start')[1];
    const reports = signal === 'SIGKILL' ? [await cliReport(runDir)] : [readReport(runDir), await cliReport(runDir)];
    for (const report of reports) {
      expect(report.diagnoses.map((d) => [d.id, d.severity])).toEqual([
        ['stage_hang', 'critical'],
        ['crash', 'critical'],
      ]);
      const [hang, crash] = report.diagnoses;
      expect(hang.evidence).toMatchObject({ count: 1, span_ids: [start.span_id] });
      expect(hang.evidence.examples).toHaveLength(1);
      const [example] = hang.evidence.examples;
      const prefix = 'Work outside every stage was still running when the process ended ';
      expect(example.slice(0, prefix.length)).toBe(prefix);
      expect(example.slice(prefix.length)).toMatch(ending);
      expect(crash.suggestion).toMatch(/^Most likely a consequence of stage_hang: fix that first\. Find what ended the process/);
    }
  });
});
