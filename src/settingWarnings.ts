import { diag } from '@opentelemetry/api';
import { writeStderr } from './errorHandler';

/**
 * A setting that cannot be honoured (an init() option, an option of an exported class) is named
 * on stderr, and the caller goes on with the default: nothing here throws into the app.
 */
export function warnAboutSetting(message: string): void {
  writeStderr(`agent-autopsy: ${message}\n`);
  try {
    diag.warn(message);
  } catch {
    /* a user's diag logger threw */
  }
}

/** A value as a warning quotes it: short, and never by running the app's code. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)} (a string)`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value === undefined) return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
