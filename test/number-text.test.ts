import { describe, expect, it } from 'vitest';
import { fixed3Text, numberText, sixDigits } from '../exporters/numberText';
import { seededRandom } from './helpers/seededRandom';

// exporters/numberText.ts writes numbers from their microsecond count instead of asking V8 to
// print the double. The text must be exactly String(value) and value.toFixed(3), for every value.

function mismatches(values: Iterable<number>): string[] {
  const found: string[] = [];
  for (const value of values) {
    if (numberText(value) !== String(value)) found.push(`String(${value}): ${numberText(value)}`);
    if (fixed3Text(value) !== value.toFixed(3)) found.push(`toFixed(${value}): ${fixed3Text(value)}`);
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
  it('write microsecond values exactly as String() and toFixed(3) do', () => {
    expect(mismatches(microsecondValues())).toEqual([]);
  });

  it('write ties of toFixed(3) (…500 µs), exactly representable ones too, as toFixed does', () => {
    const ties = [0.0005, 0.0015, 0.0625, 1.0625, 2.5e-4, 123.0005, 7.5e-4, 0.0125, 1.2345, 4294.9672955];
    expect(mismatches(ties)).toEqual([]);
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

describe('sixDigits', () => {
  it('pads every microsecond count as padStart(6, "0") does', () => {
    const found: number[] = [];
    for (let micros = 0; micros < 1_000_000; micros++) if (sixDigits(micros) !== String(micros).padStart(6, '0')) found.push(micros);
    expect(found).toEqual([]);
  });
});
