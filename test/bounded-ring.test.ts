import { describe, expect, it } from 'vitest';
import { BoundedRing } from '../analyzers/BoundedRing';
import { seededRandom } from './helpers/seededRandom';

// The error rings of the root-cause analysis keep the last N entries; the ring must read as the
// list it replaced (push, then shift() past the limit) after any number of pushes.

describe('BoundedRing', () => {
  it.each([1, 2, 16])('reads as a list cut to its last %i items, oldest first, after every push', (limit) => {
    const random = seededRandom(limit);
    const ring = new BoundedRing<number>(limit);
    const reference: number[] = [];
    for (let pushed = 0; pushed < 200; pushed++) {
      const item = Math.floor(random() * 1000);
      ring.push(item);
      reference.push(item);
      if (reference.length > limit) reference.shift();
      expect(ring.length).toBe(reference.length);
      expect(Array.from({ length: ring.length }, (_, i) => ring.at(i))).toEqual(reference);
      const threshold = Math.floor(random() * 1000);
      expect(ring.every((value) => value >= threshold)).toBe(reference.every((value) => value >= threshold));
    }
  });
});
