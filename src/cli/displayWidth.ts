import stringWidth from 'string-width';

/**
 * Characters that take no column but string-width 4 counts as one: combining marks beyond
 * U+0300–U+036F (the only ones it skips), invisible format characters (zero-width space,
 * bidirectional marks) and the vowels and finals of conjoining Hangul jamo. What emoji sequences
 * are made of stays for string-width, which measures an emoji whole: the zero-width joiner, the
 * emoji variation selector, the keycap mark and tag characters.
 */
const ZERO_WIDTH = /(?![\u200d\u20e3\ufe0f\u{e0020}-\u{e007f}])[\p{Mn}\p{Me}\p{Cf}\u1160-\u11ff\ud7b0-\ud7ff]/gu;

/**
 * The columns `text` takes in a terminal: two for each East Asian wide or fullwidth character
 * (Chinese, Japanese, Korean) and emoji, none for combining marks and control characters (ANSI
 * colour codes included), one for the rest.
 */
export function displayWidth(text: string): number {
  return stringWidth(text.replace(ZERO_WIDTH, ''));
}
