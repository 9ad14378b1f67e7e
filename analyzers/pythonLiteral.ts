/**
 * Reads back what Python's `repr()` writes for plain data — the `{data}` of a readable log line,
 * `{'stage': 'stage1', 'ok': True, 'error': None, 'loss': 1.5e-05}`: dicts, lists, tuples, sets,
 * strings (either quote, every escape repr() uses, bytes literals), ints, floats (`inf`, `nan`),
 * True, False and None. Dict keys become strings as `json.dump` would make them (`None` → "null",
 * `True` → "true", `3` → "3"). Anything else — the repr of an object, `datetime.datetime(…)` —
 * is not data this module can rebuild: it throws a SyntaxError naming the position.
 */
export function parsePythonLiteral(text: string): unknown {
  const reader = new LiteralReader(text);
  const value = reader.value();
  reader.skipSpace();
  if (!reader.atEnd()) reader.fail('unexpected text after the value');
  return value;
}

const NAMED: Record<string, unknown> = { True: true, False: false, None: null, inf: Infinity, nan: NaN };

const SIMPLE_ESCAPES: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0', '\n': '' };

class LiteralReader {
  private at = 0;

  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.at >= this.text.length;
  }

  fail(what: string): never {
    throw new SyntaxError(`not a Python literal: ${what} at position ${this.at}`);
  }

  skipSpace(): void {
    while (this.at < this.text.length && /\s/.test(this.text[this.at])) this.at++;
  }

  value(): unknown {
    this.skipSpace();
    const ch = this.text[this.at];
    if (ch === '{') return this.braces();
    if (ch === '[') return this.sequence(']');
    if (ch === '(') return this.sequence(')');
    if (ch === "'" || ch === '"') return this.string();
    if ((ch === 'b' || ch === 'u') && (this.text[this.at + 1] === "'" || this.text[this.at + 1] === '"')) {
      this.at++;
      return this.string();
    }
    return this.atom();
  }

  private braces(): unknown {
    this.at++; // {
    this.skipSpace();
    if (this.text[this.at] === '}') {
      this.at++;
      return {};
    }
    const first = this.value();
    this.skipSpace();
    if (this.text[this.at] !== ':') return this.rest([first], '}'); // a set
    const dict: Record<string, unknown> = {};
    let key = first;
    for (;;) {
      this.expect(':');
      dict[keyText(key)] = this.value();
      this.skipSpace();
      if (this.text[this.at] === ',') {
        this.at++;
        this.skipSpace();
      }
      if (this.text[this.at] === '}') {
        this.at++;
        return dict;
      }
      if (this.atEnd()) this.fail("missing '}'");
      key = this.value();
      this.skipSpace();
    }
  }

  private sequence(close: string): unknown[] {
    this.at++; // the opening bracket
    this.skipSpace();
    if (this.text[this.at] === close) {
      this.at++;
      return [];
    }
    return this.rest([this.value()], close);
  }

  /** The items after the first of a list, tuple or set, up to `close`. */
  private rest(items: unknown[], close: string): unknown[] {
    for (;;) {
      this.skipSpace();
      const ch = this.text[this.at];
      if (ch === close) {
        this.at++;
        return items;
      }
      if (ch !== ',') this.fail(`expected ',' or '${close}'`);
      this.at++;
      this.skipSpace();
      if (this.text[this.at] === close) {
        this.at++;
        return items;
      }
      items.push(this.value());
    }
  }

  private expect(ch: string): void {
    this.skipSpace();
    if (this.text[this.at] !== ch) this.fail(`expected '${ch}'`);
    this.at++;
  }

  private string(): string {
    const quote = this.text[this.at++];
    let out = '';
    for (;;) {
      const next = this.text.indexOf(quote, this.at);
      const escape = this.text.indexOf('\\', this.at);
      if (next === -1) this.fail('unterminated string');
      if (escape === -1 || escape > next) {
        out += this.text.slice(this.at, next);
        this.at = next + 1;
        return out;
      }
      out += this.text.slice(this.at, escape);
      this.at = escape + 1;
      out += this.escape();
    }
  }

  private escape(): string {
    const ch = this.text[this.at++];
    if (ch in SIMPLE_ESCAPES) return SIMPLE_ESCAPES[ch];
    const width = ch === 'x' ? 2 : ch === 'u' ? 4 : ch === 'U' ? 8 : 0;
    if (width === 0) return `\\${ch ?? ''}`; // Python keeps an unknown escape as written
    const hex = this.text.slice(this.at, this.at + width);
    if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== width) this.fail('bad escape');
    this.at += width;
    const code = Number.parseInt(hex, 16);
    if (code > 0x10ffff) this.fail('bad escape');
    return String.fromCodePoint(code);
  }

  private atom(): unknown {
    const match = /^(?:-?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|-?inf|nan|True|False|None)/.exec(this.text.slice(this.at, this.at + 400));
    if (!match) this.fail('unexpected value');
    this.at += match[0].length;
    const word = match[0];
    if (word in NAMED) return NAMED[word];
    if (word === '-inf') return -Infinity;
    return Number(word);
  }
}

/** A dict key as json.dump writes it: strings as they are, None/True/False/numbers as JSON text. */
function keyText(key: unknown): string {
  if (typeof key === 'string') return key;
  if (key === null) return 'null';
  if (typeof key === 'boolean' || typeof key === 'number') return String(key);
  return JSON.stringify(key) ?? String(key);
}
