import { emptyAutofixStats } from '../../analyzers/autofixStats';
import type { DiagnosisContext } from '../../analyzers/diagnosisTypes';
import { messagesFor } from '../../analyzers/messages';

/** What the engine is told at the end of a run: a normal exit an hour after `t0`, English, nothing else. */
export function diagnosisContext(t0: number, overrides: Partial<DiagnosisContext> = {}): DiagnosisContext {
  return {
    exit: { reason: 'normal', exit_code: 0, signal: null, at: null },
    unfinished: [],
    stages: [],
    autofix: emptyAutofixStats(),
    messages: messagesFor('en'),
    locale: 'en',
    now: t0 + 3_600_000,
    ...overrides,
  };
}
