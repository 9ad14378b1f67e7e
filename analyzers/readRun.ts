import { accessSync, closeSync, constants, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { AUTOFIX_LOG, LOCK_FILE, LOGS_SUBDIR, READABLE_LOG, REPORT_JSON, TRACKER_JSON } from '../exporters/paths';
import { onThisMachine, readRunLock, runLockOwnerState, type RunLockOwner } from '../exporters/runLock';
import type { Locale, TruthEvent } from '../src/types';
import { addAutofixLog, emptyAutofixStats } from './autofixStats';
import { parsePythonJson } from './pythonJson';
import type { CriticalFailureList } from './CriticalFailureList';
import type { DiagnosisRule } from './diagnosisTypes';
import { eventKind, type EventKind } from './eventKind';
import { eventLoopTurns, readTextChunks, type ReadOptions } from './fileChunks';
import { OpenSpanTracker } from './OpenSpanTracker';
import { LogFile } from './LogFile';
import { analyzeOtlpRun, analyzeOtlpRunSync, startsLikeOtlpJson, type OtlpReadResult } from './OtlpJsonReader';
import type { AutopsyReport, ExitInfo } from './reportTypes';
import { RunAnalyzer } from './RunAnalyzer';
import { runsInside, runsInsideHint } from './runsInside';
import { TruthLogError, TruthLogParser, truthLogStartTime, type TruthLogReadResult } from './TruthLogParser';

export type { ReadOptions, ReadProgress } from './fileChunks';

/** Streams execution_tracker.json (either layout) into `onEvent`, synchronously, in constant memory. */
export function readTruthLogSync(path: string, onEvent: (event: TruthEvent) => void, options: ReadOptions = {}): TruthLogReadResult {
  return readLogSync(path, onEvent, undefined, options);
}

/** Like readTruthLogSync, yielding to the event loop every 50 ms (so a progress bar can draw). */
export function readTruthLog(path: string, onEvent: (event: TruthEvent) => void, options: ReadOptions = {}): Promise<TruthLogReadResult> {
  return readLog(path, onEvent, undefined, options);
}

type EventSink = (event: TruthEvent) => void;
type EventsSink = (events: readonly TruthEvent[]) => void;

/** The readers, with TruthLogParser's `onEvents` for runs of events parsed together. */
function readLogSync(source: string | LogFile, onEvent: EventSink, onEvents: EventsSink | undefined, options: ReadOptions): TruthLogReadResult {
  const parser = new TruthLogParser(onEvent, typeof source === 'string' ? source : source.path, onEvents);
  for (const text of readTextChunks(source, options)) parser.push(text);
  return parser.end();
}

async function readLog(source: string | LogFile, onEvent: EventSink, onEvents: EventsSink | undefined, options: ReadOptions): Promise<TruthLogReadResult> {
  const parser = new TruthLogParser(onEvent, typeof source === 'string' ? source : source.path, onEvents);
  const turn = eventLoopTurns();
  for (const text of readTextChunks(source, options)) {
    parser.push(text);
    await turn();
  }
  return parser.end();
}

export interface RunLocation {
  /** The run directory (the one holding Memory/logs), or the log's folder for a bare file. */
  outputDir: string;
  logDir: string;
  trackerJson: string;
}

/**
 * Whether a file is there. A folder that may not be searched (permissions) is named as such,
 * instead of passing for a folder without a log.
 */
function fileThere(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw new TruthLogError(`cannot read directory (${code ?? String(error)})`, dirname(path));
  }
}

/** Finds execution_tracker.json from a run directory, its Memory/logs folder, or the file itself (an OTLP JSON file too). */
export function locateRun(input: string): RunLocation {
  const path = resolve(input);
  if (!fileThere(path)) throw new TruthLogError('no such file or directory', path);
  if (statSync(path).isDirectory()) {
    // A folder we may not search would look empty below (every file in it "missing").
    try {
      accessSync(path, constants.X_OK);
    } catch (error) {
      throw new TruthLogError(`cannot read directory (${(error as NodeJS.ErrnoException).code ?? String(error)})`, path);
    }
    for (const logDir of [join(path, LOGS_SUBDIR), path]) {
      const trackerJson = join(logDir, TRACKER_JSON);
      if (fileThere(trackerJson)) {
        return { outputDir: logDir === path && basename(dirname(path)) === 'Memory' ? dirname(dirname(path)) : path, logDir, trackerJson };
      }
    }
    // The original Python tracker wrote its JSON only when asked to (save_json_log()): a run that
    // crashed first left only the readable log, which holds every event too.
    for (const logDir of [join(path, LOGS_SUBDIR), path]) {
      const readable = join(logDir, READABLE_LOG);
      if (fileThere(readable)) {
        return { outputDir: logDir === path && basename(dirname(path)) === 'Memory' ? dirname(dirname(path)) : path, logDir, trackerJson: readable };
      }
    }
    // The folder that holds the runs (the default ./autopsy-runs), given instead of one of them.
    const inside = runsInside(path);
    throw new TruthLogError(`no ${join(LOGS_SUBDIR, TRACKER_JSON)} in this directory`, path, inside && runsInsideHint(inside, 'report'));
  }
  const logDir = dirname(path);
  const outputDir = basename(logDir) === 'logs' && basename(dirname(logDir)) === 'Memory' ? dirname(dirname(logDir)) : logDir;
  return { outputDir, logDir, trackerJson: path };
}

export interface AnalyzeOptions extends ReadOptions {
  locale?: Locale | string;
  rules?: readonly DiagnosisRule[];
  /** Sees every event, in order, after the analyzer (e.g. to list them in autopsy.html). */
  onEvent?: (event: TruthEvent) => void;
  /**
   * 'all' (default): the report lists every critical failure. 'first': it lists the first 2,000
   * and the result's `criticalFailures` holds them all, for writeJsonReport to stream (then call
   * its dispose()).
   */
  criticalFailures?: 'all' | 'first';
}

export interface AnalyzedRun {
  report: AutopsyReport;
  /** How the input was read: a Truth-Mode or Python tracker log, or an OTLP JSON trace export. */
  read: TruthLogReadResult | OtlpReadResult;
  location: RunLocation;
  /** Every critical failure, when asked for with `criticalFailures: 'first'`. */
  criticalFailures?: CriticalFailureList;
  /** An autofix_log.json that was present but left out of the autofix statistics, and why. */
  ignoredAutofixLog?: { path: string; reason: string };
  /**
   * The process named by the run directory's lock as recording this log (same start_time), when
   * the log was still open. `live: true` (a process on this machine that still runs): the report
   * is the run's state so far (`exit.reason: "running"`). `live: false`: its process is gone, or
   * it is on another machine and cannot be checked; the run is reported as killed.
   */
  recorder?: RunLockOwner & { live: boolean };
}

/** A JSON document as the original tracker wrote it (NaN allowed); undefined when it is not JSON. */
function parseJsonText(text: string): unknown {
  try {
    return parsePythonJson(text);
  } catch {
    return undefined;
  }
}

/** Reports up to this size are parsed whole; larger ones (a long critical_failures list) by their end. */
const WHOLE_REPORT_BYTES = 1 << 20;
const REPORT_TAIL_BYTES = 1 << 20;

type ReportEnding = { exit?: ExitInfo; run?: { start_time?: unknown; service_name?: unknown; locale?: unknown } };

/**
 * The `exit` and `run` sections of a saved latent_analysis_report.json. They are its last two
 * keys, as this library writes it (2-space indent), so a large report is read from its last MiB
 * only: a run with 500,000 critical failures has a 150 MB report, and its exit takes a few lines.
 */
function readReportEnding(path: string): ReportEnding | undefined {
  let fd = -1;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    if (size <= WHOLE_REPORT_BYTES) return JSON.parse(readFileSync(fd, 'utf8'));
    const buffer = Buffer.alloc(REPORT_TAIL_BYTES);
    const n = readSync(fd, buffer, 0, REPORT_TAIL_BYTES, size - REPORT_TAIL_BYTES);
    const tail = buffer.toString('utf8', 0, n);
    // A top-level key sits on its own line at two spaces; nothing nested is indented that little.
    const at = tail.lastIndexOf('\n  "exit": ');
    return at === -1 ? undefined : JSON.parse(`{${tail.slice(at + 1)}`);
  } catch {
    return undefined;
  } finally {
    if (fd !== -1) closeSync(fd);
  }
}

/**
 * The process recording this log, from the run directory's lock: only a lock written for this very
 * log (its start_time) counts. `live` is false for a process that is gone — and for one on another
 * machine, which cannot be checked (the lock stays until someone removes it).
 */
function recorderOf(location: RunLocation, read: TruthLogReadResult): AnalyzedRun['recorder'] {
  if (!read.startTime) return undefined;
  const owner = readRunLock(join(location.logDir, LOCK_FILE));
  if (!owner || owner.started !== read.startTime) return undefined;
  return { ...owner, live: onThisMachine(owner) && runLockOwnerState(owner) !== 'dead' };
}

const RUNNING: ExitInfo = { reason: 'running', exit_code: null, signal: null, at: null };

/**
 * The ending of the report saved for this very run (latent_analysis_report.json with the log's
 * start_time); a reused directory may hold an older run's report, and a readable log has no start.
 */
function savedReportEnding(location: RunLocation, read: TruthLogReadResult): ReportEnding | undefined {
  if (read.format === 'readable') return undefined;
  const previous = readReportEnding(join(location.logDir, REPORT_JSON));
  const sameRun = previous?.run?.start_time === undefined || previous.run.start_time === read.startTime;
  return sameRun ? previous : undefined;
}

const LOCALES: readonly unknown[] = ['en', 'zh-CN'] satisfies Locale[];

/**
 * The locale the run was given, as its files keep it: the saved report's `run.locale`, else (a
 * killed run has no report) its lock's `locale`; each only when written for this very log (its
 * start_time, from the log's first line). Undefined when neither says: the report is in English.
 */
function recordedLocale(location: RunLocation, head: string): Locale | undefined {
  const started = truthLogStartTime(head);
  if (started === undefined) return undefined;
  const report = readReportEnding(join(location.logDir, REPORT_JSON))?.run;
  if (report?.start_time === started && LOCALES.includes(report.locale)) return report.locale as Locale;
  const lock = readRunLock(join(location.logDir, LOCK_FILE));
  if (lock?.started === started && LOCALES.includes(lock.locale)) return lock.locale as Locale;
  return undefined;
}

/**
 * The options with the run's own locale where none was asked for, so a rebuilt report is in the
 * language of the one written at the run's end.
 */
function withRunLocale(location: RunLocation, file: LogFile, options: AnalyzeOptions): AnalyzeOptions {
  if (options.locale !== undefined) return options;
  const locale = recordedLocale(location, file.head());
  return locale === undefined ? options : { ...options, locale };
}

/** What the events say about the end: the crash or signal that ended the process, and a signal the app took. */
interface EndingEvents {
  crash?: { reason: ExitInfo['reason']; error?: ExitInfo['error'] };
  signal?: string;
  handledSignal?: string;
}

/**
 * How the run ended, judged from its files: a closed log keeps what the exit-time report said; an
 * open one was killed, unless a live process still records it (then it is running, as is a log
 * its writer made a complete document mid-run with saveJsonLog()). A lock whose process is gone
 * means the run was never finished: killed.
 */
function exitFromFiles(previous: ReportEnding | undefined, read: TruthLogReadResult, recorder: AnalyzedRun['recorder'], seen: EndingEvents): ExitInfo {
  const running = recorder?.live === true;
  // A readable log has no closing line to tell a clean end from a kill: only its events speak.
  if (read.format === 'readable') return running ? { ...RUNNING } : exitFromEvents(seen, recorder);
  if (!read.complete) return running ? { ...RUNNING } : { reason: 'killed', exit_code: null, signal: null, at: null };
  // A report taken mid-run (LatentReporter on a live run) says "running": that is no ending. Its
  // process may have died since; the lock below tells.
  if (previous?.exit && typeof previous.exit.reason === 'string' && previous.exit.reason !== 'running') {
    const { description: _description, ...exit } = previous.exit;
    return exit;
  }
  if (running) return { ...RUNNING };
  return exitFromEvents(seen, recorder);
}

/**
 * The exit as the events show it. The exit code and the moment of the exit are not in the log; a
 * crash's error is (its event holds the same type, message and stack as the live report's exit).
 */
function exitFromEvents(seen: EndingEvents, recorder?: AnalyzedRun['recorder']): ExitInfo {
  if (seen.crash) return { reason: seen.crash.reason, exit_code: null, signal: seen.handledSignal ?? null, ...(seen.crash.error ? { error: seen.crash.error } : {}), at: null };
  if (seen.signal) return { reason: 'signal', exit_code: null, signal: seen.signal, at: null };
  // A signal the app's own handler took is noted, as the live report notes it; it did not end the process.
  const signal = seen.handledSignal ?? null;
  // Made complete mid-run (saveJsonLog()), and its process died before it could finish the run.
  if (recorder && onThisMachine(recorder)) return { reason: 'killed', exit_code: null, signal, at: null };
  return { reason: 'unknown', exit_code: null, signal, at: null };
}

/** The error of a crash event, as the live run recorded it (data.error, data.error_type, data.stack). */
function crashError(data: TruthEvent['data'] | undefined): ExitInfo['error'] {
  if (typeof data?.error !== 'string') return undefined;
  const error: NonNullable<ExitInfo['error']> = { type: typeof data.error_type === 'string' ? data.error_type : 'Error', message: data.error };
  if (typeof data.stack === 'string') error.stack = data.stack;
  return error;
}

function lastEventMs(analyzer: RunAnalyzer): number | undefined {
  const at = analyzer.lastEventTimestamp ? Date.parse(analyzer.lastEventTimestamp) : NaN;
  return Number.isFinite(at) ? at : undefined;
}

/** Events queued for analysis by a reader: few enough to die young (256 raised peak RSS by 16 MB). */
const READ_BATCH = 64;

function analyze(location: RunLocation, options: AnalyzeOptions, read: (onEvent: EventSink, onEvents: EventsSink) => TruthLogReadResult | Promise<TruthLogReadResult>) {
  // Only the report is built from a log: no counts by type for get_summary.
  const analyzer = new RunAnalyzer({ locale: options.locale, rules: options.rules, eventCounts: false });
  const open = new OpenSpanTracker();
  const ending: EndingEvents = {};
  // Parsed events are analyzed in batches, one pass per analyzer: parsing, the analyzer and the
  // span tracker each keep their code in the CPU's instruction cache (bench/README item 15). Runs
  // the parser read together are such a batch as they come; events it delivers one at a time are
  // queued.
  const queue: TruthEvent[] = [];
  const kinds: EventKind[] = [];
  const noteEnding = (event: TruthEvent) => {
    // A crash or signal the app's own listener took (handled_by_app) did not end the process: the
    // app went on. One left to Node's default action did.
    const handled = event.data?.handled_by_app === true;
    if (event.type === 'uncaught_exception' || event.type === 'unhandled_rejection') {
      if (!handled) ending.crash = { reason: event.type, error: crashError(event.data) };
    } else if (typeof event.data?.signal === 'string') {
      if (handled) ending.handledSignal = event.data.signal;
      else ending.signal = event.data.signal;
    }
  };
  const observeBatch = (batch: readonly TruthEvent[]) => {
    for (let i = 0; i < batch.length; i++) kinds[i] = eventKind(batch[i].type);
    for (let i = 0; i < batch.length; i++) analyzer.observe(batch[i], kinds[i]);
    for (let i = 0; i < batch.length; i++) {
      open.observe(batch[i], kinds[i]);
      if (kinds[i].ending) noteEnding(batch[i]);
    }
    const seeEvent = options.onEvent;
    if (seeEvent) for (let i = 0; i < batch.length; i++) seeEvent(batch[i]);
  };
  const flush = () => {
    observeBatch(queue);
    queue.length = 0;
  };
  const onEvent: EventSink = (event) => {
    if (queue.push(event) >= READ_BATCH) flush();
  };
  const onEvents: EventsSink = (events) => {
    if (queue.length > 0) flush();
    observeBatch(events);
  };
  const finish = (result: TruthLogReadResult): AnalyzedRun => {
    flush();
    const autofix = emptyAutofixStats();
    const autofixLog = join(location.logDir, AUTOFIX_LOG);
    let ignoredAutofixLog: AnalyzedRun['ignoredAutofixLog'];
    if (existsSync(autofixLog)) {
      let text: string | undefined;
      let unreadable = '';
      try {
        text = readFileSync(autofixLog, 'utf8');
      } catch (error) {
        unreadable = `it cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
      }
      const document = text === undefined ? undefined : parseJsonText(text);
      // The seed's reporter sums the file only when its type says it is an autofix log.
      if (!addAutofixLog(autofix, document)) {
        ignoredAutofixLog = { path: autofixLog, reason: unreadable || (document === undefined ? 'it is not valid JSON' : 'its "type" is not "autofix_log"') };
      }
    }
    const recorder = recorderOf(location, result);
    const previous = savedReportEnding(location, result);
    const exit = exitFromFiles(previous, result, recorder, ending);
    // The log does not name the service; the report written at the run's end did.
    const serviceName = typeof previous?.run?.service_name === 'string' ? previous.run.service_name : undefined;
    const lastMs = lastEventMs(analyzer);
    const built = analyzer.finishReport({
      autofix,
      exit,
      unfinished: open.unfinished(analyzer.lastEventTimestamp),
      outputDir: location.outputDir,
      startTime: result.startTime,
      serviceName,
      source: result.format === 'python' ? 'python-tracker' : result.format === 'readable' ? 'readable-log' : 'truth-mode',
      // The run's own end (its last event), so durations and ages are the run's, not the time since.
      now: lastMs ?? Date.now(),
      criticalFailures: options.criticalFailures,
    });
    // A run that is over and has no dated event (killed before its first one, timestamps unreadable)
    // ended at an unknown time: its duration is unknown, not the time since it started (years, for an old log).
    if (lastMs === undefined && exit.reason !== 'running') built.report.run.duration_seconds = null;
    const analyzed: AnalyzedRun = { ...built, read: result, location, ...(ignoredAutofixLog ? { ignoredAutofixLog } : {}) };
    // Who was (or is) writing a log that has no end yet.
    if (recorder && (exit.reason === 'running' || !result.complete)) analyzed.recorder = recorder;
    return analyzed;
  };
  return { onEvent, onEvents, finish, read };
}

/** An AnalyzedRun read with `criticalFailures: 'first'`: the full list is there, to stream and dispose(). */
export type AnalyzedRunWithCriticalFailures = AnalyzedRun & { criticalFailures: CriticalFailureList };

/** Reads a run from disk and builds its report (nothing is written). */
export function analyzeRun(input: string, options: AnalyzeOptions & { criticalFailures: 'first' }): Promise<AnalyzedRunWithCriticalFailures>;
export function analyzeRun(input: string, options?: AnalyzeOptions): Promise<AnalyzedRun>;
export async function analyzeRun(input: string, options: AnalyzeOptions = {}): Promise<AnalyzedRun> {
  const location = locateRun(input);
  return analyzeLogFile(location, LogFile.open(location.trackerJson), options);
}

/**
 * analyzeRun of a log opened already (its head perhaps looked at): OTLP JSON or the others, as its
 * head tells, read from the same file, which is closed at the end. A pipe is read once.
 */
export async function analyzeLogFile(location: RunLocation, file: LogFile, options: AnalyzeOptions = {}): Promise<AnalyzedRun> {
  try {
    if (startsLikeOtlpJson(file.head())) return await analyzeOtlpRun(location, options, file);
    const job = analyze(location, withRunLocale(location, file, options), (onEvent, onEvents) => readLog(file, onEvent, onEvents, options));
    return job.finish(await job.read(job.onEvent, job.onEvents));
  } finally {
    file.close();
  }
}

/** Synchronous analyzeRun. */
export function analyzeRunSync(input: string, options: AnalyzeOptions & { criticalFailures: 'first' }): AnalyzedRunWithCriticalFailures;
export function analyzeRunSync(input: string, options?: AnalyzeOptions): AnalyzedRun;
export function analyzeRunSync(input: string, options: AnalyzeOptions = {}): AnalyzedRun {
  const location = locateRun(input);
  const file = LogFile.open(location.trackerJson);
  try {
    if (startsLikeOtlpJson(file.head())) return analyzeOtlpRunSync(location, options, file);
    const job = analyze(location, withRunLocale(location, file, options), (onEvent, onEvents) => readLogSync(file, onEvent, onEvents, options));
    return job.finish(job.read(job.onEvent, job.onEvents) as TruthLogReadResult);
  } finally {
    file.close();
  }
}
