/** What OpenSpans keeps in each entry: its span, and its place in the list. */
export interface OpenSpanLinks {
  spanId: string;
  /** The live span (the object the span processor saw); absent for entries made without one. */
  span?: object;
  /** The list the entry is in while its span is open; undefined once it is removed. */
  list: object | undefined;
  previous: this | undefined;
  next: this | undefined;
}

/** Where an open span's entry is kept on the span object itself. */
const OPEN_ENTRY = Symbol('agent-autopsy.openEntry');

type Carrier<T> = { [OPEN_ENTRY]?: T };

/**
 * A run's open spans: each entry is found from its span object (kept on it under a symbol while
 * the span is open), and the entries form a list in the order they were added.
 *
 * Why not a `Map` by span id: every span adds its id and deletes it again, so the map's table
 * filled with deleted entries and V8 replaced it every few spans, in the old generation once the
 * map was old (~50 bytes of garbage there per span, bench/old-generation.mjs), and each span
 * hashed its new id. Found from the object, an entry costs a property read; the list allocates
 * nothing (bench/README.md, item 30).
 * Looking an entry up by id walks the list: only for a span object the list never held (a span
 * context passed on by id, or a span from before the run).
 */
export class OpenSpans<T extends OpenSpanLinks> {
  private first: T | undefined;
  private last: T | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(entry: T): void {
    entry.list = this;
    entry.previous = this.last;
    entry.next = undefined;
    if (this.last) this.last.next = entry;
    else this.first = entry;
    this.last = entry;
    this.count++;
    if (entry.span) (entry.span as Carrier<T>)[OPEN_ENTRY] = entry;
  }

  /** Takes `entry` out (its span has ended, or the run ends); false when it was not in this list. */
  remove(entry: T): boolean {
    if (entry.list !== this) return false;
    if (entry.previous) entry.previous.next = entry.next;
    else this.first = entry.next;
    if (entry.next) entry.next.previous = entry.previous;
    else this.last = entry.previous;
    entry.list = undefined;
    entry.previous = undefined;
    entry.next = undefined;
    this.count--;
    // The span may outlive its end (a context that holds it): it no longer holds the entry's data.
    if (entry.span && (entry.span as Carrier<T>)[OPEN_ENTRY] === entry) (entry.span as Carrier<T>)[OPEN_ENTRY] = undefined;
    return true;
  }

  /** Is `entry` in this list (its span open)? */
  holds(entry: T | undefined): entry is T {
    return entry !== undefined && entry.list === this;
  }

  /** The entry of `span` while it is open in this list. */
  of(span: object | undefined): T | undefined {
    const entry = span === undefined ? undefined : (span as Carrier<T>)[OPEN_ENTRY];
    return this.holds(entry) ? entry : undefined;
  }

  /**
   * The open entry of the span with id `spanId`, given the span object at hand (the active one, a
   * parent from the context): from the object when a list ever held it (open or ended), else by id
   * (an object that only carries an open span's context, `trace.wrapSpanContext`).
   */
  lookup(span: object | undefined, spanId: string): T | undefined {
    if (span !== undefined && OPEN_ENTRY in span) {
      const entry = (span as Carrier<T>)[OPEN_ENTRY];
      if (entry === undefined || entry.spanId === spanId) return this.holds(entry) ? entry : undefined;
    }
    return this.byId(spanId);
  }

  /** The open entry with this span id (the newest, if ids repeat): a walk of the list. */
  byId(spanId: string): T | undefined {
    for (let entry = this.last; entry !== undefined; entry = entry.previous) if (entry.spanId === spanId) return entry;
    return undefined;
  }

  /** The entries, in the order they were added. */
  values(): T[] {
    const entries: T[] = [];
    for (let entry = this.first; entry !== undefined; entry = entry.next) entries.push(entry);
    return entries;
  }
}
