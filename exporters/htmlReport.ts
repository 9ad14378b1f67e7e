import { messagesFor } from '../analyzers/messages';
import type { AutopsyReport } from '../analyzers/reportTypes';

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return text.replace(/[&<>"'`]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function table(headers: string[], rows: unknown[][]): string {
  if (rows.length === 0) return '';
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** autopsy.html: one self-contained page (no external fetches), everything escaped. */
export function renderHtmlReport(report: AutopsyReport): string {
  const m = messagesFor(report.run?.locale);
  const s = report.summary;
  const fa = report.failure_analysis;
  const sections: string[] = [];
  sections.push(`<h1>${escapeHtml(m.reportTitle)}</h1>`);
  sections.push(
    `<section id="summary"><h2>${escapeHtml(m.headings.summary)}</h2>` +
      table(['', ''], [
        [m.labels.totalFailures, s.total_failures],
        [m.labels.mostCommonFailure, s.most_common_failure],
        [m.labels.mostProblematicStage, s.most_problematic_stage],
        [m.labels.autofixAttempts, s.total_autofix_attempts],
        [m.labels.autofixSuccessRate, s.autofix_success_rate],
        [m.labels.exitedHow, report.exit.description ?? report.exit.reason],
      ]) +
      '</section>',
  );
  if (report.diagnoses.length) {
    sections.push(`<section id="diagnoses"><h2>${escapeHtml(m.headings.diagnoses)}</h2>` +
      table(['id', 'severity', 'title', 'count', 'suggestion'], report.diagnoses.map((d) => [d.id, d.severity, d.title, d.evidence.count, d.suggestion])) + '</section>');
  }
  if (report.fix_suggestions.length) {
    sections.push(`<section id="suggestions"><h2>${escapeHtml(m.headings.suggestions)}</h2>` +
      table(['priority', 'category', 'suggestion', 'details'], report.fix_suggestions.map((f) => [f.priority, f.category, f.suggestion, f.details.join('; ')])) + '</section>');
  }
  sections.push(`<section id="failures"><h2>${escapeHtml(m.headings.failuresByType)}</h2>${table(['type', 'count'], Object.entries(fa.failures_by_type))}` +
    `<h2>${escapeHtml(m.headings.failuresByStage)}</h2>${table(['stage', 'count'], Object.entries(fa.failures_by_stage))}</section>`);
  if (fa.critical_failures.length) {
    sections.push(`<section id="critical"><h2>${escapeHtml(m.headings.criticalFailures)}</h2>` +
      table(['timestamp', 'type', 'stage', 'error'], fa.critical_failures.map((f) => [f.timestamp, f.type, f.stage, f.error])) + '</section>');
  }
  if (report.stages.length) {
    sections.push(`<section id="stages"><h2>${escapeHtml(m.headings.stages)}</h2>` +
      table(['stage', 'name', 'started', 'duration (s)', 'outcome', 'failures'], report.stages.map((st) => [st.stage, st.name ?? '', st.started ?? '', st.duration_seconds ?? '', st.outcome, st.failures])) + '</section>');
  }
  if (report.unfinished.length) {
    sections.push(`<section id="unfinished"><h2>${escapeHtml(m.headings.unfinished)}</h2>` +
      table(['name', 'kind', 'stage', 'started', 'age (s)'], report.unfinished.map((x) => [x.name, x.kind, x.stage, x.started, x.age_seconds])) + '</section>');
  }
  return `<!doctype html>
<html lang="${report.run?.locale === 'zh-CN' ? 'zh-CN' : 'en'}"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(m.reportTitle)}</title>
<style>body{font:14px/1.5 system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#f4f4f4}</style>
</head><body>
${sections.join('\n')}
</body></html>
`;
}
