/**
 * Renders plain data the way Python's `repr()` shows a dict, which is what the original tracker
 * wrote into execution_tracker_readable.txt: `{'stage': 'stage1', 'ok': True, 'x': None}`.
 * Input is already JSON-safe (see src/safeValue); control characters are escaped so one event
 * is always one line.
 */
export function pythonRepr(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return reprString(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : value > 0 ? 'inf' : value < 0 ? '-inf' : 'nan';
    case 'boolean':
      return value ? 'True' : 'False';
    case 'bigint':
      return value.toString();
    case 'undefined':
      return 'None';
    case 'object': {
      if (value === null) return 'None';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i ? ', ' : '') + pythonRepr(value[i]);
        return `${out}]`;
      }
      let out = '{';
      let first = true;
      for (const key in value) {
        out += `${first ? '' : ', '}${reprString(key)}: ${pythonRepr((value as Record<string, unknown>)[key])}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      return reprString(String(value));
  }
}

// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[\\\x00-\x1f\x7f'"\u2028\u2029]/;

/** A string as Python's `repr()` writes it (the quote it picks, escapes). */
export function reprString(text: string): string {
  if (!NEEDS_ESCAPE.test(text)) return `'${text}'`;
  // Python picks double quotes when the text has a single quote and no double quote.
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const code = text.charCodeAt(i);
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code === 0x2028 || code === 0x2029) out += `\\u${code.toString(16)}`;
    else out += ch;
  }
  return out + quote;
}
