import { describe, expect, it } from 'vitest';
import { timestampMs } from '../analyzers/timestampMs';
import { seededRandom } from './helpers/seededRandom';

// analyzers/timestampMs.ts reads this library's own timestamps without Date.parse; for every input
// the answer must be Date.parse's.

function same(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

describe('timestampMs', () => {
  it('reads microsecond timestamps as Date.parse does, through second and day boundaries', () => {
    const random = seededRandom(3);
    const wrong: string[] = [];
    let at = Date.UTC(2026, 0, 1);
    for (let i = 0; i < 300_000 && wrong.length < 10; i++) {
      at += random() * 3000;
      const micros = String(Math.floor(random() * 1000)).padStart(3, '0');
      const timestamp = `${new Date(at).toISOString().slice(0, 23)}${micros}Z`;
      if (!same(timestampMs(timestamp), Date.parse(timestamp))) wrong.push(timestamp);
    }
    expect(wrong).toEqual([]);
  });

  it('leaves every other string to Date.parse, with the same answer', () => {
    const inputs = [
      '2026-11-25T16:32:52.12345xZ',
      '2026-13-25T16:32:52.123456Z',
      '2026-02-30T16:32:52.123456Z',
      '2026-11-25T24:00:00.000000Z',
      '2026-11-25T16:32:60.123456Z',
      '2026-11-25 16:32:52.123456Z',
      '2026-11-25T16:32:52.123456+',
      '2026-11-25T16:32:52.123456z',
      '1969-12-31T23:59:59.999999Z',
      '2026-11-25T16:32:52.123Z',
      '2026-11-25T16:32:52+02:00',
      '',
      'garbage',
    ];
    for (const input of inputs) expect(same(timestampMs(input), Date.parse(input)), input).toBe(true);
  });
});
