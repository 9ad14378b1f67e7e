import { resolve } from 'node:path';
import { analyzeRunSync } from '../analyzers/readRun';
import type { AutopsyReport } from '../analyzers/reportTypes';
import type { DiagnosisRule } from '../analyzers/diagnosisTypes';
import { runPaths } from '../exporters/paths';
import { writeReportFiles } from '../exporters/writeReportFiles';
import { findRun } from './runtime';
import type { Locale } from './types';

export interface LatentReporterOptions {
  locale?: Locale;
  rules?: DiagnosisRule[];
  /** Human formats written next to the JSON report (default md and html). */
  formats?: Array<'md' | 'html'>;
}

/**
 * Drop-in port of the original Python `LatentReporter`: `generateReport()` analyses a run
 * directory and writes Memory/logs/latent_analysis_report.json (plus autopsy.md/.html). It reads
 * directories written by this library (complete or torn) and by the original Python tracker.
 * For a run still recording in this process, the report comes from the live streaming analysis.
 */
export class LatentReporter {
  readonly outputDir: string;
  readonly logDir: string;
  readonly reportPath: string;

  constructor(
    outputDir: string,
    private readonly options: LatentReporterOptions = {},
  ) {
    this.outputDir = resolve(outputDir);
    const paths = runPaths(this.outputDir);
    this.logDir = paths.logDir;
    this.reportPath = paths.reportJson;
  }

  generateReport(): AutopsyReport {
    const live = findRun(this.outputDir);
    let report: AutopsyReport;
    if (live) {
      // Its files are written beside its logs: a zero-code run opens its directory now, if not yet.
      live.claimDirectory();
      live.flush();
      report = live.snapshotReport();
    } else {
      report = analyzeRunSync(this.outputDir, { locale: this.options.locale, rules: this.options.rules }).report;
    }
    // A live run may record elsewhere (`<outputDir>/processes/<pid>` when outputDir was in use).
    writeReportFiles(report, live ? live.paths : runPaths(this.outputDir), this.options.formats ?? ['md', 'html']);
    return report;
  }
}
