import { join } from 'node:path';

/** File names of a run directory; they are the contract with the original Python tools. */
export const LOGS_SUBDIR = join('Memory', 'logs');
export const TRACKER_JSON = 'execution_tracker.json';
export const READABLE_LOG = 'execution_tracker_readable.txt';
export const AUTOFIX_LOG = 'autofix_log.json';
export const REPORT_JSON = 'latent_analysis_report.json';
export const REPORT_MD = 'autopsy.md';
export const REPORT_HTML = 'autopsy.html';
/** Present while a process records into the directory (see runLock.ts). */
export const LOCK_FILE = '.agent-autopsy.lock';
/** A process that finds its run directory in use by another live process records in `processes/<pid>` inside it. */
export const PROCESSES_SUBDIR = 'processes';

export interface RunPaths {
  outputDir: string;
  logDir: string;
  trackerJson: string;
  readableLog: string;
  autofixLog: string;
  reportJson: string;
  reportMd: string;
  reportHtml: string;
  lockFile: string;
}

export function runPaths(outputDir: string): RunPaths {
  const logDir = join(outputDir, LOGS_SUBDIR);
  return {
    outputDir,
    logDir,
    trackerJson: join(logDir, TRACKER_JSON),
    readableLog: join(logDir, READABLE_LOG),
    autofixLog: join(logDir, AUTOFIX_LOG),
    reportJson: join(logDir, REPORT_JSON),
    reportMd: join(logDir, REPORT_MD),
    reportHtml: join(logDir, REPORT_HTML),
    lockFile: join(logDir, LOCK_FILE),
  };
}
