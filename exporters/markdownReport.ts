import { messagesFor } from '../analyzers/messages';
import type { AutopsyReport } from '../analyzers/reportTypes';

/** Text safe inside a Markdown table cell or list item (no raw HTML, no table breaks). */
export function mdText(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return text
    .replace(/\r?\n/g, ' ')
    .replace(/[\\`*_[\]<>|]/g, (ch) => `\\${ch}`)
    .slice(0, 500);
}

function table(headers: string[], rows: unknown[][]): string {
  if (rows.length === 0) return '';
  const lines = [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`];
  for (const row of rows) lines.push(`| ${row.map(mdText).join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}

/** autopsy.md: the report for people, most important first. */
export function renderMarkdownReport(report: AutopsyReport): string {
  const m = messagesFor(report.run?.locale);
  const s = report.summary;
  const out: string[] = [];
  out.push(`# ${m.reportTitle}\n`);
  out.push(`${m.labels.generated}: ${report.timestamp} · ${m.labels.exitedHow}: ${mdText(report.exit.description ?? report.exit.reason)}` +
    (report.exit.exit_code !== null ? ` (exit code ${report.exit.exit_code})` : '') +
    (report.exit.signal ? ` (${report.exit.signal})` : '') + '\n');
  out.push(`## ${m.headings.summary}\n`);
  out.push(
    table(
      ['', ''],
      [
        [m.labels.totalFailures, s.total_failures],
        [m.labels.mostCommonFailure, s.most_common_failure],
        [m.labels.mostProblematicStage, s.most_problematic_stage],
        [m.labels.autofixAttempts, s.total_autofix_attempts],
        [m.labels.autofixSuccessRate, s.autofix_success_rate],
      ],
    ),
  );
  if (report.exit.error) out.push(`\n> ${mdText(`${report.exit.error.type}: ${report.exit.error.message}`)}\n`);
  if (report.diagnoses.length > 0) {
    out.push(`\n## ${m.headings.diagnoses}\n`);
    report.diagnoses.forEach((d, i) => {
      out.push(`${i + 1}. **${mdText(d.title)}** \`${d.id}\` — ${d.severity}, confidence ${d.confidence}, ${d.evidence.count}×`);
      out.push(`   - ${mdText(d.suggestion)}`);
      for (const example of d.evidence.examples) out.push(`   - e.g. ${mdText(example)}`);
    });
    out.push('');
  }
  if (report.fix_suggestions.length > 0) {
    out.push(`\n## ${m.headings.suggestions}\n`);
    for (const fix of report.fix_suggestions) {
      out.push(`- **[${fix.priority}] ${mdText(fix.suggestion)}** (${fix.category})`);
      for (const detail of fix.details) out.push(`  - ${mdText(detail)}`);
    }
    out.push('');
  }
  const fa = report.failure_analysis;
  if (fa.failure_patterns.length > 0) {
    out.push(`\n## ${m.headings.patterns}\n`);
    out.push(table(['pattern', 'severity', 'description', 'suggestion'], fa.failure_patterns.map((p) => [p.pattern, p.severity, p.description, p.suggestion])));
  }
  if (fa.total_failures > 0) {
    out.push(`\n## ${m.headings.failuresByType}\n`);
    out.push(table(['type', 'count'], Object.entries(fa.failures_by_type)));
    out.push(`\n## ${m.headings.failuresByStage}\n`);
    out.push(table(['stage', 'count'], Object.entries(fa.failures_by_stage)));
  }
  if (fa.critical_failures.length > 0) {
    out.push(`\n## ${m.headings.criticalFailures}\n`);
    const shown = fa.critical_failures.slice(0, 50);
    out.push(table(['timestamp', 'type', 'stage', 'error'], shown.map((f) => [f.timestamp, f.type, f.stage, f.error])));
    if (fa.critical_failures.length > shown.length) out.push(`\n… ${fa.critical_failures.length - shown.length} more in latent_analysis_report.json\n`);
  }
  const a = report.autofix_statistics;
  out.push(`\n## ${m.headings.autofix}\n`);
  out.push(
    table(
      ['attempts', m.labels.successful, m.labels.failed, 'layer1', 'layer2', 'layer3'],
      [[a.total_attempts, a.successful_fixes, a.failed_fixes, a.fixes_by_layer.layer1, a.fixes_by_layer.layer2, a.fixes_by_layer.layer3]],
    ),
  );
  const u = report.llm_usage;
  if (u.calls > 0) {
    out.push(`\n## ${m.headings.llmUsage}\n`);
    out.push(`${u.calls} calls, ${u.errors} errors, ${u.input_tokens} input / ${u.output_tokens} output tokens, latency p50 ${u.latency_seconds.p50 ?? '-'}s, p95 ${u.latency_seconds.p95 ?? '-'}s\n`);
    out.push(table(['model', 'calls', 'errors', 'input tokens', 'output tokens'], Object.entries(u.by_model).map(([model, x]) => [model, x.calls, x.errors, x.input_tokens, x.output_tokens])));
  }
  if (report.stages.length > 0) {
    out.push(`\n## ${m.headings.stages}\n`);
    out.push(table(['stage', 'name', 'started', 'duration (s)', 'outcome', 'failures'], report.stages.map((st) => [st.stage, st.name ?? '', st.started ?? '', st.duration_seconds ?? '', st.outcome, st.failures])));
  }
  if (report.unfinished.length > 0) {
    out.push(`\n## ${m.headings.unfinished}\n`);
    out.push(table(['name', 'kind', 'stage', 'started', 'age (s)'], report.unfinished.map((x) => [x.name, x.kind, x.stage, x.started, x.age_seconds])));
  }
  return `${out.join('\n')}\n`;
}
