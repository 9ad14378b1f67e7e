import { TOKEN_DETAIL_KEYS, type AutopsyReport, type Diagnosis } from '../../analyzers/reportTypes';
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

/** Whether a run ended by a crash (an exception, a rejection, a signal, a kill): a change to or from one is a regression or an improvement. */
export function endedByCrash(reason: string | null): boolean {
  return CRASHES.has(reason ?? '');
}

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
export function stageNote(s: StageChange): string {
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
        // The shares of the counts (cached, reasoning tokens), where both runs' calls stated them.
        ...TOKEN_DETAIL_KEYS.filter((key) => typeof ua[key] === 'number' && typeof ub[key] === 'number').map((key) => countChange(key, ua[key]!, ub[key]!, null)),
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
    const crashA = endedByCrash(a.exit.reason);
    const crashB = endedByCrash(b.exit.reason);
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
