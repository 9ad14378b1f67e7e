import { messagesFor } from '../../analyzers/messages';
import type { AutopsyReport } from '../../analyzers/reportTypes';
import { failedEnding } from '../../analyzers/runEnding';
import type { ReportSection } from './reportSections';

/**
 * Why `report --fail-on-failures` fails the run, one phrase per reason (none: it passes): it had
 * failures (ERROR events), or the process did not end cleanly (a crash, a signal, a kill, a
 * non-zero exit code: what the `crash` diagnosis is about). A killed run writes no ERROR event,
 * and a CI gate must not pass it. A saved report without an `exit` section is judged on failures.
 */
export function whyTheRunFailed(report: AutopsyReport, missingSections: readonly ReportSection[]): string[] {
  const reasons: string[] = [];
  const failures = report.summary.total_failures;
  if (failures > 0) reasons.push(failures === 1 ? '1 failure' : `${failures} failures`);
  const exit = missingSections.includes('exit') ? undefined : (report.exit as AutopsyReport['exit'] | null | undefined);
  if (exit === null || typeof exit !== 'object') return reasons;
  const ending = failedEnding(exit);
  if (ending === 'crash') {
    const how = messagesFor('en').exitReasons[exit.reason] ?? exit.reason;
    reasons.push(`the process ended ${how}${typeof exit.signal === 'string' && exit.signal !== '' ? ` (${exit.signal})` : ''}`);
  } else if (ending === 'exit_code') {
    reasons.push(`the process exited with code ${exit.exit_code}`);
  }
  return reasons;
}
