import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { transformSync } from 'esbuild';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { AutopsyReport } from '../analyzers/reportTypes';
import { REPO_ROOT, runNode, writeScript } from './helpers/childProcess';
import { tempRunDir } from './helpers/tempDirs';

/**
 * What the on-call engineer reads first: after a crash, the crash diagnosis must say where the
 * error was thrown (stage, first frame of the agent's own code), and its suggestion must fit how
 * the process ended (a bug in the code is not a signal; a SIGTERM is not bad LLM output); repairs
 * that keep failing on invalid JSON point at JSON mode.
 */

const CLI = join(REPO_ROOT, 'dist', 'cli.cjs');

function reportOf(dir: string): AutopsyReport {
  return JSON.parse(readFileSync(join(dir, 'Memory', 'logs', 'latent_analysis_report.json'), 'utf8'));
}

async function cliReport(dir: string): Promise<AutopsyReport> {
  const result = await runNode(CLI, { args: ['report', dir] });
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

describe('diagnoses for the on-call reader', () => {
  it('names the stage and the frame of a TypeError thrown deep in nested tasks', async () => {
    const dir = tempRunDir('autopsy-oncall-');
    const script = writeScript(`
import { init, stage, task } from 'agent-autopsy';
init({ outputDir: process.argv[2] });
function formatToolResult(result) {
  return result.data.items.map((x) => x.name);
}
await stage('pipeline', () => task('outer', () => task('inner', async () => {
  await new Promise((r) => setTimeout(r, 5));
  return formatToolResult({ status: 'ok' });
})));
`);
    const result = await runNode(script, { args: [dir] });
    expect(result.code).toBe(1);
    const frame = `at formatToolResult (file://${script}:5:22)`;
    expect(result.stderr).toContain(frame);
    for (const report of [reportOf(dir), await cliReport(dir)]) {
      expect(report.diagnoses.map((d) => d.id)).toEqual(['crash']);
      const [crash] = report.diagnoses;
      expect(crash.evidence.examples).toEqual([
        'The process ended by an unhandled promise rejection, exit code 1',
        "TypeError: Cannot read properties of undefined (reading 'items')",
        `Thrown in stage pipeline ${frame}`,
      ]);
      expect(crash.suggestion).toBe(
        'Catch errors at each stage boundary and save a checkpoint so the run can resume, and fix the error where the stack points (the evidence names the first frame of your own code); if the bad value came from the model, validate LLM output before using it (JSON mode or structured outputs, schema checks).',
      );
    }
    expect(readFileSync(join(dir, 'Memory', 'logs', 'autopsy.md'), 'utf8')).toContain(`- Thrown in stage pipeline ${frame.replace(/_/g, '\\_')}\n`);
  });

  it("names the frame of a crash at a CommonJS module's top level (Object.<anonymous>), with the API and zero code", async () => {
    for (const zeroCode of [false, true]) {
      const dir = tempRunDir('autopsy-oncall-');
      const script = writeScript(
        `'use strict';
${zeroCode ? '' : "require('agent-autopsy').init({ outputDir: process.argv[2] });"}
const config = JSON.parse('{"model": "gpt-4o"}');
const tools = config.tools.map((tool) => tool.name);
`,
        '.cjs',
      );
      const result = await runNode(script, zeroCode ? { nodeArgs: ['--require', 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: dir } } : { args: [dir] });
      expect(result.code).toBe(1);
      const frame = `at Object.<anonymous> (${script}:4:28)`;
      expect(result.stderr).toContain(frame);
      for (const report of [reportOf(dir), await cliReport(dir)]) {
        expect(report.diagnoses.map((d) => d.id)).toEqual(['crash']);
        expect(report.diagnoses[0].evidence.examples).toEqual([
          'The process ended by an uncaught exception, exit code 1',
          "TypeError: Cannot read properties of undefined (reading 'map')",
          `Thrown ${frame}`,
        ]);
      }
    }
  });

  it('after SIGTERM from an orchestrator, says to find who ended it, not to validate LLM output', async () => {
    const dir = tempRunDir('autopsy-oncall-');
    const script = writeScript(`
import { init, stage, llmCall } from 'agent-autopsy';
init({ outputDir: process.argv[2] });
await stage('review', () => llmCall({ model: 'gpt-4o' }, () => {
  console.log('waiting');
  return new Promise((resolve) => setTimeout(resolve, 60_000));
}));
`);
    const result = await runNode(script, { args: [dir], onStdoutLine: (line, child) => line === 'waiting' && setTimeout(() => child.kill('SIGTERM'), 100) });
    expect(result.signal).toBe('SIGTERM');
    const report = reportOf(dir);
    expect(report.diagnoses.map((d) => d.id)).toEqual(['stage_hang', 'crash']);
    const crash = report.diagnoses[1];
    expect(crash.evidence.examples).toEqual(['The process ended by a signal (SIGTERM)']);
    expect(crash.suggestion).toBe(
      'Most likely a consequence of stage_hang: fix that first. Find what ended the process (an orchestrator timeout or liveness probe, the OOM killer, Ctrl-C) and give the run the time or memory it needs; save checkpoints so a stopped run can resume.',
    );
  });

  it('repairs rejected as invalid JSON point at JSON mode, not only at the repair loop', async () => {
    const dir = tempRunDir('autopsy-oncall-');
    // The fake model wraps its JSON in a code fence, with a trailing comma, until the third repair.
    const script = writeScript(`
import { init, stage, task, llmCall, autofix } from 'agent-autopsy';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
let replies = 0;
const server = await startFakeLlmServer({ handler: () => ({ content: ++replies < 4 ? '\`\`\`json\\n{"answer": 42,}\\n\`\`\`' : '{"answer": 42}' }) });
init({ outputDir: process.argv[2] });
const ask = (prompt) => llmCall({ model: 'gpt-4o' }, async () => {
  const response = await fetch(server.baseURL + '/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: prompt }] }) });
  return (await response.json()).choices[0].message.content;
});
await stage('extract', () => task('parse_answer', async () => {
  let text = await ask('answer as JSON');
  try { return JSON.parse(text); } catch {}
  for (let layer = 1; layer <= 3; layer++) {
    const parsed = await autofix({ layer, type: 'json_parse' }, async () => JSON.parse(text = await ask('fix this JSON: ' + text))).catch(() => undefined);
    if (parsed) return parsed;
  }
}));
await server.close();
`);
    const result = await runNode(script, { args: [dir] });
    expect(result.code).toBe(0);
    const report = reportOf(dir);
    expect(report.autofix_statistics).toMatchObject({ total_attempts: 3, successful_fixes: 1, failed_fixes: 2 });
    expect(report.diagnoses.map((d) => d.id)).toEqual(['autofix_ineffective']);
    expect(report.diagnoses[0].suggestion).toBe(
      'The repair loop does not converge: give each repair the full error (traceback, line) and the previous failed attempt, escalate to a deeper layer (or regenerate from the specification) after one failed patch instead of repeating it, and cap attempts per error. The failed repairs were rejected as invalid JSON: request JSON mode or structured outputs (a response schema) instead of repairing free text, and strip code fences before parsing.',
    );
    // The example quotes the whole parse error, also the part after the newline inside V8's snippet.
    let parseError = '';
    try {
      JSON.parse('```json\n{"answer": 42,}\n```');
    } catch (error) {
      parseError = (error as Error).message;
    }
    expect(parseError).toContain('\n');
    expect(report.diagnoses[0].evidence.examples).toEqual(['2 of 3 repair attempts failed (layer1 ×1, layer2 ×1)', `autofix_error (extract): ${parseError.replace(/\s*\n\s*/g, ' ')}`]);
    expect((await cliReport(dir)).diagnoses).toEqual(report.diagnoses);
  });

  it('after process.exit(1) from a max-iterations guard, says nothing about signals', async () => {
    const dir = tempRunDir('autopsy-oncall-');
    const script = writeScript(`
import { init, stage, task } from 'agent-autopsy';
init({ outputDir: process.argv[2] });
try {
  await stage('act', async () => {
    for (let i = 0; ; i++) {
      if (i >= 5) throw new Error('max iterations (5) reached without a final answer');
      await task('tool_call', async () => {});
    }
  });
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
`);
    const result = await runNode(script, { args: [dir] });
    expect(result.code).toBe(1);
    const report = reportOf(dir);
    expect(report.diagnoses.map((d) => [d.id, d.severity, d.title])).toEqual([['crash', 'high', 'The process exited with code 1']]);
    // What made it exit (no rule classifies it) and where process.exit() was called (the stage had ended).
    expect(report.diagnoses[0].evidence.examples).toEqual([
      'The process ended by process.exit(), exit code 1',
      'Last failure before the exit: stage_error (act): max iterations (5) reached without a final answer',
      `process.exit() was called at ${pathToFileURL(script).href}:13:11`,
    ]);
    expect(report.exit.called_at).toBe(`${pathToFileURL(script).href}:13:11`);
    expect(report.diagnoses[0].suggestion).toBe(
      'Find the error that made the process exit with a non-zero code (the failures in this report, or the last lines the process printed), catch errors at each stage boundary and save a checkpoint so the run can resume, and validate LLM output before using it (JSON mode or structured outputs, schema checks).',
    );
  });
});


describe('process.exit() in code run from its source map (tsx, --enable-source-maps)', () => {
  it('says where it was called in the source the app wrote, not in the code that ran', async () => {
    const dir = tempRunDir('autopsy-oncall-');
    // TypeScript compiled as tsx compiles it: one line of output, with an inline source map.
    const source = [
      "import { stage } from 'agent-autopsy';",
      'type Answer = { ok: boolean };',
      'function validate(answer: Answer): void {',
      '  if (!answer.ok) {',
      '    process.exit(4);',
      '  }',
      '}',
      "await stage('check', async () => validate({ ok: false }));",
      '',
    ].join('\n');
    const script = writeScript('');
    const compiled = transformSync(source, { loader: 'ts', format: 'esm', minifyWhitespace: true, sourcemap: 'inline', sourcefile: 'agent.ts' }).code;
    writeFileSync(script, compiled);
    expect(compiled.split('\n').filter(Boolean)).toHaveLength(2); // the code, and its source map
    const result = await runNode(script, { nodeArgs: ['--enable-source-maps', '--import', 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: dir } });
    expect(result.code).toBe(4);
    expect(reportOf(dir).exit.called_at).toBe(`validate (${pathToFileURL(join(dirname(script), 'agent.ts')).href}:5:13)`);
  });
});
