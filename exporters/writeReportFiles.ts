import type { AutopsyReport } from '../analyzers/reportTypes';
import { writeFileAtomic } from './atomicWrite';
import { renderHtmlReport } from './htmlReport';
import { renderMarkdownReport } from './markdownReport';
import type { RunPaths } from './paths';

/** latent_analysis_report.json as the seed writes it: 2-space indent, non-ASCII kept as is. */
export function renderJsonReport(report: AutopsyReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** Writes the JSON report and the requested human formats next to the logs. */
export function writeReportFiles(report: AutopsyReport, paths: RunPaths, formats: ReadonlyArray<'md' | 'html'>): void {
  writeFileAtomic(paths.reportJson, renderJsonReport(report));
  if (formats.includes('md')) writeFileAtomic(paths.reportMd, renderMarkdownReport(report));
  if (formats.includes('html')) writeFileAtomic(paths.reportHtml, renderHtmlReport(report));
}
