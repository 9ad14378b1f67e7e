import { messagesFor, type MessageCatalog } from '../analyzers/messages';
import { stageText } from '../analyzers/FailureAggregate';
import type { AutopsyReport, Diagnosis, ModelUsage, UnfinishedSpan } from '../analyzers/reportTypes';
import { criticalFailureCount } from '../analyzers/seedReport';
import { REPORT_JSON } from './paths';
import { labelsFor, noDiagnosesNote, notRecorded, type MissingSections, type NotRecorded, type ReportLabels } from './reportLabels';
import { shownPatterns, shownStages, statedTokenDetails, topCounts, topModels, totalTokensText, llmCallsText, unfinishedError, unfinishedStream } from './reportRows';

const MAX_CELL = 500;
const MAX_ROWS = 50;

/**
 * Control characters (but tab and line breaks) and bidirectional overrides shown as `\x1b` /
 * `\u202e`, as the readable log shows them: raw, they would drive a terminal the Markdown is
 * printed to (ANSI escapes), make grep call the file binary (NUL) or reorder the text around them.
 */
function visible(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (ch) => {
    const code = ch.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
  });
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return visible(value);
  try {
    return visible(JSON.stringify(value) ?? String(value));
  } catch {
    return visible(String(value));
  }
}

/**
 * Text safe anywhere in a Markdown line: table cells, list items, headings. Newlines become
 * spaces and every character Markdown (or GitHub's flavour) could read as syntax or raw HTML is
 * backslash-escaped, so data from a run renders as the text it is.
 */
export function mdText(value: unknown, max = MAX_CELL): string {
  let text = stringify(value).replace(/\r\n|\r|\n/g, ' ');
  if (text.length > max) text = `${text.slice(0, max)}…`;
  return text.replace(/[\\`*_[\]<>#|&~$]/g, (ch) => `\\${ch}`);
}

/** An inline code span that no backtick in `value` can close early. */
export function mdCode(value: unknown): string {
  const text = stringify(value).replace(/\r\n|\r|\n/g, ' ');
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const padded = text.startsWith('`') || text.endsWith('`') ? ` ${text} ` : text;
  return `${fence}${padded}${fence}`;
}

/** A fenced code block that no line of `value` can close early. */
function mdBlock(value: string): string {
  const longest = Math.max(2, ...(value.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}text\n${visible(value).replace(/\r\n?/g, '\n')}\n${fence}\n`;
}

/** A table of counts: at most MAX_ROWS rows, then one row for the rest with their sum. */
function countTable(headers: string[], entries: Array<[string, number]>, l: ReportLabels): string {
  const { shown, more, moreTotal } = topCounts(entries, MAX_ROWS);
  return table(headers, more > 0 ? [...shown, [l.moreRows(more), moreTotal]] : shown);
}

function table(headers: string[], rows: unknown[][]): string {
  if (rows.length === 0) return '';
  const lines = [`| ${headers.map((h) => mdText(h)).join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const row of rows) lines.push(`| ${row.map((cell) => mdText(cell ?? '')).join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}

function num(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(3)));
}

function diagnosis(d: Diagnosis, rank: number, l: ReportLabels): string[] {
  const ev = d.evidence ?? { count: 0, first: null, last: null, examples: [], span_ids: [] };
  const out = [`### ${rank}. ${mdText(d.title)}`, ''];
  out.push(`${mdCode(d.id)} · ${l.severity} **${mdText(d.severity)}** · ${l.confidence} ${Math.round((d.confidence ?? 0) * 100)}% · ${l.evidence} ${ev.count}×` +
    (ev.first ? ` · ${l.firstSeen} ${mdText(ev.first)}` : '') + (ev.last && ev.last !== ev.first ? ` · ${l.lastSeen} ${mdText(ev.last)}` : ''));
  out.push('', `**→ ${mdText(d.suggestion, 2000)}**`, '');
  for (const example of ev.examples ?? []) out.push(`- ${mdText(example)}`);
  if ((ev.span_ids ?? []).length) out.push(`- ${l.spanIds}: ${ev.span_ids.map(mdCode).join(', ')}`);
  out.push('');
  return out;
}

function header(report: AutopsyReport, m: MessageCatalog, l: ReportLabels, na: NotRecorded): string[] {
  const run = report.run;
  const exit = report.exit;
  const facts = na.lacks('run') ? [`${l.run}: ${na.value}`] : [
    run.output_dir ? `${l.run}: ${mdCode(run.output_dir)}` : '',
    run.service_name ? `${l.service}: ${mdText(run.service_name)}` : '',
    run.start_time ? `${l.started}: ${mdText(run.start_time)}` : '',
    run.duration_seconds !== null && run.duration_seconds !== undefined ? `${l.duration}: ${num(run.duration_seconds)} s` : '',
    `${l.events}: ${run.total_events}`,
    run.source ? `${l.source}: ${mdText(run.source)}` : '',
  ].filter(Boolean);
  const out = [`# ${mdText(m.reportTitle)}`, '', facts.join(' · '), ''];
  if (na.lacks('exit')) {
    out.push(`${m.labels.exitedHow}: ${na.value} · ${m.labels.generated}: ${mdText(report.timestamp)}`, '');
    return out;
  }
  out.push(
    `${m.labels.exitedHow}: **${mdText(exit.description ?? exit.reason)}**` +
      (exit.exit_code !== null && exit.exit_code !== undefined ? ` (${mdText(m.diagnoses.exitCode(exit.exit_code))})` : '') +
      (exit.signal ? ` (${mdText(exit.signal)})` : '') +
      ` · ${m.labels.generated}: ${mdText(report.timestamp)}`,
    '',
  );
  if (exit.error) out.push(`> ${mdText(`${exit.error.type}: ${exit.error.message}`, 2000)}`, '');
  return out;
}

export interface MarkdownReportOptions {
  /**
   * A command that prints the full report, named after a list cut short ("… and 2450 more"). By
   * default that points at latent_analysis_report.json, true for autopsy.md written next to it;
   * Markdown printed anywhere else (the CLI) has no such file beside it.
   */
  fullReportCommand?: string;
  /** Sections a saved report lacks: said to be not recorded, not shown as zeros. */
  missingSections?: MissingSections;
}

/** autopsy.md: the report for people — what went wrong and what to change first, details after. */
export function renderMarkdownReport(report: AutopsyReport, options: MarkdownReportOptions = {}): string {
  const fullReport = options.fullReportCommand !== undefined ? mdCode(options.fullReportCommand) : mdText(REPORT_JSON);
  const m = messagesFor(report.run?.locale);
  const l = labelsFor(report.run?.locale);
  const s = report.summary;
  const fa = report.failure_analysis;
  const na = notRecorded(options.missingSections, l);
  const out: string[] = header(report, m, l, na);

  out.push(`## ${m.headings.diagnoses}`, '');
  if (na.lacks('diagnoses')) out.push(na.section, '');
  else if (report.diagnoses.length === 0) out.push(noDiagnosesNote(report, l), '');
  report.diagnoses.forEach((d, i) => out.push(...diagnosis(d, i + 1, l)));

  out.push(`## ${m.headings.summary}`, '');
  out.push(
    table(
      ['', ''],
      [
        [m.labels.totalFailures, s.total_failures],
        [m.labels.mostCommonFailure, s.most_common_failure],
        [m.labels.mostProblematicStage, stageText(s.most_problematic_stage)],
        [m.labels.autofixAttempts, s.total_autofix_attempts],
        [m.labels.autofixSuccessRate, s.autofix_success_rate],
        [`${m.headings.llmUsage}: ${l.calls} / ${l.errors}`, na.lacks('llm_usage') ? na.value : llmCallsText(`${report.llm_usage.calls} / ${report.llm_usage.errors}`, report.llm_usage.calls + report.llm_usage.errors, report.unfinished, l)],
        [l.totalTokens, na.lacks('llm_usage') ? na.value : totalTokensText(report.llm_usage, String(report.llm_usage.total_tokens), l)],
      ],
    ),
  );

  if (report.fix_suggestions.length > 0) {
    out.push(`## ${m.headings.suggestions}`, '');
    for (const fix of report.fix_suggestions) {
      out.push(`- **${mdText(fix.priority)} · ${mdText(fix.suggestion)}** (${mdText(fix.category)})`);
      for (const detail of fix.details) out.push(`  - ${mdText(detail)}`);
    }
    out.push('');
  }
  if (fa.failure_patterns.length > 0) {
    out.push(`## ${m.headings.patterns}`, '');
    const { shown, more } = shownPatterns(fa.failure_patterns, MAX_ROWS);
    out.push(table([l.pattern, l.severity, l.description, l.suggestion], shown.map((p) => [p.pattern, p.severity, p.description, p.suggestion])));
    if (more > 0) out.push(`${mdText(l.moreRows(more))} (${fullReport})`, '');
  }

  if (fa.total_failures > 0) {
    out.push(`## ${m.headings.failuresByType}`, '');
    out.push(countTable([l.type, l.failures], Object.entries(fa.failures_by_type).sort((a, b) => b[1] - a[1]), l));
    out.push(`## ${m.headings.failuresByStage}`, '');
    out.push(countTable([l.stage, l.failures], Object.entries(fa.failures_by_stage).sort((a, b) => b[1] - a[1]), l));
  }
  const criticalCount = criticalFailureCount(fa);
  if (fa.critical_failures.length > 0) {
    out.push(`## ${m.headings.criticalFailures}`, '');
    const shown = fa.critical_failures.slice(0, MAX_ROWS);
    out.push(table([l.time, l.type, l.stage, l.error], shown.map((f) => [f.timestamp, f.type, stageText(f.stage), f.error])));
    if (criticalCount > shown.length) out.push(`${mdText(l.moreRows(criticalCount - shown.length))} (${fullReport})`, '');
  }

  if (na.lacks('stages')) out.push(`## ${m.headings.stages}`, '', na.section, '');
  else if (report.stages.length > 0) {
    out.push(`## ${m.headings.stages}`, '');
    const { shown, more } = shownStages(report.stages, MAX_ROWS);
    // The error a stage failed with, in a column of its own when a shown stage has one.
    const errors = shown.some((st) => st.error !== undefined);
    const header = [l.stage, l.name, l.started, `${l.duration} (s)`, l.outcome, l.failures, ...(errors ? [l.error] : [])];
    out.push(table(header, shown.map((st) => [st.stage, st.name ?? '', st.started ?? '', num(st.duration_seconds), st.outcome, st.failures, ...(errors ? [st.error ?? ''] : [])])));
    if (more > 0) out.push(`${mdText(l.moreRows(more))} (${fullReport})`, '');
  }

  const u = report.llm_usage;
  if (na.lacks('llm_usage')) out.push(`## ${m.headings.llmUsage}`, '', na.section, '');
  else if (u.calls > 0 || u.errors > 0) {
    out.push(`## ${m.headings.llmUsage}`, '');
    // The shares of the counts a call stated (cached, reasoning tokens): a column each, blank for a model that stated none.
    const details = statedTokenDetails(u);
    const detailText = details.map((key) => ` · ${l.tokenDetails[key]}: ${u[key]}`).join('');
    const retriedText = u.retried_calls ? ` · ${l.retriedCalls}: ${u.retried_calls} (${l.failedAttempts(u.failed_attempts ?? 0)})` : '';
    out.push(`${l.calls}: ${u.calls} · ${l.errors}: ${u.errors}${retriedText} · ${l.inputTokens}: ${u.input_tokens} · ${l.outputTokens}: ${u.output_tokens}${detailText} · ${l.latency}: ${num(u.latency_seconds.p50)} / ${num(u.latency_seconds.p95)} / ${num(u.latency_seconds.max)} s`, '');
    const without = u.calls_without_tokens ?? 0;
    if (without > 0) out.push(mdText(l.tokensLeftOut(without, u.calls)), '');
    const models = topModels(u.by_model, MAX_ROWS);
    const row = (name: string, x: ModelUsage) => [name, x.calls, x.errors, x.input_tokens, x.output_tokens, ...details.map((key) => x[key] ?? ''), ...(without > 0 ? [x.calls_without_tokens ?? 0] : [])];
    const modelRows = models.shown.map(([model, x]) => row(model, x));
    if (models.more > 0) modelRows.push(row(l.moreRows(models.more), models.moreTotal));
    out.push(table([l.model, l.calls, l.errors, l.inputTokens, l.outputTokens, ...details.map((key) => l.tokenDetails[key]), ...(without > 0 ? [l.callsWithoutTokens] : [])], modelRows));
    if (Object.keys(u.errors_by_type).length) out.push(countTable([l.errorsByType, l.errors], Object.entries(u.errors_by_type), l));
    if (Object.keys(u.errors_by_status).length) out.push(countTable([l.errorsByStatus, l.errors], Object.entries(u.errors_by_status), l));
  }

  if (na.lacks('unfinished')) out.push(`## ${m.headings.unfinished}`, '', na.section, '');
  else if (report.unfinished.length > 0) {
    out.push(`## ${m.headings.unfinished}`, '');
    const shown = report.unfinished.slice(0, MAX_ROWS);
    // A span the app had failed before the process ended says so (its error), in a column only then.
    const failed = shown.some((x) => x.error !== undefined);
    const error = (x: UnfinishedSpan) => (x.error === undefined ? '' : unfinishedError(x));
    // A streamed call says how far its stream had got (a hang before or after the first chunk), in a column only then.
    const streamed = shown.some((x) => x.stream === true);
    out.push(
      table(
        [l.name, l.kind, l.stage, l.started, l.age, ...(streamed ? [l.stream] : []), ...(failed ? [l.error] : [])],
        shown.map((x) => [x.name, x.kind, x.stage, x.started, num(x.age_seconds), ...(streamed ? [unfinishedStream(x, l)] : []), ...(failed ? [error(x)] : [])]),
      ),
    );
    if (report.unfinished.length > shown.length) out.push(mdText(l.moreRows(report.unfinished.length - shown.length)), '');
  }

  const a = report.autofix_statistics;
  out.push(`## ${m.headings.autofix}`, '');
  if (na.lacks('autofix_statistics')) out.push(na.section, '');
  else {
    out.push(
      table(
        [l.attempts, m.labels.successful, m.labels.failed, m.labels.autofixSuccessRate, 'layer1', 'layer2', 'layer3'],
        [[a.total_attempts, a.successful_fixes, a.failed_fixes, s.autofix_success_rate, a.fixes_by_layer.layer1, a.fixes_by_layer.layer2, a.fixes_by_layer.layer3]],
      ),
    );
    if (Object.keys(a.fixes_by_type).length) out.push(countTable([l.byType, l.attempts], Object.entries(a.fixes_by_type), l));
  }

  if (report.exit.error?.stack) {
    out.push(`## ${m.headings.exit}`, '');
    out.push(mdBlock(report.exit.error.stack));
  }
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}
