import { diag, trace, type Tracer } from '@opentelemetry/api';
import { threadId } from 'node:worker_threads';
import type { AutopsyReport } from '../analyzers/reportTypes';
import { validateRules } from '../analyzers/customRules';
import { onThisMachine } from '../exporters/runLock';
import { AutopsyRun } from './AutopsyRun';
import { AutopsySpanProcessor } from './AutopsySpanProcessor';
import { nowMs, isoMicros } from './clock';
import { envFlag, resolveConfig } from './config';
import { reportError, reportExportError, writeStderr } from './errorHandler';
import { forgetStack } from './errorStack';
import { installExitHooks } from './exitHooks';
import { boundAppFlushes } from './GuardedSpanProcessor';
import { isMissingEntryError } from './missingEntry';
import { realClearTimeout, realSetTimeout } from './realTimers';
import { errorClassName, errorMessage, errorStack, httpStatusOf, safeString } from './safeValue';
import { activeOwnSpan } from './separateSpans';
import { errorStage, spanStage } from './spanStage';
import { DEFAULT_EXPORT_TIMEOUT_MS, MAX_TIMER_MS } from './exportSettings';
import { attachToProvider, setupTracing, type TracingSetup } from './tracing';
import type { AutopsyOptions } from './types';
import { VERSION } from './version';

/**
 * Process-wide state: the current run (from `init()`), runs opened by `ExecutionTracker`, and the
 * tracing pipeline (set up once per process; runs come and go, the processor follows the current one).
 */
interface RuntimeState {
  run?: AutopsyRun;
  /** Every run that must be finished at exit (the init() run and ExecutionTracker runs). */
  runs: Set<AutopsyRun>;
  tracing?: TracingSetup;
  processor: AutopsySpanProcessor;
  warned: Set<string>;
  /** The current run was opened by the zero-code setup and may be replaced by the app's init(). */
  implicitRun?: boolean;
}

const state: RuntimeState = {
  runs: new Set(),
  processor: new AutopsySpanProcessor(() => state.run),
  warned: new Set(),
};

/** Prints a warning about misuse once per kind. */
export function warnOnce(key: string, message: string): void {
  if (state.warned.has(key)) return;
  state.warned.add(key);
  writeStderr(`agent-autopsy: ${message}\n`);
  diag.warn(message);
}

export function currentRun(): AutopsyRun | undefined {
  return state.run;
}

export function getAutopsyTracer(): Tracer {
  if (state.run?.isFinished) warnOnce('after-shutdown', 'spans started after shutdown() are not recorded (call init() to start a new run)');
  return state.tracing?.tracer ?? trace.getTracer('agent-autopsy', VERSION);
}

export interface AutopsyHandle {
  /** Absolute run directory. */
  outputDir: string;
  /** `<outputDir>/Memory/logs`. */
  logDir: string;
  /** Path of latent_analysis_report.json (written at shutdown or exit). */
  reportPath: string;
}

function handleOf(run: AutopsyRun): AutopsyHandle {
  return { outputDir: run.paths.outputDir, logDir: run.paths.logDir, reportPath: run.paths.reportJson };
}

/**
 * Starts recording. Sets up tracing (or joins an existing OpenTelemetry setup), opens the run
 * directory and installs the exit hooks that write the autopsy however the process ends.
 * A second call while a run is active keeps the first run and warns — except right after the
 * zero-code setup (`agent-autopsy/register`): an app's own init() before its first event replaces
 * that run, so its options (outputDir, locale, rules …) win over the environment.
 */
export function init(options: AutopsyOptions = {}): AutopsyHandle {
  return start(options, false);
}

/** The zero-code setup's init(): configured from the environment, replaceable (see init()). */
export function initFromEnvironment(): AutopsyHandle {
  // The flag records LLM API requests unless told not to; init() only when asked.
  return start({ recordLlmRequests: envFlag(process.env.AGENT_AUTOPSY_LLM_REQUESTS) ?? true }, true);
}

function start(options: AutopsyOptions, implicit: boolean): AutopsyHandle {
  const active = state.run && !state.run.isFinished ? state.run : undefined;
  if (active) {
    if (implicit || !state.implicitRun || active.eventCount > 0) {
      active.claimDirectory();
      warnOnce('init-twice', `init() was called again; the run in ${active.paths.outputDir} continues and the new options are ignored`);
      return handleOf(active);
    }
    active.discard();
    state.runs.delete(active);
  }
  const config = resolveConfig(options);
  validateRules(config.rules);
  // Tracing first: its context manager lets the run write its first file (the lock) untraced.
  try {
    if (!state.tracing) state.tracing = setupTracing(config, state.processor);
    else if (config.spanProcessors.length > 0) attachToProvider(state.tracing.provider, config.spanProcessors);
  } catch (error) {
    reportError(error, 'tracing could not be set up (events from track() are still recorded)');
  }
  // Hooks before the run's files: a signal that arrives while they are made (the lock, the logs)
  // then waits for its listener, which finds the run whole, instead of killing the process between
  // the lock and the first event.
  if (config.handleExit) installExitHooks(exitListener);
  // The zero-code run opens its directory at its first event (see AutopsyRunOptions).
  const run = new AutopsyRun(config, { deferDirectory: implicit });
  state.run = run;
  state.implicitRun = implicit;
  state.runs.add(run);
  // The zero-code run of a child process says so only if it keeps anything (see finishRun).
  if (!implicit) noteRunInUse(run, 'records');
  return handleOf(run);
}

/** Registers a run opened outside init() (ExecutionTracker) so it is finished at exit too. */
export function adoptRun(run: AutopsyRun): void {
  state.runs.add(run);
  noteRunInUse(run, 'records');
  installExitHooks(exitListener);
}

/** The live run recording `outputDir` (also one that went to `outputDir/processes/<pid>` because it was in use). */
export function findRun(outputDir: string): AutopsyRun | undefined {
  for (const run of state.runs) if (!run.isFinished && (run.paths.outputDir === outputDir || run.config.outputDir === outputDir)) return run;
  return undefined;
}

/** One line on stderr when a run went to `<outputDir>/processes/<pid>` because another live process records in outputDir. */
function noteRunInUse(run: AutopsyRun, verb: 'records' | 'recorded'): void {
  const inUse = run.inUse;
  if (!inUse) return;
  // In a worker thread the owner may be this very process (its main thread or another worker).
  const self = threadId === 0 ? `this process (${process.pid})` : `this worker thread (process ${process.pid}, thread ${threadId})`;
  if (inUse.writtenSince !== undefined) {
    warnOnce('run-dir-in-use', `${inUse.outputDir} holds a run that was written after this one started (last at ${inUse.writtenSince}); ${self} ${verb} into ${run.paths.outputDir}`);
    return;
  }
  const owner = inUse.owner;
  const who = owner ? `process ${owner.pid}${owner.thread ? ` (worker thread ${owner.thread})` : ''}${onThisMachine(owner) ? '' : ` on ${owner.hostname}`}` : 'another process';
  warnOnce('run-dir-in-use', `${inUse.outputDir} is being recorded by ${who} (lock file ${inUse.lockFile}); ${self} ${verb} into ${run.paths.outputDir}`);
}

/**
 * The zero-code run is kept only if it recorded something: a process that never meets the agent's
 * APIs (`node -e …`, a build tool, npm or tsx's CLI in front of the agent, all reached by a flag in
 * NODE_OPTIONS) leaves no directory behind and prints nothing, also with AGENT_AUTOPSY_PRINT (the
 * runners in front of an agent would each say so after the agent's own line).
 */
function finishRun(run: AutopsyRun): void {
  const zeroCode = run === state.run && state.implicitRun === true;
  if (zeroCode && run.recordedNothing) {
    run.discard();
    return;
  }
  run.finish();
  if (zeroCode) noteRunInUse(run, 'recorded');
}

let shutdownWarned = false;

/**
 * Ends the current run: flushes the logs, records open spans as unfinished, writes the report
 * and flushes span export (bounded by the OTLP timeout). Resolves to the report. Calling it again
 * resolves to the same report.
 */
export async function shutdown(): Promise<AutopsyReport | undefined> {
  const run = state.run;
  if (!run) {
    warnOnce('shutdown-no-init', 'shutdown() was called before init(); there is nothing to write');
    return undefined;
  }
  if (run.isFinished) {
    if (!shutdownWarned) {
      shutdownWarned = true;
      warnOnce('shutdown-twice', 'shutdown() was called again; the report was already written');
    }
    return run.report;
  }
  run.setExit({ reason: 'shutdown', exit_code: null, signal: null });
  const report = run.finish();
  if (run.inUse && state.implicitRun) noteRunInUse(run, 'recorded');
  state.runs.delete(run);
  await flushTracing();
  return report;
}

/**
 * How much longer than the export timeout the end of a run waits for span export in all. The
 * export and the app's processors are bounded by the export timeout on their own; this bound, on a
 * real timer, is for when their timers do not run: under a test runner's fake timers the
 * exporter's timeout and retries sat in the fake clock, and `await shutdown()` never resolved.
 */
const FLUSH_MARGIN_MS = 500;

async function flushTracing(): Promise<void> {
  const exportTimeoutMs = state.tracing?.exportTimeoutMs ?? DEFAULT_EXPORT_TIMEOUT_MS;
  const boundMs = Math.min(exportTimeoutMs + FLUSH_MARGIN_MS, MAX_TIMER_MS);
  // The app's own processors get as long as the OTLP export: a flush that never settles must not
  // hold the end of the run (or the process) for the SDK's 30 s.
  const release = boundAppFlushes(exportTimeoutMs);
  let timer: NodeJS.Timeout | undefined;
  try {
    const flushed = state.tracing?.flush();
    if (flushed) {
      const bound = new Promise<void>((resolve) => {
        timer = realSetTimeout(() => {
          reportExportError(new Error(`it did not finish within ${boundMs / 1000} s; the run ended without waiting for it`), 'span export could not be flushed');
          resolve();
        }, boundMs);
        timer.unref();
      });
      await Promise.race([flushed, bound]);
    }
  } catch (error) {
    // The failed export itself was already reported (RedactingSpanExporter); this is the same news.
    diag.warn(`agent-autopsy: span export could not be flushed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    if (timer !== undefined) realClearTimeout(timer);
    release();
  }
}

function finishAll(update: (run: AutopsyRun) => void): void {
  for (const run of state.runs) {
    try {
      update(run);
      finishRun(run);
    } catch (error) {
      reportError(error, 'the autopsy could not be finished');
    }
  }
  state.runs.clear();
}

function errorInfo(error: unknown): { type: string; message: string; stack?: string } {
  const type = errorClassName(error) ?? 'unknown';
  forgetStack(error);
  const info: { type: string; message: string; stack?: string } = { type, message: errorMessage(error) };
  const stack = errorStack(error);
  if (stack !== undefined) info.stack = stack;
  return info;
}

/** A signal the app handled itself: the run goes on, and the exit record mentions the signal. */
let handledSignal: NodeJS.Signals | null = null;

/**
 * The zero-code run of a process whose entry file was not found (a typo in `node --import
 * agent-autopsy/register app.mjs`) is dropped: nothing of the app ran, and its "crash" would only
 * blame the loader. Node's own error says what happened.
 */
function dropRunOfMissingEntry(error: unknown): boolean {
  const run = state.run;
  if (!run || !state.implicitRun || run.isFinished || run.eventCount > 0 || run.openSpanCount > 0 || !isMissingEntryError(error)) return false;
  run.discard();
  state.runs.delete(run);
  return true;
}

const exitListener = {
  onCrash(error: unknown, origin: 'uncaught_exception' | 'unhandled_rejection', fatal: boolean): void {
    if (fatal && dropRunOfMissingEntry(error) && state.runs.size === 0) return;
    const info = errorInfo(error);
    // The handler runs in the async context of the code that threw (a timer's callback, the tick
    // that found the rejection): the crash belongs to the stage open there, as track() events do.
    // A stage that has ended still owns what it left running (see spanStage.ts).
    const activeSpan = activeOwnSpan();
    for (const run of state.runs) {
      const data: Record<string, unknown> = { error: info.message, error_type: info.type };
      // An SDK error that escaped (an AI SDK APICallError through an agent framework) says which status ended the call.
      const status = httpStatusOf(error);
      if (status !== undefined && status >= 400) data.http_status = status;
      // The spans' stages are set as the run's queued span marks are settled.
      run.settleSpans();
      // Else the stage the error failed on its way out (an error escaping a stage to the top level).
      const stage = (activeSpan === undefined ? undefined : (run.openSpanOf(activeSpan)?.stage ?? spanStage(activeSpan))) ?? errorStage(error);
      if (stage !== undefined) data.stage = stage;
      if (info.stack !== undefined) data.stack = info.stack;
      if (!fatal) data.handled_by_app = true;
      run.record(origin, 'ERROR', data);
      // A signal the app's handler took before (its shutdown failed): the process was being stopped from outside.
      if (fatal) run.setExit({ reason: origin, exit_code: null, signal: handledSignal, error: info });
      // The app's listener decides what happens next. If it throws in turn, Node exits (code 7)
      // without an 'exit' event: what was recorded up to here must already be in the files.
      else run.flush();
    }
  },
  onSignal(signal: NodeJS.Signals, terminating: boolean): void {
    for (const run of state.runs) {
      run.record('signal_received', 'WARNING', { signal, handled_by_app: !terminating });
      if (terminating) run.setExit({ reason: 'signal', exit_code: null, signal });
    }
    if (terminating) {
      state.tracing?.holdExports();
      finishAll(() => undefined);
      // The signal ends the process next: what is queued for export goes now or never.
      state.tracing?.exportAtExit();
    } else handledSignal = signal;
  },
  onExit(code: number, drained: boolean, calledAt?: string): void {
    state.tracing?.holdExports();
    finishAll((run) => {
      const exit: Parameters<AutopsyRun['setExit']>[0] = { reason: drained ? 'normal' : 'exit', exit_code: code, signal: handledSignal, at: isoMicros(nowMs()) };
      // A path may hold a user name or a token: cleaned as every text the run records.
      if (!drained && calledAt !== undefined) exit.called_at = safeString(calledAt, run.config.maxStringLength);
      run.setExit(exit);
    });
    // No network I/O runs after 'exit': spans still queued (a crash's, the ones left open) are posted now.
    state.tracing?.exportAtExit();
  },
  async onBeforeExit(): Promise<void> {
    // The loop drained: the last moment asynchronous span export can complete. The files are
    // finished at 'exit', so nothing the app still does in its own beforeExit handlers is lost.
    await flushTracing();
  },
};
