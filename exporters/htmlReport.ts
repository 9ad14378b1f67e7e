import { messagesFor, type MessageCatalog } from '../analyzers/messages';
import { stageText } from '../analyzers/FailureAggregate';
import type { AutopsyReport, Diagnosis, ModelUsage, TokenDetails } from '../analyzers/reportTypes';
import { criticalFailureCount } from '../analyzers/seedReport';
import type { TruthEvent } from '../src/types';
import { HTML_REPORT_CSS, HTML_REPORT_SCRIPT, HTML_REPORT_SCRIPT_HASH } from './htmlAssets';
import { barChart } from './htmlCharts';
import { escapeHtml, jsonForScript } from './htmlEscape';
import { HtmlEventCollector, type EventList } from './HtmlEventCollector';
import { renderTimelineSvg, timelineFromReport, type TimelineData } from './htmlTimeline';
import { groupedInteger } from './numberText';
import { labelsFor, noDiagnosesNote, notRecorded, type MissingSections, type NotRecorded, type ReportLabels } from './reportLabels';
import { shownPatterns, shownStages, statedTokenDetails, topModels, totalTokensText, llmCallsText, unfinishedError, unfinishedStream } from './reportRows';
import { shellPath } from './shellPath';

export { escapeHtml } from './htmlEscape';

export interface HtmlReportOptions {
  /**
   * The run's events, for the filterable event list and a timeline with every span: a collector
   * fed while the log was read (`agent-autopsy report --format html` does this), or the events.
   * Without them the page shows the report's sections and says how to get the list.
   */
  events?: HtmlEventCollector | Iterable<TruthEvent>;
  /** The command suggested for the full event list when `events` is absent. */
  fullReportCommand?: string;
  /** Sections a saved report lacks: said to be not recorded, not shown as zeros. */
  missingSections?: MissingSections;
  /** The page is made from a saved report (no events to list), not from a log or at the end of a run. */
  savedReport?: boolean;
}

const MAX_TABLE_ROWS = 200;

function fmt(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return Number.isInteger(value) ? groupedInteger(value) : Number(value.toFixed(digits)).toString();
}

function card(key: string, label: string, value: unknown, tone = ''): string {
  return `<div class="card${tone ? ` ${tone}` : ''}" data-key="${escapeHtml(key)}"><div class="k">${escapeHtml(label)}</div><div class="v">${escapeHtml(value)}</div></div>`;
}

const LONG_CELL = 400;

/** A cell's text; a long one (a 10,000-character error) scrolls inside a box of a few lines, so one row cannot fill screens. */
function cellContent(value: unknown): string {
  const text = escapeHtml(value ?? '');
  return typeof value === 'string' && value.length > LONG_CELL ? `<div class="clip">${text}</div>` : text;
}

function table(headers: Array<string | [string, 'num']>, rows: unknown[][], total = rows.length, moreLabel?: (count: number) => string): string {
  if (rows.length === 0) return '';
  const numeric = headers.map((h) => Array.isArray(h));
  const head = headers.map((h) => (Array.isArray(h) ? `<th class="num">${escapeHtml(h[0])}</th>` : `<th>${escapeHtml(h)}</th>`)).join('');
  const body = rows
    .map((row) => `<tr>${row.map((value, i) => `<td class="${numeric[i] ? 'num' : 'wrap'}">${cellContent(value)}</td>`).join('')}</tr>`)
    .join('');
  const more = total > rows.length && moreLabel ? `<p class="note">${escapeHtml(moreLabel(total - rows.length))}</p>` : '';
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>${more}`;
}

function section(id: string, title: string, body: string): string {
  return `<section id="${id}"><h2>${escapeHtml(title)}</h2>${body}</section>`;
}

/** The text of a section the report lacks. */
function notRecordedNote(na: NotRecorded): string {
  return `<p class="note not-recorded">${escapeHtml(na.section)}</p>`;
}

/**
 * What the page holds of the spans the diagnoses give as evidence: each span id's index (the
 * `data-span` of its links, of its rows in the event list and of its bar), how many of its events
 * the list has, and whether the timeline draws its bar.
 */
interface EvidenceSpans {
  index: Map<string, number>;
  /** Events of each span in the list, by index; null when the page has no event list. */
  listed: number[] | null;
  /** Events the list keeps when it keeps only the most recent ones (else null). */
  keptOnly: number | null;
  drawn: Set<number>;
}

/** A diagnosis's span ids, each once (as text: a saved report is only JSON someone wrote). */
function spanIdsOf(d: Diagnosis): string[] {
  const ids = d.evidence?.span_ids;
  return Array.isArray(ids) ? [...new Set(ids.map(String))] : [];
}

/** The span ids of every diagnosis, each once, in the order the page shows them. */
function evidenceSpanIds(report: AutopsyReport, na: NotRecorded): string[] {
  if (na.lacks('diagnoses')) return [];
  return [...new Set(report.diagnoses.flatMap(spanIdsOf))];
}

function evidenceSpans(ids: string[], list: EventList | undefined, timeline: TimelineData): EvidenceSpans {
  const index = new Map(ids.map((id, i) => [id, i]));
  let listed: number[] | null = null;
  if (list) {
    listed = ids.map(() => 0);
    for (const row of list.rows) if (row[6] !== undefined) listed[row[6]]++;
  }
  const drawn = new Set<number>();
  for (const span of timeline.spans) {
    const at = span.spanId === undefined ? undefined : index.get(span.spanId);
    if (at !== undefined) drawn.add(at);
  }
  const keptOnly = list && list.total > list.rows.length ? list.rows.length : null;
  return { index, listed, keptOnly, drawn };
}

/**
 * One evidence span: its id (a link that shows its events in the list, when the list has any),
 * then what the page holds of it, said in words, so a span the page lacks reads as such, with or
 * without JavaScript, rather than as a link to an empty list.
 */
function evidenceSpanLine(id: string, spans: EvidenceSpans, l: ReportLabels): string {
  const k = spans.index.get(id) as number;
  const labels = l.evidenceSpan;
  const count = spans.listed?.[k] ?? 0;
  const name =
    count > 0
      ? `<a class="mono" href="#events" data-span-events="${k}" title="${escapeHtml(labels.showEvents)}">${escapeHtml(id)}</a>`
      : `<span class="mono">${escapeHtml(id)}</span>`;
  const events =
    count > 0 ? labels.events(count) : spans.keptOnly !== null ? labels.olderThanList(spans.keptOnly) : labels.notListed;
  const bar = spans.drawn.has(k) ? `<a href="#timeline" data-span-bar="${k}">${escapeHtml(labels.bar)}</a>` : escapeHtml(labels.noBar);
  return `<div class="ev-span" data-span="${k}">${name} <span class="where">— ${escapeHtml(events)} · ${bar}</span></div>`;
}

/**
 * The span ids on a page with no event list (the one written at exit, one of a saved report): a
 * plain list, as in autopsy.md, where an id whose bar the timeline draws (a span still open) leads
 * to it. Saying "not in this page" under every id would only repeat the Events section's note.
 */
function evidenceSpanList(ids: string[], spans: EvidenceSpans, l: ReportLabels): string {
  const items = ids.map((id) => {
    const k = spans.index.get(id) as number;
    const name = spans.drawn.has(k)
      ? `<a class="mono" href="#timeline" data-span-bar="${k}" title="${escapeHtml(l.evidenceSpan.bar)}">${escapeHtml(id)}</a>`
      : `<span class="mono">${escapeHtml(id)}</span>`;
    return `<span class="ev-span" data-span="${k}">${name}</span>`;
  });
  return `<div class="ev">${escapeHtml(l.spanIds)}: ${items.join(', ')}</div>`;
}

function diagnosisCard(d: Diagnosis, rank: number, l: ReportLabels, evidence: EvidenceSpans): string {
  const ev = d.evidence ?? { count: 0, first: null, last: null, examples: [], span_ids: [] };
  const when = ev.first ? ` · ${escapeHtml(l.firstSeen)} ${escapeHtml(ev.first)}${ev.last && ev.last !== ev.first ? ` · ${escapeHtml(l.lastSeen)} ${escapeHtml(ev.last)}` : ''}` : '';
  const examples = (ev.examples ?? []).length
    ? `<div class="ev">${escapeHtml(l.examples)}:</div><ul>${ev.examples.map((e) => `<li class="mono">${escapeHtml(e)}</li>`).join('')}</ul>`
    : '';
  const ids = spanIdsOf(d);
  const spans = ids.length === 0 ? '' : evidence.listed === null ? evidenceSpanList(ids, evidence, l) : `<div class="ev">${escapeHtml(l.spanIds)}:</div><div class="ev-spans">${ids.map((id) => evidenceSpanLine(id, evidence, l)).join('')}</div>`;
  const sev = escapeHtml(d.severity);
  return (
    `<div class="diag sev-${sev}" data-diagnosis="${escapeHtml(d.id)}">` +
    `<div class="head"><span class="rank">#${rank}</span><span class="title">${escapeHtml(d.title)}</span><span class="badge sev-${sev}">${sev}</span>` +
    `<span class="id">${escapeHtml(d.id)}</span></div>` +
    `<div class="fix">${escapeHtml(d.suggestion)}</div>` +
    `<div class="ev">${escapeHtml(l.evidence)}: ${escapeHtml(`${ev.count}×`)} · ${escapeHtml(l.confidence)} ${escapeHtml(`${Math.round((d.confidence ?? 0) * 100)}%`)}${when}</div>` +
    examples +
    spans +
    '</div>'
  );
}

function summarySection(report: AutopsyReport, m: MessageCatalog, l: ReportLabels, na: NotRecorded): string {
  const s = report.summary;
  const u = report.llm_usage;
  const failures = s.total_failures;
  // A card of a section the report lacks says so, in place of the zeros the report object holds.
  const unless = (section: keyof AutopsyReport, key: string, label: string, value: () => unknown, tone = '') =>
    na.lacks(section) ? card(key, label, na.value, 'not-recorded') : card(key, label, value(), tone);
  const cards = [
    card('total_failures', m.labels.totalFailures, failures, failures > 0 ? 'bad' : 'good'),
    card('most_common_failure', m.labels.mostCommonFailure, s.most_common_failure),
    card('most_problematic_stage', m.labels.mostProblematicStage, stageText(s.most_problematic_stage)),
    card('autofix_success_rate', m.labels.autofixSuccessRate, `${s.autofix_success_rate} (${s.total_autofix_attempts})`),
    unless('llm_usage', 'llm_calls', l.llmCalls, () => llmCallsText(`${fmt(u.calls)} (${fmt(u.errors)} ${l.errors.toLowerCase()})`, u.calls + u.errors, report.unfinished, l), u.errors > 0 ? 'bad' : ''),
    unless('llm_usage', 'total_tokens', l.totalTokens, () => totalTokensText(u, fmt(u.total_tokens), l)),
    unless('run', 'total_events', l.events, () => fmt(report.run.total_events)),
    unless('run', 'duration', l.duration, () => (report.run.duration_seconds === null ? '–' : `${fmt(report.run.duration_seconds)} s`)),
    unless('exit', 'exit', m.labels.exitedHow, () => exitText(report.exit, m), exitFailed(report.exit) ? 'bad' : ''),
  ];
  return section('summary', m.headings.summary, `<div class="cards">${cards.join('')}</div>`);
}

/** How the process ended, as the Markdown header says it: with its exit code and signal. */
function exitText(exit: AutopsyReport['exit'], m: MessageCatalog): string {
  let text = exit.description ?? exit.reason;
  if (typeof exit.exit_code === 'number') text += ` (${m.diagnoses.exitCode(exit.exit_code)})`;
  if (exit.signal) text += ` (${exit.signal})`;
  return text;
}

/** An ending a reader should see at once: a crash, a signal, a kill, or an exit code other than 0 after a drained loop or process.exit(). */
function exitFailed(exit: AutopsyReport['exit']): boolean {
  return ['uncaught_exception', 'unhandled_rejection', 'signal', 'killed'].includes(exit.reason) || (typeof exit.exit_code === 'number' && exit.exit_code !== 0);
}

function diagnosesSection(report: AutopsyReport, m: MessageCatalog, l: ReportLabels, na: NotRecorded, evidence: EvidenceSpans): string {
  if (na.lacks('diagnoses')) return section('diagnoses', m.headings.diagnoses, notRecordedNote(na));
  const body = report.diagnoses.length ? report.diagnoses.map((d, i) => diagnosisCard(d, i + 1, l, evidence)).join('') : `<p class="note">${escapeHtml(noDiagnosesNote(report, l))}</p>`;
  return section('diagnoses', m.headings.diagnoses, body);
}

function suggestionsSection(report: AutopsyReport, m: MessageCatalog, l: ReportLabels): string {
  const fa = report.failure_analysis;
  if (report.fix_suggestions.length === 0 && fa.failure_patterns.length === 0) return '';
  const fixes = report.fix_suggestions
    .map((f) => `<div class="diag"><div class="head"><span class="badge sev-high">${escapeHtml(f.priority)}</span><span class="title">${escapeHtml(f.suggestion)}</span><span class="id">${escapeHtml(f.category)}</span></div>${f.details.length ? `<ul>${f.details.map((d) => `<li>${escapeHtml(d)}</li>`).join('')}</ul>` : ''}</div>`)
    .join('');
  const patterns = fa.failure_patterns.length
    ? `<h3>${escapeHtml(m.headings.patterns)}</h3>${table(
        [l.pattern, l.severity, l.description, l.suggestion],
        shownPatterns(fa.failure_patterns, MAX_TABLE_ROWS).shown.map((p) => [p.pattern, p.severity, p.description, p.suggestion]),
        fa.failure_patterns.length,
        l.moreRows,
      )}`
    : '';
  return section('suggestions', m.headings.suggestions, fixes + patterns);
}

function failuresSection(report: AutopsyReport, m: MessageCatalog, l: ReportLabels, linked: boolean): string {
  const fa = report.failure_analysis;
  if (fa.total_failures === 0) return section('failures', `${m.headings.failuresByType} / ${m.headings.failuresByStage}`, `<p class="note">${escapeHtml(l.noFailures)}</p>`);
  const byType = barChart(Object.entries(fa.failures_by_type), { filter: linked ? 'type' : undefined, tone: 'error', moreLabel: l.moreRows });
  const byStage = barChart(Object.entries(fa.failures_by_stage), { filter: linked ? 'stage' : undefined, tone: 'error', moreLabel: l.moreRows });
  const critical = fa.critical_failures.slice(0, MAX_TABLE_ROWS).map((f) => [f.timestamp, f.type, stageText(f.stage), f.error]);
  return section(
    'failures',
    `${m.headings.failuresByType} / ${m.headings.failuresByStage}`,
    `<div class="charts"><div id="failures-by-type"><h3>${escapeHtml(m.headings.failuresByType)}</h3>${byType}</div>` +
      `<div id="failures-by-stage"><h3>${escapeHtml(m.headings.failuresByStage)}</h3>${byStage}</div></div>` +
      (critical.length ? `<h3>${escapeHtml(m.headings.criticalFailures)}</h3>${table([l.time, l.type, l.stage, l.error], critical, criticalFailureCount(fa), l.moreRows)}` : ''),
  );
}

function timelineSection(report: AutopsyReport, data: TimelineData, l: ReportLabels, na: NotRecorded, evidence: EvidenceSpans): string {
  const names = new Map(report.stages.filter((s) => s.name !== undefined).map((s) => [s.stage, s.name as string]));
  const svg = renderTimelineSvg(data, l, names, evidence.index);
  // A report without stages may still have failures to mark on the time axis.
  if (na.lacks('stages')) return section('timeline', l.timeline, svg + notRecordedNote(na));
  const shown = shownStages(report.stages, MAX_TABLE_ROWS).shown;
  // The error a stage failed with, in a column of its own when a shown stage has one.
  const errors = shown.some((s) => s.error !== undefined);
  const stages = report.stages.length
    ? table(
        [l.stage, l.name, l.started, [`${l.duration} (s)`, 'num'], l.outcome, [l.failures, 'num'], ...(errors ? [l.error] : [])],
        shown.map((s) => [s.stage, s.name ?? '', s.started ?? '', fmt(s.duration_seconds, 6), s.outcome, s.failures, ...(errors ? [s.error ?? ''] : [])]),
        report.stages.length,
        l.moreRows,
      )
    : '';
  if (!svg && !stages) return '';
  return section('timeline', l.timeline, svg + stages);
}

function llmSection(report: AutopsyReport, m: MessageCatalog, l: ReportLabels, na: NotRecorded): string {
  if (na.lacks('llm_usage')) return section('llm', m.headings.llmUsage, notRecordedNote(na));
  const u = report.llm_usage;
  if (u.calls === 0 && u.errors === 0) return '';
  const lat = u.latency_seconds;
  const details = statedTokenDetails(u);
  const without = u.calls_without_tokens ?? 0;
  const cards = [
    card('llm_calls_total', l.calls, fmt(u.calls)),
    card('llm_errors', l.errors, fmt(u.errors), u.errors > 0 ? 'bad' : ''),
    u.retried_calls ? card('retried_calls', l.retriedCalls, `${fmt(u.retried_calls)} (${l.failedAttempts(u.failed_attempts ?? 0)})`) : '',
    card('input_tokens', l.inputTokens, fmt(u.input_tokens)),
    card('output_tokens', l.outputTokens, fmt(u.output_tokens)),
    without > 0 ? card('calls_without_tokens', l.callsWithoutTokens, fmt(without)) : '',
    // The shares of the counts a call stated (cached, reasoning tokens).
    ...details.map((key) => card(key, l.tokenDetails[key], fmt(u[key]))),
    card('latency', l.latency, `${fmt(lat.p50)} / ${fmt(lat.p95)} / ${fmt(lat.max)} s`),
  ].join('');
  const leftOut = without > 0 ? `<p class="note" data-key="calls_without_tokens">${escapeHtml(l.tokensLeftOut(without, u.calls))}</p>` : '';
  const models = table(
    [
      l.model,
      [l.calls, 'num'],
      [l.errors, 'num'],
      [l.inputTokens, 'num'],
      [l.outputTokens, 'num'],
      ...details.map((key): [string, 'num'] => [l.tokenDetails[key], 'num']),
      ...(without > 0 ? [[l.callsWithoutTokens, 'num'] as [string, 'num']] : []),
    ],
    modelRows(u.by_model, details, without > 0, l),
  );
  const errorCharts =
    Object.keys(u.errors_by_type).length || Object.keys(u.errors_by_status).length
      ? `<div class="charts"><div><h3>${escapeHtml(l.errorsByType)}</h3>${barChart(Object.entries(u.errors_by_type), { tone: 'error', moreLabel: l.moreRows })}</div>` +
        `<div><h3>${escapeHtml(l.errorsByStatus)}</h3>${barChart(Object.entries(u.errors_by_status), { tone: 'error', moreLabel: l.moreRows })}</div></div>`
      : '';
  return section('llm', m.headings.llmUsage, `<div class="cards">${cards}</div>${leftOut}${models}${errorCharts}`);
}

/** At most MAX_TABLE_ROWS models, the most used first, then one row summing the rest. */
function modelRows(byModel: AutopsyReport['llm_usage']['by_model'], details: ReadonlyArray<keyof TokenDetails>, withoutTokens: boolean, l: ReportLabels): unknown[][] {
  const { shown, more, moreTotal } = topModels(byModel, MAX_TABLE_ROWS);
  // A model that stated no share gets a blank cell, not a 0; one whose calls all stated counts has 0 without.
  const row = (name: string, x: ModelUsage) => [
    name,
    fmt(x.calls),
    fmt(x.errors),
    fmt(x.input_tokens),
    fmt(x.output_tokens),
    ...details.map((key) => (x[key] === undefined ? '' : fmt(x[key]))),
    ...(withoutTokens ? [fmt(x.calls_without_tokens ?? 0)] : []),
  ];
  const rows = shown.map(([model, x]) => row(model, x));
  if (more > 0) rows.push(row(l.moreRows(more), moreTotal));
  return rows;
}

function unfinishedSection(report: AutopsyReport, m: MessageCatalog, l: ReportLabels, na: NotRecorded): string {
  if (na.lacks('unfinished')) return section('unfinished', m.headings.unfinished, notRecordedNote(na));
  if (report.unfinished.length === 0) return '';
  const shown = report.unfinished.slice(0, MAX_TABLE_ROWS);
  // A span the app had failed before the process ended says so (its error), in a column only then.
  const failed = shown.some((x) => x.error !== undefined);
  // A streamed call says how far its stream had got (a hang before or after the first chunk), in a column only then.
  const streamed = shown.some((x) => x.stream === true);
  const rows = shown.map((x) => [
    x.name,
    x.kind,
    x.stage,
    x.started,
    fmt(x.age_seconds, 3),
    ...(streamed ? [unfinishedStream(x, l)] : []),
    ...(failed ? [x.error === undefined ? '' : unfinishedError(x)] : []),
  ]);
  const head: Parameters<typeof table>[0] = [l.name, l.kind, l.stage, l.started, [l.age, 'num'], ...(streamed ? [l.stream] : []), ...(failed ? [l.error] : [])];
  return section('unfinished', m.headings.unfinished, table(head, rows, report.unfinished.length, l.moreRows));
}

function autofixSection(report: AutopsyReport, m: MessageCatalog, l: ReportLabels, na: NotRecorded): string {
  if (na.lacks('autofix_statistics')) return section('autofix', m.headings.autofix, notRecordedNote(na));
  const a = report.autofix_statistics;
  const cards = [
    card('autofix_attempts', l.attempts, fmt(a.total_attempts)),
    card('autofix_successful', m.labels.successful, fmt(a.successful_fixes), a.successful_fixes > 0 ? 'good' : ''),
    card('autofix_failed', m.labels.failed, fmt(a.failed_fixes), a.failed_fixes > 0 ? 'bad' : ''),
    card('autofix_rate', m.labels.autofixSuccessRate, report.summary.autofix_success_rate),
  ].join('');
  if (a.total_attempts === 0) return section('autofix', m.headings.autofix, `<div class="cards">${cards}</div>`);
  const charts =
    `<div class="charts"><div><h3>${escapeHtml(l.byLayer)}</h3>${barChart(Object.entries(a.fixes_by_layer), { keepOrder: true, tone: 'ok' })}</div>` +
    (Object.keys(a.fixes_by_type).length ? `<div><h3>${escapeHtml(l.byType)}</h3>${barChart(Object.entries(a.fixes_by_type), { tone: 'ok', moreLabel: l.moreRows })}</div>` : '') +
    '</div>';
  return section('autofix', m.headings.autofix, `<div class="cards">${cards}</div>${charts}`);
}

function exitSection(report: AutopsyReport, m: MessageCatalog, na: NotRecorded): string {
  if (na.lacks('exit')) return section('exit', m.headings.exit, notRecordedNote(na));
  const e = report.exit;
  const rows: unknown[][] = [['reason', e.reason], ['description', e.description ?? '']];
  if (e.exit_code !== null && e.exit_code !== undefined) rows.push(['exit_code', e.exit_code]);
  if (e.signal) rows.push(['signal', e.signal]);
  if (e.at) rows.push(['at', e.at]);
  if (e.called_at) rows.push(['called_at', e.called_at]);
  if (e.error) rows.push(['error', `${e.error.type}: ${e.error.message}`]);
  const stack = e.error?.stack ? `<pre>${escapeHtml(e.error.stack)}</pre>` : '';
  return section('exit', m.headings.exit, table(['', ''], rows) + stack);
}

function eventsSection(list: EventList | undefined, m: MessageCatalog, l: ReportLabels, command: string, savedReport: boolean): { html: string; blob: string } {
  if (!list) {
    const note = savedReport ? l.savedReportEventsNote(command) : l.eventsNote(command);
    return { html: section('events', m.headings.events, `<p class="note">${escapeHtml(note)}</p><pre>${escapeHtml(command)}</pre>`), blob: '' };
  }
  const truncated = list.total > list.rows.length ? `<p class="note">${escapeHtml(l.eventsTruncated(list.rows.length, list.total))}</p>` : '';
  const select = (name: string, label: string) => `<label>${escapeHtml(label)} <select name="${name}"><option value="">${escapeHtml(l.all)}</option></select></label>`;
  const html = section(
    'events',
    m.headings.events,
    `<div id="event-list" data-total="${list.rows.length}">` +
      truncated +
      // Without JavaScript (a viewer that blocks scripts) the list stays empty: say so rather than show "N / N shown" over nothing.
      `<noscript><style>#event-list .filters,#event-list .ev-scroll,#event-list .ev-help{display:none}</style><p class="note">${escapeHtml(l.eventsNeedScript)}</p></noscript>` +
      `<div class="filters">${select('type', l.type)}${select('level', l.level)}${select('stage', l.stage)}` +
      `<label>${escapeHtml(l.search)} <input name="q" type="search" autocomplete="off"></label>` +
      // Filled in by a diagnosis's span link: the list shows that span's events until this is dropped.
      `<span class="ev-span-filter" hidden>${escapeHtml(l.evidenceSpan.filter)}: <code class="mono"></code> <button type="button">${escapeHtml(l.evidenceSpan.showAll)}</button></span>` +
      `<span><span class="ev-count">${list.rows.length} / ${list.rows.length}</span> ${escapeHtml(l.shown)}</span></div>` +
      `<div class="ev-scroll"><div class="ev-head"><span>${escapeHtml(l.time)}</span><span>+s</span><span>${escapeHtml(l.level)}</span><span>${escapeHtml(l.type)}</span><span>${escapeHtml(l.stage)}</span><span>${escapeHtml(l.data)}</span></div>` +
      `<div class="ev-viewport" tabindex="0" role="listbox" aria-label="${escapeHtml(m.headings.events)}"><div class="ev-spacer"></div><div class="ev-rows"></div></div></div>` +
      `<p class="note ev-help">${escapeHtml(l.clickForDetails)}</p><pre class="ev-detail" hidden></pre></div>`,
  );
  return { html, blob: `<script type="application/json" id="autopsy-events">${jsonForScript(list)}</script>` };
}

function collectorFor(events: HtmlReportOptions['events']): HtmlEventCollector | undefined {
  if (!events) return undefined;
  if (events instanceof HtmlEventCollector) return events;
  const collector = new HtmlEventCollector();
  for (const event of events) collector.observe(event);
  return collector;
}

/**
 * autopsy.html: one self-contained page. Summary and top diagnoses first, then the timeline,
 * failures, LLM usage, unfinished spans, autofix statistics, how the process ended and the event
 * list. It loads nothing (a Content-Security-Policy forbids any fetch and any script but its own),
 * and every value from the run is escaped.
 */
export function renderHtmlReport(report: AutopsyReport, options: HtmlReportOptions = {}): string {
  const locale = report.run?.locale;
  const m = messagesFor(locale);
  const l = labelsFor(locale);
  const collector = collectorFor(options.events);
  const na = notRecorded(options.missingSections, l);
  // npx: the package is usually a dependency of the app, and its bin is not on PATH then (npx also finds a global install).
  const command = options.fullReportCommand ?? `npx agent-autopsy report ${shellPath(report.run?.output_dir || '<run dir>')} --format html --out autopsy-full.html`;
  const spanIds = evidenceSpanIds(report, na);
  const list = collector?.eventList(spanIds);
  const timeline = collector ? collector.timeline() : timelineFromReport(report);
  const evidence = evidenceSpans(spanIds, list, timeline);
  const events = eventsSection(list, m, l, command, options.savedReport === true);
  const sections = [
    summarySection(report, m, l, na),
    diagnosesSection(report, m, l, na, evidence),
    suggestionsSection(report, m, l),
    timelineSection(report, timeline, l, na, evidence),
    failuresSection(report, m, l, Boolean(collector)),
    llmSection(report, m, l, na),
    unfinishedSection(report, m, l, na),
    autofixSection(report, m, l, na),
    exitSection(report, m, na),
    events.html,
  ].filter(Boolean);
  const nav = sections
    .map((html) => /^<section id="([\w-]+)"><h2>(.*?)<\/h2>/.exec(html))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => `<a href="#${match[1]}">${match[2]}</a>`)
    .join('');
  const run = report.run;
  const runFacts = na.lacks('run')
    ? [[l.run, na.value]]
    : [
        [l.run, run.output_dir],
        [l.service, run.service_name],
        [l.started, run.start_time],
        [l.duration, run.duration_seconds === null ? undefined : `${fmt(run.duration_seconds)} s`],
        [l.events, fmt(run.total_events)],
        [l.source, run.source],
      ];
  const meta = [...runFacts, [m.labels.generated, report.timestamp]]
    .filter(([, value]) => value !== undefined && value !== null && value !== '')
    .map(([label, value]) => `<span>${escapeHtml(label)}: <b>${escapeHtml(value)}</b></span>`)
    .join('');
  const csp = `default-src 'none'; style-src 'unsafe-inline'; script-src '${HTML_REPORT_SCRIPT_HASH}'; img-src data:; base-uri 'none'; form-action 'none'`;
  return `<!doctype html>
<html lang="${locale === 'zh-CN' ? 'zh-CN' : 'en'}"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(`${m.reportTitle} — ${run.service_name ?? run.output_dir ?? ''}`)}</title>
<style>${HTML_REPORT_CSS}</style>
</head><body>
<header><h1>${escapeHtml(m.reportTitle)}</h1><div class="meta">${meta}</div></header>
<nav>${nav}</nav>
<main>
${sections.join('\n')}
</main>
${events.blob}
<script>${HTML_REPORT_SCRIPT}</script>
</body></html>
`;
}
