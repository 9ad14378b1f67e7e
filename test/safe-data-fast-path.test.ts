import { describe, expect, it } from 'vitest';
import { REDACTED } from '../src/redact';
import { safeData, safeValue } from '../src/safeValue';

// safeData() cleans flat event data (strings, numbers, booleans, nulls) without the general
// Walker. Whatever the input, the result must be exactly the Walker's: same keys, same order,
// same values.

const options = { maxStringLength: 40 };

function walker(input: unknown): unknown {
  return safeValue(input, options);
}

const flat: Array<[string, Record<string, unknown>]> = [
  ['plain values', { stage: 'stage1', tokens: 812, ratio: 0.25, ok: true, no: false, none: null }],
  ['empty', {}],
  ['undefined values left out', { a: undefined, b: 1, c: undefined }],
  ['non-finite numbers as text', { nan: NaN, inf: Infinity, ninf: -Infinity, negZero: -0 }],
  ['secrets by key', { api_key: 'sk-abc', password: 'hunter2', token: '', authorization: null, OPENAI_API_KEY: 'x', note: 'fine' }],
  ['secrets inside text', { message: 'failed with Bearer abcdefghijklmnop and sk-proj-ABCDEFGHIJKLMNOPQRSTUV' }],
  ['long strings truncated', { text: 'x'.repeat(100), exact: 'y'.repeat(40) }],
  ['lone surrogates made well-formed', { text: 'a\ud800b', key: '\udc00' }],
  ['long and malformed keys', { ['k'.repeat(300)]: 1, ['bad\ud800key']: 2 }],
  ['integer-like keys first', { b: 1, 2: 'two', a: 3, 1: 'one' }],
];

describe('safeData on flat data', () => {
  for (const [name, input] of flat) {
    it(`${name}: the same as the Walker`, () => {
      const fast = safeData(input, options);
      expect(JSON.stringify(fast)).toBe(JSON.stringify(walker(input)));
      expect(Object.keys(fast)).toEqual(Object.keys(walker(input) as object));
      expect(fast).not.toBe(input);
    });
  }

  it('gives the same result when its keys come again (cleaned once, then looked up), and past the number of keys it keeps', () => {
    for (let round = 0; round < 3; round++) {
      for (const [, input] of flat) expect(JSON.stringify(safeData(input, options))).toBe(JSON.stringify(walker(input)));
    }
    for (let i = 0; i < 5000; i++) {
      const input = { [`key_${i}`]: i, [i % 2 ? `token_${i}` : `my_${i}_password`]: 'secret', ['k'.repeat(250 + (i % 10))]: 'v', [`bad\ud800${i % 3}`]: 'x' };
      const fast = safeData(input, options);
      expect(JSON.stringify(fast)).toBe(JSON.stringify(walker(input)));
      expect(Object.keys(fast)).toEqual(Object.keys(walker(input) as object));
    }
  });

  it('redacts by key and by content', () => {
    const clean = safeData({ api_key: 'sk-abcdefghijklmnopqrstuvwxyz', note: 'Bearer abcdefghijklmnop' }, options);
    expect(clean.api_key).toBe(REDACTED);
    expect(clean.note).toBe(`Bearer ${REDACTED}`);
  });
});

describe('safeData on everything else takes the Walker', () => {
  const circular: Record<string, unknown> = { a: 1 };
  circular.self = circular;
  const withGetter = { ok: 1 };
  Object.defineProperty(withGetter, 'bad', {
    enumerable: true,
    get() {
      throw new Error('getter fails');
    },
  });
  const others: Array<[string, unknown]> = [
    ['nested objects', { a: { b: 1 }, list: [1, 2] }],
    ['a cycle', circular],
    ['a throwing getter', withGetter],
    ['a thenable', { then: () => undefined, a: 1 }],
    ['toJSON', { toJSON: () => ({ x: 1 }), y: 2 }],
    ['a class instance', new (class Point { x = 1; y = 2 })()],
    ['a null-prototype object', Object.assign(Object.create(null), { a: 1 })],
    ['bigint, symbol and function values', { n: 10n, s: Symbol('s'), f: function named() {} }],
    ['a Date', new Date(Date.UTC(2026, 0, 2))],
    ['an array', [1, 'a']],
    ['a string', 'text'],
    ['too many keys', Object.fromEntries(Array.from({ length: 1200 }, (_, i) => [`k${i}`, i]))],
  ];
  for (const [name, input] of others) {
    it(`${name}: the same as before`, () => {
      const expected = walker(input);
      const wrapped = expected !== null && typeof expected === 'object' && !Array.isArray(expected) ? expected : { value: expected };
      expect(JSON.stringify(safeData(input, options))).toBe(JSON.stringify(wrapped));
    });
  }

  it('honours maxEntries and maxDepth given by the caller', () => {
    const input = { a: 1, b: 2, c: 3 };
    expect(safeData(input, { maxStringLength: 40, maxEntries: 2 })).toEqual(safeValue(input, { maxStringLength: 40, maxEntries: 2 }));
    expect(safeData(input, { maxStringLength: 40, maxDepth: 0 })).toEqual({ value: '[Object]' });
  });
});
