import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { TRACKER_JSON } from '../../exporters/paths';
import { messagesFor } from '../../analyzers/messages';
import { parsePythonJson } from '../../analyzers/pythonJson';
import { LogFile } from '../../analyzers/LogFile';
import { analyzeLogFile, locateRun, type AnalyzedRun } from '../../analyzers/readRun';
import { onThisMachine } from '../../exporters/runLock';
import type { AutopsyReport } from '../../analyzers/reportTypes';
import { TruthLogError } from '../../analyzers/TruthLogParser';
import type { TruthEvent } from '../types';
import { readProgress } from './progress';
import { missingReportSections, type ReportSection } from './reportSections';
import { startsLikeReport } from './reportSniffer';

export interface LoadOptions {
  locale?: string;
  /** Draw a progress bar on a terminal for long reads. */
  progress?: boolean;
  /** Sees every event in order (only when the input is a log). */
  onEvent?: (event: TruthEvent) => void;
  /** Where warnings about the input go (default: stderr, one line each). */
  warn?: (line: string) => void;
  /** As AnalyzeOptions.criticalFailures (only when the input is a log). */
  criticalFailures?: 'all' | 'first';
}

export interface LoadedRun {
  report: AutopsyReport;
  input: string;
  /** 'log' (Truth-Mode, Python tracker or OTLP JSON, analysed now) or 'report' (a saved report JSON). */
  kind: 'log' | 'report';
  /** First to last event, in seconds (what a run lasted, whenever it is read). */
  durationSeconds: number | null;
  /** Sections a saved report did not have: `report` holds zeros there, which the diff must not compare. */
  missingSections: ReportSection[];
  analyzed?: AnalyzedRun;
}

/**
 * A saved latent_analysis_report.json (ours, or the seed reporter's, which lacks the extra
 * sections) with every section present, so the renderers and the diff can read it.
 */
export function normalizeReport(raw: Record<string, unknown>, path: string, locale?: string): AutopsyReport {
  const report = raw as unknown as AutopsyReport;
  if (!report.failure_analysis || typeof report.failure_analysis !== 'object' || !report.summary || typeof report.summary !== 'object') {
    throw new TruthLogError('not a report: no "failure_analysis" and "summary"', path);
  }
  const fa = report.failure_analysis;
  fa.failures_by_type ??= {};
  fa.failures_by_stage ??= {};
  fa.critical_failures ??= [];
  fa.failure_patterns ??= [];
  report.fix_suggestions ??= [];
  report.autofix_statistics ??= { total_attempts: 0, successful_fixes: 0, failed_fixes: 0, fixes_by_type: {}, fixes_by_layer: { layer1: 0, layer2: 0, layer3: 0 } };
  report.autofix_statistics.fixes_by_layer ??= { layer1: 0, layer2: 0, layer3: 0 };
  report.autofix_statistics.fixes_by_type ??= {};
  report.diagnoses ??= [];
  report.llm_usage ??= {
    calls: 0,
    errors: 0,
    input_tokens: 0,
    output_tokens: 0,
    total_tokens: 0,
    by_model: {},
    latency_seconds: { p50: null, p95: null, max: null },
    errors_by_type: {},
    errors_by_status: {},
  };
  report.stages ??= [];
  report.unfinished ??= [];
  report.run ??= { output_dir: '', start_time: null, total_events: 0, duration_seconds: null, locale: 'en', source: 'report' };
  // Filled in here, so in the language asked for (else the report's).
  report.exit ??= { reason: 'unknown', exit_code: null, signal: null, at: null, description: messagesFor(locale ?? report.run.locale).exitReasons.unknown };
  return report;
}

/** A saved report, from the whole text of its file (read from the file the sniffer looked at). */
function readReportText(whole: string, path: string, locale: string | undefined): { report: AutopsyReport; missingSections: ReportSection[] } {
  let raw: unknown;
  // Editors on Windows save UTF-8 with a BOM, which JSON.parse does not take.
  const text = whole.charCodeAt(0) === 0xfeff ? whole.slice(1) : whole;
  try {
    // Python's json.dump writes NaN and ±Infinity, as in the logs: read them as the logs are. Plain
    // JSON.parse first, so a large report without them costs no more than before.
    raw = parsePythonJson(text);
  } catch (error) {
    const position = /position (\d+)/.exec(error instanceof Error ? error.message : '');
    const line = position ? text.slice(0, Number(position[1])).split('\n').length : 1;
    throw new TruthLogError('corrupt JSON in the report', `${path}:${line}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new TruthLogError('not a report: expected a JSON object', path);
  const missingSections = missingReportSections(raw as Record<string, unknown>);
  return { report: normalizeReport(raw as Record<string, unknown>, path, locale), missingSections };
}

/** What was read: `bytes` of a regular file, or of a pipe, FIFO or device (`regular` false). */
interface InputRead {
  regular: boolean;
  bytes: number;
}

function warnAboutInput(analyzed: AnalyzedRun, input: InputRead, warn: (line: string) => void): void {
  const file = analyzed.location.trackerJson;
  const { skipped, tornTail } = analyzed.read;
  if (analyzed.read.format === 'readable') {
    // Pointed at the readable log itself, the JSON log may well be there, and is the better record.
    // A pipe's folder (/dev/fd) holds no run: nothing is missing there.
    const json = join(analyzed.location.logDir, TRACKER_JSON);
    warn(
      existsSync(json)
        ? `note: the report is rebuilt from the readable log ${file}; ${json} next to it is the complete record (pass the run directory to read it)`
        : input.regular
          ? `note: there is no execution_tracker.json; the report is rebuilt from ${file}`
          : `note: the report is rebuilt from a readable log (${file}); a run's execution_tracker.json, where there is one, is the complete record`,
    );
    const unread = (analyzed.read as { unreadData?: number }).unreadData ?? 0;
    if (unread > 0) warn(`note: the data of ${unread} event(s) is not plain Python data; it is kept as text in data.repr`);
  }
  if (analyzed.read.events === 0 && skipped.length === 0 && input.bytes === 0) {
    warn(`note: ${file} is empty: the process wrote nothing (killed before its first write, or not a run's log)`);
  }
  if (skipped.length > 0) {
    const where = skipped.slice(0, 5).map((s) => `${file}:${s.line} (${s.reason})`).join(', ');
    warn(`warning: skipped ${skipped.length}${skipped.length >= 100 ? '+' : ''} unreadable line(s): ${where}${skipped.length > 5 ? ', …' : ''}`);
  }
  const recorder = analyzed.recorder;
  if (analyzed.report.exit.reason === 'running' && recorder) {
    warn(`note: the run is still being recorded by process ${recorder.pid}; this is its state so far`);
  } else if (tornTail) {
    warn(`note: the last line of ${file} was cut off (the writer was killed mid-line); it was skipped`);
  }
  if (recorder && !recorder.live && !onThisMachine(recorder)) {
    warn(`note: the run's lock names process ${recorder.pid} on ${recorder.hostname}, which cannot be checked from here; if it still runs, the run is not killed and this is its state so far`);
  }
  if (analyzed.ignoredAutofixLog) {
    const { path, reason } = analyzed.ignoredAutofixLog;
    warn(`warning: ${path} was left out of the autofix statistics: ${reason}`);
  }
}

/**
 * Reads what the user pointed at: a run directory, a log file (Truth-Mode, the Python tracker's,
 * OTLP JSON) or a saved report JSON, a file or a pipe (a FIFO, `<(…)`, /dev/stdin), each read once.
 * Throws TruthLogError (bad input) with the place it failed.
 */
export async function loadRun(input: string, options: LoadOptions = {}): Promise<LoadedRun> {
  // `-` is standard input, as for most command-line tools.
  const path = input === '-' ? '/dev/stdin' : resolve(input);
  const warn = options.warn ?? ((line: string) => process.stderr.write(`agent-autopsy: ${line}\n`));
  const location = locateRun(path);
  // Opened once and told apart by its head: a pipe, FIFO or `<(…)` gives its bytes only once.
  const file = LogFile.open(location.trackerJson);
  // Kept as strings (no parsing per event): the log is in time order.
  let first: string | undefined;
  let last: string | undefined;
  let analyzed: AnalyzedRun;
  try {
    // A file named as the input may be a saved report; a run directory holds a log.
    if (location.trackerJson === path && startsLikeReport(file.head())) {
      const { report, missingSections } = readReportText(file.text(), path, options.locale);
      return { report, input, kind: 'report', durationSeconds: report.run.duration_seconds ?? null, missingSections };
    }
    const progress = readProgress(basename(location.trackerJson), { enabled: options.progress !== false });
    try {
      analyzed = await analyzeLogFile(location, file, {
        locale: options.locale,
        criticalFailures: options.criticalFailures,
        onProgress: (p) => progress.onProgress(p),
        onEvent: (event) => {
          if (first === undefined) first = event.timestamp;
          last = event.timestamp;
          options.onEvent?.(event);
        },
      });
    } finally {
      progress.stop();
    }
  } finally {
    file.close();
  }
  warnAboutInput(analyzed, { regular: file.regular, bytes: file.bytesRead }, warn);
  if (analyzed.read.events === 0 && analyzed.read.skipped.length > 0) {
    const first = analyzed.read.skipped[0];
    throw new TruthLogError('no readable event in this log', `${analyzed.location.trackerJson}:${first.line}`);
  }
  // The report's own duration (from the run's start to its last event), as `report` shows it;
  // first to last event where the log has no start time.
  const span = first !== undefined && last !== undefined ? (Date.parse(last) - Date.parse(first)) / 1000 : NaN;
  const durationSeconds = analyzed.report.run.duration_seconds ?? (Number.isFinite(span) ? span : null);
  return { report: analyzed.report, input, kind: 'log', durationSeconds, analyzed, missingSections: [] };
}
