import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { TruthEvent } from '../src/types';
import { runNode, writeScript } from './helpers/childProcess';
import { readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * Streams that do not run to their end, with the real clients under `--import agent-autopsy/register`:
 * the app stops reading, or the server drops the connection after half the events. The call's end
 * event then states no finish reason: the model never said why it stopped (a Responses stream's
 * `response.created` says `in_progress`, which is not a finish reason).
 */

const APP = `
import OpenAI from 'openai';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer();
const openai = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test-0123456789abcdefghij', maxRetries: 0 });
const outcomes = [];
async function step(name, rules, fn) {
  server.script(rules);
  try {
    outcomes.push([name, await fn()]);
  } catch (error) {
    outcomes.push([name, error.constructor.name, error.status ?? null]);
  }
}
const drain = async (stream, stopAfter = Infinity) => { let n = 0; for await (const _ of stream) if (++n >= stopAfter) break; return n; };
const responses = (input) => openai.responses.create({ model: 'gpt-4o-mini', input, stream: true });
await step('responses_break', [], async () => drain(await responses('stop early'), 3));
await step('responses_reset', [{ kind: 'reset', midStream: true }], async () => drain(await responses('cut off')));
await server.close();
process.stdout.write(JSON.stringify(outcomes) + '\\n');
`;

const FIELDS = ['model', 'provider', 'finish_reasons', 'error_type', 'http_status'];

function ends(events: TruthEvent[]): Array<Record<string, unknown>> {
  return events
    .filter((event) => event.type === 'llm_call_end' || event.type === 'llm_call_error')
    .map((event) => {
      const out: Record<string, unknown> = { type: event.type };
      for (const field of FIELDS) if (event.data[field] !== undefined) out[field] = event.data[field];
      return out;
    });
}

const cleanup: string[] = [];
afterAll(() => {
  for (const path of cleanup) rmSync(path, { recursive: true, force: true });
});

it('records Responses streams cut short without a finish reason', async () => {
  const script = writeScript(APP, '.mjs');
  const runDir = tempRunDir('autopsy-zero-code-streams-');
  cleanup.push(dirname(script), runDir);
  const result = await runNode(script, { nodeArgs: ['--import', 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: runDir }, timeoutMs: 60_000 });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual([
    ['responses_break', 3],
    ['responses_reset', 'TypeError', null],
  ]);

  expect(ends(readTrackerDocument(runDir).events)).toEqual([
    { type: 'llm_call_end', model: 'gpt-4o-mini', provider: 'openai' },
    { type: 'llm_call_error', model: 'gpt-4o-mini', provider: 'openai', error_type: 'TypeError' },
  ]);
  const report = readReport(runDir);
  expect(report.unfinished).toEqual([]);
  expect(report.llm_usage.calls).toBe(2);
  expect(report.llm_usage.errors).toBe(1);
});
