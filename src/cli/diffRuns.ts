import { TOKEN_DETAIL_KEYS, type AutopsyReport, type Diagnosis } from '../../analyzers/reportTypes';
import { englishFinding } from './diffLabels';
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
  /** The process's exit code, where the report knows it (a run read from its log alone does not). */
  exit_code: number | null;
}

/** A report section one run or both lack: its part of the diff is null, not a comparison with zeros. */
export interface NotComparable {
  section: ReportSection;
  missing_in: Array<'a' | 'b'>;
}

/**
 * One improvement or regression, as data: the JSON's `improvements` and `regressions` are these in
 * English sentences, and the text says them in its own language from this, never from the sentences.
 */
export type Finding =
  | { kind: 'failures' | 'llm_errors' | 'failed_autofix' | 'unfinished_spans'; a: number; b: number }
  | { kind: 'failures_of_type' | 'failures_in_stage'; key: string; a: number; b: number }
  | { kind: 'new_diagnosis' | 'resolved_diagnosis'; id: string }
  | { kind: 'exit'; a: string | null; b: string | null; a_exit_code: number | null; b_exit_code: number | null }
  | { kind: 'stage'; stage: StageChange };

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
  /** 'log' when the report was made now from the run's log, 'report' for a saved report JSON. */
  kind?: 'log' | 'report';
}

const CRASHES = new Set(['uncaught_exception', 'unhandled_rejection', 'signal', 'killed']);

/** Whether a run ended by a crash (an exception, a rejection, a signal, a kill). */
export function endedByCrash(reason: string | null): boolean {
  return CRASHES.has(reason ?? '');
}

/**
 * Whether a run ended as a failure: a crash, or an exit code other than 0 (`process.exit(1)`, or
 * `process.exitCode = 1` and a drained loop). A change to or from one is a regression or an improvement.
 */
export function endedAsFailure(run: Pick<RunSummary, 'exit_reason' | 'exit_code'>): boolean {
  return endedByCrash(run.exit_reason) || (typeof run.exit_code === 'number' && run.exit_code !== 0);
}

/** llm_usage's counts of the client's retries (present where some call stated them). */
const RETRY_KEYS = ['retried_calls', 'failed_attempts'] as const;

/**
 * A run's llm_usage.calls_without_tokens, or null when unknown. The key is there only when above 0,
 * so a report made now from a log that lacks it had none; a saved report may predate the key.
 */
function callsWithoutTokens(run: DiffInput): number | null {
  const stated = run.report.llm_usage.calls_without_tokens;
  return typeof stated === 'number' ? stated : run.kind === 'log' ? 0 : null;
}

function countChange(key: string, a: number, b: number, lowerIsBetter: boolean | null): Change {
  const delta = b - a;
  const trend = delta === 0 ? 'same' : lowerIsBetter === null ? 'changed' : (delta < 0) === lowerIsBetter ? 'better' : 'worse';
  return { key, a, b, delta, trend };
}

function withoutTokensChange(a: number | null, b: number | null): Change[] {
  return a !== null && b !== null && (a > 0 || b > 0) ? [countChange('calls_without_tokens', a, b, null)] : [];
}

function compareCounts(a: Record<string, number>, b: Record<string, number>): Change[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.map((key) => countChange(key, a[key] ?? 0, b[key] ?? 0, true)).sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta) || y.b - x.b);
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

  const total = countChange('total_failures', a.summary.total_failures, b.summary.total_failures, true);
  const byType = compareCounts(a.failure_analysis.failures_by_type, b.failure_analysis.failures_by_type);
  const byStage = compareCounts(a.failure_analysis.failures_by_stage, b.failure_analysis.failures_by_stage);
  const diagnoses = comparable('diagnoses') ? compareDiagnoses(a, b) : null;

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
        // The client's retries, the same way: a run that states none may not have counted them.
        ...RETRY_KEYS.filter((key) => typeof ua[key] === 'number' && typeof ub[key] === 'number').map((key) => countChange(key, ua[key]!, ub[key]!, null)),
        // The calls the token counts leave out, where both are known and one run had some: a
        // change in them explains a change in the tokens (include_usage added to the streams).
        ...withoutTokensChange(callsWithoutTokens(runA), callsWithoutTokens(runB)),
      ]
    : null;

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

  const unfinished = comparable('unfinished') ? countChange('unfinished', a.unfinished.length, b.unfinished.length, true) : null;
  const stages = comparable('stages') ? compareStages(a, b) : null;

  const summary = (input: DiffInput): RunSummary => {
    const lacks = (section: ReportSection) => input.missingSections?.includes(section) ?? false;
    return {
      input: input.input,
      events: lacks('run') ? null : input.report.run.total_events,
      duration_seconds: input.durationSeconds,
      exit: lacks('exit') ? null : (input.report.exit.description ?? input.report.exit.reason),
      exit_reason: lacks('exit') ? null : input.report.exit.reason,
      exit_code: lacks('exit') || typeof input.report.exit.exit_code !== 'number' ? null : input.report.exit.exit_code,
    };
  };
  const da = runA.durationSeconds;
  const db = runB.durationSeconds;
  const rows: DiffRows = {
    a: summary(runA),
    b: summary(runB),
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
  const found = diffFindings(rows);
  const improvements = found.improvements.map(englishFinding);
  const regressions = found.regressions.map(englishFinding);
  const verdict = improvements.length && regressions.length ? 'mixed' : regressions.length ? 'worse' : improvements.length ? 'better' : 'same';
  // The JSON's keys in the order they have always had.
  const { a: sideA, b: sideB, not_comparable: notComparableSections, ...sections } = rows;
  return { a: sideA, b: sideB, verdict, improvements, regressions, not_comparable: notComparableSections, ...sections };
}

/** The comparison's rows: everything in RunDiff but the verdict and the sentences, which follow from them. */
export type DiffRows = Omit<RunDiff, 'verdict' | 'improvements' | 'regressions'>;

/**
 * The improvements and regressions the rows show: every row marked better or worse, a diagnosis
 * that appeared or was resolved, a change to or from a crash. The text and the JSON both take them
 * from here, so they always name the same ones, in the same order.
 */
export function diffFindings(rows: DiffRows): { improvements: Finding[]; regressions: Finding[] } {
  const improvements: Finding[] = [];
  const regressions: Finding[] = [];
  const note = (change: Change | null | undefined, finding: Finding) => {
    if (change?.trend === 'better') improvements.push(finding);
    if (change?.trend === 'worse') regressions.push(finding);
  };
  const { total, by_type: byType, by_stage: byStage } = rows.failures;
  note(total, { kind: 'failures', a: total.a, b: total.b });
  for (const change of byType) note(change, { kind: 'failures_of_type', key: change.key, a: change.a, b: change.b });
  for (const change of byStage) note(change, { kind: 'failures_in_stage', key: change.key, a: change.a, b: change.b });

  for (const d of rows.diagnoses?.appeared ?? []) regressions.push({ kind: 'new_diagnosis', id: d.id });
  for (const d of rows.diagnoses?.resolved ?? []) improvements.push({ kind: 'resolved_diagnosis', id: d.id });

  const errors = rows.llm?.find((change) => change.key === 'errors');
  if (errors) note(errors, { kind: 'llm_errors', a: errors.a, b: errors.b });
  const failed = rows.autofix?.failed;
  if (failed) note(failed, { kind: 'failed_autofix', a: failed.a, b: failed.b });
  const unfinished = rows.unfinished;
  if (unfinished) note(unfinished, { kind: 'unfinished_spans', a: unfinished.a, b: unfinished.b });

  if (!rows.not_comparable.some((entry) => entry.section === 'exit')) {
    const failedA = endedAsFailure(rows.a);
    const failedB = endedAsFailure(rows.b);
    const exit: Finding = { kind: 'exit', a: rows.a.exit_reason, b: rows.b.exit_reason, a_exit_code: rows.a.exit_code, b_exit_code: rows.b.exit_code };
    if (failedA && !failedB) improvements.push(exit);
    if (!failedA && failedB) regressions.push(exit);
  }

  for (const s of rows.stages ?? []) {
    // A stage whose only change is its failures is named once, by "failures in stage …", when that row has the same counts.
    const byStageRow = byStage.find((change) => change.key === s.stage);
    const sameAsByStage = s.a_outcome === s.b_outcome && byStageRow?.a === s.a_failures && byStageRow.b === s.b_failures && byStageRow.trend === s.trend;
    if (sameAsByStage) continue;
    if (s.trend === 'better') improvements.push({ kind: 'stage', stage: s });
    if (s.trend === 'worse') regressions.push({ kind: 'stage', stage: s });
  }
  return { improvements, regressions };
}
