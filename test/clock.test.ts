import { describe, expect, it } from 'vitest';
import { isoMicros } from '../src/clock';
import { seededRandom } from './helpers/seededRandom';

// isoMicros stamps every event: Date's own ISO text to the second, then the microseconds.

/** The definition: toISOString of the millisecond, its three digits followed by the next three. */
function reference(epochMs: number): string {
  const millis = Math.floor(epochMs);
  const iso = new Date(millis).toISOString();
  const subMillis = Math.min(999, Math.floor((epochMs - millis) * 1000));
  return `${iso.slice(0, -1)}${String(subMillis).padStart(3, '0')}Z`;
}

describe('isoMicros', () => {
  it('writes every instant as Date writes it, with microseconds, through second and day boundaries', () => {
    const random = seededRandom(11);
    const wrong: string[] = [];
    let at = Date.UTC(2026, 10, 26, 23, 59, 50);
    for (let i = 0; i < 200_000 && wrong.length < 10; i++) {
      at += random() * (i % 100 === 0 ? 5000 : 3);
      // Whole microseconds, as the clock gives them here (performance.now() is finer still).
      const epochMs = Math.round(at * 1000) / 1000;
      if (isoMicros(epochMs) !== reference(epochMs)) wrong.push(`${epochMs}: ${isoMicros(epochMs)} ≠ ${reference(epochMs)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('keeps the seconds of years before 0 and after 9999 (six-digit years with a sign)', () => {
    for (const epochMs of [-62_198_755_200_000.5, -1, 0, 253_402_300_799_999.25, 253_402_300_800_000, 8.64e15, -8.64e15, 1e15 + 0.123]) {
      expect(isoMicros(epochMs)).toBe(reference(epochMs));
    }
    expect(isoMicros(Date.UTC(10000, 0, 1, 12, 34, 56) + 0.5)).toBe('+010000-01-01T12:34:56.000500Z');
    expect(isoMicros(-0.25)).toBe('1969-12-31T23:59:59.999750Z');
  });
});
