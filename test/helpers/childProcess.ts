import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempRunDir } from './tempDirs';

export const REPO_ROOT = resolve(__dirname, '..', '..');

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  args?: string[];
  /** Node flags before the script (e.g. ['--import', 'agent-autopsy/register']). */
  nodeArgs?: string[];
  /** Called with the child once it prints `line` on stdout (e.g. to send it a signal). */
  onStdoutLine?: (line: string, child: import('node:child_process').ChildProcess) => void;
  timeoutMs?: number;
  /** Run as this user (and group): permission errors need another user when the tests run as root. */
  uid?: number;
  /** In a process group of its own, as a terminal runs a command: Ctrl-C is `process.kill(-child.pid, 'SIGINT')`. */
  detached?: boolean;
}

/**
 * Writes `source` to a temporary script inside the repository (so `agent-autopsy` resolves to the
 * built package through its self-reference) and runs it with node.
 */
export function writeScript(source: string, extension: '.mjs' | '.cjs' = '.mjs'): string {
  const dir = tempRunDir('.tmp-', join(REPO_ROOT, 'test'));
  const path = join(dir, `script${extension}`);
  writeFileSync(path, source);
  return path;
}

export function runNode(scriptPath: string, options: RunOptions = {}): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), scriptPath, ...(options.args ?? [])], {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
      ...(options.detached ? { detached: true } : {}),
    });
    let stdout = '';
    let stderr = '';
    let buffered = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      if (!options.onStdoutLine) return;
      buffered += chunk;
      let newline = buffered.indexOf('\n');
      while (newline !== -1) {
        options.onStdoutLine(buffered.slice(0, newline), child);
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
      }
    });
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      // The whole group of a detached child: a launcher's own child goes too.
      if (options.detached && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* the group is gone */
        }
      }
      child.kill('SIGKILL');
      reject(new Error(`child timed out after ${options.timeoutMs ?? 20_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

/**
 * Runs `source` as an app under `--import agent-autopsy/register` (a `.cjs` one under `--require`),
 * recording into a fresh run directory, with `env` added to the environment.
 */
export async function runZeroCode(source: string, prefix = 'autopsy-zero-code-', extension: '.mjs' | '.cjs' = '.mjs', env: Record<string, string> = {}): Promise<{ result: ChildResult; runDir: string }> {
  const runDir = tempRunDir(prefix);
  const flag = extension === '.mjs' ? '--import' : '--require';
  const result = await runNode(writeScript(source, extension), { nodeArgs: [flag, 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: runDir, ...env }, timeoutMs: 60_000 });
  return { result, runDir };
}

/**
 * `it.each` rows `[label, extension, source]`: `body` (an app's code after its imports, with
 * top-level await) as an ESM app that imports `sdk` as `name` and as a CommonJS one that requires
 * it, both with the fake LLM server's `startFakeLlmServer`.
 */
export function esmAndCommonJsApps(name: string, sdk: string, body: string): ReadonlyArray<readonly [string, '.mjs' | '.cjs', string]> {
  const server = '../../examples/fake-llm-server.mjs';
  return [
    ['ESM app, --import', '.mjs', `import ${name} from '${sdk}';\nimport { startFakeLlmServer } from '${server}';\n${body}`],
    ['CommonJS app, --require', '.cjs', `const ${name} = require('${sdk}');\n(async () => {\nconst { startFakeLlmServer } = await import('${server}');\n${body}\n})();`],
  ];
}

/**
 * App source for a child app against the fake LLM server (`server`): `step(name, rules, fn)`
 * scripts the server's next answers, runs `fn` and notes in `outcomes` how it went (`[name, 'ok']`,
 * or the error's class and HTTP status).
 */
export const STEP_HELPER = `const outcomes = [];
async function step(name, rules, fn) {
  server.script(rules);
  try {
    await fn();
    outcomes.push([name, 'ok']);
  } catch (error) {
    outcomes.push([name, error.constructor.name, error.status ?? null]);
  }
}`;
