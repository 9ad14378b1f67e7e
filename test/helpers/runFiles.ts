import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AutopsyReport } from '../../analyzers/reportTypes';
import type { TruthEvent } from '../../src/types';

export function logPath(runDir: string, file: string): string {
  return join(runDir, 'Memory', 'logs', file);
}

/** execution_tracker.json parsed as one JSON document (fails if it is not complete). */
export function readTrackerDocument(runDir: string): { start_time: string; events: TruthEvent[]; total_events: number } {
  return JSON.parse(readFileSync(logPath(runDir, 'execution_tracker.json'), 'utf8'));
}

export function readReadableLines(runDir: string): string[] {
  return readFileSync(logPath(runDir, 'execution_tracker_readable.txt'), 'utf8').split('\n').filter((line) => line !== '');
}

export function readReport(runDir: string): AutopsyReport {
  return JSON.parse(readFileSync(logPath(runDir, 'latent_analysis_report.json'), 'utf8'));
}

export function readAutofixLog(runDir: string): Record<string, unknown> {
  return JSON.parse(readFileSync(logPath(runDir, 'autofix_log.json'), 'utf8'));
}
