import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parsePythonJson } from '../analyzers/pythonJson';
import { parsePythonLiteral } from '../analyzers/pythonLiteral';

// The readable log's `{data}` is Python's repr() of a dict; parsePythonLiteral reads it back.
// A real Python writes each value both as repr() and as JSON: the two must read the same.

const VALUES = String.raw`
import json, sys
values = [
    {'stage': 'stage1', 'ok': True, 'no': False, 'note': None},
    {'n': 42, 'neg': -7, 'f': 1.5, 'tiny': 4.2e-05, 'big': 1e+16, 'whole': 5.0, 'inf': float('inf'), 'ninf': float('-inf')},
    {"it's": 'say "hi"', 'both': 'it\'s "x"', 'back': 'C:\\tmp\\x', 'ctl': 'a\nb\tc\r\x00\x07\x7f\x85\xa0\xad'},
    {'zh': '阶段一：问题分析', 'emoji': '🙂', 'astral_private': '\U000f0000', 'lone': '\ud800', 'nel': '\u2028'},
    {'nested': {'list': [1, 'a', None, [True, {}]], 'tuple': (1, 2), 'one': (3,), 'empty': [], 'd': {}}},
    {None: 1, True: 2, 3: 'three', 1.5: 'x'},
    {'error': "SyntaxError: expected ':' (solve.py, line 2)", 'traceback': 'Traceback (most recent call last):\n  File "x.py", line 1\n'},
]
print(json.dumps([[repr(v), json.dumps(v)] for v in values]))
`;

describe('parsePythonLiteral against Python', () => {
  it('reads back repr() of dicts as json.dumps writes them', () => {
    const pairs = JSON.parse(execFileSync('python3', ['-c', VALUES], { encoding: 'utf8' })) as Array<[string, string]>;
    expect(pairs).toHaveLength(7);
    for (const [repr, json] of pairs) expect(parsePythonLiteral(repr), repr).toEqual(parsePythonJson(json));
  });

  it('reads sets as lists, nan as NaN, bytes as text', () => {
    expect(parsePythonLiteral("{'tags': {1, 2}, 'x': nan, 'b': b'raw\\x00'}")).toEqual({ tags: [1, 2], x: NaN, b: 'raw\u0000' });
  });

  it('names the position of what is not data', () => {
    expect(() => parsePythonLiteral("{'when': datetime.datetime(2025, 1, 24, 10, 30)}")).toThrow(/not a Python literal: unexpected value at position 9$/);
    expect(() => parsePythonLiteral("{'a': 1")).toThrow(SyntaxError);
    expect(() => parsePythonLiteral("{'a': 'cut off")).toThrow(/unterminated string/);
    expect(() => parsePythonLiteral("{'a': 1} trailing")).toThrow(/after the value/);
  });
});
