import { constants } from 'node:buffer';
import { isSecretKey, REDACTED } from '../src/redact';
import { DEFAULT_MAX_STRING_LENGTH, safeString } from '../src/safeValue';
import type { TruthEvent } from '../src/types';
import { parsePythonJson, parseWithNonFinite } from './pythonJson';
import { parsePythonLiteral } from './pythonLiteral';

/** A log that cannot be read at all (not a Truth-Mode log, unreadable). `where` says where. */
export class TruthLogError extends Error {
  constructor(
    message: string,
    readonly where?: string,
    /** What to do instead, after the place: "… (autopsy-runs); it holds 3 runs, the newest: …". */
    hint?: string,
  ) {
    super((where ? `${message} (${where})` : message) + (hint ? `; ${hint}` : ''));
    this.name = 'TruthLogError';
  }
}

/**
 * A line (or a document read whole) is held as one string, and V8 makes none longer than this
 * (~512 Mi characters): past it, a clear error naming the line instead of "Invalid string length"
 * (a file of NUL bytes left by a crash, /dev/zero, a file that never ends its line).
 */
export function checkHeldLength(length: number, where: string, what: 'line' | 'document'): void {
  if (length > constants.MAX_STRING_LENGTH) {
    throw new TruthLogError(`${what} too long: more than ${constants.MAX_STRING_LENGTH} characters, the most one string can hold`, where);
  }
}

export interface TruthLogReadResult {
  /**
   * 'truth-mode': this library's line-per-event layout; 'python': one JSON document (the original
   * tracker); 'readable': execution_tracker_readable.txt, read when the JSON log is missing.
   */
  format: 'truth-mode' | 'python' | 'readable';
  startTime: string | null;
  /** Events delivered to the callback. */
  events: number;
  /** The closing line was found: the log was closed by a clean shutdown. */
  complete: boolean;
  /** `total_events` from the closing line, when present. */
  declaredTotal: number | null;
  /** The last line was cut off (a crash or kill while writing); it was skipped. */
  tornTail: boolean;
  /** Lines that could not be read (never the torn tail), with their line numbers. */
  skipped: Array<{ line: number; reason: string }>;
  /** Readable logs: events whose data is not Python data this reader can rebuild (kept as `data.repr`). */
  unreadData?: number;
}

const HEADER = /^\{\s*"start_time"\s*:\s*("(?:[^"\\]|\\.)*"|null)\s*,\s*"events"\s*:\s*\[\s*$/;
/** `[timestamp] (+1.234s) [LEVEL] type: {data}`, a line of execution_tracker_readable.txt. */
const READABLE_LINE = /^\[([^\]]*)\] \(\+([^)]*)s\) \[([^\]]*)\] (.*?): (.*)$/;
const FOOTER = /^\]\s*,\s*"total_events"\s*:\s*(\d+)\s*\}\s*$/;

/**
 * The start_time of a Truth-Mode log, from the first bytes of the file (its header line); undefined
 * when they are no such header (another format, or a log cut off before its first line).
 */
export function truthLogStartTime(head: string): string | undefined {
  const newline = head.indexOf('\n');
  const first = (newline === -1 ? head : head.slice(0, newline)).trim();
  const header = HEADER.exec(first);
  const started: unknown = header ? JSON.parse(header[1]) : undefined;
  return typeof started === 'string' ? started : undefined;
}
const MAX_SKIPPED = 100;
/**
 * A JSON document that is none of the inputs read: it says which others the CLI takes, as its
 * sniffers tell them (headKind in fileHead.ts: a "resourceSpans" key, or a report's own keys, of
 * which a report needs "failure_analysis" and "summary", before any key of a log).
 */
const NO_EVENTS_ARRAY =
  'not a Truth-Mode log: the JSON document has no "events" array; agent-autopsy report also reads OTLP JSON ({"resourceSpans": …}) and saved reports ("failure_analysis" and "summary")';
const NOT_AN_EVENT = 'not an event (no "type")';

/**
 * What a text JSON.parse rejected is, when its first lines are each a JSON object of their own
 * (JSON lines, not one document): not corrupt, but no input read here. Undefined otherwise.
 */
function jsonLinesProblem(text: string): string | undefined {
  const lines = text.split('\n', 6).map((line) => line.trim()).filter((line) => line !== '');
  if (lines.length < 2) return undefined;
  let first: unknown;
  try {
    const parsed = lines.slice(0, 5).map((line) => JSON.parse(line) as unknown);
    if (!parsed.every((value) => value !== null && typeof value === 'object' && !Array.isArray(value))) return undefined;
    first = parsed[0];
  } catch {
    return undefined;
  }
  if (asTruthEvent(first)) {
    return 'not a Truth-Mode log: JSON lines of events without the log\'s header; a Truth-Mode log is {"start_time": …, "events": [ … ]}, the events one per line';
  }
  return 'not a Truth-Mode log: JSON lines whose objects are not events (no "type"); agent-autopsy report also reads OTLP JSON lines ({"resourceSpans": …} each) and saved reports ("failure_analysis" and "summary")';
}
/** Event lines parsed by one JSON.parse (eventLines): most of the saving is there by 8. */
const BATCH_LINES = 64;
const MAX_FAILED_BATCHES = 16;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const SPACE = 32;
const NEWLINE = 10;
const CARRIAGE_RETURN = 13;
const TAB = 9;

export function asTruthEvent(value: unknown): TruthEvent | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const event = value as Partial<TruthEvent>;
  if (typeof event.type !== 'string') return undefined;
  if (typeof event.level !== 'string') event.level = 'INFO';
  if (!event.data || typeof event.data !== 'object' || Array.isArray(event.data)) {
    event.data = event.data === undefined || event.data === null ? {} : { value: event.data };
  }
  if (typeof event.timestamp !== 'string') event.timestamp = '';
  if (typeof event.elapsed_seconds !== 'number') event.elapsed_seconds = 0;
  return event as TruthEvent;
}

/**
 * An event with every field of the right type, as this library writes them: used as it is. (A
 * test of its own, small enough for V8 to inline where asTruthEvent is not: −140 instructions per
 * event read, bench/README.md, item 21.)
 */
function isWholeEvent(value: object): value is TruthEvent {
  const event = value as Partial<TruthEvent>;
  const data = event.data;
  return (
    typeof event.type === 'string' &&
    typeof event.level === 'string' &&
    typeof event.timestamp === 'string' &&
    typeof event.elapsed_seconds === 'number' &&
    typeof data === 'object' &&
    data !== null &&
    !Array.isArray(data)
  );
}

function isWholeObject(value: unknown): value is TruthEvent {
  return value !== null && typeof value === 'object' && isWholeEvent(value);
}

/**
 * Incremental parser for execution_tracker.json. Our layout is read line by line in constant
 * memory, tolerating a torn last line (a kill mid-write) and reporting any other bad line by number.
 * The original Python tracker's file (one indented document) is parsed whole, with a tolerant
 * element scanner when it is truncated.
 */
export class TruthLogParser {
  private mode = 'unknown' as 'unknown' | 'truth-mode' | 'python' | 'readable';
  private carry = '';
  private lineNumber = 0;
  private pendingBad: { line: number; text: string } | undefined;
  private batching = true;
  private failedBatches = 0;
  private whole: string[] = [];
  private wholeLength = 0;
  private readonly result: TruthLogReadResult = {
    format: 'truth-mode',
    startTime: null,
    events: 0,
    complete: false,
    declaredTotal: null,
    tornTail: false,
    skipped: [],
  };

  /**
   * `onEvents`, when given, receives runs of events parsed together (all whole, in order) instead
   * of `onEvent` one by one: a consumer that queues events for batched analysis can take the run
   * as its batch, so fewer parsed events wait at once (each that outlives a young-generation GC is
   * copied, and enough of them make V8 double the young generation: bench/README.md, item 22).
   */
  constructor(
    private readonly onEvent: (event: TruthEvent) => void,
    private readonly source = 'execution_tracker.json',
    private readonly onEvents?: (events: readonly TruthEvent[]) => void,
  ) {}

  push(chunk: string): void {
    if (this.mode === 'python') {
      this.wholeLength += chunk.length;
      checkHeldLength(this.wholeLength, `${this.source}:${Math.max(1, this.lineNumber)}`, 'document');
      this.whole.push(chunk);
      return;
    }
    // Lines are cut from the chunk itself: `carry + chunk` would copy the whole chunk (a megabyte)
    // into one flat string first, and slices of it would keep that copy alive (bench/README.md).
    let start = 0;
    let newline = chunk.indexOf('\n');
    if (newline !== -1 && this.carry !== '') {
      checkHeldLength(this.carry.length + newline, `${this.source}:${this.lineNumber + 1}`, 'line');
      const first = this.carry + chunk.slice(0, newline);
      this.carry = '';
      start = newline + 1;
      newline = chunk.indexOf('\n', start);
      if (this.lineThenPython(first, chunk, start)) return;
    }
    while (newline !== -1) {
      const next = this.eventLines(chunk, start, newline);
      if (next !== -1) {
        start = next;
        newline = chunk.indexOf('\n', start);
        continue;
      }
      if (!this.eventLine(chunk, start, newline) && this.lineThenPython(chunk.slice(start, newline), chunk, newline + 1)) return;
      start = newline + 1;
      newline = chunk.indexOf('\n', start);
    }
    if (start === 0) checkHeldLength(this.carry.length + chunk.length, `${this.source}:${this.lineNumber + 1}`, 'line');
    this.carry = start === 0 ? this.carry + chunk : chunk.slice(start);
  }

  /**
   * The line from `start` to `newline`, when it is one of our own event lines as the writer lays
   * them out (`{…},`, `{…}` last, `\r\n` tolerated): nearly every line of a log, so it is parsed
   * and delivered without line()'s trimming and copies (bench/README.md, item 21). False, with
   * nothing done, for any other line: line() reads it, as it does every line of another layout.
   */
  private eventLine(chunk: string, start: number, newline: number): boolean {
    if (this.mode !== 'truth-mode' || this.pendingBad !== undefined || this.result.complete || chunk.charCodeAt(start) !== OPEN_BRACE) return false;
    let end = newline;
    if (chunk.charCodeAt(end - 1) === CARRIAGE_RETURN) end--;
    if (chunk.charCodeAt(end - 1) === COMMA) end--;
    if (chunk.charCodeAt(end - 1) !== CLOSE_BRACE) return false;
    let value: unknown;
    try {
      value = JSON.parse(chunk.slice(start, end));
    } catch {
      return false;
    }
    this.lineNumber++;
    // A parsed `{…}` line is an object.
    const event = isWholeEvent(value as object) ? (value as TruthEvent) : asTruthEvent(value);
    if (!event) {
      this.skip(this.lineNumber, NOT_AN_EVENT);
      return true;
    }
    this.deliver(event);
    return true;
  }

  /**
   * Up to BATCH_LINES of our own event lines from `start` (each `{…},`, `\r\n` tolerated), parsed
   * with one JSON.parse as the array they are part of: every call of JSON.parse costs ~1,000
   * instructions besides the text it reads, 40 % of what the reader spent per event over a reader
   * that only parses (bench/README.md, item 22). Returns where the line after them starts, or -1
   * with nothing done when fewer than two lines have that shape.
   *
   * When the array does not parse, or holds another number of elements than there are lines (one
   * event written over two lines, two on one), the same lines are read one by one instead, so a
   * damaged line is still skipped and named by its number. Only a log edited by hand so that both
   * happen in one batch, evenly, reads differently: as the JSON the lines make together, which is
   * what the original tracker's reader (json.load of the whole file) would make of it.
   */
  private eventLines(chunk: string, start: number, newline: number): number {
    if (!this.batching || this.mode !== 'truth-mode' || this.pendingBad !== undefined || this.result.complete) return -1;
    let lines = 0;
    let lineStart = start;
    let lineEnd = newline;
    let lastClose = -1;
    while (lineEnd !== -1 && lines < BATCH_LINES && chunk.charCodeAt(lineStart) === OPEN_BRACE) {
      let end = lineEnd;
      if (chunk.charCodeAt(end - 1) === CARRIAGE_RETURN) end--;
      if (chunk.charCodeAt(end - 1) !== COMMA || chunk.charCodeAt(end - 2) !== CLOSE_BRACE) break;
      lines++;
      lastClose = end - 1;
      lineStart = lineEnd + 1;
      lineEnd = chunk.indexOf('\n', lineStart);
    }
    if (lines < 2) return -1;
    let values: unknown;
    try {
      values = JSON.parse(`[${chunk.slice(start, lastClose)}]`);
    } catch {
      values = undefined;
    }
    if (!Array.isArray(values) || values.length !== lines) {
      this.linesOneByOne(chunk, start, lineStart);
      return lineStart;
    }
    let whole = 0;
    while (whole < lines && isWholeObject(values[whole])) whole++;
    if (whole === lines && this.onEvents !== undefined) {
      this.lineNumber += lines;
      this.result.events += lines;
      this.onEvents(values as TruthEvent[]);
      return lineStart;
    }
    for (let i = 0; i < lines; i++) {
      this.lineNumber++;
      const value: unknown = values[i];
      const event = i < whole ? (value as TruthEvent) : asTruthEvent(value);
      if (event) this.deliver(event);
      else this.skip(this.lineNumber, NOT_AN_EVENT);
    }
    return lineStart;
  }

  /** The lines of a batch that did not parse as one array, read as any line is. */
  private linesOneByOne(chunk: string, start: number, until: number): void {
    // A log damaged all through would parse most of its lines twice: after a few such batches,
    // it is read line by line to its end.
    if (++this.failedBatches === MAX_FAILED_BATCHES) this.batching = false;
    for (let newline = chunk.indexOf('\n', start); start < until; newline = chunk.indexOf('\n', start)) {
      if (!this.eventLine(chunk, start, newline)) this.line(chunk.slice(start, newline));
      start = newline + 1;
    }
  }

  /** Reads one line; when it turns out to be the original tracker's document, keeps the rest whole. */
  private lineThenPython(line: string, chunk: string, rest: number): boolean {
    this.line(line);
    if ((this.mode as string) !== 'python') return false;
    this.whole.push(chunk.slice(rest));
    this.wholeLength = this.whole[0].length + chunk.length - rest;
    this.carry = '';
    return true;
  }

  end(): TruthLogReadResult {
    if (this.mode === 'python') {
      this.parsePython(this.whole.join(''));
      this.whole = [];
      return this.result;
    }
    if (this.carry.trim() !== '') {
      this.line(this.carry, true);
      if ((this.mode as string) === 'python') this.parsePython(this.whole.join(''));
    }
    this.carry = '';
    // A process killed before its first write leaves an empty log: a run with no events, not an error.
    if (this.mode === 'unknown') return this.result;
    if (this.pendingBad) {
      // The last bad line of a log that was never closed is where the writer was cut off.
      if (!this.result.complete) this.result.tornTail = true;
      else this.skip(this.pendingBad.line, 'not a JSON event');
      this.pendingBad = undefined;
    }
    return this.result;
  }

  private line(raw: string, last = false): void {
    this.lineNumber++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (this.mode === 'unknown') {
      const trimmed = line.trim();
      if (trimmed === '') return;
      const header = HEADER.exec(trimmed);
      if (header) {
        this.mode = 'truth-mode';
        this.result.startTime = JSON.parse(header[1]);
        return;
      }
      if (trimmed.startsWith('{')) {
        this.mode = 'python';
        this.result.format = 'python';
        this.whole.push(`${raw}\n`);
        return;
      }
      if (READABLE_LINE.test(line)) {
        this.mode = 'readable';
        this.result.format = 'readable';
        this.result.unreadData = 0;
      } else {
        throw new TruthLogError('not a Truth-Mode log: expected a JSON object with "start_time" and "events"', `${this.source}:${this.lineNumber}`);
      }
    }
    if (this.mode === 'readable') {
      this.readableLine(line, last);
      return;
    }
    if (this.pendingBad) {
      this.skip(this.pendingBad.line, 'not a JSON event');
      this.pendingBad = undefined;
    }
    if (this.result.complete) return;
    let text = line.trim();
    if (text === '') return;
    // Event lines start with '{': only other lines can be the closing one.
    const footer = text.charCodeAt(0) === OPEN_BRACE ? null : FOOTER.exec(text);
    if (footer) {
      this.result.complete = true;
      this.result.declaredTotal = Number(footer[1]);
      return;
    }
    if (text.endsWith(',')) text = text.slice(0, -1);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = parseWithNonFinite(text);
    }
    if (value === undefined) {
      this.pendingBad = { line: this.lineNumber, text };
      if (last && !this.result.complete) {
        this.result.tornTail = true;
        this.pendingBad = undefined;
      }
      return;
    }
    const event = asTruthEvent(value);
    if (!event) {
      this.skip(this.lineNumber, NOT_AN_EVENT);
      return;
    }
    this.deliver(event);
  }

  /**
   * One line of the readable log: the event as the line shows it, its data read back from Python's
   * repr (kept as text in `data.repr` where that is not plain data).
   */
  private readableLine(line: string, last: boolean): void {
    if (line.trim() === '') return;
    const match = READABLE_LINE.exec(line);
    if (!match) {
      if (last) this.result.tornTail = true;
      else this.skip(this.lineNumber, 'not a readable log line');
      return;
    }
    const [, timestamp, elapsed, level, type, repr] = match;
    let data: TruthEvent['data'];
    try {
      const value = parsePythonLiteral(repr);
      data = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as TruthEvent['data']) : { value };
    } catch {
      // Cut off by a kill in the middle of the line, or the repr of something that is not data.
      if (last) {
        this.result.tornTail = true;
        return;
      }
      this.result.unreadData = (this.result.unreadData ?? 0) + 1;
      data = { repr };
    }
    const seconds = Number(elapsed);
    this.deliver({ timestamp, elapsed_seconds: Number.isFinite(seconds) ? seconds : 0, type, level: level as TruthEvent['level'], data });
  }

  private deliver(event: TruthEvent): void {
    this.result.events++;
    // The original tracker redacted nothing: a log it wrote is cleaned as it is read, as a live run
    // cleans what the app hands over. (This library's own log was cleaned when it was written.)
    this.onEvent(this.mode === 'truth-mode' ? event : cleanForeignEvent(event));
  }

  private skip(line: number, reason: string): void {
    if (this.result.skipped.length < MAX_SKIPPED) this.result.skipped.push({ line, reason });
  }

  private parsePython(text: string): void {
    let document: unknown;
    try {
      document = parsePythonJson(text);
    } catch {
      this.scanTornDocument(text);
      return;
    }
    if (!document || typeof document !== 'object' || !Array.isArray((document as { events?: unknown }).events)) {
      throw new TruthLogError(NO_EVENTS_ARRAY, this.source);
    }
    const doc = document as { start_time?: unknown; events: unknown[]; total_events?: unknown };
    // An element that is not an event is named by its line, which only the element scanner knows.
    if (doc.events.some((value) => !value || typeof value !== 'object' || Array.isArray(value) || typeof (value as { type?: unknown }).type !== 'string')) {
      this.scanTornDocument(text);
      // It parsed whole: it is complete, whatever the scanner made of its end.
      this.result.tornTail = false;
      this.result.complete = true;
      this.result.declaredTotal = typeof doc.total_events === 'number' ? doc.total_events : null;
      return;
    }
    this.result.startTime = typeof doc.start_time === 'string' ? doc.start_time : null;
    this.result.complete = true;
    this.result.declaredTotal = typeof doc.total_events === 'number' ? doc.total_events : null;
    doc.events.forEach((value, index) => {
      const event = asTruthEvent(value);
      if (event) this.deliver(event);
      else this.skip(index + 1, `events[${index}] is not an event`);
    });
  }

  /**
   * Reads the elements of "events" one by one from a document JSON.parse rejected: one cut off
   * part-way (a kill while the original tracker wrote it), or one damaged inside. Every complete
   * element that is an event is delivered; the others are reported as skipped, by line; only an
   * element cut off at the end is the torn tail.
   */
  private scanTornDocument(text: string): void {
    const start = /"start_time"\s*:\s*("(?:[^"\\]|\\.)*")/.exec(text);
    if (start) this.result.startTime = JSON.parse(start[1]);
    const events = /"events"\s*:\s*\[/.exec(text);
    if (!events) {
      // Our own header cut off by a kill before its first line was complete: a run with no events.
      const trimmed = text.trim();
      if (/^\{\s*"start_time"/.test(trimmed) || '{"start_time"'.startsWith(trimmed)) {
        this.result.tornTail = true;
        return;
      }
      throw new TruthLogError(jsonLinesProblem(trimmed) ?? 'not a Truth-Mode log: corrupt JSON without an "events" array', this.source);
    }
    const from = events.index + events[0].length;
    // The document's first line is the one line() took it from.
    let line = Math.max(1, this.lineNumber);
    for (let i = text.indexOf('\n'); i !== -1 && i < from; i = text.indexOf('\n', i + 1)) line++;
    let depth = 0;
    let inString = false;
    let elementStart = -1;
    let elementLine = 0;
    let index = 0;
    for (let i = from; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      if (ch === NEWLINE) line++;
      if (inString) {
        if (ch === BACKSLASH) i++;
        else if (ch === QUOTE) inString = false;
        continue;
      }
      if (depth === 0) {
        if (ch === COMMA || ch === CLOSE_BRACKET) {
          if (elementStart >= 0) this.scannedElement(text.slice(elementStart, i), elementLine, index++);
          elementStart = -1;
          if (ch === CLOSE_BRACKET) {
            this.closeScannedDocument(text.slice(i + 1));
            return;
          }
          continue;
        }
        if (ch === SPACE || ch === NEWLINE || ch === CARRIAGE_RETURN || ch === TAB) continue;
        if (elementStart < 0) {
          elementStart = i;
          elementLine = line;
        }
      }
      if (ch === QUOTE) inString = true;
      else if (ch === OPEN_BRACE || ch === OPEN_BRACKET) depth++;
      else if (ch === CLOSE_BRACE || ch === CLOSE_BRACKET) depth--;
    }
    // The end of the text inside "events": the document was cut off. Its last element counts if it
    // is whole (cut right after it), else it is the torn tail.
    this.result.tornTail = true;
    if (elementStart >= 0 && depth === 0) {
      const event = asTruthEvent(safeParse(text.slice(elementStart)));
      if (event) this.deliver(event);
    }
  }

  private scannedElement(text: string, line: number, index: number): void {
    const value = safeParse(text);
    if (value === undefined) {
      this.skip(line, 'not a JSON event');
      return;
    }
    const event = asTruthEvent(value);
    if (event) this.deliver(event);
    else this.skip(line, `events[${index}] is not an event`);
  }

  /** After the "events" array of a document that did not parse: whole when `}` (with total_events) follows. */
  private closeScannedDocument(rest: string): void {
    const closing = /^\s*(?:,\s*"total_events"\s*:\s*(\d+)\s*)?\}\s*$/.exec(rest);
    this.result.tornTail = !closing;
    if (!closing) return;
    this.result.complete = true;
    if (closing[1] !== undefined) this.result.declaredTotal = Number(closing[1]);
  }
}

function safeParse(text: string): unknown {
  try {
    return parsePythonJson(text);
  } catch {
    return undefined;
  }
}

/** An event of a log this library did not write: its type and strings redacted and bounded, numbers (NaN too) kept. */
function cleanForeignEvent(event: TruthEvent): TruthEvent {
  return { ...event, type: safeString(event.type, DEFAULT_MAX_STRING_LENGTH), data: redactParsed(event.data, 0) as TruthEvent['data'] };
}

/** A parsed JSON (or Python literal) value with secret-named keys and credentials in strings redacted. */
function redactParsed(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return safeString(value, DEFAULT_MAX_STRING_LENGTH);
  if (value === null || typeof value !== 'object' || depth > MAX_REDACT_DEPTH) return value;
  if (Array.isArray(value)) return value.map((item) => redactParsed(item, depth + 1));
  // fromEntries defines each key as its own property: assigning `out['__proto__']` would make a
  // crafted `"__proto__": {"stage": …}` the object's prototype, and its fields would pass for the event's.
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, isSecretKey(key) && item !== null && item !== undefined ? REDACTED : redactParsed(item, depth + 1)]),
  );
}

const MAX_REDACT_DEPTH = 64;
