import { diag } from '@opentelemetry/api';

/**
 * Where this library's own failures go. They never reach the agent: by default each distinct
 * problem is printed once on stderr (a full disk should not print a line per event) and sent to
 * OpenTelemetry's `diag`. Replace the handler with `setErrorHandler` (tests, custom logging).
 */
export type ErrorHandler = (error: unknown, context: string) => void;

const reported = new Set<string>();

export const defaultErrorHandler: ErrorHandler = (error, context) => {
  const code = (error as { code?: string } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const key = `${context}\u0000${code ?? message}`;
  if (reported.has(key)) return;
  reported.add(key);
  const line = `agent-autopsy: ${context}: ${message} (the agent keeps running; this part of the autopsy may be incomplete)\n`;
  try {
    process.stderr.write(line);
  } catch {
    // stderr itself may be gone (EPIPE); nothing else to tell.
  }
  try {
    diag.warn(line.trim());
  } catch {
    /* a user's diag logger threw */
  }
};

let handler: ErrorHandler = defaultErrorHandler;

export function setErrorHandler(next: ErrorHandler | undefined): void {
  handler = next ?? defaultErrorHandler;
}

/** Reports an internal failure; never throws. */
export function reportError(error: unknown, context: string): void {
  try {
    handler(error, context);
  } catch {
    /* a custom handler threw: ignore rather than break the host */
  }
}
