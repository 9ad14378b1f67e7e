import { describe, expect, it } from 'vitest';
import { parsePythonJson, parseWithNonFinite } from '../analyzers/pythonJson';

describe('parsePythonJson', () => {
  it('reads NaN, Infinity and -Infinity outside strings as those numbers', () => {
    expect(parsePythonJson('{"a": NaN, "b": [Infinity, -Infinity, -1.5], "c": {"d": NaN}}')).toEqual({ a: NaN, b: [Infinity, -Infinity, -1.5], c: { d: NaN } });
    expect(parsePythonJson('NaN')).toBeNaN();
  });

  it('leaves the words alone inside strings, escaped quotes included', () => {
    const text = String.raw`{"s": "say \"NaN\" or Infinity", "t": "-Infinity", "n": NaN}`;
    expect(parsePythonJson(text)).toEqual({ s: 'say "NaN" or Infinity', t: '-Infinity', n: NaN });
  });

  it('is JSON.parse for standard JSON, and throws as JSON.parse does for anything else', () => {
    expect(parsePythonJson('{"x": [1, "NaN"]}')).toEqual({ x: [1, 'NaN'] });
    expect(() => parsePythonJson('{"x": nan}')).toThrow(SyntaxError);
    expect(() => parsePythonJson('{"x": NaN')).toThrow(SyntaxError);
    expect(parseWithNonFinite('{"x": NaN')).toBeUndefined();
    expect(parseWithNonFinite('{"x": 1,}')).toBeUndefined();
  });

  it("names the fault's position, not the first NaN's, in text that is not JSON even with them", () => {
    const text = '{"a": NaN, "b": -Infinity, "c": {, "d": 1}}';
    // JSON.parse's own error is about the first NaN (and names no position at all).
    expect(() => JSON.parse(text)).toThrow(/Unexpected token 'N'/);
    expect(() => parsePythonJson(text)).toThrow(new RegExp(`position ${text.indexOf('{,') + 1}\\b`));
  });
});
