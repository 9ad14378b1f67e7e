import { statedFailedAttempts } from '../src/nestedLlm';
import type { EventData } from '../src/types';

/**
 * LLM calls and the attempts their client had already made, and seen fail, before each outcome
 * the agent got (`data.failed_attempts`: the SDK's own retries, an AI SDK call's failed attempts,
 * or what the app reported). The calls stay counted once each: these are the requests behind them.
 */
export class RetryTally {
  /** Calls counted. */
  calls = 0;
  /** Of them, those that had been retried. */
  retried = 0;
  /** Their failed attempts, added up. */
  attempts = 0;
  /** The fewest and most failed attempts of one retried call. */
  fewest = 0;
  most = 0;

  add(failedAttempts: number): void {
    this.calls++;
    if (failedAttempts <= 0) return;
    this.retried++;
    this.attempts += failedAttempts;
    this.fewest = this.retried === 1 ? failedAttempts : Math.min(this.fewest, failedAttempts);
    this.most = Math.max(this.most, failedAttempts);
  }

  /** The HTTP requests behind the calls: each call's last attempt and the failed ones counted before it (a lower bound where some calls state none). */
  get requests(): number {
    return this.calls + this.attempts;
  }

  /** At least half of the calls had been retried already: more retrying is not what is missing. */
  get mostlyRetried(): boolean {
    return this.retried > 0 && this.retried * 2 >= this.calls;
  }
}

/** An event's `failed_attempts` when it states one (the rule the recording side uses), else 0. */
export function failedAttemptsOf(data: EventData | undefined): number {
  return (data && statedFailedAttempts(data)) ?? 0;
}
