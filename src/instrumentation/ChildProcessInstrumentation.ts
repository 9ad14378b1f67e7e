import childProcess, { type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import { basename } from 'node:path';
import { context, type Span } from '@opentelemetry/api';
import { InstrumentationBase, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { AgentSpan } from '../AgentSpan';
import { reportError } from '../errorHandler';
import { redactString } from '../redact';
import * as sc from '../semconv';
import { startWithData } from '../spanData';
import { recordFailure, recordFailureAndEnd } from '../api';
import { instantNow } from '../clock';
import { endSpanAt } from '../spanEndTime';
import { VERSION } from '../version';

/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyFunction = (...args: any[]) => any;

const ASYNC_METHODS = ['spawn', 'exec', 'execFile', 'fork'] as const;
const SYNC_METHODS = ['spawnSync', 'execSync', 'execFileSync'] as const;
type Method = (typeof ASYNC_METHODS)[number] | (typeof SYNC_METHODS)[number];

/** Commands longer than this are cut (the span and event keep the start). */
const MAX_COMMAND_LENGTH = 1000;
/** Characters of stderr kept while a process runs (AgentSpan keeps the last 2,000). */
const STDERR_KEEP = 4000;

interface CommandInfo {
  command: string;
  language: string;
  program: string;
}

/**
 * Records child processes (`spawn`, `exec`, `execFile`, `fork` and the `*Sync` variants) as
 * code_exec spans in the current context: the command, the exit code, the duration and the tail
 * of stderr. A non-zero exit code, a signal or a failure to start marks the span ERROR.
 *
 * It patches the `child_process` module object itself and re-syncs the ESM named exports, so
 * `require('child_process')` and `import { spawn } from 'node:child_process'` are both covered
 * when the app takes the functions after it was enabled. Observing a child never changes it:
 * stderr is tapped where the stream receives data (no 'data' listener, no flowing mode), and
 * 'error' events are seen without adding a listener (an unhandled one still throws).
 */
export class ChildProcessInstrumentation extends InstrumentationBase {
  private patched = false;
  /** > 0 while one of our wrappers runs: exec() calls execFile(), which must not count twice. */
  private depth = 0;

  constructor(config: InstrumentationConfig = {}) {
    // InstrumentationBase enables from its constructor, before this class's fields exist.
    super('agent-autopsy-child-process', VERSION, { ...config, enabled: false });
    if (config.enabled !== false) this.enable();
  }

  protected init(): void {
    /* no module hooks: the built-in module is patched directly in enable() */
  }

  override enable(): void {
    super.enable();
    if (this.patched) return;
    this.patched = true;
    for (const method of ASYNC_METHODS) this._wrap(childProcess, method, (original) => this.wrapAsync(method, original as AnyFunction) as any);
    for (const method of SYNC_METHODS) this._wrap(childProcess, method, (original) => this.wrapSync(method, original as AnyFunction) as any);
    syncBuiltinESMExports();
  }

  override disable(): void {
    super.disable();
    if (!this.patched) return;
    this.patched = false;
    for (const method of [...ASYNC_METHODS, ...SYNC_METHODS]) this._unwrap(childProcess, method);
    syncBuiltinESMExports();
  }

  private startSpan(info: CommandInfo): Span | undefined {
    try {
      const attributes = {
        [sc.ATTR_AUTOPSY_KIND]: 'code_exec',
        [sc.ATTR_AUTOPSY_EVENT_TYPE]: 'code_exec_start',
        [sc.ATTR_CODE_COMMAND]: info.command,
        [sc.ATTR_CODE_LANGUAGE]: info.language,
      };
      const data = { command: info.command, language: info.language };
      return startWithData(data, () => this.tracer.startSpan(`code_exec ${info.program}`, { attributes }, context.active()));
    } catch (error) {
      reportError(error, 'a child process could not be recorded');
      return undefined;
    }
  }

  private wrapAsync(method: Method, original: AnyFunction): AnyFunction {
    const self = this;
    return function recordedChildProcess(this: unknown, ...args: unknown[]) {
      if (self.depth > 0) return original.apply(this, args);
      const info = describe(method, args);
      const span = info && self.startSpan(info);
      if (!span || !info) return original.apply(this, args);
      let child: ChildProcess;
      self.depth++;
      try {
        child = original.apply(this, args);
      } catch (error) {
        recordFailureAndEnd(span, error);
        throw error;
      } finally {
        self.depth--;
      }
      try {
        observeChild(child, span, info);
      } catch (error) {
        reportError(error, 'a child process could not be observed');
      }
      return child;
    };
  }

  private wrapSync(method: Method, original: AnyFunction): AnyFunction {
    const self = this;
    return function recordedChildProcessSync(this: unknown, ...args: unknown[]) {
      if (self.depth > 0) return original.apply(this, args);
      const info = describe(method, args);
      const span = info && self.startSpan(info);
      if (!span || !info) return original.apply(this, args);
      self.depth++;
      let result: unknown;
      try {
        result = original.apply(this, args);
      } catch (error) {
        // execSync / execFileSync throw on a non-zero exit: the error carries status and stderr.
        const failed = error as { status?: number | null; signal?: NodeJS.Signals | null; stderr?: unknown };
        const ran = typeof failed?.status === 'number' || Boolean(failed?.signal);
        endSpan(span, info, { code: failed?.status ?? null, signal: failed?.signal ?? null, stderr: textOf(failed?.stderr), error: ran ? undefined : error });
        throw error;
      } finally {
        self.depth--;
      }
      const returned = (method === 'spawnSync' ? result : undefined) as SpawnSyncReturns<unknown> | undefined;
      endSpan(span, info, {
        code: returned ? returned.status : 0,
        signal: returned?.signal ?? null,
        stderr: textOf(returned?.stderr),
        error: returned?.error,
      });
      return result;
    };
  }
}

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  error?: unknown;
}

function endSpan(span: Span, info: CommandInfo, outcome: Outcome): void {
  try {
    // Before the error's stack is read (spanEndTime.ts); an exit code alone ends the span as usual.
    const at = outcome.error ? instantNow() : undefined;
    const handle = new AgentSpan(span, 'code_exec');
    // A non-zero exit code marks the span failed in setResult.
    handle.setResult({ exitCode: outcome.code, stderr: outcome.stderr, command: info.command });
    if (outcome.signal) handle.set({ signal: outcome.signal });
    if (outcome.error) recordFailure(span, outcome.error, at?.sdk);
    else if (outcome.signal) handle.fail(`killed by ${outcome.signal}`, 'Signal');
    if (at === undefined) span.end();
    else endSpanAt(span, at);
  } catch (error) {
    reportError(error, 'a child process could not be recorded');
  }
}

function observeChild(child: ChildProcess, span: Span, info: CommandInfo): void {
  let stderr = '';
  let spawnError: unknown;
  let ended = false;
  const stream = child.stderr as (NodeJS.ReadableStream & { push?: AnyFunction }) | null;
  if (stream && typeof stream.push === 'function') {
    const push = stream.push;
    stream.push = function tappedPush(this: unknown, chunk: unknown, ...rest: unknown[]) {
      if (chunk !== null && chunk !== undefined) {
        try {
          stderr = (stderr + textOf(chunk)).slice(-STDERR_KEEP);
        } catch {
          /* keep the data flowing whatever happens here */
        }
      }
      return push.call(this, chunk, ...rest);
    };
  }
  const finish = (code: number | null, signal: NodeJS.Signals | null) => {
    if (ended) return;
    ended = true;
    endSpan(span, info, { code, signal, stderr, error: spawnError });
  };
  const emit = child.emit;
  child.emit = function observedEmit(this: ChildProcess, event: string | symbol, ...args: any[]) {
    if (event === 'error') {
      spawnError ??= args[0];
      // A process that never started emits no 'close' we can rely on.
      if (child.pid === undefined) finish(null, null);
    } else if (event === 'close') {
      finish(args[0] ?? null, args[1] ?? null);
    }
    return Reflect.apply(emit, this, [event, ...args]);
  } as ChildProcess['emit'];
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return '';
}

/** The command line and the language of a child_process call, from its arguments. */
function describe(method: Method, args: unknown[]): CommandInfo | undefined {
  const [first, second] = args;
  if (typeof first !== 'string' && !(first instanceof URL)) return undefined;
  const file = String(first instanceof URL ? first.pathname : first);
  const argv = Array.isArray(second) ? second.map(String) : [];
  let parts: string[];
  if (method === 'exec' || method === 'execSync') parts = [file];
  else if (method === 'fork') parts = [basename(process.execPath), file, ...argv];
  else parts = [file, ...argv];
  let command = redactString(parts.join(' '));
  if (command.length > MAX_COMMAND_LENGTH) command = `${command.slice(0, MAX_COMMAND_LENGTH)}…`;
  const programPath = method === 'fork' ? process.execPath : method === 'exec' || method === 'execSync' ? shellProgram(file) : file;
  const program = basename(programPath);
  return { command, program, language: languageOf(program) };
}

/** The program a shell command line starts: its first word, unquoted, after `VAR=value` assignments. */
function shellProgram(commandLine: string): string {
  const words = commandLine.match(/"[^"]*"|'[^']*'|\S+/g) ?? [commandLine];
  const word = words.find((candidate) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(candidate)) ?? words[0];
  return word.replace(/^(["'])(.*)\1$/, '$2');
}

const LANGUAGES: Array<[RegExp, string]> = [
  [/^python[\d.]*$|^py$|^pypy/i, 'python'],
  [/^node(js)?$|^deno$|^bun$|^tsx$|^ts-node$/i, 'javascript'],
  [/^(ba|z|da|k|fi)?sh$/i, 'shell'],
  [/^ruby$/i, 'ruby'],
  [/^rscript$/i, 'r'],
  [/^julia$/i, 'julia'],
  [/^java$/i, 'java'],
  [/^go$/i, 'go'],
  [/^php$/i, 'php'],
  [/^perl$/i, 'perl'],
];

function languageOf(program: string): string {
  const name = program.replace(/\.exe$/i, '');
  for (const [pattern, language] of LANGUAGES) if (pattern.test(name)) return language;
  return name;
}
