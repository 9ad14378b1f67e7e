import { describe, expect, it } from 'vitest';
import { HtmlEventCollector } from '../exporters/HtmlEventCollector';
import { runNode, writeScript } from './helpers/childProcess';
import { event } from './helpers/cli';

// The collector behind `agent-autopsy report --format html` holds a bounded share of any log.

/** `count` runs of the same stage, one after another; every 1,000th (from the 500th) fails. */
function repeatedStage(collector: HtmlEventCollector, count: number): void {
  for (let i = 0; i < count; i++) {
    const at = i * 0.01;
    const ids = { span_id: `s${i}` };
    collector.observe({ ...event('stage_start', { stage: 'fetch' }, 'INFO', at), ...ids });
    const failed = i % 1000 === 500;
    collector.observe({ ...event(failed ? 'stage_error' : 'stage_end', { stage: 'fetch', duration: 0.005, ...(failed ? { error: `timeout #${i}` } : {}) }, failed ? 'ERROR' : 'INFO', at + 0.005), ...ids });
  }
}

describe('HtmlEventCollector', () => {
  it('draws the first 5,000 runs of a repeated stage, then only failed ones, and counts the rest', () => {
    const collector = new HtmlEventCollector();
    repeatedStage(collector, 12_000);
    collector.observe({ ...event('stage_start', { stage: 'fetch' }, 'INFO', 200), span_id: 'open' });
    const timeline = collector.timeline();
    const stages = timeline.spans.filter((span) => span.kind === 'stage');
    // 5,000 first ones (5 of them failed), the 7 failures after them, and the stage still open.
    expect(stages).toHaveLength(5008);
    expect(stages.filter((span) => span.outcome === 'error').map((span) => span.error)).toEqual(Array.from({ length: 12 }, (_, k) => `timeout #${k * 1000 + 500}`));
    expect(stages.filter((span) => span.outcome === 'unfinished')).toHaveLength(1);
    expect(timeline.omittedSpans).toBe(12_000 - 5000 - 7);
    expect(collector.total).toBe(24_001);
  });

  it('takes its stage budget from maxStageSpans', () => {
    const collector = new HtmlEventCollector({ maxStageSpans: 10 });
    repeatedStage(collector, 600);
    const timeline = collector.timeline();
    expect(timeline.spans.map((span) => span.outcome)).toEqual([...Array(10).fill('ok'), 'error']);
    expect(timeline.omittedSpans).toBe(589);
  });

  it('draws at most 5,000 spans still open (a leaked span per request) and counts the rest', () => {
    const collector = new HtmlEventCollector();
    for (let i = 0; i < 6_000; i++) collector.observe({ ...event('task_start', { stage: 'serve', task: `task-${i}` }, 'INFO', i * 0.01), span_id: `t${i}` });
    const timeline = collector.timeline();
    expect(timeline.spans.filter((span) => span.outcome === 'unfinished')).toHaveLength(5_000);
    expect(timeline.omittedSpans).toBe(1_000);
  });

  it('lists only the stage and type names its kept rows use', () => {
    const collector = new HtmlEventCollector({ maxEvents: 100 });
    for (let i = 0; i < 1_000; i++) collector.observe(event(`evt_${i}`, { stage: `req-${i}` }, 'INFO', i * 0.01));
    const list = collector.eventList();
    expect(list.total).toBe(1_000);
    expect(list.rows).toHaveLength(100);
    // Was every name ever seen (1,000 of each) for 100 rows.
    expect(list.stages).toHaveLength(100);
    expect(list.types).toHaveLength(100);
    expect(list.rows.map((row) => [list.types[row[2]], list.stages[row[4]], list.levels[row[3]]])).toEqual(
      Array.from({ length: 100 }, (_, k) => [`evt_${900 + k}`, `req-${900 + k}`, 'INFO']),
    );
  });

  it("marks the rows of the spans it is asked for with the span's index, after the list has wrapped too, and gives the timeline's spans their ids", () => {
    const collector = new HtmlEventCollector({ maxEvents: 5 });
    // An end whose start is not in the log (it began mid-span), then three spans of two events each.
    collector.observe({ ...event('task_end', { task: 'early', stage: 's', duration: 0.1 }, 'INFO', 0), span_id: 'early' });
    for (const [i, id] of ['a', 'b', 'c'].entries()) {
      collector.observe({ ...event('llm_call_start', { stage: 's' }, 'INFO', 1 + i), span_id: id });
      collector.observe({ ...event('llm_call_end', { stage: 's', duration: 0.5 }, 'INFO', 1.5 + i), span_id: id });
    }
    collector.observe(event('note', { stage: 's' }, 'INFO', 5));
    const list = collector.eventList(['c', 'gone', 'a', 'early']);
    expect(list.spans).toEqual(['c', 'gone', 'a', 'early']);
    // The last five events: b's two, c's two and the note; a's and early's fell out.
    expect(list.rows.map((row) => [list.types[row[2]], row[0].slice(17, 19), row[6]])).toEqual([
      ['llm_call_start', '02', undefined],
      ['llm_call_end', '02', undefined],
      ['llm_call_start', '03', 0],
      ['llm_call_end', '03', 0],
      ['note', '05', undefined],
    ]);
    expect(list.rows.filter((row) => row.length !== 6).length).toBe(2);
    // Asked for nothing, the rows are as they were.
    expect(collector.eventList().rows.every((row) => row.length === 6)).toBe(true);
    expect(collector.timeline().spans.map((span) => [span.kind, span.spanId])).toEqual([
      ['task', 'early'],
      ['llm', 'a'],
      ['llm', 'b'],
      ['llm', 'c'],
    ]);
  });

  it('takes an option that is no whole number in range as init() does: one line on stderr, and the default', async () => {
    // From plain JavaScript: the CLI refuses --max-events 0 itself; a library caller gets the default, not 1 event.
    const script = writeScript(`
      import { HtmlEventCollector } from 'agent-autopsy/exporters';
      const rows = [];
      for (const options of [
        { maxEvents: 0 }, { maxEvents: NaN }, { maxEvents: 2.5 }, { maxEvents: '100' }, { maxEvents: Infinity },
        { maxSpans: -1, maxStageSpans: 1.5, maxDataLength: 99 }, { maxEvents: 2, maxSpans: 0, maxStageSpans: 0, maxDataLength: 100 },
        null, 1000,
      ]) {
        const collector = new HtmlEventCollector(options);
        for (let i = 0; i < 5; i++) {
          collector.observe({ timestamp: '2026-01-01T00:00:0' + i + '.000000Z', elapsed_seconds: i, type: 'stage_start', level: 'INFO', data: { stage: 's' + i, note: 'x'.repeat(150) } });
        }
        const list = collector.eventList();
        rows.push([list.rows.length, list.rows[0][5].length, collector.timeline().spans.length]);
      }
      console.log(JSON.stringify(rows));
    `);
    const result = await runNode(script);
    expect(result.code).toBe(0);
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([
      'agent-autopsy: new HtmlEventCollector(): option maxEvents should be a whole number from 1 up, got 0; the default (200000) is used',
      'agent-autopsy: new HtmlEventCollector(): option maxEvents should be a whole number from 1 up, got NaN; the default (200000) is used',
      'agent-autopsy: new HtmlEventCollector(): option maxEvents should be a whole number from 1 up, got 2.5; the default (200000) is used',
      'agent-autopsy: new HtmlEventCollector(): option maxEvents should be a whole number from 1 up, got "100" (a string); the default (200000) is used',
      'agent-autopsy: new HtmlEventCollector(): option maxEvents should be a whole number from 1 up, got Infinity; the default (200000) is used',
      'agent-autopsy: new HtmlEventCollector(): option maxSpans should be a whole number from 0 up, got -1; the default (2000) is used',
      'agent-autopsy: new HtmlEventCollector(): option maxStageSpans should be a whole number from 0 up, got 1.5; the default (5000) is used',
      'agent-autopsy: new HtmlEventCollector(): option maxDataLength should be a whole number from 100 up, got 99; the default (4000) is used',
      'agent-autopsy: new HtmlEventCollector(): the options should be an object (such as { maxEvents: 1000 }), got 1000; the defaults are used',
    ]);
    // [rows listed, data JSON length of the first, spans drawn (all 5 open, so drawn as unfinished)]
    const whole = JSON.stringify({ stage: 's0', note: 'x'.repeat(150) }).length;
    expect(JSON.parse(result.stdout)).toEqual([
      ...Array(6).fill([5, whole, 5]),
      [2, 101, 5],
      [5, whole, 5],
      [5, whole, 5],
    ]);
  });

  it('names a misspelled or unknown option in one line, as init() does, and uses its default', async () => {
    const script = writeScript(`
      import { HtmlEventCollector } from 'agent-autopsy/exporters';
      const rows = [];
      for (const options of [
        { maxEvent: 3 }, { max_events: 3 }, { maxEvents: 3, maxSpan: 1, maxDataLenght: 100, colour: 'red' },
        new Proxy({ maxEvents: 3 }, { ownKeys() { throw new Error('no keys'); } }),
      ]) {
        const collector = new HtmlEventCollector(options);
        for (let i = 0; i < 5; i++) {
          collector.observe({ timestamp: '2026-01-01T00:00:0' + i + '.000000Z', elapsed_seconds: i, type: 'stage_start', level: 'INFO', data: { stage: 's' + i, note: 'x'.repeat(150) } });
        }
        rows.push([collector.eventList().rows.length, collector.eventList().rows[0][5].length, collector.timeline().spans.length]);
      }
      console.log(JSON.stringify(rows));
    `);
    const result = await runNode(script);
    expect(result.code).toBe(0);
    expect(result.stderr.split('\n').filter(Boolean)).toEqual([
      'agent-autopsy: new HtmlEventCollector(): unknown option "maxEvent" ignored (did you mean maxEvents?)',
      'agent-autopsy: new HtmlEventCollector(): unknown option "max_events" ignored (did you mean maxEvents?)',
      'agent-autopsy: new HtmlEventCollector(): unknown option "maxSpan" ignored (did you mean maxSpans?)',
      'agent-autopsy: new HtmlEventCollector(): unknown option "maxDataLenght" ignored (did you mean maxDataLength?)',
      'agent-autopsy: new HtmlEventCollector(): unknown option "colour" ignored',
      'agent-autopsy: new HtmlEventCollector(): the options could not be read (no keys); the defaults are used',
    ]);
    // [rows listed, data JSON length of the first, spans drawn]: the defaults where the name was
    // wrong (all 5 events, the whole data), the options spelled right still apply (3 rows).
    const whole = JSON.stringify({ stage: 's0', note: 'x'.repeat(150) }).length;
    expect(JSON.parse(result.stdout)).toEqual([
      [5, whole, 5],
      [5, whole, 5],
      [3, whole, 5],
      [5, whole, 5],
    ]);
  });
});
