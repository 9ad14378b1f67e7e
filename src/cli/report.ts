import { writeFileSync } from 'node:fs';
import { HtmlEventCollector } from '../../exporters/HtmlEventCollector';
import { renderHtmlReport } from '../../exporters/htmlReport';
import { renderMarkdownReport } from '../../exporters/markdownReport';
import { renderJsonReport } from '../../exporters/writeReportFiles';
import { EXIT_OK, EXIT_RUN_FAILED } from './exitCodes';
import { loadRun } from './loadRun';

export type ReportFormat = 'json' | 'md' | 'html';

export interface ReportCommandOptions {
  format: ReportFormat;
  out?: string;
  locale?: string;
  failOnFailures?: boolean;
  progress?: boolean;
  /** Events listed in the HTML report (the most recent ones beyond this). */
  maxEvents?: number;
}

/** `agent-autopsy report <run>`: rebuilds the autopsy from disk in the asked format. */
export async function reportCommand(input: string, options: ReportCommandOptions): Promise<number> {
  const collector = options.format === 'html' ? new HtmlEventCollector({ maxEvents: options.maxEvents }) : undefined;
  const { report } = await loadRun(input, {
    locale: options.locale,
    progress: options.progress,
    onEvent: collector ? (event) => collector.observe(event) : undefined,
  });
  const text =
    options.format === 'json'
      ? renderJsonReport(report)
      : options.format === 'md'
        ? renderMarkdownReport(report)
        : renderHtmlReport(report, collector && collector.total > 0 ? { events: collector } : {});
  if (options.out) writeFileSync(options.out, text, { mode: 0o600 });
  else process.stdout.write(text);
  return options.failOnFailures && report.summary.total_failures > 0 ? EXIT_RUN_FAILED : EXIT_OK;
}
