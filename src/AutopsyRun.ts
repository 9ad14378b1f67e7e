import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Span } from '@opentelemetry/api';
import { addAutofixAttempt, addAutofixLog, autofixLogDocument, emptyAutofixStats } from '../analyzers/autofixStats';
import { RunAnalyzer } from '../analyzers/RunAnalyzer';
import type { AutofixStatistics, AutopsyReport, ExitInfo, UnfinishedSpan } from '../analyzers/reportTypes';
import { writeFileAtomic } from '../exporters/atomicWrite';
import { runPaths, type RunPaths } from '../exporters/paths';
import { writeReportFiles } from '../exporters/writeReportFiles';
import { TruthLogExporter } from '../exporters/TruthLogExporter';
import { isoMicros, nowMs, secondsBetween } from './clock';
import type { ResolvedConfig } from './config';
import { reportError, reportIoError } from './errorHandler';
import { EVENT_PREFIX } from './eventTypes';
import { safeData } from './safeValue';
import type { EventData, Level, OpenSpanInfo, TruthEvent } from './types';

export interface OpenSpanEntry extends OpenSpanInfo {
  /** The live span, ended as unfinished at exit. */
  span?: Span;
}

/**
 * One run of an agent: its output files, its streaming analysis and its open spans. Everything
 * recorded goes through `record()`, which writes the event and feeds the analyzer in one step,
 * so the files and the report always agree.
 */
export class AutopsyRun {
  readonly config: ResolvedConfig;
  readonly paths: RunPaths;
  readonly startMs: number;
  readonly startTime: string;
  readonly analyzer: RunAnalyzer;
  readonly openSpans = new Map<string, OpenSpanEntry>();
  private readonly exporter: TruthLogExporter;
  private readonly autofixStats: AutofixStatistics = emptyAutofixStats();
  private wroteAutofixLog = false;
  private exitInfo: ExitInfo | undefined;
  private finishedReport: AutopsyReport | undefined;
  private finished = false;
  /** The outermost directory this run created (undefined when the log directory already existed). */
  private createdDir: string | undefined;

  constructor(config: ResolvedConfig) {
    this.config = config;
    this.paths = runPaths(config.outputDir);
    this.startMs = nowMs();
    this.startTime = isoMicros(this.startMs);
    this.analyzer = new RunAnalyzer({ locale: config.locale, rules: config.rules });
    try {
      this.createdDir = mkdirSync(this.paths.logDir, { recursive: true, mode: 0o700 });
    } catch (error) {
      reportIoError(error, `cannot create ${this.paths.logDir}`, this.paths.logDir);
    }
    this.exporter = new TruthLogExporter({
      jsonPath: this.paths.trackerJson,
      readablePath: this.paths.readableLog,
      startTime: this.startTime,
      flushIntervalMs: config.flushIntervalMs,
    });
  }

  /**
   * Abandons a run that recorded nothing (the zero-code run an explicit init() replaces): closes
   * its files and removes them, and the directories it created, when they hold nothing else.
   */
  discard(): void {
    if (this.finished || this.analyzer.totalEvents > 0) return;
    this.finished = true;
    this.exporter.shutdown();
    for (const file of [this.paths.trackerJson, this.paths.readableLog]) rmSync(file, { force: true });
    if (!this.createdDir) return;
    for (let dir = this.paths.logDir; dir.startsWith(this.createdDir); dir = dirname(dir)) {
      try {
        rmdirSync(dir);
      } catch {
        return; // not empty: something else lives there
      }
      if (dir === this.createdDir) return;
    }
  }

  get isFinished(): boolean {
    return this.finished;
  }

  get report(): AutopsyReport | undefined {
    return this.finishedReport;
  }

  /** Sanitizes `data` and records one event. Returns the event, or undefined once the run is over. */
  track(type: string, data: unknown, level: Level = 'INFO', atMs: number = nowMs(), ids?: SpanIds): TruthEvent | undefined {
    return this.record(type, level, safeData(data, { maxStringLength: this.config.maxStringLength }), atMs, ids);
  }

  /** Records an event whose data is already clean (from `safeData`). */
  record(type: string, level: Level, data: EventData, atMs: number = nowMs(), ids?: SpanIds): TruthEvent | undefined {
    if (this.finished) return undefined;
    const event: TruthEvent = {
      timestamp: isoMicros(atMs),
      elapsed_seconds: secondsBetween(this.startMs, atMs),
      type,
      level,
      data,
    };
    if (ids) {
      event.trace_id = ids.traceId;
      event.span_id = ids.spanId;
      if (ids.parentSpanId) event.parent_span_id = ids.parentSpanId;
    }
    this.exporter.export(event);
    try {
      this.analyzer.observe(event);
    } catch (error) {
      reportError(error, 'analysis of an event failed');
    }
    return event;
  }

  /** Counts a repair attempt and rewrites autofix_log.json, so it is current even after a kill. */
  recordAutofix(attempt: { type?: unknown; layer?: unknown; success: boolean }): void {
    if (this.finished) return;
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
    this.exporter.forceFlush();
  }

  /** Writes the tracker JSON as a complete document now; the run continues (seed save_json_log). */
  checkpoint(): void {
    this.exporter.checkpoint();
    if (this.autofixStats.total_attempts > 0) this.writeAutofixLog();
  }

  /** The report as it stands, without ending the run (LatentReporter on a live run). */
  snapshotReport(): AutopsyReport {
    const nowAt = nowMs();
    const unfinished: UnfinishedSpan[] = [];
    for (const entry of this.openSpans.values()) {
      if (!entry.kind) continue;
      unfinished.push({
        name: entry.name,
        kind: entry.kind,
        stage: entry.stage ?? 'unknown',
        started: isoMicros(entry.startMs),
        age_seconds: secondsBetween(entry.startMs, nowAt),
        span_id: entry.spanId,
      });
    }
    return this.analyzer.buildReport({
      autofix: this.autofixStats,
      exit: { reason: 'running', exit_code: null, signal: null, at: null },
      unfinished,
      outputDir: this.paths.outputDir,
      startTime: this.startTime,
      serviceName: this.config.serviceName,
      source: 'live',
      now: nowAt,
    });
  }

  /**
   * Ends the run: spans still open are recorded as unfinished, the log is closed, and the report
   * is written. Synchronous (exit paths cannot wait) and idempotent.
   */
  finish(): AutopsyReport | undefined {
    if (this.finished) return this.finishedReport;
    const endMs = nowMs();
    const unfinished = this.closeOpenSpans(endMs);
    this.finished = true;
    this.exporter.shutdown();
    const autofix = this.reportAutofixStats();
    const exit = this.exitInfo ?? { reason: 'normal', exit_code: 0, signal: null, at: isoMicros(endMs) };
    let report: AutopsyReport | undefined;
    try {
      report = this.analyzer.buildReport({
        autofix,
        exit,
        unfinished,
        outputDir: this.paths.outputDir,
        startTime: this.startTime,
        serviceName: this.config.serviceName,
        source: 'live',
        now: endMs,
      });
      writeReportFiles(report, this.paths, this.config.reportFormats);
      if (this.config.printReportPath) {
        process.stderr.write(`agent-autopsy: report written to ${this.paths.reportJson}\n`);
      }
    } catch (error) {
      reportError(error, 'cannot build the autopsy report');
    }
    this.finishedReport = report;
    return report;
  }

  private closeOpenSpans(endMs: number): UnfinishedSpan[] {
    const entries = [...this.openSpans.values()].sort((a, b) => a.startMs - b.startMs);
    const unfinished: UnfinishedSpan[] = [];
    for (const entry of entries) {
      this.openSpans.delete(entry.spanId);
      if (!entry.kind) continue;
      const age = secondsBetween(entry.startMs, endMs);
      const stage = entry.stage ?? 'unknown';
      unfinished.push({
        name: entry.name,
        kind: entry.kind,
        stage,
        started: isoMicros(entry.startMs),
        age_seconds: age,
        span_id: entry.spanId,
      });
      const data: EventData = { ...(entry.data ?? {}), unfinished: true, age_seconds: age };
      if (data.stage === undefined) data.stage = stage;
      this.record(`${EVENT_PREFIX[entry.kind]}_unfinished`, 'WARNING', data, endMs, entry);
      endUnfinishedSpan(entry.span);
    }
    return unfinished;
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
        addAutofixLog(stats, JSON.parse(readFileSync(this.paths.autofixLog, 'utf8')));
        return stats;
      } catch (error) {
        reportError(error, `cannot read ${this.paths.autofixLog}`);
      }
    }
    this.writeAutofixLog();
    return this.autofixStats;
  }

  private writeAutofixLog(): void {
    this.wroteAutofixLog = writeFileAtomic(this.paths.autofixLog, `${JSON.stringify(autofixLogDocument(this.autofixStats), null, 2)}\n`) || this.wroteAutofixLog;
  }
}

export interface SpanIds {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
}

function endUnfinishedSpan(span: Span | undefined): void {
  if (!span) return;
  try {
    span.setAttribute('autopsy.unfinished', true);
    span.setStatus({ code: 2, message: 'span still open when the process ended' });
    span.end();
  } catch {
    /* the span may belong to a provider that is already shut down */
  }
}
