import { headKind, readFileHead } from './fileHead';
import { HEAD_BYTES, LogFile } from './LogFile';
import { isoMicros } from '../src/clock';
import type { TruthEvent } from '../src/types';
import { OtlpSpanConverter, type ConvertedSpans } from './OtlpSpanConverter';
import { checkHeldLength, TruthLogError } from './TruthLogParser';
import { eventLoopTurns, readTextChunks, type ReadOptions } from './fileChunks';
import type { AnalyzedRun, AnalyzeOptions, RunLocation } from './readRun';
import { RunAnalyzer } from './RunAnalyzer';

/**
 * Reader for the OpenTelemetry Collector's file exporter format: JSON lines, each an
 * ExportTraceServiceRequest `{"resourceSpans":[…]}`. A single (pretty-printed) request document
 * is accepted too. Spans become Truth-Mode events with the live mapping (OtlpSpanConverter).
 */

export interface OtlpReadResult {
  format: 'otlp-json';
  startTime: string | null;
  /** Events delivered to the callback. */
  events: number;
  /** Spans read (after removing duplicates). */
  spans: number;
  /** False when the last line was cut off (the writer was killed); that line was skipped. */
  complete: boolean;
  declaredTotal: null;
  tornTail: boolean;
  /** Lines that could not be read (never the torn tail), with their line numbers. */
  skipped: Array<{ line: number; reason: string }>;
  /** The converted spans' autofix attempts, unfinished spans and time range. */
  converted: Omit<ConvertedSpans, 'events'>;
}

const MAX_SKIPPED = 100;

/**
 * True when a file's head (LogFile.head()) starts like an OTLP JSON trace export: its first JSON
 * object (a JSON line or a pretty-printed document) has "resourceSpans" before any key of a log or
 * a report, in whatever place (headKind): a Collector writes it first, a hand-made or re-serialised
 * file may not (`{"schemaUrl": …, "resourceSpans": …}`).
 */
export function startsLikeOtlpJson(head: string): boolean {
  return headKind(head) === 'otlp-json';
}

/**
 * True when `path` is a regular file that starts like an OTLP JSON trace export. (A pipe or FIFO
 * cannot be looked at without using up what it gives: analyzeRun() looks at its head as it reads it.)
 */
export function isOtlpJsonFile(path: string): boolean {
  const head = readFileHead(path, HEAD_BYTES);
  return head !== undefined && startsLikeOtlpJson(head);
}

/** Line of a JSON.parse failure inside `text` (V8 reports a character position). */
function errorLine(error: unknown, text: string, firstLine: number): number {
  const position = /position (\d+)/.exec(error instanceof Error ? error.message : '');
  if (!position) return firstLine;
  let line = firstLine;
  const end = Math.min(Number(position[1]), text.length);
  for (let i = 0; i < end; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Incremental parser: JSON lines (tolerating a torn last line), or one document. */
export class OtlpJsonParser {
  readonly converter = new OtlpSpanConverter();
  private mode: 'unknown' | 'lines' | 'document' = 'unknown';
  private carry = '';
  private lineNumber = 0;
  private documentStart = 0;
  private document: string[] = [];
  private documentLength = 0;
  private pendingBad: number | undefined;
  private tornTail = false;
  private started = false;
  private readonly skipped: Array<{ line: number; reason: string }> = [];

  constructor(private readonly source = 'traces.json') {}

  push(chunk: string): void {
    // A UTF-8 BOM (which the sniffer lets by) is no part of the first line's JSON.
    if (!this.started && chunk !== '') {
      this.started = true;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    if (this.mode === 'document') {
      this.documentLength += chunk.length;
      checkHeldLength(this.documentLength, `${this.source}:${this.documentStart}`, 'document');
      this.document.push(chunk);
      return;
    }
    checkHeldLength(this.carry.length + chunk.length, `${this.source}:${this.lineNumber + 1}`, 'line');
    // A chunk inside a long line is only added: searching `carry + chunk` for its end would copy
    // the whole line so far for every 64 KiB read (quadratic: a 30 MB line took 10 s).
    if (chunk.indexOf('\n') === -1) {
      this.carry += chunk;
      return;
    }
    const text = this.carry + chunk;
    let start = 0;
    let newline = text.indexOf('\n');
    while (newline !== -1) {
      this.line(text.slice(start, newline));
      start = newline + 1;
      if ((this.mode as string) === 'document') {
        this.document.push(text.slice(start));
        this.documentLength = this.document[0].length + text.length - start;
        this.carry = '';
        return;
      }
      newline = text.indexOf('\n', start);
    }
    this.carry = text.slice(start);
  }

  /** Parses what is left; throws TruthLogError when the input is not OTLP JSON at all. */
  end(): { tornTail: boolean; skipped: Array<{ line: number; reason: string }> } {
    if (this.mode !== 'document' && this.carry.trim() !== '') this.line(this.carry, true);
    this.carry = '';
    if (this.mode === 'document') this.parseDocument();
    if (this.mode === 'unknown') throw new TruthLogError('empty file: not an OTLP JSON trace export', this.source);
    if (this.pendingBad !== undefined) {
      // The last unreadable line of a JSON-lines file is where its writer was cut off.
      this.tornTail = true;
      this.pendingBad = undefined;
    }
    return { tornTail: this.tornTail, skipped: this.skipped };
  }

  private line(raw: string, last = false): void {
    this.lineNumber++;
    const text = raw.trim();
    if (text === '') return;
    if (this.pendingBad !== undefined) {
      this.skip(this.pendingBad, 'not a JSON object');
      this.pendingBad = undefined;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      if (this.mode === 'unknown') {
        if (!text.startsWith('{')) throw new TruthLogError('not an OTLP JSON trace export: expected {"resourceSpans": …}', `${this.source}:${this.lineNumber}`);
        // A pretty-printed document: read it whole.
        this.mode = 'document';
        this.documentStart = this.lineNumber;
        this.document.push(`${raw}\n`);
        return;
      }
      if (last) this.tornTail = true;
      else this.pendingBad = this.lineNumber;
      return;
    }
    if (this.mode === 'unknown') this.mode = 'lines';
    if (!value || typeof value !== 'object' || Array.isArray(value) || !('resourceSpans' in value || 'resource_spans' in value)) {
      this.skip(this.lineNumber, 'not an ExportTraceServiceRequest (no "resourceSpans")');
      return;
    }
    this.converter.addRequest(value);
  }

  private parseDocument(): void {
    const text = this.document.join('');
    this.document = [];
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const reason = error instanceof Error ? error.message.replace(/\s*\(line \d+ column \d+\)$/, '') : String(error);
      throw new TruthLogError(`corrupt JSON: ${reason}`, `${this.source}:${errorLine(error, text, this.documentStart)}`);
    }
    if (!value || typeof value !== 'object' || !('resourceSpans' in value || 'resource_spans' in value)) {
      throw new TruthLogError('not an OTLP JSON trace export: the document has no "resourceSpans"', `${this.source}:${this.documentStart}`);
    }
    this.converter.addRequest(value);
  }

  private skip(line: number, reason: string): void {
    if (this.skipped.length < MAX_SKIPPED) this.skipped.push({ line, reason });
  }
}

function deliver(parser: OtlpJsonParser, onEvent: (event: TruthEvent) => void): OtlpReadResult {
  const { tornTail, skipped } = parser.end();
  const spans = parser.converter.size;
  const { events, count, ...converted } = parser.converter.convertStreaming();
  for (const event of events) onEvent(event);
  return {
    format: 'otlp-json',
    startTime: converted.startMs === null ? null : isoMicros(converted.startMs),
    events: count,
    spans,
    complete: !tornTail,
    declaredTotal: null,
    tornTail,
    skipped,
    converted,
  };
}

/** Reads an OTLP JSON file (a path, or a LogFile opened to look at its head) and delivers its spans as Truth-Mode events, in time order. */
export async function readOtlpJson(source: string | LogFile, onEvent: (event: TruthEvent) => void, options: ReadOptions = {}): Promise<OtlpReadResult> {
  const parser = new OtlpJsonParser(typeof source === 'string' ? source : source.path);
  const turn = eventLoopTurns();
  for (const text of readTextChunks(source, options)) {
    parser.push(text);
    await turn();
  }
  return deliver(parser, onEvent);
}

/** Synchronous readOtlpJson. */
export function readOtlpJsonSync(source: string | LogFile, onEvent: (event: TruthEvent) => void, options: ReadOptions = {}): OtlpReadResult {
  const parser = new OtlpJsonParser(typeof source === 'string' ? source : source.path);
  for (const text of readTextChunks(source, options)) parser.push(text);
  return deliver(parser, onEvent);
}

/** Builds the report of an OTLP JSON file, as analyzeRun does for a Truth-Mode log. */
function analyzeOtlp(location: RunLocation, options: AnalyzeOptions, read: (onEvent: (event: TruthEvent) => void) => OtlpReadResult): AnalyzedRun;
function analyzeOtlp(location: RunLocation, options: AnalyzeOptions, read: (onEvent: (event: TruthEvent) => void) => Promise<OtlpReadResult>): Promise<AnalyzedRun>;
function analyzeOtlp(
  location: RunLocation,
  options: AnalyzeOptions,
  read: (onEvent: (event: TruthEvent) => void) => OtlpReadResult | Promise<OtlpReadResult>,
): AnalyzedRun | Promise<AnalyzedRun> {
  // Only the report is built: no counts by type (as for a Truth-Mode log).
  const analyzer = new RunAnalyzer({ locale: options.locale, rules: options.rules, eventCounts: false });
  const onEvent = (event: TruthEvent) => {
    analyzer.observe(event);
    options.onEvent?.(event);
  };
  const finish = (result: OtlpReadResult): AnalyzedRun => {
    const { converted } = result;
    const built = analyzer.finishReport({
      autofix: converted.autofix,
      // Traces do not say how the process ended; spans closed at exit are listed as unfinished.
      exit: { reason: 'unknown', exit_code: null, signal: null, at: null },
      unfinished: converted.unfinished,
      outputDir: location.outputDir,
      startTime: result.startTime,
      serviceName: converted.serviceName,
      source: 'otlp-json',
      // The run's own end, so durations and ages are the run's, not the time since.
      now: converted.endMs ?? Date.now(),
      criticalFailures: options.criticalFailures,
    });
    return { ...built, read: result, location };
  };
  const result = read(onEvent);
  return result instanceof Promise ? result.then(finish) : finish(result);
}

/** The report of the OTLP JSON file at location.trackerJson, read from `file` when it is open already. */
export function analyzeOtlpRun(location: RunLocation, options: AnalyzeOptions = {}, file?: LogFile): Promise<AnalyzedRun> {
  return analyzeOtlp(location, options, (onEvent) => readOtlpJson(file ?? location.trackerJson, onEvent, options));
}

export function analyzeOtlpRunSync(location: RunLocation, options: AnalyzeOptions = {}, file?: LogFile): AnalyzedRun {
  return analyzeOtlp(location, options, (onEvent) => readOtlpJsonSync(file ?? location.trackerJson, onEvent, options));
}
