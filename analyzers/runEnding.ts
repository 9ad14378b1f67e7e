import type { ExitInfo } from './reportTypes';

const CRASH_REASONS: ReadonlySet<ExitInfo['reason']> = new Set<ExitInfo['reason']>(['uncaught_exception', 'unhandled_rejection', 'signal', 'killed']);

/**
 * How a run's end counts against it: `crash` when the process ended by an uncaught exception, an
 * unhandled rejection, a signal or a kill; `exit_code` when it exited (or drained) with a non-zero
 * code; undefined for a clean end, a run still going and an end the input does not record.
 * The `crash` diagnosis and `report --fail-on-failures` both judge by it.
 */
export function failedEnding(exit: Pick<ExitInfo, 'reason' | 'exit_code'>): 'crash' | 'exit_code' | undefined {
  if (CRASH_REASONS.has(exit.reason)) return 'crash';
  if ((exit.reason === 'exit' || exit.reason === 'normal') && typeof exit.exit_code === 'number' && exit.exit_code !== 0) return 'exit_code';
  return undefined;
}

/**
 * The process was ended from outside: by a signal, by a kill, or by the app's own handler of a
 * signal that then exited (`process.exit()` in a SIGTERM handler, or a loop it let drain) or
 * crashed (its graceful shutdown threw): the report's `exit.signal` names a signal the app took.
 * Work still open then was stopped, not left.
 */
export function endedFromOutside(exit: Pick<ExitInfo, 'reason' | 'signal'>): boolean {
  if (exit.reason === 'signal' || exit.reason === 'killed') return true;
  const afterSignal = exit.reason === 'exit' || exit.reason === 'normal' || exit.reason === 'uncaught_exception' || exit.reason === 'unhandled_rejection';
  return afterSignal && typeof exit.signal === 'string' && exit.signal !== '';
}
