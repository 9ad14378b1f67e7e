import type { TruthEvent } from '../src/types';
import { eventKind, type EventKind } from './eventKind';
import { stageKey } from './FailureAggregate';

/**
 * Reading the error an event reports: from span-derived fields (`data.error`, `data.error_type`,
 * `data.http_status`, `data.stderr_tail`) and seed-style strings (`data.error`, `data.traceback`).
 */

/** What is known about one error. */
export interface ErrorFacts {
  /** The event type; code_exec_* and syntax_error events are judged as generated-code errors. */
  eventType?: string;
  /** Error class name or code: 'RateLimitError', 'openai.APITimeoutError', 'server_error', '429'. */
  errorType?: string;
  /** HTTP status, when known. */
  status?: number;
  message: string;
  /** More text to search: the stderr tail of a code execution, a traceback. */
  detail?: string;
}

/** The text of an event's error (`data.error`, or its `message` when it is an object). */
export function eventErrorText(event: TruthEvent): string {
  const error = event.data?.error;
  if (error === undefined || error === null) return '';
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
    return (error as { message: string }).message;
  }
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

/**
 * An event that reports an error: level ERROR, an `*_error` type, a warning that carries an
 * error, or a code execution that ended with a non-zero exit code.
 */
export function isErrorEvent(event: TruthEvent, kind: EventKind = eventKind(event.type)): boolean {
  const level = event.level;
  if (level === 'ERROR' || kind.error) return true;
  if (level === 'WARNING') {
    const error = event.data?.error;
    if (error !== undefined && error !== null) return true;
  }
  if (event.type !== 'code_exec_end') return false;
  const exitCode = event.data?.exit_code;
  return typeof exitCode === 'number' && exitCode !== 0;
}

/** The facts of an event's error. */
export function errorFactsOf(event: TruthEvent): ErrorFacts {
  const data = event.data ?? {};
  const facts: ErrorFacts = { eventType: event.type, message: eventErrorText(event) };
  const type = data.error_type ?? data.exception_type ?? field(data.error, 'type') ?? field(data.error, 'name');
  if (type !== undefined && type !== null && type !== '') facts.errorType = String(type);
  const status = Number(data.http_status ?? data.status_code ?? field(data.error, 'status'));
  if (Number.isInteger(status) && status >= 100 && status < 600) facts.status = status;
  let detail: string | undefined;
  for (const value of [data.stderr_tail, data.stderr, data.traceback]) {
    if (typeof value === 'string' && value !== '') detail = detail === undefined ? value : `${detail}\n${value}`;
  }
  if (detail !== undefined) facts.detail = detail;
  return facts;
}

/** All the text a rule may match: message, error type, HTTP status, stderr tail. */
export function errorSearchText(facts: ErrorFacts): string {
  return [facts.message, facts.errorType, facts.status, facts.detail].filter((part) => part !== undefined && part !== '').join('\n');
}

function field(error: unknown, name: string): unknown {
  return error && typeof error === 'object' ? (error as Record<string, unknown>)[name] : undefined;
}

export function firstLine(text: string): string {
  if (!text.includes('\n')) return text.trim();
  for (const line of text.split('\n')) if (line.trim() !== '') return line.trim();
  return '';
}

/**
 * A message on one line: its lines up to the first stack frame (`at fn (file:1:2)`, `File "x.py",
 * line 3`), joined with spaces. A message can hold a newline of its own (JSON.parse quotes the
 * text it rejected); its first line alone would cut off what the error says.
 */
export function messageText(text: string): string {
  if (!text.includes('\n')) return text.trim();
  const lines: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (/^at\s|^File "/.test(line)) break;
    if (line !== '') lines.push(line);
  }
  return lines.join(' ');
}

/** The line of a traceback or stderr that names the error (the last `Name: message` line), or ''. */
export function lastErrorLine(text: string): string {
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i].trim();
    if (/^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)\b/.test(line)) return line;
  }
  return '';
}

/** One line that says what went wrong: a message's first line, or a traceback's last error line. */
export function errorSummary(facts: ErrorFacts): string {
  const message = facts.message.includes('Traceback (most recent call last)') ? lastErrorLine(facts.message) || firstLine(facts.message) : messageText(facts.message);
  const fromDetail = facts.detail ? lastErrorLine(facts.detail) : '';
  if (fromDetail && !message.includes(fromDetail)) return message ? `${message} | ${fromDetail}` : fromDetail;
  return message || (facts.detail ? firstLine(facts.detail) : '') || (facts.errorType ?? '');
}

/** `llm_call_error (stage3): 429 Rate limit reached …` — an evidence example. */
export function eventExample(event: TruthEvent, facts: ErrorFacts = errorFactsOf(event)): string {
  const summary = errorSummary(facts);
  return `${event.type} (${stageKey(event.data)})${summary ? `: ${summary}` : ''}`;
}
