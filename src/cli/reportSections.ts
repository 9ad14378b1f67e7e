/**
 * The report's sections beyond failure_analysis and summary. The seed reporter wrote none of them
 * but autofix_statistics; a saved report without one cannot be compared on it.
 */
export const OPTIONAL_REPORT_SECTIONS = ['diagnoses', 'llm_usage', 'autofix_statistics', 'stages', 'unfinished', 'exit', 'run'] as const;

export type ReportSection = (typeof OPTIONAL_REPORT_SECTIONS)[number];

/** The optional sections a saved report's JSON object lacks (a null one counts as lacking). */
export function missingReportSections(raw: Record<string, unknown>): ReportSection[] {
  return OPTIONAL_REPORT_SECTIONS.filter((section) => raw[section] === undefined || raw[section] === null);
}

/** The sections the original (Python) reporter never wrote: it wrote autofix_statistics, but none of these. */
const BEYOND_THE_SEED: readonly ReportSection[] = ['diagnoses', 'llm_usage', 'stages', 'unfinished', 'exit', 'run'];

/** Whether a saved report lacking these sections is the original reporter's: it lacks every section that reporter never wrote. */
export function writtenByOriginalReporter(missing: readonly ReportSection[]): boolean {
  return BEYOND_THE_SEED.every((section) => missing.includes(section));
}
