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
      if (!Number.isFinite(value)) return value > 0 ? 'inf' : value < 0 ? '-inf' : 'nan';
      return value !== 0 && value > -1e-4 && value < 1e-4 ? smallFloatText(value) : String(value);
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

/**
 * What Python's `repr()` escapes in a string: the backslash, quotes (only the one it quotes with)
 * and every character `str.isprintable()` rejects — categories Cc, Cf, Cs, Co, Cn, Zl, Zp and the
 * spaces of Zs other than U+0020 — so one event is always one line, and an NBSP or a soft hyphen
 * shows as `\xa0` / `\xad`, as the original log showed them.
 */
const NEEDS_ESCAPE = /[\\'"\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/u;
const TO_ESCAPE = new RegExp(NEEDS_ESCAPE.source, 'gu');

/** A string as Python's `repr()` writes it (the quote it picks, escapes). */
export function reprString(text: string): string {
  if (!NEEDS_ESCAPE.test(text)) return `'${text}'`;
  // Python picks double quotes when the text has a single quote and no double quote.
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  return quote + text.replace(TO_ESCAPE, (ch) => escapeCharacter(ch, quote)) + quote;
}

function escapeCharacter(ch: string, quote: string): string {
  switch (ch) {
    case '\\':
      return '\\\\';
    case "'":
    case '"':
      return ch === quote ? `\\${ch}` : ch;
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
  }
  const code = ch.codePointAt(0) as number;
  if (code < 0x100) return `\\x${code.toString(16).padStart(2, '0')}`;
  if (code < 0x10000) return `\\u${code.toString(16).padStart(4, '0')}`;
  return `\\U${code.toString(16).padStart(8, '0')}`;
}

/**
 * Python's `repr()` of a float with 0 < |value| < 1e-4, from the same shortest digits `String()`
 * finds: Python writes exponent notation there, with at least two exponent digits (`4.2e-05`,
 * `1.5e-07`), where `String()` writes `0.000042` and `1.5e-7`. (Whole numbers are written as
 * `String()` writes them, an int's repr: JavaScript cannot tell `5` from `5.0`.)
 */
export function smallFloatText(value: number): string {
  // Durations of a few microseconds (k / 1e6, k < 100) come from a table: toExponential() and a
  // replace per event cost ~2,000 instructions, once per short span (bench/README.md item 17).
  const micros = value * 1e6;
  const k = Math.round(micros);
  if (k > 0 && k < 100 && k / 1e6 === value) return MICRO_REPR[k];
  return value.toExponential().replace(/e-(\d)$/, 'e-0$1');
}

/** repr() of k / 1e6 for k = 1 … 99: '1e-06' … '9e-06', '1e-05', '1.1e-05' … '9.9e-05'. */
const MICRO_REPR: string[] = [''];
for (let k = 1; k < 100; k++) MICRO_REPR.push((k / 1e6).toExponential().replace(/e-(\d)$/, 'e-0$1'));
