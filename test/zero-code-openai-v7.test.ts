import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runNode } from './helpers/childProcess';
import { readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * openai 7.x (npm's `latest`), with the zero-code flag, as CommonJS and as an ES module. Its engines
 * ask for Node 22; its client runs on Node 20 all the same, and this checks that the flag records
 * what it records for 6.x. The package is installed as `openai-v7` (an npm alias beside 6.x) and
 * copied into the app's own node_modules as `openai`: the instrumentation hooks the module by name.
 */

let appDir = '';

const CALLS = `
const server = await startFakeLlmServer({ script: ['ok', { kind: 'rate_limit', retryAfterMs: 10 }, 'ok', { kind: 'ok', firstChunkDelayMs: 50 }, 'auth', 'ok', 'ok'] });
const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test-0123456789abcdefghij', maxRetries: 1 });
await client.chat.completions.create({ model: 'plain', messages: [{ role: 'user', content: 'hi' }] });
await client.chat.completions.create({ model: 'retried', messages: [{ role: 'user', content: 'hi' }] });
const stream = await client.chat.completions.create({ model: 'streamed', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
for await (const _ of stream);
await client.chat.completions.create({ model: 'refused', messages: [{ role: 'user', content: 'hi' }] }).catch(() => undefined);
await client.responses.create({ model: 'responses', input: 'hi' });
await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hi' });
await server.close();
`;

beforeAll(() => {
  appDir = tempRunDir('.tmp-', join(REPO_ROOT, 'test'));
  cpSync(join(REPO_ROOT, 'node_modules', 'openai-v7'), join(appDir, 'node_modules', 'openai'), { recursive: true });
  writeFileSync(join(appDir, 'app.mjs'), `import OpenAI from 'openai';\nimport { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';\n${CALLS}`);
  writeFileSync(join(appDir, 'app.cjs'), `const OpenAI = require('openai');\n(async () => {\nconst { startFakeLlmServer } = await import('../../examples/fake-llm-server.mjs');\n${CALLS}\n})();\n`);
});

describe('the zero-code flag with openai 7', () => {
  it.each([
    ['app.mjs', '--import'],
    ['app.cjs', '--require'],
  ])('%s (%s): every call, with its tokens, retries, first chunk and failure', async (app, flag) => {
    const runDir = tempRunDir('autopsy-openai-v7-');
    const result = await runNode(join(appDir, app), { cwd: appDir, nodeArgs: [flag, 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: runDir, NODE_OPTIONS: '' }, timeoutMs: 60_000 });
    expect([result.code, result.stderr]).toEqual([0, '']);
    const ends = readTrackerDocument(runDir)
      .events.filter((event) => event.type === 'llm_call_end' || event.type === 'llm_call_error')
      .map((event) => {
        const { model, operation, input_tokens, error_type, http_status, failed_attempts, time_to_first_chunk } = event.data;
        return { type: event.type, model, operation, input_tokens, error_type, http_status, failed_attempts, first_chunk: typeof time_to_first_chunk };
      });
    const call = (model: string, fields: Record<string, unknown> = {}) => ({
      type: 'llm_call_end',
      model,
      operation: 'chat',
      input_tokens: 1,
      error_type: undefined,
      http_status: undefined,
      failed_attempts: undefined,
      first_chunk: 'undefined',
      ...fields,
    });
    expect(ends).toEqual([
      call('plain'),
      call('retried', { failed_attempts: 1 }),
      call('streamed', { first_chunk: 'number' }),
      call('refused', { type: 'llm_call_error', input_tokens: undefined, error_type: 'AuthenticationError', http_status: 401 }),
      call('responses'),
      call('text-embedding-3-small', { operation: 'embeddings' }),
    ]);
    const report = readReport(runDir);
    expect(report.llm_usage).toMatchObject({ calls: 6, errors: 1, retried_calls: 1, failed_attempts: 1 });
    expect(report.diagnoses.map((diagnosis) => diagnosis.id)).toEqual(['auth_failure']);
  });
});
