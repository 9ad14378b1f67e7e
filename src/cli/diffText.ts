// `agent-autopsy diff`'s text for a terminal: the comparison diffRuns.ts makes, in aligned columns.
import type { Palette } from './color';
import { endedByCrash, stageNote, type Change, type RunDiff, type RunSummary } from './diffRuns';
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

/** Why a section is left out: "B's report has no llm_usage section". */
function notComparableText(diff: RunDiff, section: ReportSection): string | undefined {
  const entry = diff.not_comparable.find((x) => x.section === section);
  if (!entry) return undefined;
  const which = entry.missing_in.length === 2 ? 'neither report has a' : `${entry.missing_in[0].toUpperCase()}'s report has no`;
  return `not comparable: ${which} ${section} section`;
}

/** The diff as text for a terminal; `p` colours better green and worse red. */
/** The shares' rows, named to fit the label column (the JSON keeps the report's keys). */
const LLM_LABELS: Record<string, string> = {
  cache_read_input_tokens: 'cached input tokens',
  cache_creation_input_tokens: 'cache-write tokens',
  reasoning_tokens: 'reasoning tokens',
};

export function formatDiffText(diff: RunDiff, p: Palette): string {
  const out: string[] = [];
  const mark = (trend: Change['trend']) => (trend === 'better' ? p.green('better') : trend === 'worse' ? p.red('worse') : '');
  const line = (label: string, a: string, b: string, delta: string, trend: Change['trend'] = 'same', indent = 2) =>
    out.push(`${' '.repeat(indent)}${pad(label, 26 - indent)}${pad(`${a} → ${b}`, 24)}${pad(delta, 18)}${mark(trend)}`.trimEnd());
  // A run still being recorded has not ended: its description says so by itself.
  const ending = (run: RunSummary) => (run.exit === null ? 'how it ended is not in its report' : `${run.exit_reason === 'running' ? '' : 'ended '}${run.exit}`);
  const side = (name: string, run: RunSummary) => out.push(`  ${p.bold(name)}  ${run.input}  (${num(run.events)} events, ${num(run.duration_seconds, ' s')}, ${ending(run)})`);
  const notComparable = (section: ReportSection, label?: string) => {
    const text = notComparableText(diff, section);
    if (text !== undefined) out.push(label === undefined ? `  ${text}` : `  ${pad(label, 24)}${text}`);
    return text !== undefined;
  };

  out.push(p.bold('agent-autopsy diff'));
  side('A', diff.a);
  side('B', diff.b);
  out.push('');
  const verdictText = diff.verdict === 'better' ? p.green('better') : diff.verdict === 'worse' ? p.red('worse') : diff.verdict === 'mixed' ? p.yellow('mixed') : 'no change';
  out.push(`${p.bold('Verdict:')} ${verdictText} — ${diff.improvements.length} improvement(s), ${diff.regressions.length} regression(s)`);
  for (const item of diff.improvements) out.push(`  ${p.green('+')} ${item}`);
  for (const item of diff.regressions) out.push(`  ${p.red('-')} ${item}`);

  out.push('', p.bold('Failures'));
  const t = diff.failures.total;
  line('total', num(t.a), num(t.b), signed(t.delta), t.trend);
  const changes = (title: string, list: Change[]) => {
    if (list.length === 0) return;
    out.push(`  ${p.dim(title)}`);
    for (const c of list) line(c.key, num(c.a), num(c.b), signed(c.delta), c.trend, 4);
  };
  changes('by type', diff.failures.by_type);
  changes('by stage', diff.failures.by_stage);

  out.push('', p.bold('Diagnoses'));
  const d = diff.diagnoses;
  if (d === null) notComparable('diagnoses');
  else if (d.appeared.length + d.resolved.length + d.persisting.length === 0) out.push('  none in either run');
  for (const x of d?.resolved ?? []) out.push(`  ${p.green('resolved')}  ${x.id} (${x.severity}, ${x.a_count}×) — ${x.title}`);
  for (const x of d?.appeared ?? []) out.push(`  ${p.red('appeared')}  ${x.id} (${x.severity}, ${x.b_count}×) — ${x.title}`);
  for (const x of d?.persisting ?? []) out.push(`  still     ${x.id} (${x.severity}) ${x.a_count}× → ${x.b_count}×`);

  out.push('', p.bold('LLM usage'));
  notComparable('llm_usage');
  for (const c of diff.llm ?? []) line(LLM_LABELS[c.key] ?? c.key.replace('_', ' '), num(c.a), num(c.b), `${signed(c.delta)}${percent(c.a, c.b)}`, c.trend);
  const lat = diff.latency_seconds;
  if (lat) line('latency p50', num(lat.p50[0], ' s'), num(lat.p50[1], ' s'), signed(lat.p50[0] !== null && lat.p50[1] !== null ? lat.p50[1] - lat.p50[0] : null, ' s'));
  if (lat) line('latency p95', num(lat.p95[0], ' s'), num(lat.p95[1], ' s'), signed(lat.p95[0] !== null && lat.p95[1] !== null ? lat.p95[1] - lat.p95[0] : null, ' s'));

  out.push('', p.bold('Autofix'));
  const af = diff.autofix;
  if (af === null) notComparable('autofix_statistics');
  else {
    line('attempts', num(af.attempts.a), num(af.attempts.b), signed(af.attempts.delta));
    line('failed', num(af.failed.a), num(af.failed.b), signed(af.failed.delta), af.failed.trend);
    line('success rate', af.success_rate[0], af.success_rate[1], '');
  }

  out.push('', p.bold('Durations'));
  const du = diff.duration_seconds;
  line('run', num(du.a, ' s'), num(du.b, ' s'), `${signed(du.delta, ' s')}${percent(du.a, du.b)}`);
  notComparable('stages', 'stages');
  for (const s of diff.stages ?? []) {
    const delta = s.a_duration !== null && s.b_duration !== null ? s.b_duration - s.a_duration : null;
    line(`stage ${s.stage}`, num(s.a_duration, ' s'), num(s.b_duration, ' s'), signed(delta, ' s'), s.trend);
    const note = stageNote(s);
    if (note) out.push(`      ${p.dim(note)}`);
  }

  out.push('', p.bold('Unfinished spans and exit'));
  const u = diff.unfinished;
  if (u === null) notComparable('unfinished', 'unfinished spans');
  else line('unfinished spans', num(u.a), num(u.b), signed(u.delta), u.trend);
  if (!notComparable('exit', 'exit')) {
    const crashed = (run: RunSummary) => endedByCrash(run.exit_reason);
    const exitTrend = crashed(diff.a) === crashed(diff.b) ? 'same' : crashed(diff.b) ? 'worse' : 'better';
    out.push(`  ${pad('exit', 24)}${diff.a.exit} → ${diff.b.exit}  ${mark(exitTrend)}`.trimEnd());
  }
  return `${out.join('\n')}\n`;
}
