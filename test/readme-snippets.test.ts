import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runNode } from './helpers/childProcess';
import { logPath, readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

// The README's code blocks as a user copies them: taken from README.md itself (not a copy kept
// here), run against the built package through its own name, so an edit to the README or to the
// API that breaks a snippet fails here. The scripts run in a directory inside the repository,
// where `agent-autopsy` resolves to the package (its self-reference), with that directory as the
// working directory, since the snippets use relative run directories ('runs/demo', 'runs/today').

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

/** The `nth` fenced block of language `lang` after the line `heading`. */
function readmeBlock(heading: string, lang: string, nth = 0): string {
  const start = README.indexOf(`\n${heading}\n`);
  if (start === -1) throw new Error(`README.md has no heading ${heading}`);
  const fence = /^```(\w*)\n([\s\S]*?)^```/gm;
  fence.lastIndex = start;
  let seen = 0;
  for (let match = fence.exec(README); match; match = fence.exec(README)) {
    if (match[1] === lang && seen++ === nth) return match[2]!;
  }
  throw new Error(`README.md has no ${lang} block ${nth} after ${heading}`);
}

/** The block's `import` lines and the rest, so several blocks can share one module. */
function splitImports(block: string): { imports: string; body: string } {
  const lines = block.split('\n');
  return { imports: lines.filter((line) => line.startsWith('import ')).join('\n'), body: lines.filter((line) => !line.startsWith('import ')).join('\n') };
}

function typeCheck(dir: string, files: string[]): { stdout: string; status: number | null } {
  const options = { strict: true, noEmit: true, skipLibCheck: true, target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', types: ['node'] };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files }));
  return spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' });
}

const OUT = '\nconsole.log(JSON.stringify(out));\n';

describe('README snippets', () => {
  it('"Use it in your agent" runs as written and writes the files "The files" names', async () => {
    const dir = tempRunDir('.tmp-', join(REPO_ROOT, 'test'));
    // Its placeholders: an OpenAI-shaped client, the generated code's runner, the repair.
    const stubs = `const client = { chat: { completions: { create: async () => ({ usage: { prompt_tokens: 75, completion_tokens: 66 } }) } } };
async function runGeneratedCode() { return { code: 1, stderr: 'Traceback (most recent call last):\\nNameError: name "x" is not defined\\n' }; }
async function tryFix() { return false; }
const out = {};
`;
    // A TypeScript block with no type annotations, so it runs as JavaScript as it stands (the
    // README tells CommonJS and JavaScript users it works the same); consumers.test.ts type-checks it.
    const example = readmeBlock('## Use it in your agent', 'ts');
    writeFileSync(join(dir, 'agent.mjs'), stubs + example + '\nout.summary = report.summary;' + OUT);
    const result = await runNode(join(dir, 'agent.mjs'), { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const run = join(dir, 'runs', 'demo');
    for (const file of ['execution_tracker.json', 'execution_tracker_readable.txt', 'autofix_log.json', 'latent_analysis_report.json', 'autopsy.md', 'autopsy.html']) {
      expect(existsSync(logPath(run, file)), file).toBe(true);
    }
    // The lock goes once the run is finished.
    expect(existsSync(logPath(run, '.agent-autopsy.lock'))).toBe(false);
    const events = readTrackerDocument(run).events;
    expect(events.map((event) => [event.type, event.level])).toEqual([
      ['stage_start', 'INFO'],
      ['task_start', 'INFO'],
      ['llm_call_start', 'INFO'],
      ['llm_call_end', 'INFO'],
      ['code_exec_start', 'INFO'],
      ['code_exec_error', 'ERROR'],
      ['autofix_start', 'INFO'],
      ['autofix_end', 'WARNING'],
      ['task_end', 'INFO'],
      ['stage_end', 'INFO'],
      ['checkpoint_save', 'INFO'],
    ]);
    expect(events[3]!.data).toMatchObject({ model: 'gpt-4o', provider: 'openai', stage: 'stage1', input_tokens: 75, output_tokens: 66, tokens_used: 141 });
    expect(events[5]!.data).toMatchObject({ error: 'exit code 1: NameError: name "x" is not defined', error_type: 'NonZeroExitCode', stage: 'stage1' });
    expect(events[7]!.data).toMatchObject({ layer: 1, type: 'syntax', success: false });
    expect(events[10]!.data).toEqual({ stage: 'stage1' });
    const summary = { total_failures: 1, total_autofix_attempts: 1, autofix_success_rate: '0.0%', most_common_failure: 'code_exec_error', most_problematic_stage: 'stage1' };
    expect(JSON.parse(result.stdout)).toEqual({ summary });
    expect(readReport(run).summary).toEqual(summary);
  });

  it('"Custom rules": the rules, analyzeRun() and RunAnalyzer blocks run as written and report the rules', async () => {
    const dir = tempRunDir('.tmp-', join(REPO_ROOT, 'test'));
    const rules = splitImports(readmeBlock('## Custom rules', 'js', 0));
    const analyze = splitImports(readmeBlock('## Custom rules', 'js', 1));
    const feed = splitImports(readmeBlock('### Feeding events to the analyzer yourself', 'js', 0));
    expect(rules.body).toContain("init({ outputDir: 'runs/today', rules });");
    // Events for each rule: two refused connections in a task, three pool errors, one empty answer.
    const agent = `await stage('retrieval', async () => {
  for (let i = 0; i < 2; i++) await task('search', async () => { throw new Error('connect ECONNREFUSED 127.0.0.1:6333'); }).catch(() => {});
  for (let i = 0; i < 3; i++) await task('save', async () => { throw new Error('QueuePool limit of size 5 overflow 10 reached'); }).catch(() => {});
  await llmCall({ model: 'gpt-4o' }, async (call) => call.setUsage({ inputTokens: 20, outputTokens: 0 }));
});
const live = await shutdown();
out.live = live.diagnoses.map((d) => [d.id, d.severity, d.evidence.count, d.title]);
`;
    // The analyzer's input "from your store": this run's events, read back.
    const store = `const events = JSON.parse(readFileSync('runs/today/Memory/logs/execution_tracker.json', 'utf8')).events;
const lastEventTimestamp = events.at(-1).timestamp;
`;
    const source = [
      "import { readFileSync } from 'node:fs';",
      "import { stage, task, llmCall } from 'agent-autopsy';",
      rules.imports,
      analyze.imports,
      feed.imports,
      'const out = {};',
      rules.body,
      agent,
      `{\n${analyze.body}\nout.analyzed = report.diagnoses.map((d) => [d.id, d.title]);\n}`,
      `{\n${store}${feed.body}\nout.fed = report.diagnoses.map((d) => [d.id, d.evidence.count]);\n}`,
      OUT,
    ].join('\n');
    writeFileSync(join(dir, 'rules.mjs'), source);
    const result = await runNode(join(dir, 'rules.mjs'), { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // Each block prints something first (console.log(report.diagnoses[0])); ours is the last line.
    const out = JSON.parse(result.stdout.trimEnd().split('\n').at(-1)!);
    expect(out.live).toEqual([
      ['vector_store_down', 'high', 2, 'The vector store refused connections'],
      ['db_pool_exhausted', 'medium', 3, 'The database pool ran out'],
      ['empty_answer', 'low', 1, 'The model returned empty answers'],
    ]);
    // analyzeRun() with locale zh-CN: a rule's { en, 'zh-CN' } title follows the locale.
    expect(out.analyzed).toEqual([
      ['vector_store_down', 'The vector store refused connections'],
      ['db_pool_exhausted', '数据库连接池耗尽'],
      ['empty_answer', 'The model returned empty answers'],
    ]);
    expect(out.fed).toEqual([
      ['vector_store_down', 2],
      ['db_pool_exhausted', 3],
      ['empty_answer', 1],
    ]);
    expect(readReport(join(dir, 'runs', 'today')).diagnoses.map((d) => d.id)).toEqual(['vector_store_down', 'db_pool_exhausted', 'empty_answer']);
  });

  it('"Custom rules" in TypeScript: typed as the README says, the blocks type-check; untyped, init() refuses the list', () => {
    const dir = tempRunDir('.tmp-', join(REPO_ROOT, 'test'));
    const rules = readmeBlock('## Custom rules', 'js', 0);
    const analyze = splitImports(readmeBlock('## Custom rules', 'js', 1));
    const feed = splitImports(readmeBlock('### Feeding events to the analyzer yourself', 'js', 0));
    const typed = rules.replace('const rules = [', 'const rules: DiagnosisRule[] = [');
    expect(typed).not.toBe(rules);
    const store = "import type { TruthEvent } from 'agent-autopsy';\ndeclare const events: TruthEvent[];\ndeclare const lastEventTimestamp: string;\n";
    writeFileSync(
      join(dir, 'typed.mts'),
      [
        "import type { DiagnosisRule } from 'agent-autopsy';",
        "import type { DiagnosisRule as AnalyzerRule } from 'agent-autopsy/analyzers';",
        analyze.imports,
        feed.imports,
        store,
        typed,
        'const same: AnalyzerRule[] = rules;',
        `{\n${analyze.body}\n}`,
        `{\n${feed.body}\nconst firstId: string | undefined = report.diagnoses[0]?.id;\n}`,
        'export { same };',
      ].join('\n'),
    );
    // Untyped, `severity: 'high'` widens to string (and `match`'s `event` has no type): the README
    // says init() does not accept it, which this pins (an unused @ts-expect-error is an error too).
    const untyped = rules
      .replace('match: (event) =>', '// @ts-expect-error implicit any\n    match: (event) =>')
      .replace("init({ outputDir: 'runs/today', rules });", "// @ts-expect-error severity: string\ninit({ outputDir: 'runs/today', rules });");
    writeFileSync(join(dir, 'untyped.mts'), untyped + '\nexport {};\n');
    const result = typeCheck(dir, ['typed.mts', 'untyped.mts']);
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });
});
