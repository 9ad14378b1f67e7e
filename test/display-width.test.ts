import { describe, expect, it } from 'vitest';
import { displayWidth } from '../src/cli/displayWidth';

describe('displayWidth (the columns a text takes in a terminal)', () => {
  it('counts two columns for East Asian wide and fullwidth characters, one for the rest', () => {
    expect(displayWidth('stage1')).toBe(6);
    expect(displayWidth('数据清洗')).toBe(8);
    expect(displayWidth('한국어')).toBe(6);
    expect(displayWidth('ｆｕｌｌ')).toBe(8);
    expect(displayWidth('阶段 ２：模型训练')).toBe(17);
    // East Asian ambiguous characters are narrow, as terminals outside East Asian locales draw them.
    expect(displayWidth('−2 → +1 …')).toBe(9);
  });

  it('counts no column for combining marks, invisible format characters and ANSI colour codes', () => {
    expect(displayWidth('e\u0301')).toBe(1);
    expect(displayWidth('ก\u0e34')).toBe(1);
    expect(displayWidth('a\u0489')).toBe(1);
    expect(displayWidth('a\u200bb')).toBe(2);
    expect(displayWidth('\u202eabc')).toBe(3);
    expect(displayWidth('\u1100\u1161')).toBe(2);
    expect(displayWidth('葛\u{e0100}')).toBe(2);
    expect(displayWidth('\u001b[31m数据\u001b[39m')).toBe(4);
  });

  it('counts an emoji as two columns, sequences joined or modified included', () => {
    for (const emoji of ['👍', '👩\u200d💻', '❤\ufe0f', '1\ufe0f\u20e3', '🇨🇳', '👍🏽']) expect(displayWidth(emoji), emoji).toBe(2);
  });
});
