/**
 * The last `limit` items pushed, oldest first. A full ring overwrites its oldest item in place:
 * `Array.prototype.shift()` on a full list cost ~1,200 instructions per push on Node 20 (it trims
 * the list's storage, and the next push grows it again; bench/README.md item 24).
 */
export class BoundedRing<T> {
  private readonly items: T[] = [];
  /** Index of the oldest item once the ring is full (0 until then). */
  private oldest = 0;

  constructor(private readonly limit: number) {}

  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.items.length < this.limit) {
      this.items.push(item);
      return;
    }
    this.items[this.oldest] = item;
    this.oldest = this.oldest + 1 === this.limit ? 0 : this.oldest + 1;
  }

  /** The `index`-th oldest item (0 ≤ index < length). */
  at(index: number): T {
    const position = this.oldest + index;
    return this.items[position < this.items.length ? position : position - this.items.length];
  }

  /** True when every item passes (in no particular order). */
  every(test: (item: T) => boolean): boolean {
    return this.items.every(test);
  }
}
