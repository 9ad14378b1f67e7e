import { randomBytes } from 'node:crypto';
import type { CriticalFailureList } from '../analyzers/CriticalFailureList';
import type { AutopsyReport } from '../analyzers/reportTypes';
import { writeFileAtomic, writeFileAtomicWith } from './atomicWrite';
import { renderHtmlReport } from './htmlReport';
import { renderMarkdownReport } from './markdownReport';
import { basename } from 'node:path';
import type { RunPaths } from './paths';

/** latent_analysis_report.json as the seed writes it: 2-space indent, non-ASCII kept as is. */
export function renderJsonReport(report: AutopsyReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/**
 * renderJsonReport's text, piece by piece, with failure_analysis.critical_failures taken from
 * `criticalFailures` (every entry, also those in its temporary file) instead of the report object:
 * a run with a million critical failures is written without holding them in memory. `write`
 * must use (or copy) each byte chunk before it returns: the buffer is reused.
 */
export function writeJsonReport(report: AutopsyReport, criticalFailures: CriticalFailureList, write: (chunk: string | Uint8Array) => void): void {
  // A string no event can hold (NUL bytes and a random tag) marks where the list goes.
  const marker = `\u0000critical_failures ${randomBytes(8).toString('hex')}\u0000`;
  const text = renderJsonReport({ ...report, failure_analysis: { ...report.failure_analysis, critical_failures: marker as never } });
  const quoted = JSON.stringify(marker);
  const at = text.indexOf(quoted);
  if (at === -1) throw new Error('agent-autopsy: the JSON report lost its critical_failures marker');
  write(text.slice(0, at));
  criticalFailures.writeJsonArray(write);
  write(text.slice(at + quoted.length));
}

/**
 * Writes the JSON report and the requested human formats next to the logs. With
 * `criticalFailures`, the JSON report lists every entry from it (the report object may hold only
 * the first ones: the human formats show no more than those).
 */
export function writeReportFiles(report: AutopsyReport, paths: RunPaths, formats: ReadonlyArray<'md' | 'html'>, criticalFailures?: CriticalFailureList): void {
  if (criticalFailures) writeFileAtomicWith(paths.reportJson, (write) => writeJsonReport(report, criticalFailures, write));
  else writeFileAtomic(paths.reportJson, renderJsonReport(report));
  if (formats.includes('md')) writeFileAtomic(paths.reportMd, renderMarkdownReport(report));
  if (formats.includes('html')) writeFileAtomic(paths.reportHtml, renderHtmlReport(report));
}

/**
 * The line `printReportPath` (AGENT_AUTOPSY_PRINT) prints: the file a person opens first
 * (autopsy.md, else autopsy.html, else the JSON), by its full path, and the others written beside it.
 */
export function reportWrittenLine(paths: RunPaths, formats: ReadonlyArray<'md' | 'html'>): string {
  const files = [...(formats.includes('md') ? [paths.reportMd] : []), ...(formats.includes('html') ? [paths.reportHtml] : []), paths.reportJson];
  const beside = files.slice(1).map((file) => basename(file));
  return `agent-autopsy: report written to ${files[0]}${beside.length > 0 ? ` (${beside.join(' and ')} beside it)` : ''}\n`;
}
