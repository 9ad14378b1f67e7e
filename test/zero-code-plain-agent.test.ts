import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runNode } from './helpers/childProcess';
import { logPath, readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * examples/plain-agent.mjs and .cjs know nothing of agent-autopsy. Started with the register
 * flag and environment variables only, they leave a full autopsy: every LLM call and every
 * python3 run, the rate limit and the syntax error diagnosed, in the configured language.
 */

const runDirs: string[] = [];
afterAll(() => {
  for (const dir of runDirs) rmSync(dir, { recursive: true, force: true });
});

function runDir(): string {
  const dir = tempRunDir('autopsy-plain-agent-');
  runDirs.push(dir);
  return dir;
}

const STDOUT = [
  'plain-agent: rate limited, retrying in 20 ms',
  'plain-agent: plan: Fake reply to: "You plan data analysis tasks.". The answer is 42.',
  'plain-agent: first run failed',
  'plain-agent: second run printed 2.5',
  'plain-agent: embedded 2 notes',
  'plain-agent: summary: Summary: the problem is well posed, the model fits the data, and the result is stable.',
  '',
].join('\n');

const TYPES = [
  'llm_call_start', 'llm_call_error', // 429, the agent waits and retries
  'llm_call_start', 'llm_call_end', // plan
  'llm_call_start', 'llm_call_end', // code, streamed
  'code_exec_start', 'code_exec_error', // python3 with a syntax error
  'code_exec_start', 'code_exec_end', // python3 after the repair
  'llm_call_start', 'llm_call_end', // embeddings
  'llm_call_start', 'llm_call_end', // summary, Responses API
];

const CORRECT = 'def solve(values):\n    return sum(values) / len(values)\n\nprint(solve([1, 2, 3, 4]))\n';
const BROKEN = CORRECT.replace('return sum(values)', 'return sum(values');

describe.each([
  ['plain-agent.mjs', '--import'],
  ['plain-agent.cjs', '--require'],
] as const)('examples/%s with %s agent-autopsy/register', (file, flag) => {
  it('becomes a full autopsy without a line of code', async () => {
    const dir = runDir();
    const result = await runNode(join(REPO_ROOT, 'examples', file), {
      nodeArgs: [flag, 'agent-autopsy/register'],
      env: { AGENT_AUTOPSY_DIR: dir, AGENT_AUTOPSY_CHILD_PROCESSES: 'true', AGENT_AUTOPSY_LOCALE: 'zh-CN', OTEL_SERVICE_NAME: 'plain-agent' },
      timeoutMs: 60_000,
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(STDOUT);

    const events = readTrackerDocument(dir).events;
    expect(events.map((event) => event.type)).toEqual(TYPES);
    expect(events[1].data).toMatchObject({ model: 'gpt-4o-mini', provider: 'openai', error_type: 'RateLimitError', http_status: 429 });
    expect(events[3].data).toMatchObject({ model: 'gpt-4o-mini', input_tokens: 21, output_tokens: 17, tokens_used: 38, finish_reasons: ['stop'] });
    expect(events[5].data).toMatchObject({ input_tokens: 10, output_tokens: 25, finish_reasons: ['stop'] });
    expect(events[7].data).toMatchObject({ command: `python3 -c ${BROKEN}`, language: 'python', exit_code: 1, error: expect.stringMatching(/^exit code 1: SyntaxError: /), error_type: 'NonZeroExitCode' });
    expect(String(events[7].data.stderr_tail)).toContain("SyntaxError: '(' was never closed");
    expect(events[9].data).toMatchObject({ command: `python3 -c ${CORRECT}`, language: 'python', exit_code: 0 });
    expect(events[11].data).toMatchObject({ model: 'text-embedding-3-small', operation: 'embeddings', input_tokens: 5 });
    expect(events[13].data).toMatchObject({ model: 'gpt-4o-mini', input_tokens: 8, output_tokens: 22, finish_reasons: ['stop'] });

    const report = readReport(dir);
    expect(report.run).toMatchObject({ service_name: 'plain-agent', locale: 'zh-CN' });
    expect(report.failure_analysis.failures_by_type).toEqual({ llm_call_error: 1, code_exec_error: 1 });
    expect(report.diagnoses.map((diagnosis) => diagnosis.id)).toEqual(expect.arrayContaining(['rate_limited', 'code_syntax_errors']));
    expect(report.llm_usage).toMatchObject({ calls: 5, errors: 1, input_tokens: 44, output_tokens: 64, errors_by_status: { '429': 1 } });
    expect(report.exit).toMatchObject({ reason: 'normal', exit_code: 0 });
    expect(existsSync(logPath(dir, 'autopsy.md'))).toBe(true);
    expect(existsSync(logPath(dir, 'autopsy.html'))).toBe(true);
    expect(readFileSync(logPath(dir, 'execution_tracker.json'), 'utf8')).not.toContain('sk-fake-plain-agent-key');
  });
});

it('without the flag the same agent runs untouched and writes nothing', async () => {
  const dir = join(runDir(), 'never-created');
  const result = await runNode(join(REPO_ROOT, 'examples', 'plain-agent.mjs'), { env: { AGENT_AUTOPSY_DIR: dir }, timeoutMs: 60_000 });
  expect(result.code).toBe(0);
  expect(result.stdout).toBe(STDOUT);
  expect(existsSync(dir)).toBe(false);
});

it('child processes are only recorded when asked for', async () => {
  const dir = runDir();
  const result = await runNode(join(REPO_ROOT, 'examples', 'plain-agent.mjs'), { nodeArgs: ['--import', 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: dir }, timeoutMs: 60_000 });
  expect(result.code).toBe(0);
  const types = readTrackerDocument(dir).events.map((event) => event.type);
  expect(types).toEqual(TYPES.filter((type) => !type.startsWith('code_exec')));
});
