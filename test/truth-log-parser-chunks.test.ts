import { describe, expect, it } from 'vitest';
import { TruthLogParser } from '../analyzers/TruthLogParser';
import type { TruthEvent } from '../src/types';

// TruthLogParser cuts lines out of each chunk it is given (without first joining the chunk to the
// unfinished line before it). Wherever the chunks happen to split the file, it reads the same log.

function parse(chunks: string[]): { events: TruthEvent[]; result: ReturnType<TruthLogParser['end']> } {
  const events: TruthEvent[] = [];
  const parser = new TruthLogParser((event) => events.push(event), 'test.json');
  for (const chunk of chunks) parser.push(chunk);
  return { events, result: parser.end() };
}

/** `text` cut at the given offsets. */
function cut(text: string, offsets: number[]): string[] {
  const chunks: string[] = [];
  let from = 0;
  for (const offset of [...offsets, text.length]) {
    chunks.push(text.slice(from, offset));
    from = offset;
  }
  return chunks;
}

function event(i: number): string {
  return JSON.stringify({ timestamp: `2026-11-25T16:32:52.${String(i).padStart(6, '0')}Z`, elapsed_seconds: i / 1000, type: i % 2 ? 'llm_call_end' : 'llm_call_start', level: 'INFO', data: { stage: 'stage1', note: `line ${i} — ünïcode` } });
}

const events = Array.from({ length: 40 }, (_, i) => event(i));
const truthMode = `{"start_time": "2026-11-25T16:32:52.000000Z", "events": [\n${events.join(',\n')}\n], "total_events": 40}\n`;
const python = JSON.stringify({ start_time: '2026-11-25T16:32:52', events: events.map((line) => JSON.parse(line)), total_events: 40 }, null, 2);
const torn = `{"start_time": "2026-11-25T16:32:52.000000Z", "events": [\n${events.join(',\n')},\n{"timestamp": "2026-11-25T16:3`;

describe('TruthLogParser chunking', () => {
  const cases: Array<[string, string]> = [
    ['a Truth-Mode log', truthMode],
    ["the original Python tracker's document", python],
    ['a log torn by a kill mid-line', torn],
  ];
  for (const [name, text] of cases) {
    it(`reads ${name} the same whether it comes whole, a character at a time, or cut anywhere`, () => {
      const whole = parse([text]);
      expect(whole.events.length).toBe(40);
      const splits: string[][] = [
        text.split(''),
        cut(text, [text.indexOf('\n'), text.indexOf('\n') + 1]),
        cut(text, [text.indexOf('\n') + 1, text.lastIndexOf('\n')]),
        cut(text, [5, 200, 201, 202, 1000, 1001, 2500]),
        ...[7, 64, 333].map((step) => cut(text, Array.from({ length: Math.floor(text.length / step) }, (_, i) => (i + 1) * step))),
      ];
      for (const chunks of splits) {
        const read = parse(chunks);
        expect(read.events).toEqual(whole.events);
        expect(read.result).toEqual(whole.result);
      }
    });
  }

  it("reads every line of a hand-edited log alike, whether our own line layout is recognised in a chunk or the line is read whole", () => {
    // Lines cut whole from a chunk take the reader's fast path for its own layout; a line split
    // across chunks (here: every line, one character at a time) is always read whole. Both must
    // give the same events, skipped lines and line numbers.
    const lines = [
      '{"start_time": "2026-11-25T16:32:52.000000Z", "events": [',
      `${event(0)},`,
      `${event(1)},\r`,
      `  ${event(2)},`,
      `${event(3)},   `,
      '{"note": "no type here"},',
      '{"timestamp": "bad json",},',
      `${event(4)}`.replace('"elapsed_seconds":0.004', '"elapsed_seconds":NaN') + ',',
      '',
      `${event(5)},`,
      '{"type": "__proto__", "level": "ERROR", "data": {"stage": "s"}},',
      `${event(6)}`,
      '], "total_events": 8}',
      '',
    ];
    const text = lines.join('\n');
    const whole = parse([text]);
    expect(whole.events.map((e) => e.type)).toEqual(['llm_call_start', 'llm_call_end', 'llm_call_start', 'llm_call_end', 'llm_call_start', 'llm_call_end', '__proto__', 'llm_call_start']);
    expect(whole.events[4].elapsed_seconds).toBeNaN();
    expect(whole.result.skipped).toEqual([
      { line: 6, reason: 'not an event (no "type")' },
      { line: 7, reason: 'not a JSON event' },
    ]);
    expect(whole.result.complete).toBe(true);
    expect(whole.result.declaredTotal).toBe(8);
    for (const chunks of [text.split(''), cut(text, [text.indexOf(event(3)) + 10]), cut(text, [text.indexOf('no type') - 2])]) {
      const read = parse(chunks);
      expect(read.events).toEqual(whole.events);
      expect(read.result).toEqual(whole.result);
    }
  });

  it('a damaged line inside a log that was never closed is skipped, not taken for the torn tail', () => {
    // Killed between two writes: the last line is whole, so nothing was torn.
    const text = ['{"start_time": "2026-11-25T16:32:52.000000Z", "events": [', `${event(0)},`, '{"timestamp": "bad json",},', `${event(1)},`, `${event(2)},`, ''].join('\n');
    for (const chunks of [[text], text.split('')]) {
      const read = parse(chunks);
      expect(read.events.map((e) => e.elapsed_seconds)).toEqual([0, 0.001, 0.002]);
      expect(read.result.skipped).toEqual([{ line: 3, reason: 'not a JSON event' }]);
      expect(read.result.tornTail).toBe(false);
      expect(read.result.complete).toBe(false);
    }
  });

  it('a chunk without any line break continues the line before it', () => {
    const line = events[3];
    const text = `{"start_time": null, "events": [\n${line}\n], "total_events": 1}\n`;
    const start = text.indexOf(line);
    const read = parse([text.slice(0, start + 10), text.slice(start + 10, start + 20), text.slice(start + 20)]);
    expect(read.events).toEqual([JSON.parse(line)]);
    expect(read.result.complete).toBe(true);
  });
});

describe('TruthLogParser batches of event lines', () => {
  // Runs of our own `{…},` lines are parsed 64 at a time as one JSON array (eventLines). A line
  // split across chunks is always read alone, so a log given one character at a time is the
  // reference: both must give the same events, skipped lines and line numbers.
  const header = '{"start_time": "2026-11-25T16:32:52.000000Z", "events": [';

  function oddLine(i: number): string | undefined {
    switch (i) {
      case 70:
        return '{"timestamp": "bad json",},'; // damaged, inside the second batch
      case 100:
        return '{"note": "no type here"},'; // an object without a type
      case 101:
        return '{"type": "task_end", "data": {"stage": "s"}},'; // no level, timestamp or elapsed_seconds: filled in
      case 102:
        return '{"type": "task_end", "level": "INFO", "timestamp": "t", "elapsed_seconds": 1, "data": [1, 2]},'; // data not an object
      case 150:
        return `${event(150)},${event(1150)},`; // two events on one line: a damaged line
      case 200:
        return '{"timestamp": "t", "type": "x", "level": "INFO", "data": {"a": {"b": 1},'; // an event cut over two lines…
      case 201:
        return '{"c": 2}}},'; // …whose second line starts with `{` too
      case 250:
        return `${event(250)},\r`;
      default:
        return undefined;
    }
  }

  function log(count: number, closed: boolean): string {
    const lines = [header];
    for (let i = 0; i < count; i++) lines.push(oddLine(i) ?? `${event(i)},`);
    if (closed) lines.push(`${event(count)}`, `], "total_events": ${count + 1}}`);
    return `${lines.join('\n')}\n`;
  }

  it('reads damaged, partial and hand-written lines inside a batch as it reads them one by one', () => {
    const text = log(300, true);
    const whole = parse([text]);
    const oneByOne = parse(text.split(''));
    expect(whole.events).toEqual(oneByOne.events);
    expect(whole.result).toEqual(oneByOne.result);
    // With `onEvents`, runs parsed together come as runs, the rest one by one, in the same order.
    const delivered: TruthEvent[] = [];
    const runs: number[] = [];
    const parser = new TruthLogParser((event) => delivered.push(event), 'test.json', (run) => {
      runs.push(run.length);
      delivered.push(...run);
    });
    parser.push(text);
    expect(parser.end()).toEqual(whole.result);
    expect(delivered).toEqual(whole.events);
    expect(runs.length).toBeGreaterThan(0);
    expect(runs.every((length) => length >= 2 && length <= 64)).toBe(true);
    // Line n + 2 holds element n (the header is line 1).
    expect(whole.result.skipped).toEqual([
      { line: 72, reason: 'not a JSON event' },
      { line: 102, reason: 'not an event (no "type")' },
      { line: 152, reason: 'not a JSON event' },
      { line: 202, reason: 'not a JSON event' },
      { line: 203, reason: 'not a JSON event' },
    ]);
    expect(whole.events.length).toBe(301 - 5);
    expect(whole.events.find((e) => e.timestamp === '')).toMatchObject({ type: 'task_end', level: 'INFO', elapsed_seconds: 0, data: { stage: 's' } });
    expect(whole.events.find((e) => e.timestamp === 't')).toMatchObject({ data: { value: [1, 2] } });
    expect(whole.result.complete).toBe(true);
    expect(whole.result.declaredTotal).toBe(301);
  });

  it('a log damaged all through is read the same after batching gives up', () => {
    // A damaged line every 20 lines: more failed batches than the parser tries before it reads
    // line by line to the end.
    const lines = [header];
    for (let i = 0; i < 2000; i++) lines.push(i % 20 === 7 ? '{"timestamp": "bad json",},' : `${event(i)},`);
    const text = `${lines.join('\n')}\n`;
    const whole = parse([text]);
    const oneByOne = parse(text.split(''));
    expect(whole.events).toEqual(oneByOne.events);
    expect(whole.result).toEqual(oneByOne.result);
    expect(whole.result.skipped.length).toBe(100);
    expect(whole.result.skipped[99]).toEqual({ line: 1989, reason: 'not a JSON event' });
    expect(whole.events.length).toBe(1900);
    expect(whole.result.tornTail).toBe(false);
  });

  it('reads two hand-edited lines that make whole events only together as the JSON they make', () => {
    // An event written over two lines and two events on the next line, both in one batch: the
    // batch has as many elements as lines and is taken as it parses (what json.load of the whole
    // file, the original tracker's reader, makes of it). Read alone, both lines are damaged.
    const first = '{"timestamp": "t", "elapsed_seconds": 1, "type": "a", "level": "INFO", "data": {"list": [{"x": 1},';
    const second = '{"y": 2}]}},{"timestamp": "t", "elapsed_seconds": 2, "type": "b", "level": "INFO", "data": {}},';
    const text = `${[header, `${event(0)},`, first, second, `${event(3)},`].join('\n')}\n`;
    const whole = parse([text]);
    expect(whole.events.map((e) => e.type)).toEqual(['llm_call_start', 'a', 'b', 'llm_call_end']);
    expect(whole.events[1].data).toEqual({ list: [{ x: 1 }, { y: 2 }] });
    expect(whole.result.skipped).toEqual([]);
    const oneByOne = parse(text.split(''));
    expect(oneByOne.events.map((e) => e.type)).toEqual(['llm_call_start', 'llm_call_end']);
    expect(oneByOne.result.skipped).toEqual([
      { line: 3, reason: 'not a JSON event' },
      { line: 4, reason: 'not a JSON event' },
    ]);
  });
});
