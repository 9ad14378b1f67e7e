/** Top-level keys only a report has (every one but "timestamp", which an event starts with too). */
const REPORT_KEYS = new Set(['failure_analysis', 'autofix_statistics', 'fix_suggestions', 'summary', 'diagnoses', 'llm_usage', 'stages', 'unfinished', 'exit', 'run']);

/** Top-level keys of the logs read here: Truth-Mode and the Python tracker's, and OTLP JSON. */
const LOG_KEYS = new Set(['start_time', 'events', 'total_events', 'resourceSpans']);

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
 * Whether a file is a saved report rather than a log, from its head (LogFile.head(), the first
 * 64 KiB): the first of its top-level keys that only one of them has decides, whatever the key
 * order (a report re-saved with sorted keys, the seed's own order) and after a UTF-8 BOM.
 */
export function startsLikeReport(head: string): boolean {
  // A character cut at the end of the head only ends the scan early.
  for (const key of topLevelKeys(head)) {
    if (REPORT_KEYS.has(key)) return true;
    if (LOG_KEYS.has(key)) return false;
  }
  return false;
}
