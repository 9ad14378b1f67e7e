import { writeSync } from 'node:fs';
import { diag } from '@opentelemetry/api';
import { redactString } from './redact';

/**
 * Where this library's own failures go. They never reach the agent: by default each distinct
 * problem is printed once on stderr (a full disk should not print a line per event) and sent to
 * OpenTelemetry's `diag`. Replace the handler with `setErrorHandler` (tests, custom logging).
 */
export type ErrorHandler = (error: unknown, context: string) => void;

const reported = new Set<string>();

function describe(error: unknown): string {
  try {
    // An export or I/O error may quote a URL with credentials or a header.
    return redactString(error instanceof Error ? error.message : String(error));
  } catch {
    return 'unknown error';
  }
}

/**
 * Writes this library's line to stderr synchronously, with any failure thrown here and caught.
 * Not `process.stderr.write`: when the reader of stderr is gone (`node app 2>&1 | head`) the stream
 * reports EPIPE later, as an 'error' event, and with no listener that crashes the app.
 */
export function writeStderr(text: string): void {
  try {
    writeSync(2, text);
  } catch {
    // stderr itself is gone or full; nothing else to tell.
  }
}

/** Prints `line` once per `key` (every call still reaches diag). */
function printOnce(key: string, line: string): void {
  const first = !reported.has(key);
  if (first) {
    reported.add(key);
    writeStderr(`${line}\n`);
  }
  try {
    if (first) diag.warn(line);
    else diag.debug(line);
  } catch {
    /* a user's diag logger threw */
  }
}

export const defaultErrorHandler: ErrorHandler = (error, context) => {
  const code = (error as { code?: string } | null)?.code;
  const message = describe(error);
  const io = ioProblems.get(error as object);
  if (io) {
    // A directory that could not be made holds nothing at all: "incomplete" would send the user looking for it.
    const outcome = io.nothingWritten ? `no log or autopsy can be written in ${io.dir}` : `the autopsy in ${io.dir} will be incomplete`;
    printOnce(`io\u0000${io.dir}`, `agent-autopsy: ${context}: ${message} (the agent keeps running; ${outcome})`);
    return;
  }
  if (exportProblems.has(error as object)) {
    printOnce(`${context}\u0000${code ?? message}`, `agent-autopsy: ${context}: ${message} (the agent keeps running; the local autopsy is complete, these spans are not sent)`);
    return;
  }
  printOnce(`${context}\u0000${code ?? message}`, `agent-autopsy: ${context}: ${message} (the agent keeps running; this part of the autopsy may be incomplete)`);
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

/** File-system failures, by the directory they happened in. */
const ioProblems = new WeakMap<object, { dir: string; nothingWritten: boolean }>();

/**
 * Reports a failed file-system operation in directory `dir` (`context` says which, e.g.
 * `cannot write <file>`). One directory, one line: a full disk or a deleted run directory makes
 * every file there fail (logs, report, autofix log), and the user needs to hear it once.
 */
export function reportIoError(error: unknown, context: string, dir: string, nothingWritten = false): void {
  const problem = error !== null && typeof error === 'object' ? error : new Error(describe(error));
  ioProblems.set(problem, { dir, nothingWritten });
  reportError(problem, context);
}

/** Export failures: the spans did not reach the collector, the local files are not affected. */
const exportProblems = new WeakSet<object>();

/** Reports a failed span export (`context` names the endpoint); the local autopsy is unaffected. */
export function reportExportError(error: unknown, context: string): void {
  const problem = error !== null && typeof error === 'object' ? error : new Error(describe(error));
  exportProblems.add(problem);
  reportError(problem, context);
}
