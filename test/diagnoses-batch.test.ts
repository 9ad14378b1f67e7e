import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { analyzeRunSync } from '../analyzers/readRun';
import { messagesFor } from '../analyzers/messages';
import { init, llmCall, shutdown, stage, task } from '../src/index';
import { tempRunDir } from './helpers/tempDirs';

/**
 * A batch agent (one task per item, one LLM call each) whose key the provider refuses: the report
 * says the key was refused, and neither calls the batch a retry storm nor advises retrying and
 * spreading the load over keys. A task that retries the refused call is a retry storm still.
 */

const AUTH_BODY = '{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}';
let server: Server | undefined;

/** A provider on 127.0.0.1 that refuses every key with a 401. */
async function refusingProvider(): Promise<string> {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(401, { 'content-type': 'application/json' }).end(AUTH_BODY));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/messages`;
}

/** One LLM call the way an app without an SDK makes it: a 401 becomes an error with its status. */
function classify(url: string, ticket: string): Promise<unknown> {
  return llmCall('classify', { model: 'claude-sonnet-4' }, async () => {
    const response = await fetch(url, { method: 'POST', body: JSON.stringify({ ticket }) });
    const body = await response.text();
    if (!response.ok) throw Object.assign(new Error(`${response.status} ${body}`), { name: 'AuthenticationError', status: response.status });
    return body;
  });
}

afterEach(async () => {
  await shutdown();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

describe('a batch of different calls refused with a 401', () => {
  it('is an auth_failure with the key advice, not a retry storm, live and read back; a task retrying the refusal is one', async () => {
    const url = await refusingProvider();
    const dir = tempRunDir();
    init({ outputDir: dir, handleExit: false });
    await stage('triage', async () => {
      for (const ticket of ['T-101', 'T-102', 'T-103', 'T-104', 'T-105', 'T-106']) {
        await task('classify_ticket', { ticket }, () => classify(url, ticket)).catch(() => undefined);
      }
    });
    const live = (await shutdown())!;
    expect(live.llm_usage).toMatchObject({ calls: 6, errors: 6, errors_by_status: { '401': 6 } });
    expect(live.diagnoses.map((d) => [d.id, d.severity, d.evidence.count])).toEqual([['auth_failure', 'critical', 6]]);
    expect(live.fix_suggestions).toEqual([{ priority: 'P0', category: 'api_management', ...messagesFor('en').apiManagementAuthFailures }]);
    const offline = analyzeRunSync(dir).report;
    expect(offline.diagnoses).toEqual(live.diagnoses);
    expect(offline.fix_suggestions).toEqual(live.fix_suggestions);

    // The same refusal retried by one task is a retry storm still, as a consequence of it.
    const retryDir = tempRunDir();
    init({ outputDir: retryDir, handleExit: false });
    await stage('triage', () =>
      task('classify_ticket', { ticket: 'T-101' }, async () => {
        for (let attempt = 0; attempt < 5; attempt++) await classify(url, 'T-101').catch(() => undefined);
      }),
    );
    const retried = (await shutdown())!;
    expect(retried.diagnoses.map((d) => [d.id, d.title, d.evidence.count])).toEqual([
      ['auth_failure', 'LLM calls were rejected: authentication failed (HTTP 401/403, or a key refused as invalid)', 5],
      ['retry_storm', 'Retry storm: the same LLM call failed again and again', 5],
    ]);
    expect(retried.diagnoses[1].suggestion.startsWith('Most likely a consequence of auth_failure: fix that first. Retry only what can succeed (429, 5xx, timeouts; never 400/401/403/404)')).toBe(true);
    expect(analyzeRunSync(retryDir).report.diagnoses).toEqual(retried.diagnoses);
  });
});
