import type { AutopsyReport } from '../analyzers/reportTypes';
import { stageText } from '../analyzers/FailureAggregate';
import { escapeHtml } from './htmlEscape';
import type { ReportLabels } from './reportLabels';
import { shownStages } from './reportRows';

/** A span drawn in the timeline. */
export interface TimelineSpan {
  kind: string;
  label: string;
  stage: string;
  startMs: number;
  /** null: still open when the log ends (drawn to the end, hatched). */
  endMs: number | null;
  outcome: 'ok' | 'error' | 'unfinished';
  error?: string;
  /** The span's id where the log gives one: a diagnosis's evidence links to its bar. */
  spanId?: string;
}

/** A failure that is not a span of its own (e.g. `syntax_error`), drawn as a tick on its stage. */
export interface TimelineMark {
  atMs: number;
  stage: string;
  label: string;
}

export interface TimelineData {
  spans: TimelineSpan[];
  marks: TimelineMark[];
  startMs: number | null;
  endMs: number | null;
  omittedSpans: number;
}

const WIDTH = 1100;
const LABEL_WIDTH = 190;
const RIGHT_PAD = 16;
const AXIS_HEIGHT = 24;
const STAGE_ROW = 20;
const LANE_ROW = 12;
const GROUP_GAP = 8;
const MAX_LANES = 8;
const MAX_MARKS = 2000;
/**
 * Drawn from the report alone: stage bars (one row each: a stage per request gives thousands) and
 * other spans still open (a leaked span per request gives thousands). The rest are counted as not drawn.
 */
const MAX_REPORT_STAGE_BARS = 1000;
const MAX_REPORT_OPEN_SPANS = 2000;
const KINDS = ['stage', 'task', 'llm', 'code_exec', 'autofix'] as const;

function parseMs(value: string | null | undefined): number {
  return value ? Date.parse(value) : NaN;
}

/**
 * The timeline as far as the report alone tells it (the report written at exit, with no event
 * list): stages with their outcome, spans still open at the end, and critical failures as ticks.
 */
export function timelineFromReport(report: AutopsyReport): TimelineData {
  const spans: TimelineSpan[] = [];
  const marks: TimelineMark[] = [];
  let start = parseMs(report.run.start_time);
  let end = Number.isFinite(start) && typeof report.run.duration_seconds === 'number' ? start + report.run.duration_seconds * 1000 : NaN;
  const widen = (ms: number) => {
    if (!Number.isFinite(ms)) return;
    if (!Number.isFinite(start) || ms < start) start = ms;
    if (!Number.isFinite(end) || ms > end) end = ms;
  };
  const { shown, more } = shownStages(report.stages, MAX_REPORT_STAGE_BARS);
  let omitted = more;
  let open = 0;
  for (const stage of shown) {
    const startMs = parseMs(stage.started);
    if (!Number.isFinite(startMs)) continue;
    // Its end where the row has one: runs of one stage that overlapped end with the last of them,
    // later than the first start plus the (longest run's) duration.
    const endedMs = parseMs(stage.ended);
    const endMs = stage.outcome === 'unfinished' ? null : Number.isFinite(endedMs) ? Math.max(startMs, endedMs) : stage.duration_seconds !== null ? startMs + stage.duration_seconds * 1000 : null;
    widen(startMs);
    if (endMs !== null) widen(endMs);
    spans.push({ kind: 'stage', label: stage.name ?? stage.stage, stage: stage.stage, startMs, endMs, outcome: stage.outcome });
  }
  for (const span of report.unfinished) {
    const startMs = parseMs(span.started);
    if (!Number.isFinite(startMs) || span.kind === 'stage') continue;
    if (open++ >= MAX_REPORT_OPEN_SPANS) {
      omitted++;
      continue;
    }
    widen(startMs);
    widen(startMs + span.age_seconds * 1000);
    const drawn: TimelineSpan = { kind: span.kind, label: span.name, stage: span.stage, startMs, endMs: null, outcome: 'unfinished' };
    if (span.span_id) drawn.spanId = span.span_id;
    spans.push(drawn);
  }
  // A run with a million failures still draws quickly: the first MAX_MARKS are enough to see where.
  for (const failure of report.failure_analysis.critical_failures.slice(0, MAX_MARKS)) {
    const atMs = parseMs(failure.timestamp);
    if (!Number.isFinite(atMs)) continue;
    widen(atMs);
    marks.push({ atMs, stage: stageText(failure.stage), label: `${failure.type}: ${typeof failure.error === 'string' ? failure.error : JSON.stringify(failure.error)}` });
  }
  return { spans, marks, startMs: Number.isFinite(start) ? start : null, endMs: Number.isFinite(end) ? end : null, omittedSpans: omitted };
}

interface Group {
  stage: string;
  bars: TimelineSpan[];
  children: TimelineSpan[];
  marks: TimelineMark[];
  firstMs: number;
}

/** Packs overlapping spans into lanes, first fit; beyond MAX_LANES they share the last lanes. */
function packLanes(spans: TimelineSpan[], endOf: (span: TimelineSpan) => number): TimelineSpan[][] {
  const lanes: TimelineSpan[][] = [];
  const laneEnd: number[] = [];
  for (const span of [...spans].sort((a, b) => a.startMs - b.startMs)) {
    let lane = laneEnd.findIndex((endMs) => endMs <= span.startMs);
    if (lane === -1) {
      if (lanes.length < MAX_LANES) {
        lane = lanes.length;
        lanes.push([]);
        laneEnd.push(0);
      } else lane = laneEnd.indexOf(Math.min(...laneEnd));
    }
    lanes[lane].push(span);
    laneEnd[lane] = Math.max(laneEnd[lane], endOf(span));
  }
  return lanes;
}

function niceStep(range: number): number {
  const raw = range / 8;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const factor of [1, 2, 5, 10]) if (factor * power >= raw) return factor * power;
  return 10 * power;
}

function formatSeconds(seconds: number): string {
  if (seconds >= 120) return `${(seconds / 60).toFixed(seconds % 60 === 0 ? 0 : 1)}m`;
  return `${Number(seconds.toPrecision(6))}s`;
}

function formatDuration(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(3)} s` : `${ms.toFixed(1)} ms`;
}

/**
 * A Gantt-like SVG: one group per stage (the stage's bar, then lanes of its tasks, LLM calls,
 * code executions and autofix attempts), failed spans in red, unfinished ones hatched to the
 * end, failure events as red ticks. Every text is escaped. Every span of `data` gets its bar; the
 * bar of a span in `linked` (span id → its index among a diagnosis's evidence) carries
 * `data-span="<index>"`, for the page's links to it.
 */
export function renderTimelineSvg(
  data: TimelineData,
  labels: ReportLabels,
  stageNames: ReadonlyMap<string, string> = new Map(),
  linked: ReadonlyMap<string, number> = new Map(),
): string {
  if (data.spans.length === 0 && data.marks.length === 0) return '';
  let t0 = data.startMs ?? Infinity;
  let t1 = data.endMs ?? -Infinity;
  const widen = (ms: number) => {
    if (ms < t0) t0 = ms;
    if (ms > t1) t1 = ms;
  };
  for (const span of data.spans) {
    widen(span.startMs);
    if (span.endMs !== null) widen(span.endMs);
  }
  for (const mark of data.marks) widen(mark.atMs);
  if (t1 - t0 < 1) t1 = t0 + 1;
  const chartWidth = WIDTH - LABEL_WIDTH - RIGHT_PAD;
  const x = (ms: number) => LABEL_WIDTH + ((ms - t0) / (t1 - t0)) * chartWidth;
  const endOf = (span: TimelineSpan) => span.endMs ?? t1;

  const groups = new Map<string, Group>();
  const group = (stage: string, atMs: number): Group => {
    let entry = groups.get(stage);
    if (!entry) {
      entry = { stage, bars: [], children: [], marks: [], firstMs: atMs };
      groups.set(stage, entry);
    }
    entry.firstMs = Math.min(entry.firstMs, atMs);
    return entry;
  };
  for (const span of data.spans) {
    const entry = group(span.stage, span.startMs);
    if (span.kind === 'stage') entry.bars.push(span);
    else entry.children.push(span);
  }
  for (const mark of data.marks) group(mark.stage, mark.atMs).marks.push(mark);
  const ordered = [...groups.values()].sort((a, b) => a.firstMs - b.firstMs);

  const parts: string[] = [];
  let y = AXIS_HEIGHT;
  for (const entry of ordered) {
    const lanes = packLanes(entry.children, endOf);
    const height = STAGE_ROW + lanes.length * LANE_ROW + GROUP_GAP;
    const name = stageNames.get(entry.stage);
    const title = name && name !== entry.stage ? `${entry.stage} · ${name}` : entry.stage;
    parts.push(`<g class="tl-group" data-stage="${escapeHtml(entry.stage)}">`);
    parts.push(`<rect class="tl-band" x="0" y="${y - 2}" width="${WIDTH}" height="${height - GROUP_GAP + 4}"/>`);
    parts.push(`<g><title>${escapeHtml(title)}</title><text class="tl-label" x="6" y="${y + 14}">${escapeHtml(title.length > 26 ? `${title.slice(0, 25)}…` : title)}</text></g>`);
    for (const bar of entry.bars) parts.push(barSvg(bar, x, endOf, y + 2, STAGE_ROW - 4, labels, linked));
    lanes.forEach((lane, index) => {
      for (const span of lane) parts.push(barSvg(span, x, endOf, y + STAGE_ROW + index * LANE_ROW, LANE_ROW - 3, labels, linked));
    });
    for (const mark of entry.marks) {
      const mx = x(mark.atMs).toFixed(1);
      parts.push(
        `<path class="tl-mark" d="M${mx} ${y} l-4 -6 h8 z M${mx} ${y} v${height - GROUP_GAP}"><title>${escapeHtml(`${new Date(mark.atMs).toISOString()} ${mark.label}`)}</title></path>`,
      );
    }
    parts.push('</g>');
    y += height;
  }

  const axis: string[] = [];
  const rangeSeconds = (t1 - t0) / 1000;
  const step = niceStep(rangeSeconds);
  for (let s = 0; s <= rangeSeconds + 1e-9; s += step) {
    const tx = x(t0 + s * 1000).toFixed(1);
    axis.push(`<line class="tl-grid" x1="${tx}" x2="${tx}" y1="${AXIS_HEIGHT - 6}" y2="${y}"/><text class="tl-tick" x="${tx}" y="${AXIS_HEIGHT - 10}">${escapeHtml(formatSeconds(s))}</text>`);
  }
  const legend = KINDS.map((kind) => `<span class="lg"><i class="sw kind-${kind}"></i>${escapeHtml(labels.legend[kind])}</span>`)
    .concat([
      `<span class="lg"><i class="sw outcome-error"></i>${escapeHtml(labels.legend.error)}</span>`,
      `<span class="lg"><i class="sw outcome-unfinished"></i>${escapeHtml(labels.legend.unfinished)}</span>`,
      `<span class="lg"><i class="sw mark"></i>${escapeHtml(labels.legend.failure)}</span>`,
    ])
    .join('');
  const note = data.omittedSpans > 0 ? `<p class="note">${escapeHtml(labels.omittedSpans(data.omittedSpans))}</p>` : '';
  return (
    `<svg class="timeline" viewBox="0 0 ${WIDTH} ${y + 4}" width="100%" role="img" aria-label="${escapeHtml(labels.timeline)}">` +
    '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f3c969"/><line x1="0" y1="0" x2="0" y2="6" stroke="#b7791f" stroke-width="3"/></pattern></defs>' +
    axis.join('') +
    parts.join('') +
    `</svg><div class="legend">${legend}</div>${note}`
  );
}

function barSvg(
  span: TimelineSpan,
  x: (ms: number) => number,
  endOf: (span: TimelineSpan) => number,
  y: number,
  height: number,
  labels: ReportLabels,
  linked: ReadonlyMap<string, number>,
): string {
  const x0 = x(span.startMs);
  const width = Math.max(1.5, x(endOf(span)) - x0);
  const durationMs = endOf(span) - span.startMs;
  const kindLabel = labels.legend[span.kind as keyof ReportLabels['legend']] ?? span.kind;
  const outcome = span.outcome === 'ok' ? '' : ` — ${labels.legend[span.outcome]}`;
  const error = span.error ? `\n${span.error}` : '';
  const title = `${kindLabel}: ${span.label} (${span.endMs === null ? '≥ ' : ''}${formatDuration(durationMs)})${outcome}${error}`;
  const index = span.spanId === undefined ? undefined : linked.get(span.spanId);
  const link = index === undefined ? '' : ` data-span="${index}"`;
  return `<rect class="bar kind-${escapeHtml(span.kind)} outcome-${span.outcome}"${link} x="${x0.toFixed(1)}" y="${y}" width="${width.toFixed(1)}" height="${height}" rx="2"><title>${escapeHtml(title)}</title></rect>`;
}
