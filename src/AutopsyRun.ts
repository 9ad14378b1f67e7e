import { existsSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Attributes, Span } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Resource } from '@opentelemetry/resources';
import { addAutofixAttempt, addAutofixLog, autofixLogDocument, emptyAutofixStats } from '../analyzers/autofixStats';
import { stageKey } from '../analyzers/FailureAggregate';
import { addStreamFacts, spanName } from '../analyzers/OpenSpanTracker';
import { RunAnalyzer } from '../analyzers/RunAnalyzer';
import type { AutofixStatistics, AutopsyReport, ExitInfo, UnfinishedSpan } from '../analyzers/reportTypes';
import { parsePythonJson } from '../analyzers/pythonJson';
import { writeFileAtomic } from '../exporters/atomicWrite';
import { asciiJson } from '../exporters/eventFormat';
import { runPaths, type RunPaths } from '../exporters/paths';
import { releaseRunLock, type HeldRunLock } from '../exporters/runLock';
import { reportWrittenLine, writeReportFiles } from '../exporters/writeReportFiles';
import { TruthLogExporter } from '../exporters/TruthLogExporter';
import { runUntraced } from './AutopsyContextManager';
import { isoMicros, nowMs, secondsBetween, systemClockMs } from './clock';
import type { ResolvedConfig } from './config';
import { reportError, writeStderr } from './errorHandler';
import { EVENT_PREFIX, type SpanKindName } from './eventTypes';
import { realClearTimeout, realSetTimeout } from './realTimers';
import type { SpanHandover } from './spanData';
import { OpenSpans, type OpenSpanLinks } from './OpenSpans';
import * as sc from './semconv';
import { SpanMark, type SpanMarkMapper } from './SpanMark';
import { UntracedPairs, type UntracedPair } from './UntracedPairs';
import { endReadyLlmCalls } from './streamedLlmCalls';
import { attributesOf, closeStream, streamState, type StreamState } from './StreamChunks';
import { unfinishedStreamData } from './spanMapping';
import { enclosingCall } from './enclosingCall';
import { openRunDirectory, type RunDirectory, type RunDirectoryInUse } from './runDirectory';
import { safeData, safeString } from './safeValue';
import { errorData } from './spanMapping';
import type { EventData, Level, OpenSpanInfo, TruthEvent } from './types';

export interface OpenSpanEntry extends OpenSpanInfo, OpenSpanLinks {
  /** The live span, ended as unfinished at exit. */
  span?: Span;
  /** What the wrapper that started the span handed over (start data, and end data set while it ran). */
  handover?: SpanHandover;
  /** The parent span's entry, when the parent was open as this span started (let go when this one ends). */
  parent: OpenSpanEntry | undefined;
}

/** Recorded events and span marks waiting to be written and analyzed: at most this many (memory stays bounded). */
const MAX_QUEUED_EVENTS = 256;

export interface AutopsyRunOptions {
  /**
   * Open the run directory (lock, truncated logs) at the first event, not now (zero code): a
   * process that records nothing leaves nothing behind, and does not hold a directory that its
   * child, the agent itself, would then have to record beside (see openDirectory()).
   */
  deferDirectory?: boolean;
}

/** What a process records about a signal it got: not reason enough to open a run directory (see holdsOnlySignals). */
const SIGNAL_RECEIVED = 'signal_received';

/**
 * One run of an agent: its output files, its streaming analysis and its open spans. Everything
 * recorded goes through `record()`, which queues the event; `drain()` writes each queued event and
 * feeds it to the analyzer in one step, in record order, so the files and the report always agree.
 *
 * The queue is drained when the event loop turns (a 0 ms timer), when it holds MAX_QUEUED_EVENTS,
 * and before anything reads the files or the analysis (flush, checkpoint, report, exit). So the
 * writing and analysis of an LLM call's events happen while the agent waits for the network, not
 * on the call's path, and a busy loop writes its events in batches.
 *
 * Spans join the queue as marks (`recordSpan`), not events: the span processor turns each into its
 * event when the queue drains, in queue order, so its table of open spans follows the same order as
 * the files. Whatever reads that table from outside (`track()`'s stage, a crash's, the report of
 * unfinished spans) settles the marks first (`settleSpans`, `openSpanOf`).
 *
 * A timer, not setImmediate: the drain must not keep the process alive (unref), and an unref'd
 * immediate does not wake a loop that is waiting: recorded from a timer callback, the events sat
 * in memory until the next I/O or timer, seconds later, and a `kill -9` meanwhile lost them.
 * An unref'd timer still wakes the loop when it is due.
 */
export class AutopsyRun {
  readonly config: ResolvedConfig;
  /** The files of `config.outputDir`, where a deferred run records unless its directory turns out to be in use. */
  private readonly askedPaths: RunPaths;
  /** The directory the run records in, once opened. */
  private directory: RunDirectory | undefined;
  readonly startMs: number;
  readonly startTime: string;
  /** The start by the system clock, which file times follow (see openRunDirectory). */
  private readonly startSystemMs: number;
  private readonly analysis: RunAnalyzer;
  /** Spans started and not yet ended, found from their span objects (OpenSpans). */
  readonly openSpans = new OpenSpans<OpenSpanEntry>();
  /**
   * Seed-style pairs (track()) still open that the run sees no span for: a bare ExecutionTracker's
   * (UntracedPairs). Made by its first start; init()'s run never has one.
   */
  untraced: UntracedPairs | undefined;
  /** The logs' writer, made as the run directory is opened (undefined until then: a deferred run). */
  private exporter: TruthLogExporter | undefined;
  private readonly queue: Array<TruthEvent | SpanMark> = [];
  /** Index in the queue of its first span mark (-1: none); everything before it is an event. */
  private firstMark = -1;
  /** What maps the run's span marks (the span processor): it classifies open spans late (classifyLate). */
  private spanMapper: SpanMarkMapper | undefined;
  private settling = false;
  private draining = false;
  /** One timer for the run, re-armed with refresh() (no allocation per batch). */
  private drainTimer: NodeJS.Timeout | undefined;
  private drainScheduled = false;
  private readonly drainLater = (): void => {
    this.drainScheduled = false;
    this.drain();
  };
  private readonly autofixStats: AutofixStatistics = emptyAutofixStats();
  private wroteAutofixLog = false;
  private exitInfo: ExitInfo | undefined;
  private finishedReport: AutopsyReport | undefined;
  private finished = false;
  /** The resource of the first span (the app's own provider may name the service); null: none. */
  tracedResource: Resource | null | undefined;
  /** The run directory's lock, held until the run is finished or discarded. */
  private lock: HeldRunLock | undefined;

  constructor(config: ResolvedConfig, options: AutopsyRunOptions = {}) {
    this.config = config;
    this.startMs = nowMs();
    this.startTime = isoMicros(this.startMs);
    this.startSystemMs = systemClockMs();
    this.askedPaths = runPaths(config.outputDir);
    if (options.deferDirectory !== true) this.openDirectory();
    // Critical failures past the first 2,000 wait on the logs' disk, not in /tmp (often memory).
    // (A deferred run that goes to processes/<pid> spills beside it: the file is unlinked as it is made.)
    this.analysis = new RunAnalyzer({ locale: config.locale, rules: config.rules, criticalFailuresDir: this.paths.logDir });
  }

  /** Where the run records: its directory's files once opened, until then those of `config.outputDir`. */
  get paths(): RunPaths {
    return this.directory?.paths ?? this.askedPaths;
  }

  /**
   * Set when `config.outputDir` was being recorded by another live process (or holds a run that
   * started after this one): this run records in `<outputDir>/processes/<pid>` instead (`paths`),
   * see runDirectory.ts.
   */
  get inUse(): RunDirectoryInUse | undefined {
    return this.directory?.inUse;
  }

  /** Opens the run directory unless it is open (a deferred run's, before its first event is written); returns its files. */
  claimDirectory(): RunPaths {
    if (this.exporter === undefined && !this.finished) this.openDirectory();
    return this.paths;
  }

  /**
   * Claims the directory (its lock) before its files are truncated by the writer made here.
   * Untraced, as every file of the run: init() sets up tracing (and a context manager) first; a
   * bare ExecutionTracker's run goes through whatever context manager the app has.
   */
  private openDirectory(): TruthLogExporter {
    return runUntraced(() => {
      const directory = openRunDirectory(this.config.outputDir, this.startTime, this.config.locale, this.startSystemMs);
      this.directory = directory;
      this.lock = directory.lock;
      this.exporter = new TruthLogExporter({
        jsonPath: directory.paths.trackerJson,
        readablePath: directory.paths.readableLog,
        startTime: this.startTime,
        flushIntervalMs: this.config.flushIntervalMs,
      });
      return this.exporter;
    });
  }

  /**
   * Whether a deferred run has nothing to keep: its directory not opened, no span open, and
   * nothing queued but what it recorded about signals. A runner's process (npm, tsx's CLI) gets
   * the Ctrl-C its child, the agent, gets: that alone is no run of its own.
   */
  get recordedNothing(): boolean {
    if (this.exporter !== undefined) return false;
    this.settleSpans();
    return this.openSpans.size === 0 && this.holdsOnlySignals();
  }

  private holdsOnlySignals(): boolean {
    for (const item of this.queue) if (item instanceof SpanMark || item.type !== SIGNAL_RECEIVED) return false;
    return true;
  }

  /**
   * Abandons a run that recorded nothing (the zero-code run an explicit init() replaces, or that
   * never recorded anything): closes its files and removes them, and the directories it created,
   * when they hold nothing else. A deferred run whose directory was never opened leaves nothing.
   */
  discard(): void {
    if (this.finished || (this.exporter !== undefined && this.eventCount > 0)) return;
    this.finished = true;
    if (this.drainTimer !== undefined) realClearTimeout(this.drainTimer);
    this.queue.length = 0;
    this.firstMark = -1;
    if (this.exporter === undefined) return;
    this.exporter.shutdown();
    for (const file of [this.paths.trackerJson, this.paths.readableLog]) rmSync(file, { force: true });
    this.releaseLock();
    const createdDir = this.directory?.createdDir;
    if (!createdDir) return;
    for (let dir = this.paths.logDir; dir.startsWith(createdDir); dir = dirname(dir)) {
      try {
        rmdirSync(dir);
      } catch {
        return; // not empty: something else lives there
      }
      if (dir === createdDir) return;
    }
  }

  get isFinished(): boolean {
    return this.finished;
  }

  get report(): AutopsyReport | undefined {
    return this.finishedReport;
  }

  /** The streaming analysis of every event recorded so far. */
  get analyzer(): RunAnalyzer {
    this.drain();
    return this.analysis;
  }

  /** Events recorded so far. */
  get eventCount(): number {
    this.settleSpans();
    return this.analysis.totalEvents + this.queue.length;
  }

  /**
   * The entry of `span` while it is open (its start recorded, its end not yet), with its stage;
   * also for a span object that only carries an open span's context (OpenSpans.lookup).
   */
  openSpanOf(span: Span): OpenSpanEntry | undefined {
    this.settleSpans();
    return this.openSpans.lookup(span, span.spanContext().spanId);
  }

  /**
   * When `span` started, by the run's clock: read from its start mark while that is the last thing
   * queued (track() asks right after starting a span), so asking settles nothing.
   */
  spanStartMs(span: Span): number | undefined {
    const last = this.queue[this.queue.length - 1];
    if (last instanceof SpanMark && last.isStart && last.span === span) return last.atMs;
    return this.openSpanOf(span)?.startMs;
  }

  /** Notes a seed-style start whose span the run does not see (spanStartMs() gave none), to end it as unfinished at exit. */
  openUntraced(pair: UntracedPair): void {
    if (this.finished) return;
    (this.untraced ??= new UntracedPairs()).open(pair);
  }

  /** How many spans are open. */
  get openSpanCount(): number {
    this.settleSpans();
    return this.openSpans.size;
  }

  /**
   * Records an event whose data is already clean (from `safeData`) and no longer changed by the
   * caller: it is written and analyzed at the latest when the event loop turns (see drain()). The
   * event itself is not handed back: until it is written, only the queue holds it.
   */
  record(type: string, level: Level, data: EventData, atMs: number = nowMs(), ids?: SpanIds): void {
    if (this.finished) return;
    const timestamp = isoMicros(atMs);
    const elapsed = secondsBetween(this.startMs, atMs);
    // One literal per set of keys: span ids added to a five-key object afterwards would go to a
    // second, out-of-object store allocated per event. The keys and their order are the same.
    let event: TruthEvent;
    if (!ids) event = { timestamp, elapsed_seconds: elapsed, type, level, data };
    else if (!ids.parentSpanId) event = { timestamp, elapsed_seconds: elapsed, type, level, data, trace_id: ids.traceId, span_id: ids.spanId };
    else event = { timestamp, elapsed_seconds: elapsed, type, level, data, trace_id: ids.traceId, span_id: ids.spanId, parent_span_id: ids.parentSpanId };
    this.enqueue(event);
  }

  /** Queues a span's start or end; its mapper turns it into its event when the queue drains. */
  recordSpan(mark: SpanMark): void {
    if (this.finished) return;
    if (this.firstMark < 0) {
      this.firstMark = this.queue.length;
      this.spanMapper = mark.mapper;
    }
    this.enqueue(mark);
  }

  private enqueue(item: TruthEvent | SpanMark): void {
    this.queue.push(item);
    // While marks are being settled the queue is being rebuilt: it drains afterwards.
    if (this.queue.length >= MAX_QUEUED_EVENTS && !this.settling) this.drain();
    else if (!this.drainScheduled) this.scheduleDrain();
  }

  /**
   * Turns every queued span mark into its events, in place and in order, so the open spans (and
   * the stages they give) are those of the moment. Cheap when there is none.
   */
  settleSpans(): void {
    if (this.firstMark < 0 || this.settling) return;
    this.settling = true;
    try {
      const queue = this.queue;
      const rest = queue.splice(this.firstMark);
      this.firstMark = -1;
      // The mapper records the mark's events with record(): they land where the mark was.
      for (const item of rest) {
        if (item instanceof SpanMark) item.mapper.mapMark(this, item);
        else queue.push(item);
      }
    } finally {
      this.settling = false;
    }
  }

  private scheduleDrain(): void {
    this.drainScheduled = true;
    if (this.drainTimer === undefined) {
      this.drainTimer = realSetTimeout(this.drainLater, 0);
      // Telemetry never keeps the process alive: every exit path drains the queue itself.
      this.drainTimer.unref();
    } else {
      this.drainTimer.refresh();
    }
  }

  /** Writes and analyzes every queued event, in record order. Synchronous; never throws. */
  drain(): void {
    // A timer still armed finds the queue empty; an event recorded from now on arms it again.
    this.drainScheduled = false;
    // An event recorded while draining (a custom rule calling track()) joins the end of this loop.
    if (this.draining) return;
    const exporter = this.exporter ?? this.exporterForQueue();
    if (exporter === undefined) return;
    this.draining = true;
    const queue = this.queue;
    try {
      // All queued events are written, then all analyzed: each pass keeps its own code in the
      // CPU's instruction cache, where one event at a time through both evicted it (bench/README
      // item 15). Events a rule records while they are analyzed join the queue and the next round.
      for (let start = 0; start < queue.length; ) {
        this.settleSpans();
        const end = queue.length;
        // Settled, the queue holds events only, each built by record() and held by the queue alone since.
        const events = queue as TruthEvent[];
        for (let i = start; i < end; i++) exporter.export(events[i], true);
        for (let i = start; i < end; i++) {
          try {
            this.analysis.observe(events[i]);
          } catch (error) {
            reportError(error, 'analysis of an event failed');
          }
        }
        start = end;
      }
    } finally {
      queue.length = 0;
      this.firstMark = -1;
      this.draining = false;
    }
  }

  /**
   * A deferred run's directory, opened for what its queue holds: not for an empty queue, nor for
   * records of signals alone (held until something else comes, or MAX_QUEUED_EVENTS of them).
   */
  private exporterForQueue(): TruthLogExporter | undefined {
    if (this.finished) return undefined;
    this.settleSpans();
    if (this.queue.length === 0 || (this.queue.length < MAX_QUEUED_EVENTS && this.holdsOnlySignals())) return undefined;
    return this.openDirectory();
  }

  /**
   * Counts a repair attempt and rewrites autofix_log.json, so it is current even after a kill (as
   * current as the logs: the attempt's span mark is settled when the event loop next turns).
   */
  recordAutofix(attempt: { type?: unknown; layer?: unknown; success: boolean }): void {
    if (this.finished) return;
    this.claimDirectory();
    addAutofixAttempt(this.autofixStats, attempt);
    this.writeAutofixLog();
  }

  get autofixStatistics(): AutofixStatistics {
    return this.autofixStats;
  }

  /** How the process is ending; the first reason set wins (a crash stays a crash through exit). */
  setExit(info: Omit<ExitInfo, 'at'> & { at?: string | null }): void {
    if (this.exitInfo && this.exitInfo.reason !== 'normal' && this.exitInfo.reason !== 'exit') {
      if (info.exit_code !== null && this.exitInfo.exit_code === null) this.exitInfo.exit_code = info.exit_code;
      return;
    }
    const previousError = this.exitInfo?.error;
    this.exitInfo = { ...info, at: info.at ?? isoMicros(nowMs()) };
    if (!this.exitInfo.error && previousError) this.exitInfo.error = previousError;
  }

  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  flush(): void {
    this.drain();
    this.exporter?.forceFlush();
  }

  /** Writes the tracker JSON as a complete document now; the run continues (seed save_json_log). */
  checkpoint(): void {
    this.claimDirectory();
    this.drain();
    this.exporter?.checkpoint();
    if (this.autofixStats.total_attempts > 0) this.writeAutofixLog();
  }

  /** The report as it stands, without ending the run (LatentReporter on a live run). */
  snapshotReport(): AutopsyReport {
    const nowAt = nowMs();
    this.settleSpans();
    const unfinished: UnfinishedSpan[] = [];
    const entries = this.classifiedOpenSpans();
    const folded = new Set(entries.filter((entry) => this.isFoldedIntoOpenParent(entry)));
    const nested = nestedSpansOf(folded);
    for (const entry of entries) {
      if (!entry.kind || folded.has(entry)) continue;
      const span: UnfinishedSpan = {
        name: entry.name,
        kind: entry.kind,
        stage: entry.stage ?? 'unknown',
        started: isoMicros(entry.startMs),
        age_seconds: secondsBetween(entry.startMs, nowAt),
      };
      addSpanIds(span, entry);
      // As the exit will list it: what the app's fail() said, and how far a stream has got.
      const failure = failedSpanError(entry.span, this.config.maxStringLength);
      if (failure) {
        span.error = String(failure.error);
        if (failure.error_type !== undefined) span.error_type = String(failure.error_type);
      }
      if (entry.kind === 'llm' && entry.span) addStreamFacts(span, streamStateData(streamState(entry.span, nested.get(entry) ?? [], nowAt)));
      unfinished.push(span);
    }
    for (const pair of this.untraced?.pending() ?? []) {
      const span: UnfinishedSpan = { name: spanName(pair.kind, pair.data), kind: pair.kind, stage: stageKey(pair.data), started: isoMicros(pair.startMs), age_seconds: secondsBetween(pair.startMs, nowAt) };
      if (pair.ids) addSpanIds(span, pair.ids);
      unfinished.push(span);
    }
    this.drain();
    return this.analysis.buildReport({
      autofix: this.autofixStats,
      exit: { reason: 'running', exit_code: null, signal: null, at: null },
      unfinished,
      outputDir: this.paths.outputDir,
      startTime: this.startTime,
      serviceName: this.serviceName(),
      source: 'live',
      now: nowAt,
      generatedAt: nowAt,
    });
  }

  /**
   * Ends the run: spans still open are recorded as unfinished, the log is closed, and the report
   * is written. Synchronous (exit paths cannot wait) and idempotent.
   */
  finish(): AutopsyReport | undefined {
    if (this.finished) return this.finishedReport;
    // Streamed calls whose stream has ended are ended calls, not unfinished ones.
    endReadyLlmCalls();
    const endMs = nowMs();
    // The spans' marks first: which spans are still open, and their start events before the unfinished ones.
    this.settleSpans();
    const unfinished = this.closeOpenSpans(endMs);
    const exporter = this.exporter ?? this.openDirectory();
    this.drain();
    this.finished = true;
    if (this.drainTimer !== undefined) realClearTimeout(this.drainTimer);
    exporter.shutdown();
    const autofix = this.reportAutofixStats();
    const exit = this.exitInfo ?? { reason: 'normal', exit_code: 0, signal: null, at: isoMicros(endMs) };
    let report: AutopsyReport | undefined;
    try {
      report = this.analysis.buildReport({
        autofix,
        exit,
        unfinished,
        outputDir: this.paths.outputDir,
        startTime: this.startTime,
        serviceName: this.serviceName(),
        source: 'live',
        now: endMs,
        generatedAt: endMs,
        // The object keeps the first entries; the JSON file gets every one, streamed.
        criticalFailures: 'first',
      });
      // A run directory deleted under the run may be another run's by now: nothing more is written there.
      if (!exporter.logDeleted()) {
        // Telemetry never traces itself (as the logs' writer): an fs instrumentation does not see these writes.
        const built = report;
        runUntraced(() => writeReportFiles(built, this.paths, this.config.reportFormats, this.analysis.criticalFailures));
        if (this.config.printReportPath) writeStderr(reportWrittenLine(this.paths, this.config.reportFormats));
      }
    } catch (error) {
      reportError(error, 'cannot build the autopsy report');
    }
    try {
      this.analysis.dispose();
    } finally {
      // Last: the directory is this run's until its report is written.
      this.releaseLock();
    }
    this.finishedReport = report;
    return report;
  }

  private releaseLock(): void {
    if (this.lock) releaseRunLock(this.lock);
    this.lock = undefined;
  }

  /**
   * Ends the spans still open and the seed-style pairs still open that the run has no span for
   * (UntracedPairs), oldest first: each is listed as unfinished and gets its `<kind>_unfinished` event.
   */
  private closeOpenSpans(endMs: number): UnfinishedSpan[] {
    this.spanMapper?.endDeferred(this);
    const entries = this.classifiedOpenSpans();
    const folded = new Set(entries.filter((entry) => this.isFoldedIntoOpenParent(entry)));
    const nested = nestedSpansOf(folded);
    const closing: ClosingSpan[] = [];
    for (const entry of entries) {
      this.openSpans.remove(entry);
      if (!entry.kind) continue;
      if (folded.has(entry)) {
        endUnfinishedSpan(entry.span);
        continue;
      }
      // A streamed call says how far its stream got (on its span, for its event and OTLP alike).
      if (entry.kind === 'llm' && entry.span) closeStream(entry.span, nested.get(entry) ?? [], endMs);
      closing.push({ name: entry.name, kind: entry.kind, stage: entry.stage ?? 'unknown', startMs: entry.startMs, data: entry.data, ids: entry, span: entry.span, addStage: true });
    }
    for (const pair of this.untraced?.pending() ?? []) {
      // As a reader of the log names them (OpenSpanTracker), from the start event's data. A stage
      // without a name keeps none: its name is what pairs its unfinished event with its start.
      closing.push({ name: spanName(pair.kind, pair.data), kind: pair.kind, stage: stageKey(pair.data), startMs: pair.startMs, data: pair.data, ids: pair.ids, span: pair.span, addStage: pair.kind !== 'stage' });
    }
    this.untraced = undefined;
    closing.sort((a, b) => a.startMs - b.startMs);
    const unfinished: UnfinishedSpan[] = [];
    for (const entry of closing) {
      const age = secondsBetween(entry.startMs, endMs);
      const span: UnfinishedSpan = { name: entry.name, kind: entry.kind, stage: entry.stage, started: isoMicros(entry.startMs), age_seconds: age };
      if (entry.ids) addSpanIds(span, entry.ids);
      const data: EventData = Object.assign({}, entry.data, { unfinished: true, age_seconds: age });
      if (data.stage === undefined && entry.addStage) data.stage = entry.stage;
      // A span the app failed (span.fail()) before the process ended: its unfinished event keeps
      // that failure, as its _error event would have (the analyzers count it as one).
      const failure = failedSpanError(entry.span, this.config.maxStringLength);
      if (failure) {
        Object.assign(data, failure);
        span.error = String(failure.error);
        if (failure.error_type !== undefined) span.error_type = String(failure.error_type);
      }
      if (entry.kind === 'llm') {
        const attributes = attributesOf(entry.span);
        if (attributes) addStreamFacts(span, unfinishedStreamData(attributes, data));
      }
      unfinished.push(span);
      this.record(`${EVENT_PREFIX[entry.kind]}_unfinished`, 'WARNING', data, endMs, entry.ids);
      endUnfinishedSpan(entry.span);
    }
    return unfinished;
  }

  /**
   * The open spans, oldest first, once those that had no kind as they started have been looked
   * at again: an instrumentation may have set its attributes after startSpan, and a span that
   * never ends is otherwise missing from the list (an OpenInference call that hung).
   */
  private classifiedOpenSpans(): OpenSpanEntry[] {
    const entries = this.openSpans.values();
    const mapper = this.spanMapper;
    if (mapper) for (const entry of entries) if (!entry.kind) mapper.classifyOpen(this, entry);
    return entries;
  }

  /**
   * An llm span inside an open llm span is part of that call (AutopsySpanProcessor folds it, and
   * wrote no start for it): at exit the outer call is the one that was still running.
   */
  private isFoldedIntoOpenParent(entry: OpenSpanEntry): boolean {
    return entry.kind === 'llm' && enclosingCall(this.openSpans, entry.parent) !== undefined;
  }

  /** The in-process counts, or, when nothing here made repair attempts, a user-written autofix_log.json. */
  private reportAutofixStats(): AutofixStatistics {
    if (this.autofixStats.total_attempts > 0 || this.wroteAutofixLog) {
      this.writeAutofixLog();
      return this.autofixStats;
    }
    if (existsSync(this.paths.autofixLog)) {
      const stats = emptyAutofixStats();
      try {
        if (addAutofixLog(stats, parsePythonJson(readFileSync(this.paths.autofixLog, 'utf8')))) return stats;
        reportError(new Error('its "type" is not "autofix_log"'), `${this.paths.autofixLog} was left out of the autofix statistics`);
      } catch (error) {
        reportError(error, `cannot read ${this.paths.autofixLog}`);
      }
    }
    this.writeAutofixLog();
    return this.autofixStats;
  }

  /**
   * The service the traces carry, when their resource names one (NodeSDK's `serviceName`); else the
   * configured one. Read from the raw attributes: `attributes` of a resource whose other attributes
   * are still settling (host id …) makes OpenTelemetry log an error, and NodeSDK's often are.
   */
  private serviceName(): string {
    try {
      for (const [key, value] of this.tracedResource?.getRawAttributes?.() ?? []) {
        // The first settled value wins, as in Resource.attributes.
        if (key !== 'service.name' || typeof value !== 'string' || value === '') continue;
        return value.startsWith('unknown_service') ? this.config.serviceName : safeString(value, this.config.maxStringLength);
      }
    } catch {
      /* a resource that cannot be read: the configured name */
    }
    return this.config.serviceName;
  }

  private writeAutofixLog(): void {
    const exporter = this.exporter;
    // Not opened (a run discarded), or deleted under the run (see finish()).
    if (exporter === undefined || exporter.logDeleted()) return;
    // ASCII like execution_tracker.json: the original reporter opens this file in the platform's
    // encoding too, and a repair type may be any text.
    const text = asciiJson(JSON.stringify(autofixLogDocument(this.autofixStats), null, 2));
    this.wroteAutofixLog = runUntraced(() => writeFileAtomic(this.paths.autofixLog, `${text}\n`)) || this.wroteAutofixLog;
  }
}

/** A span or an untraced pair that is closed as unfinished at the run's end. */
interface ClosingSpan {
  name: string;
  kind: SpanKindName;
  stage: string;
  startMs: number;
  data: EventData | undefined;
  ids: SpanIds | undefined;
  span: Span | undefined;
  /** Whether the unfinished event's data gets `stage` when its start's had none. */
  addStage: boolean;
}

export interface SpanIds {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
}

/** An unfinished span's `span_id` and `parent_span_id`. */
function addSpanIds(span: UnfinishedSpan, ids: SpanIds): void {
  span.span_id = ids.spanId;
  if (ids.parentSpanId) span.parent_span_id = ids.parentSpanId;
}

/** A stream's state as an unfinished event's data says it (unfinishedStreamData): `stream`, `time_to_first_chunk`, `seconds_since_last_chunk`. */
function streamStateData(state: StreamState | undefined): EventData {
  if (state === undefined) return {};
  const attributes: Attributes = { [sc.ATTR_GEN_AI_REQUEST_STREAM]: true };
  if (state.firstChunk !== undefined) attributes[sc.ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = state.firstChunk;
  if (state.sinceLastChunk !== undefined) attributes[sc.ATTR_AUTOPSY_SECONDS_SINCE_LAST_CHUNK] = state.sinceLastChunk;
  return unfinishedStreamData(attributes, {});
}

/**
 * The spans of the llm entries folded into an open llm entry (`folded`), by the entry at the top
 * of each fold, in start order: what speaks for a call's stream when the call is not streamed
 * itself (the instrumented request inside an `llmCall()`).
 */
function nestedSpansOf(folded: ReadonlySet<OpenSpanEntry>): Map<OpenSpanEntry, Span[]> {
  const nested = new Map<OpenSpanEntry, Span[]>();
  for (const entry of folded) {
    if (!entry.span) continue;
    let top = entry.parent;
    while (top !== undefined && folded.has(top)) top = top.parent;
    if (top === undefined) continue;
    const list = nested.get(top);
    if (list) list.push(entry.span);
    else nested.set(top, [entry.span]);
  }
  return nested;
}

const STATUS_ERROR = 2;

/**
 * The error of a span that had already failed (status ERROR, set by `span.fail()` or another
 * instrumentation) when the process ended with it still open, as its `_error` event would carry
 * it (`error`, `error_type`); undefined for a span that had not failed or cannot be read.
 */
function failedSpanError(span: Span | undefined, maxStringLength: number): EventData | undefined {
  const readable = span as Partial<Pick<ReadableSpan, 'status' | 'attributes' | 'events'>> | undefined;
  if (!failedBeforeExit(span) || !readable?.attributes || !Array.isArray(readable.events)) return undefined;
  try {
    return safeData(errorData(readable as Pick<ReadableSpan, 'status' | 'attributes' | 'events'>), { maxStringLength });
  } catch {
    return undefined;
  }
}

/**
 * Had the span failed before the process ended? Status ERROR, but not the one the exit gives an
 * open span: a span another run in the process (or an earlier pass) already closed as unfinished
 * carries that one, and it is no failure of the app's (as OtlpSpanConverter reads it).
 */
function failedBeforeExit(span: Span | undefined): boolean {
  const readable = span as Partial<Pick<ReadableSpan, 'status' | 'attributes'>> | undefined;
  if (!readable?.status || readable.status.code !== STATUS_ERROR) return false;
  return readable.status.message !== sc.UNFINISHED_STATUS_MESSAGE && readable.attributes?.[sc.ATTR_ERROR_TYPE] !== sc.ERROR_TYPE_UNFINISHED;
}

function endUnfinishedSpan(span: Span | undefined): void {
  if (!span) return;
  try {
    span.setAttribute('autopsy.unfinished', true);
    // A span the app failed keeps its status message and error.type: they say why it failed.
    if (!failedBeforeExit(span)) {
      span.setStatus({ code: STATUS_ERROR, message: sc.UNFINISHED_STATUS_MESSAGE });
      span.setAttribute(sc.ATTR_ERROR_TYPE, sc.ERROR_TYPE_UNFINISHED);
    }
    span.end();
  } catch {
    /* the span may belong to a provider that is already shut down */
  }
}
