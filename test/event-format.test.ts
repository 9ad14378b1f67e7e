import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatEventJson, formatEventLines, formatReadableLine } from '../exporters/eventFormat';
import { pythonRepr } from '../exporters/pythonRepr';
import { isoMicros } from '../src/clock';
import { init, llmCall, shutdown, stage, task, track } from '../src/index';
import { TruthLogExporter } from '../exporters/TruthLogExporter';
import type { TruthEvent } from '../src/types';
import { logPath } from './helpers/runFiles';
import { seededRandom } from './helpers/seededRandom';
import { tempRunDir } from './helpers/tempDirs';

// The hot path writes both lines of an event in one walk over its data (exporters/eventFormat.ts).
// Whatever the data, the text must be exactly what JSON.stringify (non-ASCII escaped, as Python's
// json.dump writes it) and pythonRepr make of it.

/** The definition: JSON.stringify(event) with every non-ASCII UTF-16 unit as \uXXXX, and the readable line built on pythonRepr. */
function referenceJson(event: unknown): string {
  let out = '';
  for (const ch of JSON.stringify(event)) {
    for (let i = 0; i < ch.length; i++) {
      const unit = ch.charCodeAt(i);
      out += unit < 0x80 ? ch[i] : `\\u${unit.toString(16).padStart(4, '0')}`;
    }
  }
  return out;
}

function referenceReadable(event: TruthEvent): string {
  return `[${event.timestamp}] (+${event.elapsed_seconds.toFixed(3)}s) [${event.level}] ${event.type}: ${pythonRepr(event.data)}\n`;
}

function event(data: unknown, extra: Partial<TruthEvent> = {}): TruthEvent {
  return {
    timestamp: '2026-11-25T16:32:52.123456Z',
    elapsed_seconds: 1.234567,
    type: 'llm_call_end',
    level: 'INFO',
    data: data as TruthEvent['data'],
    trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    span_id: '00f067aa0ba902b7',
    ...extra,
  };
}

const tricky: Array<[string, unknown]> = [
  ['plain strings and numbers', { model: 'gpt-4o', provider: 'openai', stage: 'stage1', input_tokens: 812, duration: 0.000123 }],
  ['empty data', {}],
  ['quotes of both kinds', { a: "it's", b: 'say "hi"', c: `both ' and "` }],
  ['backslashes and control characters', { path: 'C:\\tmp\\x', text: 'line one\nline two\ttab\r\u0001\u007f' }],
  ['non-ASCII text', { zh: '阶段一：问题分析', emoji: '🙂', accents: 'café' }],
  ['line and paragraph separators', { text: 'a\u2028b\u2029c' }],
  ['lone surrogates', { high: 'x\ud800y', low: '\udc00' }],
  ['numbers of every kind', { int: 42, neg: -7, zero: 0, negZero: -0, tiny: 1e-7, small: 0.000001, big: 1e21, frac: 0.1 + 0.2, nan: NaN, inf: Infinity, ninf: -Infinity }],
  ['booleans, null and undefined', { yes: true, no: false, nothing: null, missing: undefined, after: 'x' }],
  ['nested objects and arrays', { list: [1, 'a', null, [true]], nested: { k: "it's", deeper: { n: 1.5 } }, emptyList: [], emptyObject: {} }],
  ['keys that need escaping', { "it's": 1, 'say "x"': 2, 'line\nbreak': 3, 'back\\slash': 4, 'spaced key': 5, 'π': 6 }],
  ['lists of plain strings, and lists that are not', { finish_reasons: ['stop'], two: ['stop', 'length'], empty: [], eight: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], nine: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'], quoted: ["it's"], mixed: ['a', 1], holes: [, 'a'], odd: ['é'] }],
  ['integer-like keys come first, in order', { b: 1, 10: 'ten', a: 2, 2: 'two' }],
  ['a value with toJSON', { when: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) }],
  ['a function value (left out of JSON)', { fn: () => 1, keep: 'yes' }],
  ['a symbol value', { sym: Symbol('s'), keep: 1 }],
];

describe('formatEventLines', () => {
  for (const [name, data] of tricky) {
    it(`writes ${name} exactly as JSON.stringify and pythonRepr do`, () => {
      const input = event(data);
      const lines = formatEventLines(input);
      expect(lines.json).toBe(referenceJson(input));
      expect(/^[\x00-\x7f]*$/.test(lines.json)).toBe(true);
      expect(JSON.parse(lines.json)).toEqual(JSON.parse(JSON.stringify(input)));
      expect(lines.readable).toBe(referenceReadable(input));
      expect(formatEventJson(input)).toBe(referenceJson(input));
      expect(formatReadableLine(input)).toBe(referenceReadable(input));
    });
  }

  it('says a line is ASCII only when both lines are (the file sink then skips UTF-8 encoding)', () => {
    const isAscii = (text: string | undefined) => text === undefined || /^[\x00-\x7f]*$/.test(text);
    // Whatever the data, a line claimed ASCII is ASCII.
    for (const [, data] of tricky) {
      const lines = formatEventLines(event(data));
      if (lines.ascii) expect(isAscii(lines.json) && isAscii(lines.readable)).toBe(true);
    }
    expect(formatEventLines(event({ model: 'gpt-4o', n: 1, ok: true, none: null, missing: undefined })).ascii).toBe(true);
    expect(formatEventLines(event({})).ascii).toBe(true);
    // An openai call's end: a list of plain strings keeps the line ASCII.
    expect(formatEventLines(event({ model: 'gpt-4o-mini', finish_reasons: ['stop'], tokens_used: 18 })).ascii).toBe(true);
    // Non-ASCII anywhere in the event: the value, a key, the type, the level, the timestamp, an id, nested data.
    const nonAscii: TruthEvent[] = [
      event({ stage: 'café' }),
      event({ 'clé': 1 }),
      event({ a: 1 }, { type: 'étape_start' }),
      event({ a: 1 }, { level: 'INFÖ' as TruthEvent['level'] }),
      event({ a: 1 }, { timestamp: '2026-11-25T16:32:52.123456Z ' }),
      event({ a: 1 }, { span_id: '00f067aa0ba902bé' }),
      event({ a: 1 }, { trace_id: '4bf92f3577b34da6a3ce929d0e0e473é' }),
      event({ a: 1 }, { parent_span_id: 'é' }),
      event({ nested: { zh: '阶段' } }),
      event({ finish_reasons: ['stop', 'arrêt'] }),
      event(['阶段']),
    ];
    for (const input of nonAscii) {
      const lines = formatEventLines(input);
      expect(lines.ascii).toBe(false);
      expect(lines.json).toBe(referenceJson(input));
    }
    // The flag belongs to one event: an ASCII event after a non-ASCII one is ASCII again.
    expect(formatEventLines(event({ stage: 'stage1' })).ascii).toBe(true);
  });

  it('a value repeated from the previous event (which skips the character check) comes out the same as a new one', () => {
    // The same key alternating between plain, quoted, non-ASCII and repeated values, event after event.
    const long = 'x'.repeat(65);
    const values = ['stage1', 'stage1', "it's", "it's", 'stage1', 'café', 'café', 'stage1', 'say "hi"', 'stage1', '', '', 'stage1', long, long, `${long}'`, long];
    for (const value of values) {
      const input = event({ stage: value, task: value, n: 1 });
      const lines = formatEventLines(input);
      expect(lines.json).toBe(referenceJson(input));
      expect(lines.readable).toBe(referenceReadable(input));
      // Claimed ASCII exactly when the value needs no escaping in either line (the fast path's test).
      expect(lines.ascii).toBe(/^[\x20\x21\x23-\x26\x28-\x5b\x5d-\x7e]*$/.test(value));
    }
  });

  it("a recorded event (isoMicros' timestamp and key order taken as they are) is written as the reference", () => {
    // The live run tells the formatter its events were built by AutopsyRun.record() (drain()):
    // isoMicros' text must be its own JSON body for every instant a Date can hold, so the line is
    // the same as JSON.stringify's.
    const instants = [Date.now(), Date.now() + 0.0005, 0, -1, -62_198_755_200_000.5, 253_402_300_799_999.9, 8.64e15, -8.64e15, 1e15 + 0.123456];
    const random = seededRandom(23);
    for (let i = 0; i < 200; i++) instants.push((random() - 0.5) * 2 * 8.64e15);
    for (const atMs of instants) {
      const timestamp = isoMicros(atMs);
      expect(timestamp).toMatch(/^[\x20\x21\x23-\x5b\x5d-\x7e]+$/);
      const input = event({ stage: 'stage1', n: 1 }, { timestamp });
      const recorded = formatEventLines(input, true);
      expect(recorded.json).toBe(referenceJson(input));
      expect(recorded.readable).toBe(referenceReadable(input));
      expect(recorded.ascii).toBe(true);
    }
    // Not recorded, a timestamp that needs escaping is still escaped.
    const odd = event({}, { timestamp: 'say "when"\n' });
    expect(formatEventLines(odd).json).toBe(referenceJson(odd));
  });

  it('keeps every field of events of other shapes: extra keys, other key order, missing or non-string ids', () => {
    const withExtra = { ...event({ a: 1 }), extra: { x: 1 } } as TruthEvent;
    const reordered = { level: 'INFO', type: 't', timestamp: 'ts', elapsed_seconds: 0.5, data: { a: 1 } } as TruthEvent;
    const noIds = { timestamp: 'ts', elapsed_seconds: 0, type: 't', level: 'WARNING', data: { a: 'b' } } as TruthEvent;
    const parent = event({ a: 1 }, { parent_span_id: 'b7ad6b7169203331' });
    const numericId = event({ a: 1 }, { span_id: 12 as unknown as string });
    const undefinedId = event({ a: 1 }, { trace_id: undefined });
    const odd = event({ a: 1 }, { type: 'custom "quoted"\ttype', level: 'ERROR', timestamp: 'not\\a\ntime', elapsed_seconds: NaN });
    for (const input of [withExtra, reordered, noIds, parent, numericId, undefinedId, odd]) {
      expect(formatEventLines(input).json).toBe(referenceJson(input));
      expect(JSON.parse(formatEventLines(input).json)).toEqual(JSON.parse(referenceJson(input)));
    }
    expect(formatEventLines(odd).readable).toBe(referenceReadable(odd));
  });

  it('data that is not a plain object (array, string, null) is written as JSON.stringify writes it', () => {
    for (const data of [[1, 2], 'text', null, 5]) {
      const input = event(data);
      expect(formatEventLines(input).json).toBe(referenceJson(input));
    }
  });

  it('throws where JSON.stringify throws (a BigInt in nested data), so the exporter can skip the event', () => {
    expect(() => formatEventLines(event({ nested: { n: 10n } }))).toThrow(TypeError);
    expect(() => formatEventLines(event({ n: 10n }))).toThrow(TypeError);
  });

  it('still writes the JSON line when the data cannot be shown in the readable log', () => {
    const data = { ok: 1, toJSON: () => ({ ok: 1 }) };
    Object.defineProperty(data, 'bad', {
      enumerable: true,
      get() {
        throw new Error('getter fails');
      },
    });
    const lines = formatEventLines(event(data));
    expect(lines.json).toBe(referenceJson(event(data)));
    expect(lines.readable).toBeUndefined();
  });
});

describe('TruthLogExporter on the fast path', () => {
  it('writes the tracker JSON and the readable log line for line as the reference formatting', () => {
    const dir = tempRunDir('autopsy-format-');
    const jsonPath = join(dir, 'execution_tracker.json');
    const readablePath = join(dir, 'execution_tracker_readable.txt');
    const exporter = new TruthLogExporter({ jsonPath, readablePath, startTime: '2026-11-25T16:32:52.000000Z' });
    const events = tricky.map(([, data], i) => event(data, { elapsed_seconds: i / 7 }));
    // Events of other shapes take the general path, which must put the separator first too.
    events.splice(1, 0, { ...event({ a: 'é' }), extra: 'x' } as TruthEvent, event({ b: 1 }, { span_id: 7 as unknown as string }));
    for (const input of events) expect(exporter.export(input)).toBe(true);
    expect(exporter.export(event({ n: 10n }))).toBe(false);
    exporter.shutdown();
    const expectedJson = `{"start_time": "2026-11-25T16:32:52.000000Z", "events": [\n${events.map(referenceJson).join(',\n')}\n], "total_events": ${events.length}}\n`;
    expect(readFileSync(jsonPath, 'utf8')).toBe(expectedJson);
    // As UTF-8 on disk (a lone surrogate becomes U+FFFD there, whoever encodes it).
    expect(readFileSync(readablePath, 'utf8')).toBe(Buffer.from(events.map(referenceReadable).join(''), 'utf8').toString('utf8'));
  });

  it("a live run's files, where every event is built by AutopsyRun.record(), are the reference formatting too", async () => {
    // The live run skips the key-order and timestamp checks (formatEventLines' `recorded`): what
    // record() builds must come out as JSON.stringify writes it, span ids included.
    const dir = tempRunDir('autopsy-format-live-');
    // A rule sees each event object the run built, after it was written.
    const built: TruthEvent[] = [];
    const capture = { id: 'capture', title: 'capture', suggestion: 'none', match: (seen: TruthEvent) => built.push(seen) < 0 };
    init({ outputDir: dir, handleExit: false, reportFormats: [], rules: [capture] });
    await stage('plan', async () => {
      track('checkpoint_save', { stage: 'plan', note: `say "hi" — 阶段一 it's`, n: 1e-7, list: [1, 'a'] }, 'WARNING');
      await task('work', async () => {
        await llmCall({ model: 'gpt-4o', provider: 'openai' }, async () => 'ok');
      });
      track('task_start', { task: 'seed-style' });
      track('task_error', { task: 'seed-style', error: 'bad\nthing' }, 'ERROR');
    });
    track('custom_event', {});
    await shutdown();
    const text = readFileSync(logPath(dir, 'execution_tracker.json'), 'utf8');
    const document = JSON.parse(text) as { start_time: string; events: TruthEvent[]; total_events: number };
    expect(document.events.length).toBeGreaterThanOrEqual(10);
    const order = ['timestamp', 'elapsed_seconds', 'type', 'level', 'data', 'trace_id', 'span_id', 'parent_span_id'];
    for (const written of document.events) {
      const keys = Object.keys(written);
      expect(keys).toEqual(order.filter((key) => keys.includes(key)));
    }
    expect(document.events.some((written) => written.parent_span_id !== undefined)).toBe(true);
    expect(built.length).toBe(document.events.length);
    const expected = `{"start_time": ${JSON.stringify(document.start_time)}, "events": [\n${built.map(referenceJson).join(',\n')}\n], "total_events": ${built.length}}\n`;
    expect(text).toBe(expected);
    const readable = readFileSync(logPath(dir, 'execution_tracker_readable.txt'), 'utf8');
    expect(readable).toBe(built.map(referenceReadable).join(''));
  });
});
