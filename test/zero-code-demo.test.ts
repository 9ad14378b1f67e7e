import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { REPO_ROOT, runNode } from './helpers/childProcess';
import { readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * The demo wraps each openai call in its own llmCall(). Run with the zero-code flag, the openai
 * instrumentation adds a span inside each of those: it is folded into the app's llm span, so the
 * autopsy counts every call once, with the same failures, usage and diagnoses as without the flag.
 */

const runDirs: string[] = [];
afterAll(() => {
  for (const dir of runDirs) rmSync(dir, { recursive: true, force: true });
});

async function demo(nodeArgs: string[]): Promise<string> {
  const dir = tempRunDir('autopsy-zero-code-demo-');
  runDirs.push(dir);
  const result = await runNode(join(REPO_ROOT, 'examples', 'demo.mjs'), { nodeArgs, args: ['--out', dir], env: { AGENT_AUTOPSY_DIR: dir }, timeoutMs: 90_000 });
  expect(result.code).toBe(0);
  return dir;
}

it('counts each LLM call once with the instrumentation nested inside llmCall()', async () => {
  const plain = await demo([]);
  const zeroCode = await demo(['--import', 'agent-autopsy/register']);
  const [a, b] = [readReport(plain), readReport(zeroCode)];
  const failures = (report: typeof a) => {
    const { critical_failures, ...rest } = report.failure_analysis;
    return { ...rest, critical_failures: critical_failures.map(({ timestamp: _at, ...failure }) => failure) };
  };
  expect(failures(b)).toEqual(failures(a));
  expect(b.llm_usage.calls).toBe(a.llm_usage.calls);
  expect(b.llm_usage.errors_by_status).toEqual(a.llm_usage.errors_by_status);
  // The same counts; the instrumented calls also state their shares (the fake server's replies say 0 cached, 0 reasoning).
  const counts = (report: typeof a) =>
    Object.fromEntries(Object.entries(report.llm_usage.by_model).map(([model, { calls, errors, input_tokens, output_tokens }]) => [model, { calls, errors, input_tokens, output_tokens }]));
  expect(counts(b)).toEqual(counts(a));
  expect(a.llm_usage.by_model['gpt-4o']).not.toHaveProperty('cache_read_input_tokens');
  expect(b.llm_usage.by_model['gpt-4o']).toMatchObject({ cache_read_input_tokens: 0, reasoning_tokens: 0 });
  // slow_stage compares the stages' wall-clock durations, which a loaded machine stretches in one
  // run and not the other; every other diagnosis comes from the events themselves.
  const ids = (report: typeof a) => report.diagnoses.map((diagnosis) => diagnosis.id).filter((id) => id !== 'slow_stage');
  expect(ids(b)).toEqual(ids(a));
  const types = (dir: string) => readTrackerDocument(dir).events.map((event) => event.type);
  expect(types(zeroCode)).toEqual(types(plain));
  // The nested spans were really there: their response details reached the app's events.
  const withResponseModel = readTrackerDocument(zeroCode).events.filter((event) => event.type === 'llm_call_end' && event.data.response_model !== undefined);
  expect(withResponseModel.length).toBeGreaterThan(0);
  expect(readTrackerDocument(plain).events.some((event) => event.data.response_model !== undefined)).toBe(false);
});
