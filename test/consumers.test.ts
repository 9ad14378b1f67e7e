import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runNode, writeScript } from './helpers/childProcess';
import { logPath, readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

// The package as users consume it: the built dist/ through package.json "exports", from ESM and
// CommonJS, with a normal end of the process (no shutdown()) writing the full set of files.


const FILES = ['execution_tracker.json', 'execution_tracker_readable.txt', 'autofix_log.json', 'latent_analysis_report.json', 'autopsy.md', 'autopsy.html'];

describe('ESM and CommonJS consumers', () => {
  it('ESM import: named exports work and a normal end of the process writes every file', async () => {
    const dir = tempRunDir();
    const path = writeScript(
      `import { init, stage, llmCall, autofix, track, EventTypes } from 'agent-autopsy';
       init({ outputDir: ${JSON.stringify(dir)} });
       await stage('stage1', { name: 'Problem Analysis' }, async () => {
         for (let i = 0; i < 4; i++) {
           await llmCall({ model: 'gpt-4o' }, async () => { throw new Error('Rate limit exceeded'); }).catch(() => {});
         }
         await autofix({ layer: 1, type: 'syntax' }, () => true);
       });
       track(EventTypes.CHECKPOINT_SAVE, { stage: 'stage1' });
       console.log('done');`,
      '.mjs',
    );
    const result = await runNode(path);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('done\n');
    for (const file of FILES) expect(existsSync(logPath(dir, file)), file).toBe(true);
    const doc = readTrackerDocument(dir);
    expect(doc.total_events).toBe(13);
    const report = readReport(dir);
    expect(report.exit).toMatchObject({ reason: 'normal', exit_code: 0 });
    expect(report.failure_analysis.failure_patterns.map((p) => p.pattern)).toEqual(['frequent_llm_errors', 'stage_specific_failures']);
    expect(report.autofix_statistics.successful_fixes).toBe(1);
  });

  it('CommonJS require: the same API and the same files', async () => {
    const dir = tempRunDir();
    const path = writeScript(
      `const { init, task, codeExec, track } = require('agent-autopsy');
       init({ outputDir: ${JSON.stringify(dir)}, locale: 'zh-CN' });
       task('data_processing', () => codeExec({ language: 'python' }, () => 'ran'));
       track('syntax_error', { stage: 'stage3', error: 'SyntaxError' }, 'ERROR');
       track('syntax_error', { stage: 'stage3', error: 'SyntaxError' }, 'ERROR');
       track('syntax_error', { stage: 'stage3', error: 'SyntaxError' }, 'ERROR');`,
      '.cjs',
    );
    const result = await runNode(path);
    expect(result.code).toBe(0);
    for (const file of FILES) expect(existsSync(logPath(dir, file)), file).toBe(true);
    const report = readReport(dir);
    expect(report.run.locale).toBe('zh-CN');
    expect(report.fix_suggestions).toEqual([expect.objectContaining({ priority: 'P1', category: 'code_generation', suggestion: '加强语法修复器' })]);
    expect(readTrackerDocument(dir).events.map((event) => event.type)).toEqual([
      'task_start',
      'code_exec_start',
      'code_exec_end',
      'task_end',
      'syntax_error',
      'syntax_error',
      'syntax_error',
    ]);
  });

  it('require() and import() in one process share a single instance', async () => {
    const path = writeScript(
      `const cjs = require('agent-autopsy');
       import('agent-autopsy').then((esm) => {
         console.log(JSON.stringify({ same: esm.init === cjs.init && esm.track === cjs.track, names: Object.keys(esm).includes('LatentReporter') }));
       });`,
      '.cjs',
    );
    const result = await runNode(path);
    expect(JSON.parse(result.stdout)).toEqual({ same: true, names: true });
  });

  it('the analyzers and exporters entry points load both ways', async () => {
    const esm = writeScript(
      `import { RunAnalyzer } from 'agent-autopsy/analyzers'; import { pythonRepr } from 'agent-autopsy/exporters';
       console.log(pythonRepr({ ok: true, n: null }), typeof new RunAnalyzer().buildReport);`,
      '.mjs',
    );
    const cjs = writeScript(
      `const { RunAnalyzer } = require('agent-autopsy/analyzers'); const { pythonRepr } = require('agent-autopsy/exporters');
       console.log(pythonRepr({ ok: true, n: null }), typeof new RunAnalyzer().buildReport);`,
      '.cjs',
    );
    for (const path of [esm, cjs]) {
      const result = await runNode(path);
      expect(result.stdout).toBe("{'ok': True, 'n': None} function\n");
    }
  });

  it('names the version of package.json (the tracer and the CLI say it)', async () => {
    const { VERSION } = await import('../src/version');
    expect(VERSION).toBe(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version);
  });

  it('TypeScript apps type-check against the published declarations (ESM and CJS)', () => {
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', join(REPO_ROOT, 'test', 'fixtures', 'types')], { encoding: 'utf8' });
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });

  it('TypeScript apps with `module: commonjs` (node10 resolution, which ignores "exports") find the types of every entry point', () => {
    // An app with the package installed: node_modules/agent-autopsy is the repository (package.json + dist).
    const dir = tempRunDir('.tmp-', join(REPO_ROOT, 'test'));
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(REPO_ROOT, join(dir, 'node_modules', 'agent-autopsy'), 'dir');
    writeFileSync(
      join(dir, 'app.ts'),
      `import autopsy = require('agent-autopsy');
       import analyzers = require('agent-autopsy/analyzers');
       import exporters = require('agent-autopsy/exporters');
       import register = require('agent-autopsy/register');
       autopsy.init({ outputDir: 'runs/x' });
       const text: string = exporters.pythonRepr({ ok: true });
       const report: autopsy.AutopsyReport = new analyzers.RunAnalyzer().buildReport();
       const setup: () => void = register.registerZeroCode;
       export = { text, report, setup };
`,
    );
    const options = { strict: true, noEmit: true, skipLibCheck: true, module: 'commonjs', moduleResolution: 'node10', esModuleInterop: false, types: ['node'] };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files: ['app.ts'] }));
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
    expect(result.stdout).toBe(''); // before typesVersions: TS2307 Cannot find module 'agent-autopsy/analyzers' …
    expect(result.status).toBe(0);
  });

  it("the README's TypeScript example type-checks under strict against the real openai types", () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const example = /## Use it in your agent\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toContain('call.setUsage(');
    const dir = tempRunDir('.tmp-', join(REPO_ROOT, 'test'));
    // Its placeholders: the client, the generated code's runner, the repair; and the request itself.
    const declarations = `import OpenAI from 'openai';
declare const client: OpenAI;
declare function runGeneratedCode(): Promise<{ code: number; stderr: string }>;
declare function tryFix(): Promise<boolean>;
`;
    writeFileSync(join(dir, 'app.mts'), declarations + example!.replace('create(/* ... */)', "create({ model: 'gpt-4o', messages: [] })") + 'export { report };\n');
    const options = { strict: true, noEmit: true, skipLibCheck: true, target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', esModuleInterop: false, types: ['node'] };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files: ['app.mts'] }));
    const result = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' });
    expect(result.stdout).toBe(''); // before: TS18048 'r.usage' is possibly 'undefined' (twice)
    expect(result.status).toBe(0);
  });

  it('a bare ExecutionTracker (no init, no tracer provider) writes its events without span ids', async () => {
    const dir = tempRunDir();
    const path = writeScript(
      `const { ExecutionTracker } = require('agent-autopsy');
       const tracker = new ExecutionTracker(${JSON.stringify(dir)});
       tracker.track('stage_start', { stage: 'stage1' });
       tracker.track('task_start', { task: 'parse' });
       tracker.track('task_error', { task: 'parse', error: 'bad input' }, 'error');
       tracker.track('stage_end', { stage: 'stage1' });`,
      '.cjs',
    );
    const result = await runNode(path);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const events = readTrackerDocument(dir).events;
    expect(events.map((event) => [event.type, event.level])).toEqual([
      ['stage_start', 'INFO'],
      ['task_start', 'INFO'],
      ['task_error', 'ERROR'],
      ['stage_end', 'INFO'],
    ]);
    for (const event of events) expect(Object.keys(event)).toEqual(['timestamp', 'elapsed_seconds', 'type', 'level', 'data']);
  });
});

describe('what loading the library loads', () => {
  // Every process that loads agent-autopsy (with the zero-code flag, every node child under
  // NODE_OPTIONS too) pays for what it requires at start: the CLI's dependencies and the OTLP
  // exporter (~55 ms together) are left out until used.
  const LAZY = ['commander', 'cli-progress', '@opentelemetry/exporter-trace-otlp-http'];
  const script = `'use strict';
const autopsy = require('agent-autopsy');
autopsy.init({ outputDir: process.env.RUN_DIR, handleExit: false, reportFormats: [] });
const loaded = Object.keys(require.cache).map((file) => file.split('/node_modules/').pop());
console.log(JSON.stringify(${JSON.stringify(LAZY)}.filter((name) => loaded.some((file) => file.startsWith(name + '/')))));
autopsy.shutdown();
`;

  it('leaves the CLI and the OTLP exporter unloaded without an endpoint, and loads the exporter with one', async () => {
    const path = writeScript(script, '.cjs');
    const without = await runNode(path, { env: { RUN_DIR: tempRunDir(), OTEL_EXPORTER_OTLP_ENDPOINT: undefined, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined } });
    expect(without.stderr).toBe('');
    expect(JSON.parse(without.stdout)).toEqual([]);
    // Nothing listens there: the export fails after the test has read what was loaded.
    const withEndpoint = await runNode(path, { env: { RUN_DIR: tempRunDir(), OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' } });
    expect(JSON.parse(withEndpoint.stdout.split('\n')[0])).toEqual(['@opentelemetry/exporter-trace-otlp-http']);
  });
});
