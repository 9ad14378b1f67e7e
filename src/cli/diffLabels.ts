// The words of `agent-autopsy diff`'s text, in English and Simplified Chinese. Ids stay as they are
// in both (diagnosis ids, failure types, stage names, report sections, severities, outcomes, exit
// reasons), as in the reports; only the diff's own words change.
import { normalizeLocale } from '../../analyzers/messages';
import type { AutopsyReport } from '../../analyzers/reportTypes';
import type { Locale } from '../types';
import type { Finding, RunDiff, StageChange } from './diffRuns';
import type { ReportSection } from './reportSections';

export interface DiffLabels {
  /** After a run's path: "(15 events, 4 s, ended …)". */
  runDetails: (events: string, duration: string, ending: string) => string;
  /** How a run ended, from its report's description ("normally (event loop drained)"). */
  ended: (description: string) => string;
  /** In place of `ended` when the report has no `exit` section. */
  endingNotRecorded: string;
  /** After how a run ended, its exit code where the report has one: ", exit code 1" (nothing for null). */
  exitCode: (code: number | null) => string;
  /** After a number of seconds. */
  seconds: string;
  /** The verdict line's label, and what comes between it and the verdict (a space after ':', none after '：'). */
  verdict: string;
  afterVerdict: string;
  verdicts: Record<RunDiff['verdict'], string>;
  /** After the verdict: "6 improvement(s), 0 regression(s)". */
  counts: (improvements: number, regressions: number) => string;
  /** The mark at the end of a row. */
  trends: Record<'better' | 'worse', string>;
  headings: Record<'failures' | 'diagnoses' | 'llm' | 'autofix' | 'durations' | 'unfinishedAndExit', string>;
  rows: Record<'total' | 'byType' | 'byStage' | 'latencyP50' | 'latencyP95' | 'attempts' | 'failed' | 'successRate' | 'run' | 'stages' | 'unfinishedSpans' | 'exit', string>;
  /** A stage's row in Durations: "stage stage1". */
  stage: (name: string) => string;
  /** The LLM rows, by the JSON's key (an unknown key is shown with spaces for its underscores). */
  llm: Record<string, string>;
  /** The word before a diagnosis, and what follows it. */
  diagnosisStates: Record<'resolved' | 'appeared' | 'persisting', string>;
  /** A resolved or appeared diagnosis: "rate_limited (high, 4×) — <title>". */
  diagnosis: (id: string, severity: string, count: number, title: string) => string;
  /** One in both runs: "code_syntax_errors (medium) 1× → 1×". */
  persisting: (id: string, severity: string, a: number, b: number) => string;
  noDiagnoses: string;
  /** A section one report or both lack: "not comparable: B's report has no llm_usage section". */
  notComparable: (section: ReportSection, missingIn: ReadonlyArray<'a' | 'b'>) => string;
  /** How a stage's outcome and failures changed: "absent → error, failures 0 → 1". */
  stageNote: (s: StageChange) => string;
  /** An improvement or regression: "failures of type llm_call_error 4 → 0". */
  finding: (f: Finding) => string;
}

/** "absent → error, failures 0 → 1", with the words and the separator of a language. */
function stageNoteIn(absent: string, failures: string, separator: string): (s: StageChange) => string {
  return (s) => {
    const outcome = s.a_outcome !== s.b_outcome ? `${s.a_outcome ?? absent} → ${s.b_outcome ?? absent}` : s.b_outcome !== 'ok' ? (s.b_outcome ?? '') : '';
    const counts = s.a_failures || s.b_failures ? `${failures} ${s.a_failures} → ${s.b_failures}` : '';
    return [outcome, counts].filter(Boolean).join(separator);
  };
}

const enStageNote = stageNoteIn('absent', 'failures', ', ');

const en: DiffLabels = {
  runDetails: (events, duration, ending) => `(${events} events, ${duration}, ${ending})`,
  ended: (description) => `ended ${description}`,
  exitCode: (code) => (code === null ? '' : `, exit code ${code}`),
  endingNotRecorded: 'how it ended is not in its report',
  seconds: ' s',
  verdict: 'Verdict:',
  afterVerdict: ' ',
  verdicts: { better: 'better', worse: 'worse', mixed: 'mixed', same: 'no change' },
  counts: (improvements, regressions) => `${improvements} improvement(s), ${regressions} regression(s)`,
  trends: { better: 'better', worse: 'worse' },
  headings: { failures: 'Failures', diagnoses: 'Diagnoses', llm: 'LLM usage', autofix: 'Autofix', durations: 'Durations', unfinishedAndExit: 'Unfinished spans and exit' },
  rows: {
    total: 'total',
    byType: 'by type',
    byStage: 'by stage',
    latencyP50: 'latency p50',
    latencyP95: 'latency p95',
    attempts: 'attempts',
    failed: 'failed',
    successRate: 'success rate',
    run: 'run',
    stages: 'stages',
    unfinishedSpans: 'unfinished spans',
    exit: 'exit',
  },
  stage: (name) => `stage ${name}`,
  llm: {
    calls: 'calls',
    errors: 'errors',
    input_tokens: 'input tokens',
    output_tokens: 'output tokens',
    total_tokens: 'total tokens',
    // Named to fit the label column (the JSON keeps the report's keys).
    cache_read_input_tokens: 'cached input tokens',
    cache_creation_input_tokens: 'cache-write tokens',
    reasoning_tokens: 'reasoning tokens',
    retried_calls: 'retried calls',
    failed_attempts: 'failed attempts',
    calls_without_tokens: 'calls without tokens',
  },
  diagnosisStates: { resolved: 'resolved', appeared: 'appeared', persisting: 'still' },
  diagnosis: (id, severity, count, title) => `${id} (${severity}, ${count}×) — ${title}`,
  persisting: (id, severity, a, b) => `${id} (${severity}) ${a}× → ${b}×`,
  noDiagnoses: 'none in either run',
  notComparable: (section, missingIn) =>
    `not comparable: ${missingIn.length === 2 ? 'neither report has a' : `${missingIn[0].toUpperCase()}'s report has no`} ${section} section`,
  stageNote: enStageNote,
  finding: (f) => {
    switch (f.kind) {
      case 'failures':
        return `failures ${f.a} → ${f.b}`;
      case 'failures_of_type':
        return `failures of type ${f.key} ${f.a} → ${f.b}`;
      case 'failures_in_stage':
        return `failures in stage ${f.key} ${f.a} → ${f.b}`;
      case 'new_diagnosis':
        return `new diagnosis ${f.id}`;
      case 'resolved_diagnosis':
        return `resolved diagnosis ${f.id}`;
      case 'llm_errors':
        return `LLM errors ${f.a} → ${f.b}`;
      case 'failed_autofix':
        return `failed autofix attempts ${f.a} → ${f.b}`;
      case 'unfinished_spans':
        return `unfinished spans ${f.a} → ${f.b}`;
      case 'exit':
        return `exit: ${f.a}${en.exitCode(f.a_exit_code)} → ${f.b}${en.exitCode(f.b_exit_code)}`;
      case 'stage':
        return `stage ${f.stage.stage}: ${enStageNote(f.stage)}`;
    }
  },
};

const zhStageNote = stageNoteIn('不存在', '失败', '，');

// The words of the zh-CN reports (exporters/reportLabels.ts, analyzers/messages.ts): 失败, 诊断,
// 阶段, 跨度, 自愈, 秒, 结束方式.
const zhCN: DiffLabels = {
  runDetails: (events, duration, ending) => `（${events} 个事件，${duration}，${ending}）`,
  ended: (description) => `结束方式：${description}`,
  exitCode: (code) => (code === null ? '' : `，退出码 ${code}`),
  endingNotRecorded: '报告中没有记录结束方式',
  seconds: ' 秒',
  verdict: '结论：',
  afterVerdict: '',
  verdicts: { better: '变好', worse: '变差', mixed: '有好有坏', same: '无变化' },
  counts: (improvements, regressions) => `${improvements} 项改善，${regressions} 项退化`,
  trends: { better: '变好', worse: '变差' },
  headings: { failures: '失败', diagnoses: '诊断', llm: 'LLM 用量', autofix: '自愈', durations: '时长', unfinishedAndExit: '未结束的跨度与结束方式' },
  rows: {
    total: '总数',
    byType: '按类型',
    byStage: '按阶段',
    latencyP50: '延迟 p50',
    latencyP95: '延迟 p95',
    attempts: '尝试次数',
    failed: '失败',
    successRate: '成功率',
    run: '运行',
    stages: '阶段',
    unfinishedSpans: '未结束的跨度',
    exit: '结束方式',
  },
  stage: (name) => `阶段 ${name}`,
  llm: {
    calls: '调用次数',
    errors: '错误',
    input_tokens: '输入 token',
    output_tokens: '输出 token',
    total_tokens: 'token 总数',
    cache_read_input_tokens: '缓存命中的输入 token',
    cache_creation_input_tokens: '写入缓存的输入 token',
    reasoning_tokens: '推理 token',
    retried_calls: '重试过的调用',
    failed_attempts: '失败的尝试',
    calls_without_tokens: '未给出 token 数的调用',
  },
  diagnosisStates: { resolved: '已解决', appeared: '新出现', persisting: '仍存在' },
  diagnosis: (id, severity, count, title) => `${id}（${severity}，${count}×）— ${title}`,
  persisting: (id, severity, a, b) => `${id}（${severity}）${a}× → ${b}×`,
  noDiagnoses: '两次运行都没有诊断',
  notComparable: (section, missingIn) => `无法比较：${missingIn.length === 2 ? '两份报告都没有' : `${missingIn[0].toUpperCase()} 的报告没有`} ${section} 部分`,
  stageNote: zhStageNote,
  finding: (f) => {
    switch (f.kind) {
      case 'failures':
        return `失败总数 ${f.a} → ${f.b}`;
      case 'failures_of_type':
        return `类型 ${f.key} 的失败 ${f.a} → ${f.b}`;
      case 'failures_in_stage':
        return `阶段 ${f.key} 的失败 ${f.a} → ${f.b}`;
      case 'new_diagnosis':
        return `新出现的诊断 ${f.id}`;
      case 'resolved_diagnosis':
        return `已解决的诊断 ${f.id}`;
      case 'llm_errors':
        return `LLM 错误 ${f.a} → ${f.b}`;
      case 'failed_autofix':
        return `失败的自愈尝试 ${f.a} → ${f.b}`;
      case 'unfinished_spans':
        return `未结束的跨度 ${f.a} → ${f.b}`;
      case 'exit':
        return `结束方式：${f.a}${zhCN.exitCode(f.a_exit_code)} → ${f.b}${zhCN.exitCode(f.b_exit_code)}`;
      case 'stage':
        return `阶段 ${f.stage.stage}：${zhStageNote(f.stage)}`;
    }
  },
};

export function diffLabelsFor(locale: string | undefined): DiffLabels {
  return normalizeLocale(locale) === 'zh-CN' ? zhCN : en;
}

/** An improvement or regression as the JSON says it: in English whatever the locale, for scripts that match on it. */
export function englishFinding(f: Finding): string {
  return en.finding(f);
}

/** What diffLocale needs of a run: its report, and the sections the saved report did not have. */
export interface LocaleOfRun {
  report: Pick<AutopsyReport, 'run'>;
  missingSections?: readonly ReportSection[];
}

/**
 * The language of the diff's own words: `--locale` when given; else Chinese when both runs' reports
 * are (a log's report is in the locale its run was given, a saved report in the one it was saved
 * in). A report that does not say (the original reporter's, which has no `run` section) goes with
 * the other run. English otherwise, also when the two runs' languages differ.
 */
export function diffLocale(asked: string | undefined, runs: readonly LocaleOfRun[]): Locale {
  if (asked !== undefined) return normalizeLocale(asked);
  const stated = runs.filter((run) => !run.missingSections?.includes('run')).map((run) => normalizeLocale(run.report.run?.locale));
  return stated.length > 0 && stated.every((locale) => locale === 'zh-CN') ? 'zh-CN' : 'en';
}
