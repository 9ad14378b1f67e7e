import { describe, expect, it } from 'vitest';
import { stackOf } from '../src/errorStack';
import { clipString, errorClassName, errorMessage, errorStack, safeData, safeString, safeValue } from '../src/safeValue';

const options = { maxStringLength: 100 };
const clean = (value: unknown) => safeValue(value, options);

describe('safeValue turns anything into plain JSON-safe data', () => {
  it('cycles become [Circular]; a value seen twice without a cycle is kept twice', () => {
    const shared = { n: 1 };
    const node: Record<string, unknown> = { name: 'root', shared, again: shared, list: [shared] };
    node.self = node;
    (node.list as unknown[]).push(node);
    expect(clean(node)).toEqual({ name: 'root', shared: { n: 1 }, again: { n: 1 }, list: [{ n: 1 }, '[Circular]'], self: '[Circular]' });
  });

  it('BigInt, functions, symbols, NaN, Infinity, undefined, dates', () => {
    function namedTool() {}
    expect(
      clean({
        big: 12345678901234567890123n,
        fn: namedTool,
        arrow: (() => () => 1)(),
        sym: Symbol('tool-id'),
        nan: NaN,
        inf: -Infinity,
        gone: undefined,
        inArray: [undefined, 1n],
        when: new Date('2026-01-02T03:04:05.678Z'),
        bad: new Date('nope'),
      }),
    ).toEqual({
      big: '12345678901234567890123',
      fn: '[Function: namedTool]',
      arrow: '[Function: anonymous]',
      sym: 'Symbol(tool-id)',
      nan: 'NaN',
      inf: '-Infinity',
      inArray: [null, '1'],
      when: '2026-01-02T03:04:05.678Z',
      bad: 'Invalid Date',
    });
  });

  it('Buffers, typed arrays, Maps, Sets, RegExps, promises, weak collections', () => {
    expect(
      clean({
        buffer: Buffer.from('secret bytes'),
        bytes: new Uint8Array(5),
        map: new Map<unknown, unknown>([['a', 1], [2n, { b: 2 }]]),
        set: new Set([1, 'two']),
        pattern: /a+b/gi,
        pending: Promise.resolve(1),
        weak: new WeakMap(),
      }),
    ).toEqual({
      buffer: '[Buffer: 12 bytes]',
      bytes: '[Uint8Array: 5 bytes]',
      map: { a: 1, '2': { b: 2 } },
      set: [1, 'two'],
      pattern: '/a+b/gi',
      pending: '[Promise]',
      weak: '[WeakMap]',
    });
  });

  it('Errors keep name, message, code, stack and their causes (also circular ones)', () => {
    const root = new Error('connection reset');
    (root as Error & { code: string }).code = 'ECONNRESET';
    const outer = new TypeError('tool failed', { cause: root });
    root.cause = outer;
    const value = clean({ error: outer }) as { error: Record<string, unknown> };
    expect(value.error).toMatchObject({ name: 'TypeError', message: 'tool failed' });
    expect(value.error.stack).toMatch(/^TypeError: tool failed\n {4}at /);
    expect(value.error.cause).toMatchObject({ name: 'Error', message: 'connection reset', code: 'ECONNRESET', cause: '[Circular]' });
    const aggregate = clean(new AggregateError([new Error('a'), 'b'], 'all failed')) as Record<string, unknown>;
    expect(aggregate).toMatchObject({ name: 'AggregateError', message: 'all failed', errors: [{ name: 'Error', message: 'a' }, 'b'] });
  });

  it('lone UTF-16 surrogates (in values and keys) become U+FFFD', () => {
    const lone = 'a\uD800b\uDC00c';
    const value = clean({ [lone]: lone, pair: '😀' }) as Record<string, unknown>;
    expect(value).toEqual({ 'a\uFFFDb\uFFFDc': 'a\uFFFDb\uFFFDc', pair: '😀' });
    expect(JSON.stringify(value)).not.toMatch(/\\ud[89a-f]/i);
  });

  it('multi-megabyte strings are cut at maxStringLength with a marker (keys too, at 256)', () => {
    const huge = 'x'.repeat(5 * 1024 * 1024);
    expect(clean(huge)).toBe(`${'x'.repeat(100)}…[truncated ${huge.length - 100} chars]`);
    expect(safeValue(huge, { maxStringLength: 10_000 })).toBe(`${'x'.repeat(10_000)}…[truncated ${huge.length - 10_000} chars]`);
    const key = Object.keys(clean({ [huge]: 1 }) as object)[0];
    expect(key).toBe(`${'x'.repeat(256)}…[truncated ${huge.length - 256} chars]`);
    // A cut between the two halves of a surrogate pair leaves no lone half.
    expect(safeString(`${'a'.repeat(99)}😀😀`, 100)).toBe(`${'a'.repeat(99)}\uFFFD…[truncated 3 chars]`);
  });

  it('a string cut once keeps its marker when it is cut again (a stage id is cut where it enters, then passes safeData)', () => {
    const huge = 'x'.repeat(1_000_000);
    const once = `${'x'.repeat(100)}…[truncated ${huge.length - 100} chars]`;
    expect(clipString(huge, 100)).toBe(once);
    expect(clipString(once, 100)).toBe(once);
    expect(safeString(once, 100)).toBe(once);
    expect(safeString(clipString(huge, 100), 100)).toBe(safeString(huge, 100));
    // Untouched (the same string) within the limit; cut at another limit, it is cut again.
    expect(clipString('short', 100)).toBe('short');
    expect(clipString(once, 50)).toBe(`${'x'.repeat(50)}…[truncated ${once.length - 50} chars]`);
  });

  it('short values are redacted and made well-formed on every call, also when they repeat (a bounded cache serves repeats)', () => {
    const cases: Array<[string, string]> = [
      ['Bearer abcdef1234567890', 'Bearer [REDACTED]'],
      ['key sk-ABCDEFGHIJKLMNOPQRST', 'key sk-[REDACTED]'],
      ['token=abc123xyz', 'token=[REDACTED]'],
      ['a\uD800b', 'a\uFFFDb'],
      ['stage1', 'stage1'],
      [`${'x'.repeat(36)} Bearer 0123456789abcdef`, `${'x'.repeat(36)} Bearer [REDACTED]`], // 60 characters
      [`${'x'.repeat(41)} Bearer 0123456789abcdef`, `${'x'.repeat(41)} Bearer [REDACTED]`], // 65: not cached
    ];
    const check = () => {
      for (const [input, expected] of cases) expect(safeString(input, 100)).toBe(expected);
    };
    check();
    check();
    // More distinct short strings than the cache holds: it starts over and stays correct.
    for (let i = 0; i < 5000; i++) expect(safeString(`value-${i}`, 100)).toBe(`value-${i}`);
    check();
    // The limit still applies to a short string longer than it.
    expect(safeString('Bearer abcdef1234567890', 10)).toBe('Bearer [RE…[truncated 13 chars]');
  });

  it('a secret straddling the limit is redacted, not half shown', () => {
    const text = `${'a '.repeat(45)}key sk-proj-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 and more`;
    expect(text.indexOf('sk-')).toBe(94);
    // Cut first and redacted after, the kept `sk-pro` would be too short to be recognised.
    expect(safeString(text, 100)).toBe(`${text.slice(0, 94)}sk-[RE…[truncated ${text.length - 100} chars]`);
  });

  it('getters and proxies that throw spoil one value, never the whole event', () => {
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    const value = clean({
      ok: 1,
      get broken(): never {
        throw new Error('getter exploded');
      },
      proxy: revocable.proxy,
      json: { toJSON: () => { throw new Error('toJSON exploded'); } },
      selfJson: { toJSON() { return this; } },
    });
    expect(value).toEqual({
      ok: 1,
      broken: '[Unreadable: getter exploded]',
      proxy: expect.stringMatching(/^\[Unserializable: .*revoked/),
      json: '[Unserializable: toJSON exploded]',
      selfJson: '[Circular]',
    });
  });

  it('bounds depth and breadth', () => {
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 20; i++) deep = { next: deep };
    expect(JSON.stringify(clean(deep))).toContain('"[Object]"');
    const wide = safeValue(Array.from({ length: 1005 }, (_, i) => i), { maxStringLength: 10, maxEntries: 1000 }) as unknown[];
    expect(wide).toHaveLength(1001);
    expect(wide[1000]).toBe('[… 5 more items]');
  });

  it('safeData always returns an object', () => {
    expect(safeData('text', options)).toEqual({ value: 'text' });
    expect(safeData([1], options)).toEqual({ value: [1] });
    expect(safeData(undefined, options)).toEqual({});
    expect(safeData(7n, options)).toEqual({ value: '7' });
  });

  it('errorMessage handles anything thrown', () => {
    expect(errorMessage(new Error('plain'))).toBe('plain');
    expect(errorMessage('a string')).toBe('a string');
    expect(errorMessage(42)).toBe('42');
    expect(errorMessage(null)).toBe('null');
    expect(errorMessage(Symbol('s'))).toBe('Symbol(s)');
    expect(errorMessage(12n)).toBe('12');
    expect(errorMessage({ reason: 'quota', retry: 2n })).toBe('{"reason":"quota","retry":"2"}');
    expect(errorMessage(Object.assign(new Error(''), { name: 'EmptyError' }))).toBe('EmptyError');
    expect(errorStack('not an error')).toBeUndefined();
  });

  it('errorClassName names the class thrown, whatever the app made of the error, and never throws', () => {
    class RateLimitError extends Error {}
    // A class without a name: the error's own `name`, whatever the app set it to.
    const anonymous = (name: unknown) => Object.assign(new (class extends Error {})('x'), { name });
    expect(errorClassName(new RateLimitError('slow down'))).toBe('RateLimitError');
    expect(errorClassName(new TypeError('x'))).toBe('TypeError');
    // A DOMException says what it is in its name; so does an error made by a plain object's constructor.
    expect(errorClassName(new DOMException('stopped', 'AbortError'))).toBe('AbortError');
    expect(errorClassName(Object.assign(Object.create(Error.prototype, { constructor: { value: Object } }), { name: 'FakeError' }))).toBe('FakeError');
    expect(errorClassName(anonymous(42))).toBe('42');
    expect(errorClassName(anonymous(''))).toBeUndefined();
    expect(errorClassName(anonymous('N'.repeat(100)), 20)).toBe(clipString('N'.repeat(100), 20));
    expect(errorClassName('a string')).toBe('string');
    expect(errorClassName(null)).toBe('null');
    expect(errorClassName(undefined)).toBe('undefined');
    expect(errorClassName(new Proxy(new Error('x'), { getPrototypeOf: () => { throw new Error('trap'); } }))).toBeUndefined();
    expect(errorClassName(Object.defineProperty(new Error('x'), 'constructor', { get: () => { throw new Error('getter'); } }))).toBeUndefined();
  });
});

describe('stackOf reads a stack the way Node would, keeping what Node needs for crash output', () => {
  it('gives exactly the text error.stack gives, and leaves the error as it was', () => {
    const make = () => new RangeError('out of range');
    const [a, b] = [make(), make()];
    const text = stackOf(a)!;
    expect(text.replace(/:\d+:\d+/g, '')).toBe(b.stack!.replace(/:\d+:\d+/g, ''));
    // Read again: the same text, without formatting the error anew.
    expect(stackOf(a)).toBe(text);
    // Nothing was written into the error: it is still formatted when the app reads it, with the
    // message the app gave it since (as `e.message = 'context: ' + e.message; throw e` does).
    a.message = `while loading the config: ${a.message}`;
    expect(a.stack!.split('\n')[0]).toBe('RangeError: while loading the config: out of range');
    expect(a.stack!.split('\n').slice(1)).toEqual(text.split('\n').slice(1));
    expect(Object.keys(a)).toEqual([]);
  });

  it("uses the app's Error.prepareStackTrace and restores it", () => {
    const previous = Error.prepareStackTrace;
    const custom = (error: Error, sites: NodeJS.CallSite[]) => `custom ${error.message} ${sites.length > 0}`;
    Error.prepareStackTrace = custom;
    try {
      expect(stackOf(new Error('m'))).toBe('custom m true');
      expect(Error.prepareStackTrace).toBe(custom);
    } finally {
      Error.prepareStackTrace = previous;
    }
  });

  it('copes with errors whose stack is already text, frozen, or missing', () => {
    const read = new Error('read before');
    const before = read.stack;
    expect(stackOf(read)).toBe(before);
    const frozen = Object.freeze(new Error('frozen'));
    expect(stackOf(frozen)).toMatch(/^Error: frozen\n/);
    expect(frozen.stack).toMatch(/^Error: frozen\n/);
    const sealed = Object.preventExtensions(new Error('sealed'));
    expect(stackOf(sealed)).toMatch(/^Error: sealed\n/);
    expect(sealed.stack).toMatch(/^Error: sealed\n/);
    const bare = Object.create(Error.prototype) as Error;
    expect(stackOf(bare)).toBeUndefined();
    const assigned = new Error('x');
    assigned.stack = 'custom text';
    expect(stackOf(assigned)).toBe('custom text');
  });
});
