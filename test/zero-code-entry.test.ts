import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ownFrame } from '../analyzers/diagnoses';
import { preloadsIn, preloadVerdict, splitNodeOptions } from '../src/preloadFlag';
import { REPO_ROOT, runNode, writeScript } from './helpers/childProcess';
import { logPath, readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * The mistakes a new user makes on the way in through the zero-code entry: importing it instead of
 * preloading it (an ES module's static imports are loaded before it runs, so openai is not
 * instrumented and its calls are only HTTP requests: said on stderr, once), and a typo in the entry file's name (nothing of the app ran:
 * no run, and Node's error alone). And where the exit-time autopsy.html says the full event list is.
 */

const REGISTER_IMPORTED =
  "agent-autopsy: agent-autopsy/register was imported by the app, not preloaded: the modules imported beside it (openai …) were loaded before it and are not instrumented, so their LLM calls are recorded only from their HTTP requests, without tokens, and without the model where the request path does not name it (those of the AWS SDK's Bedrock client, on HTTP/2, and an MCP client's tool calls not at all); start the app with node --import agent-autopsy/register app.mjs (or NODE_OPTIONS='--import agent-autopsy/register', also for tsx and other runners)\n";

// `import 'agent-autopsy/register'` on an app's first line, as `import 'dotenv/config'` is used.
const APP = `import 'agent-autopsy/register';
import OpenAI from 'openai';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer();
const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test-0123456789abcdefghij', maxRetries: 0 });
await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] });
await server.close();
`;

/** stderr with each run of stack frames inside Node itself (`at … (node:internal/…)`) as one `at node:internal`. */
function withoutNodeInternalFrames(stderr: string): string {
  return stderr.replace(/^( +at ).*\(node:internal\/[^)]*\)/gm, '$1node:internal').replace(/(^ +at node:internal\n)+/gm, '$1');
}

/** The model of the run's first llm call, if it has one. */
function firstCallModel(runDir: string): unknown {
  if (!existsSync(runDir)) return undefined;
  return readTrackerDocument(runDir).events.find((event) => event.type === 'llm_call_start')?.data.model;
}

/** The LLM events of the run in runDir; null when none was written (a process that records nothing leaves none). */
function llmEventTypes(runDir: string): string[] | null {
  if (!existsSync(runDir)) return null;
  return readTrackerDocument(runDir)
    .events.map((event) => event.type)
    .filter((type) => type.startsWith('llm_call_'));
}

describe('agent-autopsy/register imported by the app instead of preloaded', () => {
  it('says so on stderr once when the ES module entry comes too late; preloaded in any form, it is silent and the call is recorded', async () => {
    const app = writeScript(APP);
    const run = async (nodeArgs: string[], env: Record<string, string> = {}) => {
      const runDir = join(tempRunDir('autopsy-entry-'), 'run');
      const result = await runNode(app, { nodeArgs, env: { AGENT_AUTOPSY_DIR: runDir, NODE_OPTIONS: '', ...env }, timeoutMs: 60_000 });
      expect(result.code).toBe(0);
      return { stderr: result.stderr, llm: llmEventTypes(runDir), model: firstCallModel(runDir) };
    };

    expect(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')).toContain(`\n\`\`\`text\n${REGISTER_IMPORTED}\`\`\`\n`);
    // Plain `node app.mjs`: openai was loaded before the hooks; its call is recorded from its HTTP
    // request only (no model), or not at all with those off, and stderr says why.
    const asRequest = { stderr: REGISTER_IMPORTED, llm: ['llm_call_start', 'llm_call_end'], model: undefined };
    expect(await run([])).toEqual(asRequest);
    expect(await run([], { AGENT_AUTOPSY_LLM_REQUESTS: 'false' })).toEqual({ stderr: REGISTER_IMPORTED, llm: null, model: undefined });
    // Another tool's preload (tsx's loader is `--import file:///…/node_modules/tsx/dist/loader.mjs`) changes nothing.
    const toolPreload = pathToFileURL(join(REPO_ROOT, 'node_modules', '@opentelemetry', 'api', 'build', 'src', 'index.js')).href;
    expect(await run(['--import', toolPreload])).toEqual(asRequest);

    const recorded = { stderr: '', llm: ['llm_call_start', 'llm_call_end'], model: 'gpt-4o' };
    expect(await run(['--import', 'agent-autopsy/register'])).toEqual(recorded);
    expect(await run([`--import=${join(REPO_ROOT, 'dist', 'register.mjs')}`])).toEqual(recorded);
    expect(await run(['--import', pathToFileURL(join(REPO_ROOT, 'dist', 'register.mjs')).href])).toEqual(recorded);
    expect(await run(['--require', 'agent-autopsy/register'])).toEqual(recorded);
    expect(await run([], { NODE_OPTIONS: '--import agent-autopsy/register' })).toEqual(recorded);
    expect(await run([], { NODE_OPTIONS: `--import="${join(REPO_ROOT, 'dist', 'register.mjs')}"` })).toEqual(recorded);
    // A preload file of the app's own that imports it runs before the app: that works, nothing to say.
    const preload = join(dirname(app), 'otel.mjs');
    writeFileSync(preload, "import 'agent-autopsy/register';\n");
    expect(await run(['--import', preload])).toEqual(recorded);
  }, 120_000);

  it('in CommonJS, says so when it is required after openai (that client is not instrumented); required first, it is silent and the call is recorded', async () => {
    const REQUIRED_LATE =
      'agent-autopsy: agent-autopsy/register was required after openai was loaded: that client is not instrumented, so its LLM calls are recorded only from their HTTP requests, without tokens, and without the model where the request path does not name it; require agent-autopsy/register before openai, or start the app with node --require agent-autopsy/register app.cjs\n';
    const app = (first: string, second: string) =>
      writeScript(
        `${first}\n${second}\n(async () => {\n  const { startFakeLlmServer } = await import('../../examples/fake-llm-server.mjs');\n  const server = await startFakeLlmServer();\n  const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test-0123456789abcdefghij', maxRetries: 0 });\n  await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] });\n  await server.close();\n})();\n`,
        '.cjs',
      );
    const run = async (script: string) => {
      const runDir = join(tempRunDir('autopsy-entry-'), 'run');
      const result = await runNode(script, { env: { AGENT_AUTOPSY_DIR: runDir, NODE_OPTIONS: '' }, timeoutMs: 60_000 });
      expect(result.code).toBe(0);
      return { stderr: result.stderr, llm: llmEventTypes(runDir) };
    };
    const openai = "const OpenAI = require('openai');";
    const register = "require('agent-autopsy/register');";
    // Recorded from its HTTP request only: no model.
    expect(await run(app(openai, register))).toEqual({ stderr: REQUIRED_LATE, llm: ['llm_call_start', 'llm_call_end'] });
    expect(await run(app(register, openai))).toEqual({ stderr: '', llm: ['llm_call_start', 'llm_call_end'] });
    expect(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')).toContain(REQUIRED_LATE.trim());
  }, 120_000);

  it('reads the preload flags as node does', () => {
    expect(splitNodeOptions('--import  "./my dir/a.mjs" --require=x\\y -r "q\\"uote"')).toEqual(['--import', './my dir/a.mjs', '--require=x\\y', '-r', 'q"uote']);
    expect(preloadsIn(['--import', 'a', '--import=b', '--require', 'c', '-r', 'd', '--require=e', '--inspect', 'f', '--import'])).toEqual(['a', 'b', 'c', 'd', 'e']);
    const none = () => [];
    expect(preloadVerdict([], undefined, none, '/app')).toBe('imported');
    expect(preloadVerdict(['--import', 'tsx'], '--require /app/node_modules/x/preflight.cjs', none, '/app')).toBe('imported');
    expect(preloadVerdict([], '--import agent-autopsy/register', none, '/app')).toBe('preloaded');
    expect(preloadVerdict(['--import', './otel.mjs'], undefined, none, '/app')).toBe('maybe-preloaded');
    const registerFile = join(REPO_ROOT, 'dist', 'register.mjs');
    expect(preloadVerdict(['--import', './dist/register.mjs'], undefined, () => [registerFile], REPO_ROOT)).toBe('preloaded');
  });
});

describe('an entry file that does not exist', () => {
  it('leaves no run behind (ESM and CommonJS flags, given and default directory), and Node alone says what happened', async () => {
    for (const flag of ['--import', '--require']) {
      // In the repository, where agent-autopsy resolves (to itself).
      const cwd = tempRunDir('.tmp-', join(REPO_ROOT, 'test'));
      const runDir = join(cwd, 'runs', 'typo');
      const withDir = await runNode(join(cwd, 'typo.mjs'), { cwd, nodeArgs: [flag, 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: runDir } });
      expect(withDir.code).toBe(1);
      expect(existsSync(join(cwd, 'runs'))).toBe(false);
      // The default directory (./autopsy-runs/<time>-<pid>) is not made either.
      const byDefault = await runNode(join(cwd, 'typo.mjs'), { cwd, nodeArgs: [flag, 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: undefined } });
      expect(byDefault.code).toBe(1);
      expect(readdirSync(cwd)).toEqual([]);
      const plain = await runNode(join(cwd, 'typo.mjs'), { cwd });
      if (flag === '--require') {
        // CommonJS: Node's own output, byte for byte.
        expect(withDir.stderr).toBe(plain.stderr);
      } else {
        // Under an ES module loader (any --import) Node reports it as an ES module import; the
        // loader hook adds its frames to the stack (README, "Zero code").
        expect(withDir.stderr).toContain(`Error [ERR_MODULE_NOT_FOUND]: Cannot find module '${join(cwd, 'typo.mjs')}' imported from ${cwd}/\n`);
        expect(withDir.stderr).not.toContain('agent-autopsy:');
      }
      if (flag === '--require') {
        expect(byDefault.stderr).toBe(withDir.stderr);
      } else {
        // Node's ES module loader runs hooks on a worker thread; which of its internal frames carry
        // the error back depends on timing (MessagePort handler or checkForMessages on an
        // immediate), so those frames may differ between two runs of the same failure.
        expect(withoutNodeInternalFrames(byDefault.stderr)).toBe(withoutNodeInternalFrames(withDir.stderr));
      }
    }
  });

  it("a package the app imports that is not installed: the crash names no loader hook's frame as where it was thrown", async () => {
    const runDir = tempRunDir('autopsy-entry-');
    const app = writeScript("import 'no-such-package-for-agent-autopsy';\n");
    const result = await runNode(app, { nodeArgs: ['--import', 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: runDir } });
    expect(result.code).toBe(1);
    const [crash] = readReport(runDir).diagnoses;
    expect(crash.id).toBe('crash');
    expect(crash.evidence.examples).toEqual([
      'The process ended by an unhandled promise rejection, exit code 1',
      `Error: Cannot find package 'no-such-package-for-agent-autopsy' imported from ${app}`,
    ]);
    expect(readFileSync(logPath(runDir, 'autopsy.md'), 'utf8')).not.toContain('Thrown');
  });

  it("ownFrame: through Node's loader hooks, a node_modules frame is a hook passing the error on; elsewhere it is still the fallback", () => {
    const hooked = [
      "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'x' imported from /app/a.mjs",
      '    at packageResolve (node:internal/modules/esm/resolve:854:9)',
      '    at nextResolve (node:internal/modules/esm/hooks:864:28)',
      '    at resolve (file:///app/node_modules/import-in-the-middle/create-hook.mjs:727:26)',
      '    at nextResolve (node:internal/modules/esm/hooks:864:28)',
      '    at Hooks.resolve (node:internal/modules/esm/hooks:306:30)',
    ].join('\n');
    expect(ownFrame(hooked)).toBeUndefined();
    // The flag's own hook is outside node_modules in a checkout of agent-autopsy.
    const ownHook = hooked.replace('file:///app/node_modules/import-in-the-middle/create-hook.mjs:727:26', 'file:///work/agent-autopsy/dist/esm-loader-hook.mjs:32:60');
    expect(ownFrame(ownHook)).toBeUndefined();
    // A hook that throws itself is where it was thrown: its frame comes before the hook runner's.
    const throwing = ['Error: no', '    at resolve (file:///app/loader.mjs:3:9)', '    at nextResolve (node:internal/modules/esm/hooks:864:28)', '    at Hooks.resolve (node:internal/modules/esm/hooks:306:30)'].join('\n');
    expect(ownFrame(throwing)).toBe('at resolve (file:///app/loader.mjs:3:9)');
    const library = ['Error: boom', '    at parse (/app/node_modules/lib/index.js:3:9)', '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)'].join('\n');
    expect(ownFrame(library)).toBe('at parse (/app/node_modules/lib/index.js:3:9)');
  });
});

describe('the exit-time autopsy.html', () => {
  it('gives the full event list as an npx command (the bin of a local dependency is not on PATH)', async () => {
    const runDir = tempRunDir('autopsy-entry-');
    const app = writeScript("import { stage } from 'agent-autopsy';\nawait stage('s1', () => 1);\n");
    const result = await runNode(app, { nodeArgs: ['--import', 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: runDir } });
    expect(result.code).toBe(0);
    const html = readFileSync(logPath(runDir, 'autopsy.html'), 'utf8');
    const command = `npx agent-autopsy report ${runDir} --format html --out autopsy-full.html`;
    expect(html).toContain(
      `<p class="note">The event list is not embedded in the report written when the process ends (that keeps shutdown fast). For the full, filterable list run: ${command}</p><pre>${command}</pre>`,
    );
  });
});

describe('where the autopsy is', () => {
  it('AGENT_AUTOPSY_PRINT names autopsy.md by its path and the files beside it (the first human format written, else the JSON); nothing by default', async () => {
    const app = writeScript("import { stage } from 'agent-autopsy';\nawait stage('s1', () => 1);\n");
    const zeroCode = async (env: Record<string, string>) => {
      const runDir = tempRunDir('autopsy-entry-');
      const result = await runNode(app, { nodeArgs: ['--import', 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: runDir, ...env } });
      expect(result.code).toBe(0);
      return { stderr: result.stderr, md: logPath(runDir, 'autopsy.md') };
    };
    const printed = await zeroCode({ AGENT_AUTOPSY_PRINT: 'true' });
    expect(printed.stderr).toBe(`agent-autopsy: report written to ${printed.md} (autopsy.html and latent_analysis_report.json beside it)\n`);
    expect((await zeroCode({ AGENT_AUTOPSY_PRINT: '' })).stderr).toBe('');

    const withFormats = async (formats: string[]) => {
      const runDir = tempRunDir('autopsy-entry-');
      const script = writeScript(`import { init, shutdown } from 'agent-autopsy';\ninit({ outputDir: process.argv[2], printReportPath: true, reportFormats: ${JSON.stringify(formats)} });\nawait shutdown();\n`);
      const result = await runNode(script, { args: [runDir] });
      expect(result.code).toBe(0);
      return result.stderr.replace(logPath(runDir, ''), '<logs>');
    };
    expect(await withFormats(['html'])).toBe('agent-autopsy: report written to <logs>/autopsy.html (latent_analysis_report.json beside it)\n');
    expect(await withFormats([])).toBe('agent-autopsy: report written to <logs>/latent_analysis_report.json\n');
  });
});
