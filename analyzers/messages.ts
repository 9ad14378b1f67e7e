import type { Locale } from '../src/types';

/**
 * Every sentence the reports show, in English and Simplified Chinese. Rule ids, categories and
 * field names never change with the locale; only these texts do.
 */
export interface MessageCatalog {
  frequentLlmErrors: { description: (count: number) => string; suggestion: string };
  stageFailures: { description: (stage: string, count: number) => string; suggestion: (stage: string) => string };
  frequentSyntaxErrors: { description: (count: number) => string; suggestion: string };
  apiManagement: { suggestion: string; details: string[] };
  codeGeneration: { suggestion: string; details: string[] };
  errorRecovery: { suggestion: string; details: string[] };
  unknownError: string;
  reportTitle: string;
  headings: Record<
    | 'summary'
    | 'diagnoses'
    | 'suggestions'
    | 'patterns'
    | 'failuresByType'
    | 'failuresByStage'
    | 'criticalFailures'
    | 'autofix'
    | 'llmUsage'
    | 'stages'
    | 'unfinished'
    | 'exit'
    | 'events',
    string
  >;
  labels: Record<
    | 'totalFailures'
    | 'autofixAttempts'
    | 'autofixSuccessRate'
    | 'mostCommonFailure'
    | 'mostProblematicStage'
    | 'generated'
    | 'none'
    | 'exitedHow'
    | 'successful'
    | 'failed',
    string
  >;
  exitReasons: Record<string, string>;
}

const en: MessageCatalog = {
  frequentLlmErrors: {
    description: (count) => `LLM calls failed ${count} times`,
    suggestion: 'Check the API key, network connectivity and rate limits',
  },
  stageFailures: {
    description: (stage, count) => `Stage ${stage} failed ${count} times`,
    suggestion: (stage) => `Review the code-generation logic of ${stage}`,
  },
  frequentSyntaxErrors: {
    description: (count) => `${count} syntax errors`,
    suggestion: 'Strengthen the syntax fixer',
  },
  apiManagement: {
    suggestion: 'Enforce stricter rate limiting on LLM calls',
    details: [
      'Wait longer between calls that share an API key',
      'Retry with exponential backoff and honour retry-after',
      'Spread the load over several API keys',
    ],
  },
  codeGeneration: {
    suggestion: 'Strengthen the syntax fixer',
    details: [
      'Add more syntax repair rules',
      'Parse generated code (AST check) before running it',
      'Let an LLM repair what the rules cannot',
    ],
  },
  errorRecovery: {
    suggestion: 'Improve the error-recovery mechanism',
    details: [
      'Add a deep (layer 3) repair step',
      'Diagnose the error more precisely before retrying',
      'Add more repair strategies',
    ],
  },
  unknownError: 'Unknown error',
  reportTitle: 'Agent autopsy',
  headings: {
    summary: 'Summary',
    diagnoses: 'Diagnoses',
    suggestions: 'Fix suggestions',
    patterns: 'Failure patterns',
    failuresByType: 'Failures by type',
    failuresByStage: 'Failures by stage',
    criticalFailures: 'Critical failures',
    autofix: 'Autofix statistics',
    llmUsage: 'LLM usage',
    stages: 'Stages',
    unfinished: 'Unfinished spans',
    exit: 'How the process ended',
    events: 'Events',
  },
  labels: {
    totalFailures: 'Total failures',
    autofixAttempts: 'Autofix attempts',
    autofixSuccessRate: 'Autofix success rate',
    mostCommonFailure: 'Most common failure',
    mostProblematicStage: 'Most problematic stage',
    generated: 'Generated',
    none: 'None',
    exitedHow: 'Ended',
    successful: 'successful',
    failed: 'failed',
  },
  exitReasons: {
    running: 'still running (report taken during the run)',
    normal: 'normally (event loop drained)',
    shutdown: 'by shutdown()',
    exit: 'by process.exit()',
    uncaught_exception: 'by an uncaught exception',
    unhandled_rejection: 'by an unhandled promise rejection',
    signal: 'by a signal',
    killed: 'killed or lost (no clean end recorded)',
    unknown: 'unknown',
  },
};

const zhCN: MessageCatalog = {
  frequentLlmErrors: {
    description: (count) => `LLM 调用共失败 ${count} 次`,
    suggestion: '请核对 API 密钥、网络连通性与速率限制',
  },
  stageFailures: {
    description: (stage, count) => `阶段 ${stage} 共失败 ${count} 次`,
    suggestion: (stage) => `请检查 ${stage} 阶段的代码生成逻辑`,
  },
  frequentSyntaxErrors: {
    description: (count) => `出现语法错误 ${count} 次`,
    suggestion: '加强语法修复器',
  },
  apiManagement: {
    suggestion: '对 LLM 调用实施更严格的速率限制',
    details: ['共用同一 API 密钥的调用之间等待更久', '采用指数退避重试，并遵循 retry-after', '将负载分散到多个 API 密钥'],
  },
  codeGeneration: {
    suggestion: '加强语法修复器',
    details: ['补充更多语法修复规则', '运行前先对生成的代码做 AST 校验', '规则无法修复时交给 LLM 修复'],
  },
  errorRecovery: {
    suggestion: '改进错误恢复机制',
    details: ['增加第 3 层深度修复', '重试前更准确地诊断错误', '增加更多修复策略'],
  },
  unknownError: '未知错误',
  reportTitle: '智能体尸检报告',
  headings: {
    summary: '摘要',
    diagnoses: '诊断',
    suggestions: '修复建议',
    patterns: '失败模式',
    failuresByType: '按类型统计的失败',
    failuresByStage: '按阶段统计的失败',
    criticalFailures: '关键失败',
    autofix: '自愈统计',
    llmUsage: 'LLM 用量',
    stages: '阶段',
    unfinished: '未结束的跨度',
    exit: '进程结束方式',
    events: '事件',
  },
  labels: {
    totalFailures: '失败总数',
    autofixAttempts: '自愈尝试次数',
    autofixSuccessRate: '自愈成功率',
    mostCommonFailure: '最常见的失败',
    mostProblematicStage: '问题最多的阶段',
    generated: '生成时间',
    none: '无',
    exitedHow: '结束方式',
    successful: '成功',
    failed: '失败',
  },
  exitReasons: {
    running: '仍在运行（运行期间生成的报告）',
    normal: '正常结束（事件循环已空）',
    shutdown: '调用 shutdown() 结束',
    exit: '调用 process.exit() 结束',
    uncaught_exception: '未捕获的异常',
    unhandled_rejection: '未处理的 Promise 拒绝',
    signal: '收到信号',
    killed: '被强制终止或丢失（没有记录到正常结束）',
    unknown: '未知',
  },
};

const catalogs: Record<Locale, MessageCatalog> = { en, 'zh-CN': zhCN };

export function messagesFor(locale: Locale | string | undefined): MessageCatalog {
  return catalogs[normalizeLocale(locale)];
}

export function normalizeLocale(locale: string | undefined): Locale {
  if (!locale) return 'en';
  const lower = locale.toLowerCase().replace('_', '-');
  return lower === 'zh' || lower.startsWith('zh-cn') || lower.startsWith('zh-hans') || lower === 'zh-sg' ? 'zh-CN' : 'en';
}
