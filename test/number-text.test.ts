import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fixed3Text, groupedInteger, numberText, sixDigitsZ } from '../exporters/numberText';
import { seededRandom } from './helpers/seededRandom';

// exporters/numberText.ts writes numbers from their microsecond count instead of asking V8 to
// print the double. The text must be exactly String(value), and Python's '%.3f' % value (the
// readable log's elapsed time), for every value.

/**
 * Python's '%.3f', from the double's exact decimal expansion (toFixed(100) is exact for these
 * magnitudes): rounded to nearest, an exact tie to even. toFixed(3) rounds exact ties up.
 */
function pythonFixed3(value: number): string {
  if (!Number.isFinite(value) || Math.abs(value) >= 1e21 || (value !== 0 && Math.abs(value) < 1e-40)) return value.toFixed(3);
  const exact = Math.abs(value).toFixed(100);
  const point = exact.indexOf('.');
  const kept = BigInt(exact.slice(0, point) + exact.slice(point + 1, point + 4));
  const rest = exact.slice(point + 4);
  const half = '5'.padEnd(rest.length, '0');
  const up = rest > half || (rest === half && kept % 2n === 1n);
  const digits = String(kept + (up ? 1n : 0n)).padStart(4, '0');
  return `${value < 0 ? '-' : ''}${digits.slice(0, -3)}.${digits.slice(-3)}`;
}

function mismatches(values: Iterable<number>): string[] {
  const found: string[] = [];
  for (const value of values) {
    if (numberText(value) !== String(value)) found.push(`String(${value}): ${numberText(value)}`);
    if (fixed3Text(value) !== pythonFixed3(value)) found.push(`%.3f of ${value}: ${fixed3Text(value)}, expected ${pythonFixed3(value)}`);
    if (found.length >= 10) break;
  }
  return found;
}

function* microsecondValues(): Generator<number> {
  for (let micros = 0; micros <= 300_000; micros++) yield micros / 1e6;
  const random = seededRandom(7);
  for (let i = 0; i < 200_000; i++) {
    const micros = Math.floor(random() * 10 ** (1 + random() * 14.6)); // up to ~4e15 µs (2^32 s)
    yield micros / 1e6;
    yield -micros / 1e6;
    yield Math.round(micros / 1e6);
  }
}

describe('numberText and fixed3Text', () => {
  it("write microsecond values exactly as String() and Python's %.3f do", () => {
    expect(mismatches(microsecondValues())).toEqual([]);
  });

  it('write ties (…500 µs) by their exact value: a double exactly halfway rounds to even, as in Python', () => {
    const ties = [0.0005, 0.0015, 0.0625, 1.0625, 2.5e-4, 123.0005, 7.5e-4, 0.0125, 1.2345, 4294.9672955, 0.1875, 2.5625, -0.0625];
    expect(mismatches(ties)).toEqual([]);
    expect([0.0625, 0.1875, 2.5625, 1234.5625, -0.0625].map(fixed3Text)).toEqual(['0.062', '0.188', '2.562', '1234.562', '-0.062']);
    // Not exact ties (0.0015 is a little above halfway, 1.0005 a little below): rounded as the value says.
    expect([0.0015, 1.0005].map(fixed3Text)).toEqual(['0.002', '1.000']);
  });

  it("and the same as Python's own '%.3f' for ties and random values", () => {
    const random = seededRandom(5);
    const values = [0.0625, 0.1875, 2.5625, 0.0015, 1.0005, 0.0005, 1234.5625, -0.0625, 3.0625, 99.9995];
    for (let i = 0; i < 2000; i++) values.push(Math.floor(random() * 1e9) / 16 / 1000, Math.round(random() * 1e9) / 1e6);
    const python = execFileSync('python3', ['-c', 'import json,sys; print(json.dumps(["%.3f" % v for v in json.load(sys.stdin)]))'], { input: JSON.stringify(values), encoding: 'utf8' });
    expect(values.map(fixed3Text)).toEqual(JSON.parse(python));
  });

  it('leave every other number to String() and toFixed()', () => {
    const random = seededRandom(11);
    const others = [0, -0, 1e-6, 1e-7, 0.1 + 0.2, 5e-324, 1e21, 1.5e300, -1.5e-300, 4294967295.999999, 4294967296, 2 ** 53, 1e15 + 0.3];
    for (let i = 0; i < 100_000; i++) others.push((random() - 0.3) * 10 ** (random() * 24 - 12));
    expect(mismatches(others)).toEqual([]);
  });

  it('write NaN and the infinities as toFixed does', () => {
    for (const value of [NaN, Infinity, -Infinity]) expect(fixed3Text(value)).toBe(value.toFixed(3));
  });
});

describe('sixDigitsZ', () => {
  it('pads every microsecond count as padStart(6, "0") does, then Z', () => {
    const found: number[] = [];
    for (let micros = 0; micros < 1_000_000; micros++) if (sixDigitsZ(micros) !== `${String(micros).padStart(6, '0')}Z`) found.push(micros);
    expect(found).toEqual([]);
  });
});

describe('groupedInteger', () => {
  it("writes every integer as toLocaleString('en-US') does, without Intl", () => {
    const random = seededRandom(20261126);
    const values = [0, -0, 7, -7, 999, 1000, -1000, 999_999, 1_000_000, 2 ** 31, -(2 ** 31), Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1e20, 1e21, -1e21, 2 ** 80, Number.MAX_VALUE, -Number.MAX_VALUE];
    for (let i = 0; i < 2000; i++) {
      const magnitude = 10 ** Math.floor(random() * 25);
      values.push(Math.round((random() - 0.5) * magnitude));
    }
    const found = values.filter((value) => groupedInteger(value) !== value.toLocaleString('en-US'));
    expect(found).toEqual([]);
    expect(groupedInteger(-1234567)).toBe('-1,234,567');
  });
});
