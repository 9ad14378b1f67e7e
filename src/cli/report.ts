import { closeSync, openSync } from 'node:fs';
import { writeTextSync } from '../../exporters/atomicWrite';
import { HtmlEventCollector } from '../../exporters/HtmlEventCollector';
import { renderHtmlReport } from '../../exporters/htmlReport';
import { renderMarkdownReport } from '../../exporters/markdownReport';
import { renderJsonReport, writeJsonReport } from '../../exporters/writeReportFiles';
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
  // The report object keeps the first critical failures; the JSON text streams every one.
  const { report, analyzed } = await loadRun(input, {
    locale: options.locale,
    progress: options.progress,
    criticalFailures: 'first',
    onEvent: collector ? (event) => collector.observe(event) : undefined,
  });
  const criticalFailures = analyzed?.criticalFailures;
  try {
    const write: TextWriter = options.out ? fileWriter(options.out) : (chunk: string | Uint8Array) => void process.stdout.write(typeof chunk === 'string' ? chunk : Buffer.from(chunk)); // stdout may write later: bytes are copied
    try {
      if (options.format === 'json') {
        if (criticalFailures) writeJsonReport(report, criticalFailures, write);
        else write(renderJsonReport(report));
      } else {
        write(options.format === 'md' ? renderMarkdownReport(report) : renderHtmlReport(report, collector && collector.total > 0 ? { events: collector } : {}));
      }
    } finally {
      write.close?.();
    }
  } finally {
    criticalFailures?.dispose();
  }
  return options.failOnFailures && report.summary.total_failures > 0 ? EXIT_RUN_FAILED : EXIT_OK;
}

type TextWriter = ((chunk: string | Uint8Array) => void) & { close?: () => void };

/** Writes text to a new file (mode 0600) in pieces, as they come. */
function fileWriter(path: string): TextWriter {
  const fd = openSync(path, 'w', 0o600);
  return Object.assign((chunk: string | Uint8Array) => writeTextSync(fd, chunk), { close: () => closeSync(fd) });
}
