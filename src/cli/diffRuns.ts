import type { AutopsyReport, Diagnosis } from '../../analyzers/reportTypes';
import type { Palette } from './color';
import { OPTIONAL_REPORT_SECTIONS, type ReportSection } from './reportSections';

/** How one number changed from run A to run B. */
export interface Change {
  key: string;
  a: number;
  b: number;
  delta: number;
  /** For counts of bad things (failures, errors): fewer is better. */
  trend: 'better' | 'worse' | 'same' | 'changed';
}

export interface DiagnosisChange {
  id: string;
  title: string;
  severity: Diagnosis['severity'];
  a_count: number;
  b_count: number;
}

export interface StageChange {
  stage: string;
  a_duration: number | null;
  b_duration: number | null;
  a_outcome: string | null;
  b_outcome: string | null;
  a_failures: number;
  b_failures: number;
  trend: Change['trend'];
}

/** One run's side; null where its report has no such section (a seed-reporter report has no `run` or `exit`). */
export interface RunSummary {
  input: string;
  events: number | null;
  duration_seconds: number | null;
  exit: string | null;
  exit_reason: string | null;
}

/** A report section one run or both lack: its part of the diff is null, not a comparison with zeros. */
export interface NotComparable {
  section: ReportSection;
  missing_in: Array<'a' | 'b'>;
}

export interface RunDiff {
  a: RunSummary;
  b: RunSummary;
  verdict: 'better' | 'worse' | 'mixed' | 'same';
  improvements: string[];
  regressions: string[];
  not_comparable: NotComparable[];
  failures: { total: Change; by_type: Change[]; by_stage: Change[] };
  diagnoses: { appeared: DiagnosisChange[]; resolved: DiagnosisChange[]; persisting: DiagnosisChange[] } | null;
  llm: Change[] | null;
  latency_seconds: { p50: [number | null, number | null]; p95: [number | null, number | null] } | null;
  autofix: { attempts: Change; successful: Change; failed: Change; success_rate: [string, string] } | null;
  duration_seconds: { a: number | null; b: number | null; delta: number | null };
  stages: StageChange[] | null;
  unfinished: Change | null;
}

export interface DiffInput {
  report: AutopsyReport;
  input: string;
  durationSeconds: number | null;
  /** Sections the saved report did not have (filled with zeros in `report` for the renderers). */
  missingSections?: readonly ReportSection[];
}

const CRASHES = new Set(['uncaught_exception', 'unhandled_rejection', 'signal', 'killed']);

function countChange(key: string, a: number, b: number, lowerIsBetter: boolean | null): Change {
  const delta = b - a;
  const trend = delta === 0 ? 'same' : lowerIsBetter === null ? 'changed' : (delta < 0) === lowerIsBetter ? 'better' : 'worse';
  return { key, a, b, delta, trend };
}

function compareCounts(a: Record<string, number>, b: Record<string, number>): Change[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.map((key) => countChange(key, a[key] ?? 0, b[key] ?? 0, true)).sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta) || y.b - x.b);
}

/** How a stage's outcome and failures changed, as its row's note says it: "absent → error, failures 0 → 1". */
function stageNote(s: StageChange): string {
  const outcome = s.a_outcome !== s.b_outcome ? `${s.a_outcome ?? 'absent'} → ${s.b_outcome ?? 'absent'}` : s.b_outcome !== 'ok' ? (s.b_outcome ?? '') : '';
  const failures = s.a_failures || s.b_failures ? `failures ${s.a_failures} → ${s.b_failures}` : '';
  return [outcome, failures].filter(Boolean).join(', ');
}

function compareDiagnoses(a: AutopsyReport, b: AutopsyReport): NonNullable<RunDiff['diagnoses']> {
  const diagA = new Map(a.diagnoses.map((d) => [d.id, d]));
  const diagB = new Map(b.diagnoses.map((d) => [d.id, d]));
  const ref = (d: Diagnosis, aCount: number, bCount: number): DiagnosisChange => ({ id: d.id, title: d.title, severity: d.severity, a_count: aCount, b_count: bCount });
  return {
    appeared: b.diagnoses.filter((d) => !diagA.has(d.id)).map((d) => ref(d, 0, d.evidence?.count ?? 0)),
    resolved: a.diagnoses.filter((d) => !diagB.has(d.id)).map((d) => ref(d, d.evidence?.count ?? 0, 0)),
    persisting: b.diagnoses.filter((d) => diagA.has(d.id)).map((d) => ref(d, diagA.get(d.id)?.evidence?.count ?? 0, d.evidence?.count ?? 0)),
  };
}

function compareStages(a: AutopsyReport, b: AutopsyReport): StageChange[] {
  const stagesA = new Map(a.stages.map((s) => [s.stage, s]));
  const stagesB = new Map(b.stages.map((s) => [s.stage, s]));
  const stageKeys = [...new Set([...stagesA.keys(), ...stagesB.keys()])];
  return stageKeys.map((stage): StageChange => {
    const x = stagesA.get(stage);
    const y = stagesB.get(stage);
    const rank = (outcome: string | undefined) => (outcome === 'ok' ? 0 : 1);
    const outcomeDelta = rank(y?.outcome) - rank(x?.outcome);
    const failureDelta = (y?.failures ?? 0) - (x?.failures ?? 0);
    // A stage in one run only is new or gone, not better: only a new one that failed is worse.
    const trend: Change['trend'] = !x
      ? y && (y.outcome !== 'ok' || y.failures > 0)
        ? 'worse'
        : 'changed'
      : !y
        ? 'changed'
        : outcomeDelta > 0 || (outcomeDelta === 0 && failureDelta > 0)
          ? 'worse'
          : outcomeDelta < 0 || failureDelta < 0
            ? 'better'
            : 'same';
    return {
      stage,
      a_duration: x?.duration_seconds ?? null,
      b_duration: y?.duration_seconds ?? null,
      a_outcome: x?.outcome ?? null,
      b_outcome: y?.outcome ?? null,
      a_failures: x?.failures ?? 0,
      b_failures: y?.failures ?? 0,
      trend,
    };
  });
}

/**
 * What got better or worse from run A to run B. Every row marked better or worse is named in
 * `improvements` or `regressions`, so the verdict and --fail-on-regression agree with the rows.
 * A section either report lacks (a seed-reporter report) is null and listed in `not_comparable`.
 */
export function diffRuns(runA: DiffInput, runB: DiffInput): RunDiff {
  const a = runA.report;
  const b = runB.report;
  const notComparable: NotComparable[] = [];
  for (const section of OPTIONAL_REPORT_SECTIONS) {
    const missingIn = ([['a', runA], ['b', runB]] as const).filter(([, run]) => run.missingSections?.includes(section)).map(([side]) => side);
    if (missingIn.length > 0) notComparable.push({ section, missing_in: missingIn });
  }
  const comparable = (section: ReportSection) => !notComparable.some((entry) => entry.section === section);
  const improvements: string[] = [];
  const regressions: string[] = [];
  const note = (change: Change, what: string) => {
    if (change.trend === 'better') improvements.push(`${what} ${change.a} → ${change.b}`);
    if (change.trend === 'worse') regressions.push(`${what} ${change.a} → ${change.b}`);
  };

  const total = countChange('total_failures', a.summary.total_failures, b.summary.total_failures, true);
  note(total, 'failures');
  const byType = compareCounts(a.failure_analysis.failures_by_type, b.failure_analysis.failures_by_type);
  for (const change of byType) note(change, `failures of type ${change.key}`);
  const byStage = compareCounts(a.failure_analysis.failures_by_stage, b.failure_analysis.failures_by_stage);
  for (const change of byStage) note(change, `failures in stage ${change.key}`);

  const diagnoses = comparable('diagnoses') ? compareDiagnoses(a, b) : null;
  for (const d of diagnoses?.appeared ?? []) regressions.push(`new diagnosis ${d.id}`);
  for (const d of diagnoses?.resolved ?? []) improvements.push(`resolved diagnosis ${d.id}`);

  const ua = a.llm_usage;
  const ub = b.llm_usage;
  const llm = comparable('llm_usage')
    ? [
        countChange('calls', ua.calls, ub.calls, null),
        countChange('errors', ua.errors, ub.errors, true),
        countChange('input_tokens', ua.input_tokens, ub.input_tokens, null),
        countChange('output_tokens', ua.output_tokens, ub.output_tokens, null),
        countChange('total_tokens', ua.total_tokens, ub.total_tokens, null),
      ]
    : null;
  if (llm) note(llm[1], 'LLM errors');

  const af = a.autofix_statistics;
  const bf = b.autofix_statistics;
  const autofix = comparable('autofix_statistics')
    ? {
        attempts: countChange('attempts', af.total_attempts, bf.total_attempts, null),
        successful: countChange('successful', af.successful_fixes, bf.successful_fixes, null),
        failed: countChange('failed', af.failed_fixes, bf.failed_fixes, true),
        success_rate: [a.summary.autofix_success_rate, b.summary.autofix_success_rate] as [string, string],
      }
    : null;
  if (autofix) note(autofix.failed, 'failed autofix attempts');

  const unfinished = comparable('unfinished') ? countChange('unfinished', a.unfinished.length, b.unfinished.length, true) : null;
  if (unfinished) note(unfinished, 'unfinished spans');

  if (comparable('exit')) {
    const crashA = CRASHES.has(a.exit.reason);
    const crashB = CRASHES.has(b.exit.reason);
    if (crashA && !crashB) improvements.push(`exit: ${a.exit.reason} → ${b.exit.reason}`);
    if (!crashA && crashB) regressions.push(`exit: ${a.exit.reason} → ${b.exit.reason}`);
  }

  const stages = comparable('stages') ? compareStages(a, b) : null;
  for (const s of stages ?? []) {
    // A stage whose only change is its failures is named once, by "failures in stage …", when that row has the same counts.
    const byStageRow = byStage.find((change) => change.key === s.stage);
    const sameAsByStage = s.a_outcome === s.b_outcome && byStageRow?.a === s.a_failures && byStageRow.b === s.b_failures && byStageRow.trend === s.trend;
    if (sameAsByStage) continue;
    if (s.trend === 'better') improvements.push(`stage ${s.stage}: ${stageNote(s)}`);
    if (s.trend === 'worse') regressions.push(`stage ${s.stage}: ${stageNote(s)}`);
  }

  const verdict = improvements.length && regressions.length ? 'mixed' : regressions.length ? 'worse' : improvements.length ? 'better' : 'same';
  const summary = (input: DiffInput): RunSummary => {
    const lacks = (section: ReportSection) => input.missingSections?.includes(section) ?? false;
    return {
      input: input.input,
      events: lacks('run') ? null : input.report.run.total_events,
      duration_seconds: input.durationSeconds,
      exit: lacks('exit') ? null : (input.report.exit.description ?? input.report.exit.reason),
      exit_reason: lacks('exit') ? null : input.report.exit.reason,
    };
  };
  const da = runA.durationSeconds;
  const db = runB.durationSeconds;
  return {
    a: summary(runA),
    b: summary(runB),
    verdict,
    improvements,
    regressions,
    not_comparable: notComparable,
    failures: { total, by_type: byType, by_stage: byStage },
    diagnoses,
    llm,
    latency_seconds: llm ? { p50: [ua.latency_seconds.p50, ub.latency_seconds.p50], p95: [ua.latency_seconds.p95, ub.latency_seconds.p95] } : null,
    autofix,
    duration_seconds: { a: da, b: db, delta: da !== null && db !== null ? db - da : null },
    stages,
    unfinished,
  };
}

// ---------------------------------------------------------------------------------------------
// Text rendering
// ---------------------------------------------------------------------------------------------

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

function pad(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text + ' '.repeat(width - text.length);
}

/** Why a section is left out: "B's report has no llm_usage section". */
function notComparableText(diff: RunDiff, section: ReportSection): string | undefined {
  const entry = diff.not_comparable.find((x) => x.section === section);
  if (!entry) return undefined;
  const which = entry.missing_in.length === 2 ? 'neither report has a' : `${entry.missing_in[0].toUpperCase()}'s report has no`;
  return `not comparable: ${which} ${section} section`;
}

/** The diff as text for a terminal; `p` colours better green and worse red. */
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
  for (const c of diff.llm ?? []) line(c.key.replace('_', ' '), num(c.a), num(c.b), `${signed(c.delta)}${percent(c.a, c.b)}`, c.trend);
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
    const crashed = (run: RunSummary) => CRASHES.has(run.exit_reason ?? '');
    const exitTrend = crashed(diff.a) === crashed(diff.b) ? 'same' : crashed(diff.b) ? 'worse' : 'better';
    out.push(`  ${pad('exit', 24)}${diff.a.exit} → ${diff.b.exit}  ${mark(exitTrend)}`.trimEnd());
  }
  return `${out.join('\n')}\n`;
}
