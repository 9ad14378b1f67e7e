import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatEventLines } from '../exporters/eventFormat';
import { pythonRepr } from '../exporters/pythonRepr';
import { TruthLogExporter } from '../exporters/TruthLogExporter';
import { isoMicros } from '../src/clock';
import type { TruthEvent } from '../src/types';
import { seededRandom } from './helpers/seededRandom';
import { tempRunDir } from './helpers/tempDirs';

// The formatter's fast path keeps state from one event to the next: the last plain value of each
// key and of each top-level field, prefixes of the keys seen (up to a bound), numbers written from
// a digit table. A state bug shows only in a sequence: a value that looks like the one before it,
// a key seen 4,097th, a value one character past the remembered length. These tests format long
// seeded random sequences built to hit those cases and compare every line with the definition,
// JSON.stringify (non-ASCII escaped) and pythonRepr; a failure fails again from the same seed.

function referenceJson(event: unknown): string {
  return JSON.stringify(event).replace(/[\u0080-\uffff]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function referenceReadable(event: TruthEvent): string | undefined {
  let repr: string;
  try {
    repr = pythonRepr(event.data);
  } catch {
    return undefined;
  }
  return `[${event.timestamp}] (+${event.elapsed_seconds.toFixed(3)}s) [${event.level}] ${event.type}: ${repr}\n`;
}

const PLAIN_WORDS = ['stage1', 'stage2', 'gpt-4o', 'openai', 'solve', 'ok', '', 'a', 'python solve.py', 'x'.repeat(64), 'y'.repeat(65)];
const ODD_PIECES = ["'", '"', '\\', '\n', '\t', '\u0001', '\u007f', 'é', '阶段', '🙂', '\ud800', '\udc00', '\u2028', '</script>', '{', '}', ',', ':'];

function makeValues(random: () => number) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const float = new DataView(new ArrayBuffer(8));

  /** A string that is plain, almost plain (one character away from a remembered value), or odd. */
  function string(): string {
    const roll = random();
    if (roll < 0.45) return pick(PLAIN_WORDS);
    if (roll < 0.6) {
      // The remembered value with one character more, less or changed: must not pass for it.
      const base = pick(PLAIN_WORDS);
      const edit = random();
      if (edit < 0.33) return `${base}${pick(['z', "'", '"', 'é'])}`;
      if (edit < 0.66) return base.slice(0, -1);
      return base.length === 0 ? "'" : `${base.slice(0, -1)}${pick(['Z', "'", '\\'])}`;
    }
    if (roll < 0.8) {
      let text = '';
      const pieces = 1 + Math.floor(random() * 4);
      for (let i = 0; i < pieces; i++) text += random() < 0.5 ? pick(PLAIN_WORDS) : pick(ODD_PIECES);
      return text;
    }
    // Printable ASCII of random lengths around the 64 characters a remembered value may have.
    let text = '';
    const length = 60 + Math.floor(random() * 8);
    for (let i = 0; i < length; i++) text += String.fromCharCode(0x20 + Math.floor(random() * 95));
    return text;
  }

  function number(): number {
    const roll = random();
    if (roll < 0.25) return Math.floor(random() * 100_000) * (random() < 0.2 ? -1 : 1);
    // Durations and elapsed times: whole microseconds, as the library writes them.
    if (roll < 0.5) return Math.round(random() * 10 ** Math.floor(random() * 9)) / 1e6;
    if (roll < 0.6) return pick([0, -0, NaN, Infinity, -Infinity, 1e21, 1e-7, 0.0001, 0.00009999, 5e-324, Number.MAX_VALUE, 0.1 + 0.2, 2 ** 53, -(2 ** 53) - 2, 0.0005, 1.0005, 2.5, 999.9995]);
    if (roll < 0.8) return (random() - 0.5) * 10 ** (Math.floor(random() * 40) - 20);
    // Any double, subnormals included.
    float.setUint32(0, Math.floor(random() * 2 ** 32));
    float.setUint32(4, Math.floor(random() * 2 ** 32));
    return float.getFloat64(0);
  }

  function nested(depth: number): unknown {
    const roll = random();
    if (depth > 2 || roll < 0.4) return scalar();
    if (roll < 0.7) return Array.from({ length: Math.floor(random() * 4) }, () => nested(depth + 1));
    return data(depth + 1);
  }

  function scalar(): unknown {
    const roll = random();
    if (roll < 0.5) return string();
    if (roll < 0.85) return number();
    if (roll < 0.9) return random() < 0.5;
    if (roll < 0.95) return null;
    return undefined;
  }

  /** Keys mostly from a small set (their prefixes are cached), sometimes new (the cache fills up), sometimes odd. */
  let keySerial = 0;
  function key(): string {
    const roll = random();
    if (roll < 0.6) return pick(['stage', 'task', 'model', 'provider', 'duration', 'input_tokens', 'error', 'n']);
    if (roll < 0.85) return `key_${keySerial++}`;
    if (roll < 0.95) return pick(["it's", 'say "x"', 'line\nbreak', 'π', '', '7', '10', 'back\\slash']);
    return string();
  }

  function data(depth = 0): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const entries = Math.floor(random() * 6);
    for (let i = 0; i < entries; i++) {
      const roll = random();
      out[key()] = roll < 0.85 ? scalar() : roll < 0.99 ? nested(depth) : pick([new Date(Math.floor(random() * 1e13)), () => 1, Symbol('s'), 10n]);
    }
    return out;
  }

  return { pick, string, number, data };
}

/**
 * An event as AutopsyRun.record() builds it (seed keys, isoMicros time, string ids, in that
 * order): `recorded` may be passed for it. Other events have other shapes, odd top-level values or
 * data that is not a plain object, and are formatted without it.
 */
function makeEvent(random: () => number, values: ReturnType<typeof makeValues>, atMs: number): { event: TruthEvent; recorded: boolean } {
  const { pick, string, number, data } = values;
  const recorded = random() < 0.7;
  const type = recorded || random() < 0.6 ? pick(['task_start', 'task_end', 'llm_call_error', 'checkpoint_save', 'custom event']) : string();
  const level = recorded || random() < 0.6 ? pick(['INFO', 'WARNING', 'ERROR']) : string();
  const elapsed = recorded ? Math.round(random() * 1e9) / 1e6 : number();
  const body: unknown = recorded || random() < 0.8 ? data() : pick([[1, 2], 'text', null, 42]);
  const event: Record<string, unknown> = { timestamp: recorded ? isoMicros(atMs) : random() < 0.8 ? isoMicros(atMs) : string(), elapsed_seconds: elapsed, type, level, data: body };
  if (random() < 0.7) {
    event.trace_id = pick(['4bf92f3577b34da6a3ce929d0e0e4736', '0af7651916cd43dd8448eb211c80319c']);
    event.span_id = pick(['00f067aa0ba902b7', 'b7ad6b7169203331', 'b7ad6b7169203332']);
    if (random() < 0.6) event.parent_span_id = pick(['00f067aa0ba902b7', '53995c3f42cd8ad8']);
  }
  if (!recorded) {
    const roll = random();
    if (roll < 0.15) event.extra = string();
    else if (roll < 0.25) event.span_id = random() < 0.5 ? 7 : string();
    else if (roll < 0.3) return { event: { level, type, ...event } as TruthEvent, recorded };
  }
  return { event: event as unknown as TruthEvent, recorded };
}

describe('formatEventLines over random sequences', () => {
  for (const seed of [1, 2, 3, 20261126]) {
    it(`seed ${seed}: 8,000 events, every line the reference's`, () => {
      const random = seededRandom(seed);
      const values = makeValues(random);
      let atMs = Date.UTC(2026, 10, 26, 15, 0, 0) + random() * 1000;
      for (let i = 0; i < 8000; i++) {
        atMs += random() < 0.9 ? random() * 5 : random() * 5000;
        const { event, recorded } = makeEvent(random, values, atMs);
        const prefix = values.pick(['', '\n', ',\n']);
        const where = `seed ${seed}, event ${i}`;
        let lines: ReturnType<typeof formatEventLines>;
        try {
          lines = formatEventLines(event, recorded, prefix);
        } catch (error) {
          // Only where JSON.stringify throws too.
          expect(() => JSON.stringify(event), where).toThrow();
          continue;
        }
        expect(lines.json, where).toBe(prefix + referenceJson(event));
        expect(lines.readable, where).toBe(referenceReadable(event));
        if (lines.ascii) {
          expect(/^[\x00-\x7f]*$/.test(lines.json), where).toBe(true);
          expect(/^[\x00-\x7f]*$/.test(lines.readable ?? ''), where).toBe(true);
        }
      }
    });
  }

  it('past the bounds of what is kept (4,096 keys, 1,024 types, 4 levels a type, 64 characters), lines are still written exactly', () => {
    const at = Date.UTC(2026, 10, 26, 15, 0, 0);
    const levels = ['INFO', 'WARNING', 'ERROR', 'DEBUG', 'TRACE', 'NOTICE'];
    for (let i = 0; i < 9000; i++) {
      const long = `v${'w'.repeat(60 + (i % 8))}`;
      const type = i % 5 === 0 ? `type_${i}_${'t'.repeat(i % 80)}` : `type_${i % 1500}`;
      const level = levels[i % levels.length];
      const event = { timestamp: isoMicros(at + i), elapsed_seconds: i / 1000, type, level, data: { [`k${i}`]: long, stage: i % 3 === 0 ? long : `${long}'` } } as TruthEvent;
      const lines = formatEventLines(event, i % 6 < 3, ',\n');
      expect(lines.json).toBe(`,\n${referenceJson(event)}`);
      expect(lines.readable).toBe(referenceReadable(event));
    }
  });

  it('a random sequence written through TruthLogExporter gives both files as the reference, ASCII and non-ASCII mixed in each write', () => {
    const dir = tempRunDir('autopsy-format-random-');
    const jsonPath = join(dir, 'execution_tracker.json');
    const readablePath = join(dir, 'execution_tracker_readable.txt');
    const exporter = new TruthLogExporter({ jsonPath, readablePath, startTime: '2026-11-26T15:00:00.000000Z' });
    const random = seededRandom(7);
    const values = makeValues(random);
    const written: TruthEvent[] = [];
    let atMs = Date.UTC(2026, 10, 26, 15, 0, 0);
    for (let i = 0; i < 5000; i++) {
      atMs += random() * 3;
      const { event, recorded } = makeEvent(random, values, atMs);
      let throws = false;
      try {
        JSON.stringify(event);
      } catch {
        throws = true;
      }
      expect(exporter.export(event, recorded)).toBe(!throws);
      if (!throws) written.push(event);
    }
    exporter.shutdown();
    const json = `{"start_time": "2026-11-26T15:00:00.000000Z", "events": [\n${written.map(referenceJson).join(',\n')}\n], "total_events": ${written.length}}\n`;
    expect(readFileSync(jsonPath, 'latin1')).toBe(json);
    const readable = written.map(referenceReadable).filter((line) => line !== undefined).join('');
    // On disk as UTF-8 (a lone surrogate becomes U+FFFD there, whoever encodes it).
    expect(readFileSync(readablePath, 'utf8')).toBe(Buffer.from(readable, 'utf8').toString('utf8'));
  });
});
