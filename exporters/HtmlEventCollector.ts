import { stageKey } from '../analyzers/FailureAggregate';
import { parseSpanEvent, SpanPairing } from '../analyzers/SpanPairing';
import { checkOptionNames, describeValue, warnAboutSetting } from '../src/settingWarnings';
import type { TruthEvent } from '../src/types';
import type { TimelineData, TimelineMark, TimelineSpan } from './htmlTimeline';

/**
 * Each a whole number from its least value up. Another value (0 events, NaN, 2.5, '100', Infinity)
 * is named on stderr in one line and the default is used, as init() treats its options.
 */
export interface HtmlEventCollectorOptions {
  /** Events kept for the list (1 or more); beyond this only the most recent are kept. Default 200,000. */
  maxEvents?: number;
  /** Task / LLM / code / autofix spans drawn in the timeline (failed and unfinished ones always are). Default 2,000. */
  maxSpans?: number;
  /**
   * Stage spans drawn in the timeline. A stage repeated in a loop ends once per iteration, and
   * 300,000 bars took the reader to ~800 MB and draw nothing anyone can see. Default 5,000.
   */
  maxStageSpans?: number;
  /** Longest `data` JSON kept per event, in characters (100 or more). Default 4,000. */
  maxDataLength?: number;
}

/** Each option's default and the least value it takes. */
const COUNT_OPTIONS: Record<keyof HtmlEventCollectorOptions, [fallback: number, least: number]> = {
  maxEvents: [200_000, 1],
  maxSpans: [2000, 0],
  maxStageSpans: [5000, 0],
  maxDataLength: [4000, 100],
};

const OPTION_NAMES = Object.keys(COUNT_OPTIONS);
const WARNING_PREFIX = 'new HtmlEventCollector(): ';

/**
 * The option `name` as given when it is a whole number from its least value up; else its default,
 * and a line on stderr that says so. A bad value is no reason to throw into the app that renders a
 * report, and clamping it silently (0 events to 1) hid the mistake.
 */
function countOption(options: HtmlEventCollectorOptions, name: keyof HtmlEventCollectorOptions): number {
  const [fallback, least] = COUNT_OPTIONS[name];
  const value: unknown = options[name];
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= least) return value;
  warnAboutSetting(`${WARNING_PREFIX}option ${name} should be a whole number from ${least} up, got ${describeValue(value)}; the default (${fallback}) is used`);
  return fallback;
}

/**
 * One event as the page stores it: [timestamp, elapsed, type index, level index, stage index, data
 * JSON], and for an event of a span the page links to (a diagnosis's evidence) the span's index
 * in the list's `spans`. Other rows have no seventh element: a page of 200,000 events does not
 * carry 200,000 span ids that nothing on it refers to.
 */
export type CompactEvent = [string, number, number, number, number, string, number?];

/** The event list as the page's JSON blob. */
export interface EventList {
  /** Events observed (the list may hold fewer: the most recent). */
  total: number;
  types: string[];
  levels: string[];
  stages: string[];
  /** The span ids asked for (see eventList), in that order; a row's seventh element indexes this. */
  spans: string[];
  rows: CompactEvent[];
}

const LEVELS = ['INFO', 'WARNING', 'ERROR'];
const MAX_MARKS = 5000;
const MAX_KEPT_FAILED = 5000;
/** Spans still open at the log's end drawn (a span leaked per request leaves thousands). */
const MAX_OPEN_DRAWN = 5000;

interface OpenSpan {
  kind: string;
  label: string;
  stage: string;
  startMs: number;
  spanId?: string;
}

class Dictionary {
  names: string[] = [];
  private index = new Map<string, number>();

  constructor(initial: readonly string[] = []) {
    for (const name of initial) this.id(name);
  }

  id(name: string): number {
    let id = this.index.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.index.set(name, id);
    }
    return id;
  }

  /** Keeps only the names `used` (old ids) and gives each its new id, in the same order. */
  keepOnly(used: readonly number[]): Map<number, number> {
    const names = this.names;
    const remap = new Map<number, number>();
    this.names = [];
    this.index = new Map();
    for (const old of used) if (!remap.has(old)) remap.set(old, this.id(names[old]));
    return remap;
  }
}

function spanLabel(kind: string, data: Record<string, unknown>): string {
  const value = kind === 'stage' ? (data.name ?? data.stage) : kind === 'task' ? data.task : (data.name ?? data.model ?? data.language ?? data.type ?? data.span);
  return value === undefined || value === null ? kind : String(value);
}

/**
 * Gathers what autopsy.html shows beyond the report while a log is read: the event list (a
 * bounded ring buffer of compact rows) and the spans for the timeline (paired start/end events,
 * bounded too). Feed it every event in order with `observe`.
 */
export class HtmlEventCollector {
  private readonly maxEvents: number;
  private readonly maxSpans: number;
  private readonly maxStageSpans: number;
  private readonly maxDataLength: number;
  private readonly rows: CompactEvent[] = [];
  /** The span id of each row (same positions as `rows`), for eventList's links to a span. */
  private readonly rowSpans: Array<string | undefined> = [];
  private head = 0;
  private seen = 0;
  private readonly types = new Dictionary();
  private readonly levels = new Dictionary(LEVELS);
  private readonly stages = new Dictionary();
  private readonly pairing = new SpanPairing<OpenSpan>();
  private readonly spans: TimelineSpan[] = [];
  private childSpans = 0;
  private stageSpans = 0;
  private keptFailed = 0;
  private omitted = 0;
  private readonly marks: TimelineMark[] = [];
  private firstMs = NaN;
  private lastMs = NaN;

  constructor(options: HtmlEventCollectorOptions = {}) {
    // From plain JavaScript too: `null` is no options; another value that is no object has none to read.
    // A misspelled name (maxEvent) is named too, rather than its default used without a word.
    let given: HtmlEventCollectorOptions = {};
    if (options !== null && typeof options === 'object' && !Array.isArray(options)) {
      if (checkOptionNames(options, OPTION_NAMES, WARNING_PREFIX)) given = options;
    } else if (options !== null) warnAboutSetting(`${WARNING_PREFIX}the options should be an object (such as { maxEvents: 1000 }), got ${describeValue(options)}; the defaults are used`);
    this.maxEvents = countOption(given, 'maxEvents');
    this.maxSpans = countOption(given, 'maxSpans');
    this.maxStageSpans = countOption(given, 'maxStageSpans');
    this.maxDataLength = countOption(given, 'maxDataLength');
  }

  /** Events observed (the list may hold fewer). */
  get total(): number {
    return this.seen;
  }

  observe(event: TruthEvent): void {
    this.seen++;
    const data = event.data && typeof event.data === 'object' ? event.data : {};
    const stage = stageKey(data);
    let json: string;
    try {
      json = JSON.stringify(data) ?? '{}';
    } catch {
      json = '{}';
    }
    if (json.length > this.maxDataLength) json = `${json.slice(0, this.maxDataLength)}…`;
    const row: CompactEvent = [
      String(event.timestamp),
      typeof event.elapsed_seconds === 'number' ? event.elapsed_seconds : 0,
      this.types.id(String(event.type)),
      this.levels.id(String(event.level)),
      this.stages.id(stage),
      json,
    ];
    const spanId = typeof event.span_id === 'string' ? event.span_id : undefined;
    if (this.rows.length < this.maxEvents) {
      this.rows.push(row);
      this.rowSpans.push(spanId);
    } else {
      this.rows[this.head] = row;
      this.rowSpans[this.head] = spanId;
      this.head = (this.head + 1) % this.maxEvents;
      // A type or stage named per request: names only dropped rows used go (amortised, at 2 × the rows).
      if (this.types.names.length > 2 * this.maxEvents || this.stages.names.length > 2 * this.maxEvents) this.compact();
    }
    const atMs = Date.parse(event.timestamp);
    if (Number.isFinite(atMs)) {
      if (!Number.isFinite(this.firstMs)) this.firstMs = atMs;
      this.lastMs = atMs;
      this.pairSpan(event, data, stage, atMs, spanId);
    }
  }

  private pairSpan(event: TruthEvent, data: Record<string, unknown>, stage: string, atMs: number, spanId: string | undefined): void {
    const parsed = parseSpanEvent(event.type);
    if (!parsed) {
      if (event.level === 'ERROR' && this.marks.length < MAX_MARKS) this.marks.push({ atMs, stage, label: `${event.type}: ${describe(data)}` });
      return;
    }
    if (parsed.phase === 'start') {
      const entry: OpenSpan = { kind: parsed.kind, label: spanLabel(parsed.kind, data), stage, startMs: atMs };
      if (spanId !== undefined) entry.spanId = spanId;
      this.pairing.open(event, parsed.kind, entry);
      return;
    }
    const entry = this.pairing.close(event, parsed.kind, parsed.unfinished);
    // An end without its start (the log began mid-span): draw it from its duration.
    const duration = typeof data.duration === 'number' ? data.duration * 1000 : 0;
    const span: TimelineSpan = entry
      ? { ...entry, endMs: atMs, outcome: 'ok' }
      : { kind: parsed.kind, label: spanLabel(parsed.kind, data), stage, startMs: atMs - duration, endMs: atMs, outcome: 'ok' };
    if (!entry && spanId !== undefined) span.spanId = spanId;
    if (parsed.phase === 'error') {
      span.outcome = 'error';
      if (data.error !== undefined) span.error = describe(data.error);
    } else if (parsed.unfinished) span.outcome = 'unfinished';
    this.keep(span);
  }

  /** Keeps the first spans of each budget, then (up to MAX_KEPT_FAILED) only failed or unfinished ones. */
  private keep(span: TimelineSpan): void {
    const stage = span.kind === 'stage';
    if (stage ? this.stageSpans < this.maxStageSpans : this.childSpans < this.maxSpans) {
      if (stage) this.stageSpans++;
      else this.childSpans++;
      this.spans.push(span);
    } else if (span.outcome !== 'ok' && this.keptFailed < MAX_KEPT_FAILED) {
      this.keptFailed++;
      this.spans.push(span);
    } else this.omitted++;
  }

  /** Spans and failure marks for the timeline; spans still open are drawn as unfinished. */
  timeline(): TimelineData {
    const spans = [...this.spans];
    const stillOpen = this.pairing.pending();
    for (const entry of stillOpen.slice(0, MAX_OPEN_DRAWN)) spans.push({ ...entry, endMs: null, outcome: 'unfinished' });
    return {
      spans,
      marks: this.marks,
      startMs: Number.isFinite(this.firstMs) ? this.firstMs : null,
      endMs: Number.isFinite(this.lastMs) ? this.lastMs : null,
      omittedSpans: this.omitted + Math.max(0, stillOpen.length - MAX_OPEN_DRAWN),
    };
  }

  /** Drops the type and stage names no kept row uses, renumbering the rows. */
  private compact(): void {
    // In event order, so the names keep the order in which the kept events first use them.
    const ordered = this.head === 0 ? this.rows : [...this.rows.slice(this.head), ...this.rows.slice(0, this.head)];
    const types = this.types.keepOnly(ordered.map((row) => row[2]));
    const stages = this.stages.keepOnly(ordered.map((row) => row[4]));
    for (const row of this.rows) {
      row[2] = types.get(row[2])!;
      row[4] = stages.get(row[4])!;
    }
  }

  /**
   * The event list as the page's JSON blob: dictionaries plus rows in order (names only dropped
   * rows used left out). The rows of an event of one of `spans` (the span ids a diagnosis gives as
   * evidence) end with that span's index in `spans`, so the page can show a span's events.
   */
  eventList(spans: readonly string[] = []): EventList {
    if (this.seen > this.rows.length && (this.types.names.length > this.rows.length || this.stages.names.length > this.rows.length)) this.compact();
    const wrapped = this.rows.length >= this.maxEvents && this.head !== 0;
    const order = (i: number) => (wrapped ? (this.head + i) % this.rows.length : i);
    const wanted = new Map<string, number>();
    spans.forEach((id, index) => {
      if (!wanted.has(id)) wanted.set(id, index);
    });
    let rows: CompactEvent[];
    if (wanted.size === 0) rows = wrapped ? [...this.rows.slice(this.head), ...this.rows.slice(0, this.head)] : this.rows;
    else {
      rows = new Array<CompactEvent>(this.rows.length);
      for (let i = 0; i < this.rows.length; i++) {
        const at = order(i);
        const spanId = this.rowSpans[at];
        const index = spanId === undefined ? undefined : wanted.get(spanId);
        const row = this.rows[at];
        rows[i] = index === undefined ? row : [row[0], row[1], row[2], row[3], row[4], row[5], index];
      }
    }
    return { total: this.seen, types: this.types.names, levels: this.levels.names, stages: this.stages.names, spans: [...spans], rows };
  }
}

function describe(value: unknown): string {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const error = (value as Record<string, unknown>).error;
    if (error !== undefined) return describe(error);
  }
  let text: string;
  try {
    text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
