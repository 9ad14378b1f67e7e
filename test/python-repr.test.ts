import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { formatEventLines, formatReadableLine } from '../exporters/eventFormat';
import { pythonRepr } from '../exporters/pythonRepr';
import type { TruthEvent } from '../src/types';
import { seededRandom } from './helpers/seededRandom';

// The readable log shows event data as the original tracker did: Python's repr() of the dict.
// Checked against a real Python: the values go over as JSON, Python prints repr() of each.

function pythonReprs(values: unknown[]): string[] {
  const script = 'import json,sys; print(json.dumps([repr(v) for v in json.load(sys.stdin)]))';
  return JSON.parse(execFileSync('python3', ['-c', script], { input: JSON.stringify(values), encoding: 'utf8' }));
}

/** Characters assigned (or unassigned) alike in Python 3.11's Unicode 14 and Node 20's Unicode 15+. */
function characters(): string[] {
  const chars: string[] = [];
  for (let code = 0; code < 0x400; code++) chars.push(String.fromCharCode(code));
  for (const code of [0x1680, 0x180e, 0x2000, 0x2007, 0x200a, 0x200b, 0x200d, 0x2028, 0x2029, 0x202f, 0x205f, 0x2060, 0x3000, 0x3001, 0xfeff, 0xfffd, 0xe000, 0xf8ff, 0x4e2d, 0x9636]) chars.push(String.fromCharCode(code));
  for (const code of [0x1f642, 0x1f600, 0xe0001, 0xe007f, 0x10ffff, 0xf0000, 0x20000]) chars.push(String.fromCodePoint(code));
  return chars;
}

describe('pythonRepr against Python', () => {
  it('escapes exactly the characters Python escapes, with the quote Python picks', () => {
    const chars = characters();
    const strings = [...chars, ...chars.map((ch) => `a${ch}b`), "it's", 'say "hi"', `both ' and "`, 'back\\slash', '阶段一：问题分析', 'café 🙂', 'tab\there', 'nbsp\u00a0soft\u00adhyphen'];
    const expected = pythonReprs(strings);
    const mismatched = strings.map((text, i) => [text, pythonRepr(text), expected[i]]).filter(([, ours, theirs]) => ours !== theirs);
    expect(mismatched).toEqual([]);
  });

  it('writes floats as Python does, exponent notation below 1e-4 included', () => {
    const random = seededRandom(3);
    const values = [0.000042, 1.5e-7, 1e-5, 0.0001, 0.00009999, -3e-5, 5e-324, 1e-300, 0.5, 1.25, 0.1 + 0.2, 123.456, 1e15 + 0.5];
    for (let i = 0; i < 3000; i++) values.push((random() - 0.5) * 10 ** (random() * 16 - 12));
    // Durations of a few microseconds (a table serves these).
    for (let k = 1; k < 120; k++) values.push(k / 1e6, -k / 1e6);
    const expected = pythonReprs(values);
    expect(values.map((value) => pythonRepr(value))).toEqual(expected);
  });

  it('the readable line (fast path and general path) shows data as Python prints the dict', () => {
    const data = { stage: 'étape\u00a01', cost_usd: 0.000042, tiny: -1.5e-7, duration: 0.0625, n: 3, zh: '阶段', nested: { x: 2.5e-5, s: 'a\u0085b' } };
    const event: TruthEvent = { timestamp: '2026-11-25T16:32:52.123456Z', elapsed_seconds: 0.0625, type: 'x', level: 'INFO', data };
    const [dictRepr] = pythonReprs([data]);
    const line = `[2026-11-25T16:32:52.123456Z] (+0.062s) [INFO] x: ${dictRepr}\n`;
    expect(formatEventLines(event).readable).toBe(line);
    expect(formatReadableLine(event)).toBe(line);
  });
});
