// `agent-autopsy diff`'s text for a terminal: the comparison diffRuns.ts makes, in aligned columns.
import type { Palette } from './color';
import { diffLabelsFor } from './diffLabels';
import { diffFindings, endedAsFailure, type Change, type RunDiff, type RunSummary } from './diffRuns';
import { displayWidth } from './displayWidth';
import type { ReportSection } from './reportSections';

function num(value: number | null, unit = ''): string {
  if (value === null || !Number.isFinite(value)) return '–';
  const text = Number.isInteger(value) ? String(value) : String(Number(value.toFixed(3)));
  return `${text}${unit}`;
}

function signed(delta: number | null, unit = ''): string {
  if (delta === null || !Number.isFinite(delta)) return '';
  if (delta === 0) return '=';
  return `${delta > 0 ? '+' : '−'}${num(Math.abs(delta), unit)}`;
}

function percent(a: number | null, b: number | null): string {
  if (a === null || b === null || a === 0 || a === b) return '';
  const change = ((b - a) / a) * 100;
  return ` (${change > 0 ? '+' : '−'}${Math.abs(change).toFixed(1)}%)`;
}

/** `text` and the spaces that fill its column up to `width` terminal columns (a wide character takes two); one space after a longer one. */
function pad(text: string, width: number): string {
  const columns = displayWidth(text);
  return columns >= width ? `${text} ` : text + ' '.repeat(width - columns);
}

/** The diff as text for a terminal, in `locale` (its own words; what it quotes from the reports is as they say it); `p` colours better green and worse red. */
export function formatDiffText(diff: RunDiff, p: Palette, locale?: string): string {
  const l = diffLabelsFor(locale);
  const sec = l.seconds;
  const out: string[] = [];
  const mark = (trend: Change['trend']) => (trend === 'better' ? p.green(l.trends.better) : trend === 'worse' ? p.red(l.trends.worse) : '');
  const line = (label: string, a: string, b: string, delta: string, trend: Change['trend'] = 'same', indent = 2) =>
    out.push(`${' '.repeat(indent)}${pad(label, 26 - indent)}${pad(`${a} → ${b}`, 24)}${pad(delta, 18)}${mark(trend)}`.trimEnd());
  // A run still being recorded has not ended: its description says so by itself.
  const ending = (run: RunSummary) => (run.exit === null ? l.endingNotRecorded : run.exit_reason === 'running' ? run.exit : l.ended(run.exit) + l.exitCode(run.exit_code));
  const side = (name: string, run: RunSummary) => out.push(`  ${p.bold(name)}  ${run.input}  ${l.runDetails(num(run.events), num(run.duration_seconds, sec), ending(run))}`);
  /** Why a section is left out: "not comparable: B's report has no llm_usage section", after `label` when given. */
  const notComparable = (section: ReportSection, label?: string) => {
    const entry = diff.not_comparable.find((x) => x.section === section);
    if (entry === undefined) return false;
    const text = l.notComparable(section, entry.missing_in);
    out.push(label === undefined ? `  ${text}` : `  ${pad(label, 24)}${text}`);
    return true;
  };

  out.push(p.bold('agent-autopsy diff'));
  side('A', diff.a);
  side('B', diff.b);
  out.push('');
  const verdictText = diff.verdict === 'better' ? p.green(l.verdicts.better) : diff.verdict === 'worse' ? p.red(l.verdicts.worse) : diff.verdict === 'mixed' ? p.yellow(l.verdicts.mixed) : l.verdicts.same;
  // Said from the rows, not from the JSON's English sentences.
  const found = diffFindings(diff);
  out.push(`${p.bold(l.verdict)}${l.afterVerdict}${verdictText} — ${l.counts(found.improvements.length, found.regressions.length)}`);
  for (const item of found.improvements) out.push(`  ${p.green('+')} ${l.finding(item)}`);
  for (const item of found.regressions) out.push(`  ${p.red('-')} ${l.finding(item)}`);

  out.push('', p.bold(l.headings.failures));
  const t = diff.failures.total;
  line(l.rows.total, num(t.a), num(t.b), signed(t.delta), t.trend);
  const changes = (title: string, list: Change[]) => {
    if (list.length === 0) return;
    out.push(`  ${p.dim(title)}`);
    for (const c of list) line(c.key, num(c.a), num(c.b), signed(c.delta), c.trend, 4);
  };
  changes(l.rows.byType, diff.failures.by_type);
  changes(l.rows.byStage, diff.failures.by_stage);

  out.push('', p.bold(l.headings.diagnoses));
  const d = diff.diagnoses;
  if (d === null) notComparable('diagnoses');
  else if (d.appeared.length + d.resolved.length + d.persisting.length === 0) out.push(`  ${l.noDiagnoses}`);
  // The state in a column of its own: "resolved  ", "still     ".
  const state = (word: string, colour: (text: string) => string) => `${colour(word)}${' '.repeat(Math.max(10 - displayWidth(word), 1))}`;
  const plain = (text: string) => text;
  for (const x of d?.resolved ?? []) out.push(`  ${state(l.diagnosisStates.resolved, p.green)}${l.diagnosis(x.id, x.severity, x.a_count, x.title)}`);
  for (const x of d?.appeared ?? []) out.push(`  ${state(l.diagnosisStates.appeared, p.red)}${l.diagnosis(x.id, x.severity, x.b_count, x.title)}`);
  for (const x of d?.persisting ?? []) out.push(`  ${state(l.diagnosisStates.persisting, plain)}${l.persisting(x.id, x.severity, x.a_count, x.b_count)}`);

  out.push('', p.bold(l.headings.llm));
  notComparable('llm_usage');
  for (const c of diff.llm ?? []) line(l.llm[c.key] ?? c.key.replace('_', ' '), num(c.a), num(c.b), `${signed(c.delta)}${percent(c.a, c.b)}`, c.trend);
  const lat = diff.latency_seconds;
  if (lat) line(l.rows.latencyP50, num(lat.p50[0], sec), num(lat.p50[1], sec), signed(lat.p50[0] !== null && lat.p50[1] !== null ? lat.p50[1] - lat.p50[0] : null, sec));
  if (lat) line(l.rows.latencyP95, num(lat.p95[0], sec), num(lat.p95[1], sec), signed(lat.p95[0] !== null && lat.p95[1] !== null ? lat.p95[1] - lat.p95[0] : null, sec));

  out.push('', p.bold(l.headings.autofix));
  const af = diff.autofix;
  if (af === null) notComparable('autofix_statistics');
  else {
    line(l.rows.attempts, num(af.attempts.a), num(af.attempts.b), signed(af.attempts.delta));
    line(l.rows.failed, num(af.failed.a), num(af.failed.b), signed(af.failed.delta), af.failed.trend);
    line(l.rows.successRate, af.success_rate[0], af.success_rate[1], '');
  }

  out.push('', p.bold(l.headings.durations));
  const du = diff.duration_seconds;
  line(l.rows.run, num(du.a, sec), num(du.b, sec), `${signed(du.delta, sec)}${percent(du.a, du.b)}`);
  notComparable('stages', l.rows.stages);
  for (const s of diff.stages ?? []) {
    const delta = s.a_duration !== null && s.b_duration !== null ? s.b_duration - s.a_duration : null;
    // Durations are not judged (as the run's is not): a stage's trend comes from its outcome and
    // failures, so it is marked on the line that says them, not after a duration that may have grown.
    line(l.stage(s.stage), num(s.a_duration, sec), num(s.b_duration, sec), signed(delta, sec));
    const note = l.stageNote(s);
    if (note) {
      // The mark in the column of the other rows' marks (2 + 24 + 24 + 18), the note dimmed.
      const text = `      ${note}`;
      out.push(s.trend === 'same' ? `      ${p.dim(note)}` : `      ${p.dim(note)}${pad(text, 68).slice(text.length)}${mark(s.trend)}`);
    }
  }

  out.push('', p.bold(l.headings.unfinishedAndExit));
  const u = diff.unfinished;
  if (u === null) notComparable('unfinished', l.rows.unfinishedSpans);
  else line(l.rows.unfinishedSpans, num(u.a), num(u.b), signed(u.delta), u.trend);
  if (!notComparable('exit', l.rows.exit)) {
    const failedA = endedAsFailure(diff.a);
    const failedB = endedAsFailure(diff.b);
    const exitTrend = failedA === failedB ? 'same' : failedB ? 'worse' : 'better';
    const how = (run: RunSummary) => `${run.exit}${l.exitCode(run.exit_code)}`;
    out.push(`  ${pad(l.rows.exit, 24)}${how(diff.a)} → ${how(diff.b)}  ${mark(exitTrend)}`.trimEnd());
  }
  return `${out.join('\n')}\n`;
}
