import { normalizeLocale } from '../analyzers/messages';
import type { AutopsyReport } from '../analyzers/reportTypes';

/** What an openai streaming request needs for the API to send its usage (the report's hint). */
const STREAM_USAGE_OPTION = 'stream_options: { include_usage: true }';

/**
 * Words the Markdown and HTML reports use besides the analyzer's message catalog (headings of
 * sections only the people-facing reports have, table headers, the event list's controls).
 */
export interface ReportLabels {
  timeline: string;
  overview: string;
  run: string;
  started: string;
  duration: string;
  events: string;
  source: string;
  service: string;
  severity: string;
  /** Headers of the failure-pattern table (the field names in English). */
  pattern: string;
  description: string;
  suggestion: string;
  confidence: string;
  evidence: string;
  firstSeen: string;
  lastSeen: string;
  examples: string;
  spanIds: string;
  /** HTML: what the page holds of a diagnosis's evidence span (its events in the list, its bar in the timeline). */
  evidenceSpan: {
    /** The title of a span id that shows the span's events in the list. */
    showEvents: string;
    events: (count: number) => string;
    /** The list has no event of the span, though it holds every event of the log. */
    notListed: string;
    /** The list keeps only the most recent `kept` events, and none of them is the span's. */
    olderThanList: (kept: number) => string;
    /** A link to the span's bar. */
    bar: string;
    noBar: string;
    /** The event list's filter by span: its label, and the button that drops it. */
    filter: string;
    showAll: string;
  };
  noDiagnoses: string;
  /** In place of noDiagnoses when the run had failures that no rule explains. */
  noDiagnosesWithFailures: (failures: number) => string;
  noFailures: string;
  calls: string;
  llmCalls: string;
  errors: string;
  inputTokens: string;
  outputTokens: string;
  /** The shares of the token counts (report llm_usage's cache_read_input_tokens, cache_creation_input_tokens, reasoning_tokens). */
  tokenDetails: Record<'cache_read_input_tokens' | 'cache_creation_input_tokens' | 'reasoning_tokens', string>;
  totalTokens: string;
  /** llm_usage's retried_calls and failed_attempts: "Retried calls: 3 (6 failed attempts before their outcome)". */
  retriedCalls: string;
  failedAttempts: (attempts: number) => string;
  /** llm_usage's calls_without_tokens: a figure's and a model-table column's label. */
  callsWithoutTokens: string;
  /** After the total tokens in the summary: "1,200 (12 of 20 calls not counted)". */
  callsNotCounted: (without: number, calls: number) => string;
  /** Next to the token figures: what the totals leave out, and the usual reason. */
  tokensLeftOut: (without: number, calls: number) => string;
  latency: string;
  model: string;
  errorsByType: string;
  errorsByStatus: string;
  attempts: string;
  byLayer: string;
  byType: string;
  stage: string;
  name: string;
  kind: string;
  outcome: string;
  failures: string;
  age: string;
  time: string;
  type: string;
  level: string;
  data: string;
  error: string;
  /** The Unfinished spans table's column for streamed calls, and what a row says of its stream (seconds as text). */
  stream: string;
  streamState: (firstChunk: string | undefined, sinceLastChunk: string | undefined) => string;
  /** After the summary's LLM call count: calls still running when the process ended (listed as unfinished, not counted). */
  llmCallsRunning: (count: number) => string;
  /** After a count of no LLM calls at all: what that does and does not say. */
  llmCallsNone: string;
  all: string;
  search: string;
  shown: string;
  eventsNote: (command: string) => string;
  /** In place of the event list on the page of a saved report, which holds no events. */
  savedReportEventsNote: (command: string) => string;
  eventsTruncated: (shown: number, total: number) => string;
  moreRows: (count: number) => string;
  omittedSpans: (count: number) => string;
  clickForDetails: string;
  /** Shown in place of the event list when the viewer runs no JavaScript. */
  eventsNeedScript: string;
  legend: Record<'stage' | 'task' | 'llm' | 'code_exec' | 'autofix' | 'error' | 'unfinished' | 'failure', string>;
  /** In place of a value of a section a saved report lacks (the original reporter's has no diagnoses, LLM usage, stages …). */
  notRecorded: (originalReporter: boolean) => string;
  /** The same as a section's whole text. */
  sectionNotRecorded: (originalReporter: boolean) => string;
}

const en: ReportLabels = {
  timeline: 'Timeline',
  overview: 'Overview',
  run: 'Run',
  started: 'Started',
  duration: 'Duration',
  events: 'Events',
  source: 'Source',
  service: 'Service',
  severity: 'severity',
  pattern: 'pattern',
  description: 'description',
  suggestion: 'suggestion',
  confidence: 'confidence',
  evidence: 'evidence',
  firstSeen: 'first',
  lastSeen: 'last',
  examples: 'Examples',
  spanIds: 'Span ids',
  evidenceSpan: {
    showEvents: "Show this span's events in the event list",
    events: (count) => `${count} event${count === 1 ? '' : 's'} in the list`,
    notListed: 'not in the event list',
    olderThanList: (kept) => `not in the event list, which keeps only the last ${kept} events`,
    bar: 'its bar in the timeline',
    noBar: 'no bar of its own in the timeline',
    filter: 'Span',
    showAll: 'show every span',
  },
  noDiagnoses: 'No root cause found: nothing in this run matched a diagnosis rule.',
  noDiagnosesWithFailures: (failures) =>
    `No root cause found: the run had ${failures} failure${failures === 1 ? '' : 's'}, but none matched a diagnosis rule. See the failures below.`,
  noFailures: 'No failures recorded.',
  calls: 'Calls',
  llmCalls: 'LLM calls',
  errors: 'Errors',
  inputTokens: 'Input tokens',
  outputTokens: 'Output tokens',
  tokenDetails: { cache_read_input_tokens: 'Cached input tokens', cache_creation_input_tokens: 'Cache-write input tokens', reasoning_tokens: 'Reasoning tokens' },
  totalTokens: 'Total tokens',
  retriedCalls: 'Retried calls',
  failedAttempts: (attempts) => `${attempts} failed attempt${attempts === 1 ? '' : 's'} before their outcome`,
  callsWithoutTokens: 'Calls without token counts',
  callsNotCounted: (without, calls) => `${without} of ${calls} call${calls === 1 ? '' : 's'} not counted`,
  tokensLeftOut: (without, calls) =>
    `The token totals leave out ${without === calls ? (calls === 1 ? 'the one call' : `all ${calls} calls`) : `${without} of ${calls} calls`}: ${without === 1 ? 'it' : 'they'} stated no token counts. ` +
    `An openai stream states its usage only with ${STREAM_USAGE_OPTION}, and OpenLLMetry's and OpenInference's instrumentations record none for a stream even then. ` +
    `A call recorded from its HTTP request alone (a client no instrumentation sees, such as an AI SDK provider without telemetry) has none either.`,
  latency: 'Latency p50 / p95 / max',
  model: 'Model',
  errorsByType: 'Errors by type',
  errorsByStatus: 'Errors by HTTP status',
  attempts: 'Attempts',
  byLayer: 'By layer',
  byType: 'By type',
  stage: 'Stage',
  name: 'Name',
  kind: 'Kind',
  outcome: 'Outcome',
  failures: 'Failures',
  age: 'Age (s)',
  time: 'Time',
  type: 'Type',
  level: 'Level',
  data: 'Data',
  error: 'Error',
  stream: 'Stream',
  llmCallsRunning: (count) => `+${count} still running at the end`,
  llmCallsNone: 'none recorded: a client no instrumentation here sees, such as an AI SDK provider without telemetry or the Bedrock client under init(), or a client on gRPC, is not counted',
  streamState: (first, quiet) =>
    first === undefined ? 'no chunk yet' : quiet === undefined ? `first chunk after ${first} s` : `first chunk after ${first} s, then nothing for ${quiet} s`,
  all: 'all',
  search: 'Search',
  shown: 'shown',
  eventsNote: (command) =>
    `The event list is not embedded in the report written when the process ends (that keeps shutdown fast). For the full, filterable list run: ${command}`,
  savedReportEventsNote: (command) => `A saved report holds no events. For the full, filterable list, run this on the run's log (its directory or execution_tracker.json): ${command}`,
  eventsTruncated: (shown, total) => `Showing the last ${shown} of ${total} events.`,
  moreRows: (count) => `… and ${count} more`,
  omittedSpans: (count) => `${count} more spans are not drawn (failed and unfinished ones are drawn first).`,
  clickForDetails: 'Click a row (or, in the list, pick it with the arrow keys and press Enter) for the whole event.',
  eventsNeedScript: "The filterable event list needs JavaScript, which this viewer does not run. Every event is in the run's log.",
  legend: { stage: 'stage', task: 'task', llm: 'LLM call', code_exec: 'code execution', autofix: 'autofix', error: 'failed', unfinished: 'unfinished', failure: 'failure event' },
  notRecorded: (original) => `not recorded in this report${original ? ' (written by the original reporter)' : ''}`,
  sectionNotRecorded: (original) => `Not recorded in this report${original ? ' (written by the original reporter)' : ''}.`,
};

const zhCN: ReportLabels = {
  timeline: '时间线',
  overview: '概览',
  run: '运行',
  started: '开始时间',
  duration: '时长',
  events: '事件',
  source: '来源',
  service: '服务',
  severity: '严重程度',
  pattern: '模式',
  description: '描述',
  suggestion: '建议',
  confidence: '置信度',
  evidence: '证据',
  firstSeen: '首次',
  lastSeen: '最后',
  examples: '示例',
  spanIds: '跨度 ID',
  evidenceSpan: {
    showEvents: '在事件列表中显示此跨度的事件',
    events: (count) => `列表中有 ${count} 个事件`,
    notListed: '不在事件列表中',
    olderThanList: (kept) => `不在事件列表中（列表只保留最后 ${kept} 个事件）`,
    bar: '时间线中的条形',
    noBar: '时间线中没有它单独的条形',
    filter: '跨度',
    showAll: '显示全部跨度',
  },
  noDiagnoses: '未找到根因：本次运行没有匹配任何诊断规则。',
  noDiagnosesWithFailures: (failures) => `未找到根因：本次运行有 ${failures} 个失败，但都没有匹配任何诊断规则。请查看下方的失败记录。`,
  noFailures: '没有记录到失败。',
  calls: '调用次数',
  llmCalls: 'LLM 调用',
  errors: '错误',
  inputTokens: '输入 token',
  outputTokens: '输出 token',
  tokenDetails: { cache_read_input_tokens: '缓存命中的输入 token', cache_creation_input_tokens: '写入缓存的输入 token', reasoning_tokens: '推理 token' },
  totalTokens: 'token 总数',
  retriedCalls: '重试过的调用',
  failedAttempts: (attempts) => `得到结果前失败了 ${attempts} 次`,
  callsWithoutTokens: '未给出 token 数的调用',
  callsNotCounted: (without, calls) => `${calls} 次调用中有 ${without} 次未计入`,
  tokensLeftOut: (without, calls) =>
    `token 总数未计入${without === calls ? (calls === 1 ? '这 1 次调用' : `全部 ${calls} 次调用`) : ` ${calls} 次调用中的 ${without} 次`}：${without === 1 ? '该调用' : '这些调用'}没有给出 token 数。openai 的流式调用只有设置 ${STREAM_USAGE_OPTION} 才会给出用量，而 OpenLLMetry 和 OpenInference 的插桩即使如此也不记录流式调用的用量。只从 HTTP 请求记录下来的调用（没有插桩能看到的客户端，例如未开启 telemetry 的 AI SDK provider）也没有 token 数。`,
  latency: '延迟 p50 / p95 / 最大',
  model: '模型',
  errorsByType: '按类型统计的错误',
  errorsByStatus: '按 HTTP 状态统计的错误',
  attempts: '尝试次数',
  byLayer: '按层级',
  byType: '按类型',
  stage: '阶段',
  name: '名称',
  kind: '种类',
  outcome: '结果',
  failures: '失败',
  age: '已运行（秒）',
  time: '时间',
  type: '类型',
  level: '级别',
  data: '数据',
  error: '错误',
  stream: '流式',
  llmCallsRunning: (count) => `另有 ${count} 次在结束时仍在进行`,
  llmCallsNone: '未记录到调用：没有插桩能看到的客户端（例如 init() 下未开启遥测的 AI SDK 提供方或 Bedrock 客户端，或走 gRPC 的客户端）的调用不会被计入',
  streamState: (first, quiet) =>
    first === undefined ? '尚无数据块' : quiet === undefined ? `首个数据块在 ${first} 秒后` : `首个数据块在 ${first} 秒后，此后 ${quiet} 秒无数据`,
  all: '全部',
  search: '搜索',
  shown: '条显示',
  eventsNote: (command) => `进程结束时写出的报告不包含事件列表（以保证退出迅速）。如需完整、可筛选的事件列表，请运行：${command}`,
  savedReportEventsNote: (command) => `保存的报告不包含事件。如需完整、可筛选的事件列表，请对本次运行的日志（其目录或 execution_tracker.json）运行：${command}`,
  eventsTruncated: (shown, total) => `共 ${total} 个事件，显示最后 ${shown} 个。`,
  moreRows: (count) => `……另有 ${count} 条`,
  omittedSpans: (count) => `另有 ${count} 个跨度未绘出（优先绘出失败和未结束的跨度）。`,
  clickForDetails: '点击一行（或在列表中用方向键选中后按回车）查看完整事件。',
  eventsNeedScript: '可筛选的事件列表需要 JavaScript，而当前查看器不运行脚本。全部事件都在本次运行的日志中。',
  legend: { stage: '阶段', task: '任务', llm: 'LLM 调用', code_exec: '代码执行', autofix: '自愈', error: '失败', unfinished: '未结束', failure: '失败事件' },
  notRecorded: (original) => `本报告未记录${original ? '（由原始报告器生成）' : ''}`,
  sectionNotRecorded: (original) => `本报告未记录此部分${original ? '（由原始报告器生成）' : ''}。`,
};

/**
 * Sections a saved report lacks. The report object holds zeros there (filled in so it can be
 * read); the Markdown and HTML say the section is not recorded instead of showing them.
 */
export interface MissingSections {
  sections: ReadonlyArray<keyof AutopsyReport>;
  /** Whether the report is the original (Python) reporter's, which writes none of the sections beyond the seed's. */
  originalReporter: boolean;
}

/** What a renderer shows for a section the report lacks. */
export interface NotRecorded {
  lacks(section: keyof AutopsyReport): boolean;
  /** For a value: "not recorded in this report (written by the original reporter)". */
  value: string;
  /** For a section's whole text. */
  section: string;
}

export function notRecorded(missing: MissingSections | undefined, labels: ReportLabels): NotRecorded {
  const sections = new Set(missing?.sections ?? []);
  const original = missing?.originalReporter ?? false;
  return { lacks: (section) => sections.has(section), value: labels.notRecorded(original), section: labels.sectionNotRecorded(original) };
}

export function labelsFor(locale: string | undefined): ReportLabels {
  return normalizeLocale(locale) === 'zh-CN' ? zhCN : en;
}

/** What the diagnoses section says when it has none: a run with failures must not read as clean. */
export function noDiagnosesNote(report: Pick<AutopsyReport, 'failure_analysis'>, labels: ReportLabels): string {
  const failures = report.failure_analysis.total_failures;
  return failures > 0 ? labels.noDiagnosesWithFailures(failures) : labels.noDiagnoses;
}
