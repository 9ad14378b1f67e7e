import { EventEmitter } from 'node:events';
import { findSourceMap } from 'node:module';
import { hideOurListeners, othersListening, ourListeners } from './hiddenListeners';
import { reportError } from './errorHandler';

/**
 * How the process is ending, as seen by the hooks below. Consumers (the runtime) decide what to
 * record; this module only makes sure they are told on every path and that Node's own behaviour
 * is kept: the same exit code, the same crash output, and a signal still terminates the process.
 */
export interface ExitListener {
  /**
   * An uncaught exception or unhandled rejection. `fatal` is false when the app's own
   * 'uncaughtException' listener takes it (the process lives on unless that listener ends it).
   */
  onCrash(error: unknown, origin: 'uncaught_exception' | 'unhandled_rejection', fatal: boolean): void;
  /** A signal arrived. `terminating` is false when the app handles it itself. */
  onSignal(signal: NodeJS.Signals, terminating: boolean): void;
  /**
   * Last synchronous moment: finish everything. `drained` is true for a normal end of the event
   * loop; `calledAt` is where `process.exit()` was called, when it was and the stack shows it.
   */
  onExit(code: number, drained: boolean, calledAt?: string): void;
  /** The event loop drained: a chance for asynchronous flushing (called once). */
  onBeforeExit(): Promise<void> | void;
}

/** The signals whose default action ends the process, and that something sends to end it: SIGUSR2 is nodemon's restart. */
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR2'];

let installed = false;
let listener: ExitListener | undefined;
let drained = false;
let beforeExitDone = false;

function safely(context: string, fn: () => void): void {
  try {
    fn();
  } catch (error) {
    reportError(error, context);
  }
}

function onUncaughtMonitor(error: unknown, origin: string): void {
  if (origin === 'unhandledRejection') lastMonitoredRejection = { reason: error };
  // With an 'uncaughtException' listener the app decides; the error is still worth recording.
  const fatal = process.listenerCount('uncaughtException') === 0;
  safely('crash handling failed', () => listener?.onCrash(error, origin === 'unhandledRejection' ? 'unhandled_rejection' : 'uncaught_exception', fatal));
}

function onBeforeExit(): void {
  drained = true;
  if (beforeExitDone) {
    putBackAppBeforeExitListeners();
    return;
  }
  beforeExitDone = true;
  // What is listed while the loop has drained keeps nothing alive (stdio pipes): read before any
  // other listener starts work (ours runs first).
  const idle = process.getActiveResourcesInfo();
  // A signal that arrived during the last synchronous work is waiting in the event loop, which
  // would now end without reading it: the process would exit with 0 instead of dying by the
  // signal. One more turn delivers it.
  let appStartedWork = false;
  setImmediate(() => safely('exit handling failed', () => appStartedWork || setAsideAppBeforeExitListeners(idle)));
  // Right after every listener has run, before the loop turns (a short timer could fire before our
  // turn): did the app's listeners start work? Our own flush starts after this look, so it is not
  // taken for the app's.
  process.nextTick(() => {
    safely('exit handling failed', () => {
      const now = process.getActiveResourcesInfo();
      const ours = now.indexOf('Immediate');
      if (ours !== -1) now.splice(ours, 1);
      appStartedWork = !onlyIdleHandlesAdded(idle, now);
    });
    try {
      const pending = listener?.onBeforeExit();
      if (pending) pending.catch((error) => reportError(error, 'flush at exit failed'));
    } catch (error) {
      reportError(error, 'flush at exit failed');
    }
  });
}

/** Every 'beforeExit' listener in its order, while the app's sit out the emission our own work caused. */
let setAside: Function[] | undefined;

/**
 * Our extra turn made the event loop run again after it drained, so Node will emit 'beforeExit'
 * once more. When nothing else keeps the loop alive, that emission is ours alone: Node would not
 * have made it without us, so the app's listeners are taken off for it (they would run twice) and
 * put back as it happens. Work the app started in its listeners (or an OTLP export still in
 * flight) keeps the loop alive, and the app's listeners then see the next emission, as they would
 * without us when work was started.
 */
function setAsideAppBeforeExitListeners(idle: readonly string[]): void {
  if (!onlyIdleHandlesAdded(idle, process.getActiveResourcesInfo())) return;
  const all = process.rawListeners('beforeExit');
  if (all.every((fn) => fn === onBeforeExit)) return;
  setAside = all;
  for (const fn of all) if (fn !== onBeforeExit) process.removeListener('beforeExit', fn as () => void);
}

/**
 * Does the loop hold nothing new that keeps it alive? Node lists every referenced handle, also one
 * that does nothing: a stdio pipe or terminal (process.stdout is made when first used, so a
 * listener that logs adds one). Anything else new (a request, a timer, an immediate, a socket, a
 * child process) is work that runs on.
 */
function onlyIdleHandlesAdded(idle: readonly string[], now: readonly string[]): boolean {
  const left = [...idle];
  for (const kind of now) {
    const at = left.indexOf(kind);
    if (at !== -1) left.splice(at, 1);
    else if (kind !== 'PipeWrap' && kind !== 'TTYWrap') return false;
  }
  return true;
}

function putBackAppBeforeExitListeners(): void {
  const order = setAside;
  if (!order) return;
  setAside = undefined;
  // Listeners added since keep their place after those put back; ours stays where it was.
  const added = process.rawListeners('beforeExit').filter((fn) => fn !== onBeforeExit);
  process.removeAllListeners('beforeExit');
  for (const fn of [...order, ...added]) process.on('beforeExit', fn as () => void);
}

/**
 * The code the process really exits with. While an ES module entry point is still evaluating, Node
 * has its own 'exit' listener (`handleProcessExit`) that runs after ours: when no exit code was set,
 * it sets 13 ("unsettled top-level await": the app awaited a promise that never settles, such as a
 * stage waiting on a callback that never fires) and exits with it. The 'exit' event says 0 then.
 */
function realExitCode(code: number): number {
  if (code !== 0 || (process.exitCode !== undefined && process.exitCode !== null)) return code;
  return process.listeners('exit').some((fn) => fn.name === 'handleProcessExit') ? 13 : code;
}

/**
 * Is this 'exit' event emitted by `process.exit()` (rather than by Node after the loop drained)?
 * After 'beforeExit' the app can still end the process itself, from its own 'beforeExit' listener
 * or from work it started there: that is an exit by `process.exit()`, as anywhere else.
 * `calledAt` is where it was called: the first frame below process.exit outside Node's internals
 * and node_modules (the first one in node_modules when there is none; none when only Node's own
 * frames are below it, as for an exit scheduled with `process.nextTick`), as V8 prints it
 * (`validate (file:///app/agent.mjs:29:7)`). The stack is read here, once, at exit: nothing on
 * the agent's path pays for it.
 */
function processExitCall(): { fromExit: boolean; calledAt?: string } {
  const { stackTraceLimit, prepareStackTrace } = Error;
  try {
    // Our listener, process.emit (and signal-exit's wrapper of it), then process.exit if it was
    // called, and the frames of whoever called it.
    Error.stackTraceLimit = 24;
    Error.prepareStackTrace = (_, sites) => sites;
    const holder: { stack?: unknown } = {};
    Error.captureStackTrace(holder, processExitCall);
    const sites = holder.stack;
    // process.exit, also when an app's wrapper calls it unbound (`const exit = process.exit; exit(2)`).
    const isProcessExit = (site: NodeJS.CallSite) =>
      site.getFunctionName() === 'exit' && (site.getTypeName() === 'process' || site.getFileName() === 'node:internal/process/per_thread');
    if (!Array.isArray(sites)) return { fromExit: false };
    const at = sites.findIndex(isProcessExit);
    if (at === -1) return { fromExit: false };
    return { fromExit: true, calledAt: callerFrame(sites.slice(at + 1)) };
  } catch {
    return { fromExit: false };
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
    Error.prepareStackTrace = prepareStackTrace;
  }
}

/** The app's own frame among `sites` (see processExitCall), as text; undefined when none has a file. */
function callerFrame(sites: NodeJS.CallSite[]): string | undefined {
  let fallback: NodeJS.CallSite | undefined;
  for (const site of sites) {
    const file = site.getFileName();
    if (!file || file.startsWith('node:')) continue;
    if (!/[\\/]node_modules[\\/]/.test(file)) return siteText(site);
    fallback ??= site;
  }
  return fallback === undefined ? undefined : siteText(fallback);
}

/**
 * A frame as V8 prints it, at its place in the source the app wrote where Node has a source map
 * of the file (tsx, `--enable-source-maps`): call sites read raw are not mapped as Node maps a
 * printed stack, and `validate (file:///app/agent.ts:1:442)` named a column of tsx's output.
 */
function siteText(site: NodeJS.CallSite): string {
  const text = String(site);
  const file = site.getFileName();
  const line = site.getLineNumber();
  const column = site.getColumnNumber();
  if (!file || line === null || column === null) return text;
  try {
    const entry = findSourceMap(file)?.findEntry(line - 1, column - 1) as Partial<{ originalSource: string; originalLine: number; originalColumn: number }> | undefined;
    if (typeof entry?.originalSource !== 'string' || typeof entry.originalLine !== 'number' || typeof entry.originalColumn !== 'number') return text;
    const generated = `${file}:${line}:${column}`;
    const at = text.lastIndexOf(generated);
    if (at === -1) return text;
    return `${text.slice(0, at)}${entry.originalSource}:${entry.originalLine + 1}:${entry.originalColumn + 1}${text.slice(at + generated.length)}`;
  } catch {
    return text; // a source map that cannot be read: the frame as it ran
  }
}

/**
 * 'exit' listeners get the code as the app gave it: `process.exit('7')` and `process.exitCode = '7'`
 * (an integer string, which Node takes) hand them '7'. The process exits with the number; so does the report.
 */
function exitCodeNumber(code: unknown): number {
  if (typeof code === 'number') return code;
  const number = Number(code);
  return Number.isFinite(number) ? number : 0;
}

function onExit(code: number): void {
  safely('exit handling failed', () => {
    const call = processExitCall();
    listener?.onExit(realExitCode(exitCodeNumber(code)), drained && !call.fromExit, call.calledAt);
  });
}

/**
 * Listeners of signal-exit (v3 and v4), which npm tools and many libraries load. Each one stands
 * back when it sees a listener other than its own, as this module does: both would wait for the
 * other and the signal would end nothing. They are counted as not the app's; once ours is gone,
 * signal-exit runs its exit callbacks and re-raises the signal itself.
 */
function signalExitListeners(): number {
  const v4 = (globalThis as Record<symbol, { count?: unknown } | undefined>)[Symbol.for('signal-exit emitter')];
  const v3 = (process as { __signal_exit_emitter__?: { count?: unknown } }).__signal_exit_emitter__;
  let count = 0;
  for (const emitter of [v4, v3]) if (emitter && typeof emitter.count === 'number') count += emitter.count;
  return count;
}

/**
 * An unhandled rejection that an 'unhandledRejection' listener takes never reaches
 * 'uncaughtExceptionMonitor': the app's (or a library's) listener decides, and often ends the
 * process with `process.exit(1)`, the reason known to no one else. A listener of ours alone would
 * change what Node does (any listener means "handled": no crash), so ours is there only while
 * another is: it is put first when the first other one is added, and taken off with the last.
 * It is hidden from counts (hiddenListeners.ts): the OpenAI Agents SDK exits only when alone.
 */
function followOtherRejectionListeners(): void {
  ourListeners().add(onRejectionTaken);
  // Counted whatever hides listeners (ours are hidden from process.rawListeners()).
  const oursThere = () => EventEmitter.prototype.rawListeners.call(process, 'unhandledRejection').includes(onRejectionTaken);
  const keepInStep = () => {
    const othersThere = othersListening('unhandledRejection').length > 0;
    if (othersThere && !oursThere()) process.prependListener('unhandledRejection', onRejectionTaken);
    else if (!othersThere && oursThere()) process.removeListener('unhandledRejection', onRejectionTaken);
  };
  process.on('newListener', (event: string | symbol, fn: unknown) => {
    // Emitted before the listener is added: ours goes first, the new one after it.
    if (event === 'unhandledRejection' && !ourListeners().has(fn) && !oursThere()) {
      safely('exit hooks failed', () => process.prependListener('unhandledRejection', onRejectionTaken));
    }
  });
  process.on('removeListener', (event: string | symbol, fn: unknown) => {
    if (event === 'unhandledRejection' && !ourListeners().has(fn)) safely('exit hooks failed', keepInStep);
  });
  keepInStep();
}

/** The reason of the last rejection 'uncaughtExceptionMonitor' told us of: under --unhandled-rejections=strict Node emits it afterwards too. */
let lastMonitoredRejection: { reason: unknown } | undefined;

function onRejectionTaken(reason: unknown): void {
  if (lastMonitoredRejection !== undefined && lastMonitoredRejection.reason === reason) return;
  safely('crash handling failed', () => listener?.onCrash(reason, 'unhandled_rejection', false));
}

function onSignal(signal: NodeJS.Signals): void {
  // Any listener the process shows, other than ours (in any copy) and signal-exit's, means the app
  // handles it. What it shows: code that hides its own listener from process.listeners() asks
  // not to be counted, as ours does (tsx's CLI relays signals to its parent with a hidden listener
  // that exits only once it is alone: counted, it made us stand back, and both waited).
  const ours = ourListeners();
  const others = process.listeners(signal).filter((fn) => !ours.has(fn)).length;
  const appHandlesIt = others - signalExitListeners() > 0;
  safely('signal handling failed', () => listener?.onSignal(signal, !appHandlesIt));
  if (appHandlesIt) return;
  // Nobody else listens: behave as if we had never been here, and let the signal kill the process
  // (or signal-exit, which then sees only its own listeners and does what it would without us).
  // Another copy's listener, if any, does the same next; the last one's re-raise ends the process.
  process.removeListener(signal, signalHandlers[signal]);
  // Node stops listening for a signal when process.listenerCount() says none is left. Code that
  // hides its own listener from that count (tsx's CLI does, for the listener that relays signals
  // to its parent and exits with 128 + n once alone) is then skipped by a re-raise, which would
  // kill the process instead of letting that listener end it: it is called instead, as it would
  // have been without us, and decides.
  if (process.listenerCount(signal) === 0 && EventEmitter.prototype.listenerCount.call(process, signal) > 0) {
    process.emit(signal as 'SIGINT', signal);
    return;
  }
  process.kill(process.pid, signal);
}

const signalHandlers = Object.fromEntries(SIGNALS.map((signal) => [signal, () => onSignal(signal)])) as Record<
  NodeJS.Signals,
  () => void
>;

/**
 * A listener hidden from `process.listeners()` by its own code, there before ours (tsx's CLI
 * relays a signal to its parent with one, which tells the parent at once and exits only when no
 * other listener is left), goes back in front of ours. Behind ours it told the parent only once
 * the autopsy was written, and tsx kills the app with SIGKILL when it has not heard within 60 ms:
 * a report that took longer (a loaded machine, thousands of stages) was never finished.
 */
function keepHiddenRelaysFirst(signal: NodeJS.Signals): void {
  const ours = ourListeners();
  const visible = new Set(process.listeners(signal));
  const hidden = EventEmitter.prototype.rawListeners.call(process, signal).filter((fn) => !ours.has(fn) && !visible.has(fn as never)) as Array<(...args: unknown[]) => void>;
  if (hidden.length === 0) return;
  for (const fn of hidden) process.removeListener(signal, fn);
  for (let i = hidden.length - 1; i >= 0; i--) process.prependListener(signal, hidden[i]);
}

/**
 * Installs the process hooks once; later calls only replace the listener.
 *
 * 'exit', 'beforeExit' (see onBeforeExit) and the signal listeners go first in line: Node skips
 * the remaining 'exit' listeners when one of them calls `process.exit()`, and an app's signal
 * handler may exit synchronously, so the autopsy is finished before any app listener runs. Nothing here changes the exit code:
 * listeners only read it, and a signal nobody else handles is re-raised with the default action.
 */
export function installExitHooks(next: ExitListener): void {
  listener = next;
  if (installed) return;
  installed = true;
  process.on('uncaughtExceptionMonitor', onUncaughtMonitor);
  process.prependListener('beforeExit', onBeforeExit);
  process.prependListener('exit', onExit);
  finishAlsoInReallyExit();
  for (const signal of SIGNALS) {
    ourListeners().add(signalHandlers[signal]);
    process.prependListener(signal, signalHandlers[signal]);
    safely('exit hooks failed', () => keepHiddenRelaysFirst(signal));
  }
  safely('exit hooks failed', hideOurListeners);
  safely('exit hooks failed', followOtherRejectionListeners);
}

/**
 * An app 'exit' listener that runs before ours (one prepended after init()) and calls
 * process.exit() ends the process in process.reallyExit, and ours never runs: the run is finished
 * there instead, as signal-exit finishes its own. When ours has run, there is nothing left to do.
 */
function finishAlsoInReallyExit(): void {
  const proc = process as unknown as { reallyExit?: (code?: number) => never };
  const reallyExit = proc.reallyExit;
  if (typeof reallyExit !== 'function') return;
  proc.reallyExit = function finishThenExit(this: unknown, code?: number): never {
    safely('exit handling failed', () => listener?.onExit(typeof code === 'number' ? code : Number(process.exitCode ?? 0), false));
    return reallyExit.call(this, code);
  };
}

export function exitHooksInstalled(): boolean {
  return installed;
}
