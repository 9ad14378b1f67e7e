/**
 * Python's `json.dump` writes `NaN`, `Infinity` and `-Infinity` for those floats unless told
 * `allow_nan=False`, and the original tracker never told it. `JSON.parse` rejects them, which would
 * drop a whole Python document (or one of its events) for one `"loss": NaN` in an event's data.
 */

const NAN = '\u0000agent-autopsy:NaN';
const INFINITY = '\u0000agent-autopsy:Infinity';
const NEGATIVE_INFINITY = '\u0000agent-autopsy:-Infinity';

const TOKENS: ReadonlyArray<readonly [string, string]> = [
  ['NaN', NAN],
  ['Infinity', INFINITY],
  ['-Infinity', NEGATIVE_INFINITY],
];

/**
 * `JSON.parse` that also accepts what Python's `json` module writes: `NaN`, `Infinity` and
 * `-Infinity` outside strings come back as those numbers. Throws like `JSON.parse` when the text
 * is not JSON either way. Costs nothing extra on standard JSON.
 */
export function parsePythonJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const value = parseWithNonFinite(text);
    if (value === undefined) throw syntaxErrorPastNonFinite(text) ?? error;
    return value;
  }
}

/**
 * JSON.parse's error for text that has non-finite numbers and is not JSON even so: the first error
 * is at its first NaN, not at the fault. Each one is read as a 0 padded to its length, so the
 * error's position is the fault's in `text`. Undefined when there are none.
 */
function syntaxErrorPastNonFinite(text: string): unknown {
  const rewritten = replaceNonFiniteTokens(text, (token) => '0'.padEnd(token.length));
  if (rewritten === undefined) return undefined;
  try {
    JSON.parse(rewritten);
    return undefined;
  } catch (error) {
    return error;
  }
}

/**
 * For text `JSON.parse` rejected: its value read with Python's non-finite numbers, or undefined
 * when it has none of them or is not JSON even so (JSON itself never gives undefined).
 */
export function parseWithNonFinite(text: string): unknown {
  const rewritten = replaceNonFiniteTokens(text, (_token, marker) => JSON.stringify(marker));
  if (rewritten === undefined) return undefined;
  try {
    return JSON.parse(rewritten, reviveNonFinite);
  } catch {
    return undefined;
  }
}

/** The text with each bare NaN/Infinity/-Infinity replaced (given it and its marker); undefined if it has none. */
function replaceNonFiniteTokens(text: string, replacement: (token: string, marker: string) => string): string | undefined {
  if (!text.includes('NaN') && !text.includes('Infinity')) return undefined;
  const parts: string[] = [];
  let copiedUpTo = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92 /* \ */) i++;
      else if (ch === 34 /* " */) inString = false;
      continue;
    }
    if (ch === 34) {
      inString = true;
      continue;
    }
    if (ch !== 78 /* N */ && ch !== 73 /* I */ && ch !== 45 /* - */) continue;
    for (const [token, marker] of TOKENS) {
      if (!text.startsWith(token, i)) continue;
      parts.push(text.slice(copiedUpTo, i), replacement(token, marker));
      i += token.length - 1;
      copiedUpTo = i + 1;
      break;
    }
  }
  if (parts.length === 0) return undefined;
  parts.push(text.slice(copiedUpTo));
  return parts.join('');
}

function reviveNonFinite(_key: string, value: unknown): unknown {
  if (typeof value !== 'string' || value.charCodeAt(0) !== 0) return value;
  if (value === NAN) return Number.NaN;
  if (value === INFINITY) return Number.POSITIVE_INFINITY;
  if (value === NEGATIVE_INFINITY) return Number.NEGATIVE_INFINITY;
  return value;
}
