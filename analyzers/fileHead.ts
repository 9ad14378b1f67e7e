import { closeSync, openSync, readSync, statSync } from 'node:fs';

/**
 * The first `bytes` bytes of a regular file as UTF-8 text (a character cut at the end is replaced),
 * or undefined when `path` is no regular file or cannot be read: enough to tell what kind of file
 * it is without reading a 300 MB log whole.
 */
export function readFileHead(path: string, bytes: number): string | undefined {
  let fd: number | undefined;
  try {
    if (!statSync(path).isFile()) return undefined;
    fd = openSync(path, 'r');
    const buffer = Buffer.alloc(bytes);
    const n = readSync(fd, buffer, 0, bytes, 0);
    return buffer.subarray(0, n).toString('utf8');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Top-level keys that tell the JSON inputs apart, each of one kind only: a saved report (every key
 * of one but "timestamp", which an event starts with too), a Truth-Mode or Python tracker log, and
 * an OTLP JSON trace export (an ExportTraceServiceRequest, in the JSON or the proto field name).
 */
const KEY_KINDS: ReadonlyMap<string, HeadKind> = new Map([
  ...['failure_analysis', 'autofix_statistics', 'fix_suggestions', 'summary', 'diagnoses', 'llm_usage', 'stages', 'unfinished', 'exit', 'run'].map((key) => [key, 'report'] as const),
  ...['start_time', 'events', 'total_events'].map((key) => [key, 'log'] as const),
  ...['resourceSpans', 'resource_spans'].map((key) => [key, 'otlp-json'] as const),
]);

export type HeadKind = 'report' | 'log' | 'otlp-json';

const isSpace = (c: string | undefined) => c === ' ' || c === '\n' || c === '\r' || c === '\t';

/** Index just after the JSON string that starts at `i` (a quote), or -1 when the text ends first. */
function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '"') return j + 1;
  }
  return -1;
}

/** Index just after the JSON value that starts at `i`, or -1 when the text ends first. */
function valueEnd(text: string, i: number): number {
  while (isSpace(text[i])) i++;
  if (text[i] === '"') return stringEnd(text, i);
  if (text[i] === '{' || text[i] === '[') {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const c = text[j];
      if (c === '"') {
        j = stringEnd(text, j) - 1;
        if (j < 0) return -1;
      } else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return -1;
  }
  // A number, true, false or null.
  let j = i;
  while (j < text.length && text[j] !== ',' && text[j] !== '}' && !isSpace(text[j])) j++;
  return j < text.length ? j : -1;
}

/** The keys of the JSON object `text` starts with, in order, as far as `text` goes (values are skipped, not parsed). */
export function* topLevelKeys(text: string): Generator<string> {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (isSpace(text[i])) i++;
  if (text[i] !== '{') return;
  i++;
  for (;;) {
    while (isSpace(text[i])) i++;
    if (text[i] !== '"') return;
    const end = stringEnd(text, i);
    if (end < 0) return;
    let key: unknown;
    try {
      key = JSON.parse(text.slice(i, end));
    } catch {
      return;
    }
    yield String(key);
    i = end;
    while (isSpace(text[i])) i++;
    if (text[i] !== ':') return;
    i = valueEnd(text, i + 1);
    if (i < 0) return;
    while (isSpace(text[i])) i++;
    if (text[i] !== ',') return;
    i++;
  }
}

/**
 * What a file's head (LogFile.head(), its first 64 KiB) starts: the first of its top-level keys that
 * only one kind of input has decides, whatever the key order (`{"schemaUrl": …, "resourceSpans": …}`,
 * keys sorted by jq, a report re-saved) and after a UTF-8 BOM. Values are skipped, not parsed, so a
 * long `resourceSpans` array is no matter; the keys before the deciding one must be in the head.
 * Undefined when none is there (not JSON, an object of other keys, or cut off first).
 */
export function headKind(head: string): HeadKind | undefined {
  // A character cut at the end of the head only ends the scan early.
  for (const key of topLevelKeys(head)) {
    const kind = KEY_KINDS.get(key);
    if (kind !== undefined) return kind;
  }
  return undefined;
}
