import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { OpenSpans, type OpenSpanLinks } from '../src/OpenSpans';
import { init, shutdown, stage, task, track } from '../src/index';
import type { TruthEvent } from '../src/types';
import { readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

interface Entry extends OpenSpanLinks {
  name: string;
}

function entry(name: string, spanId: string, span?: object): Entry {
  return { name, spanId, span, list: undefined, previous: undefined, next: undefined };
}

/** OpenSpans that counts its walks by id. */
class CountingOpenSpans extends OpenSpans<Entry> {
  walks = 0;
  override byId(spanId: string): Entry | undefined {
    this.walks++;
    return super.byId(spanId);
  }
}

describe('OpenSpans', () => {
  it('keeps its entries in the order they were added, whichever is removed', () => {
    const open = new OpenSpans<Entry>();
    const entries = ['a', 'b', 'c', 'd', 'e'].map((name, i) => entry(name, `id${i}`, {}));
    for (const item of entries) open.add(item);
    expect([open.remove(entries[2]), open.remove(entries[0]), open.remove(entries[4])]).toEqual([true, true, true]);
    expect(open.values().map((item) => item.name)).toEqual(['b', 'd']);
    expect(open.size).toBe(2);
    expect(open.remove(entries[2])).toBe(false);
    open.add(entries[0]);
    expect(open.values().map((item) => item.name)).toEqual(['b', 'd', 'a']);
    expect(open.byId('id1')?.name).toBe('b');
  });

  it('finds an entry from its span object while it is open, and only in its own list', () => {
    const open = new CountingOpenSpans();
    const other = new OpenSpans<Entry>();
    const span = {};
    const item = entry('a', 'id-a', span);
    open.add(item);
    expect(open.of(span)).toBe(item);
    expect(other.of(span)).toBeUndefined();
    expect(open.lookup(span, 'id-a')).toBe(item);
    open.remove(item);
    expect(open.of(span)).toBeUndefined();
    // An ended span of the list is not looked for by id: its entry is gone, not elsewhere.
    expect(open.lookup(span, 'id-a')).toBeUndefined();
    expect(open.walks).toBe(0);
  });

  it('looks up by id a span object it never held (one that only carries an open span context)', () => {
    const open = new CountingOpenSpans();
    const item = entry('a', 'id-a', {});
    open.add(item);
    expect(open.lookup({}, 'id-a')).toBe(item);
    expect(open.lookup(undefined, 'id-a')).toBe(item);
    expect(open.lookup({}, 'id-b')).toBeUndefined();
    expect(open.walks).toBe(3);
  });
});

describe('a span context passed on by id', () => {
  afterEach(async () => {
    await shutdown();
  });

  it('still names the open stage it belongs to: for track() and for a span started under it', async () => {
    const dir = tempRunDir();
    init({ outputDir: dir, handleExit: false, reportFormats: [] });
    await stage('s1', async () => {
      // An in-process queue that carries only the ids of the span that queued the work.
      const queued = trace.setSpanContext(ROOT_CONTEXT, trace.getActiveSpan()!.spanContext());
      await context.with(queued, async () => {
        track('queued_work');
        await task('from_queue', async () => undefined);
      });
    });
    await shutdown();
    const events = readTrackerDocument(dir).events;
    const ofType = (type: string): TruthEvent => events.find((event) => event.type === type)!;
    expect(ofType('queued_work').data).toEqual({ stage: 's1' });
    expect(ofType('task_start').data).toEqual({ task: 'from_queue', stage: 's1' });
    expect(ofType('task_start').parent_span_id).toBe(ofType('stage_start').span_id);
  });
});
