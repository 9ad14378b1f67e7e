/*
 * Number to text for the log lines, exactly as `String(value)` and `value.toFixed(3)` write it (but
 * for the exact ties Python's `%.3f` rounds to even, see fixed3Text), but
 * fast for the numbers most events carry: times in seconds with microsecond resolution
 * (elapsed_seconds, duration: `Math.round(µs) / 1e6`) and integers (token counts, sizes). On Node 20
 * `String()` of a fraction costs ~0.35 µs and `toFixed(3)` ~0.2 µs, several times a span
 * (bench/README.md); built from the integer count of microseconds and cached digit groups, the same
 * text costs a fraction of that.
 *
 * Why the text is the same: a value v = k / 1e6 (k an integer, v < 2^32) is the double nearest to
 * the decimal D = k × 10⁻⁶, so D reads back as v; any other decimal as short as D is a multiple of
 * 10⁻⁶ other than D, more than one ulp of v away, and does not. The shortest round-trip text that
 * `String()` writes is therefore D's digits, in plain (not exponent) notation for 1e-6 ≤ v < 1e21.
 * `toFixed(3)` rounds v × 1000 to an integer, ties up; away from a tie (k ending in 500) that is
 * k / 1000 rounded, since v is within half an ulp of D; ties take the slow path.
 */

/** `'0'` … `'999'`. */
const SMALL_WHOLE: string[] = [];
/** `'000'` … `'999'`. */
const THREE_DIGITS: string[] = [];
/** The same without trailing zeros (`'120'` → `'12'`, `'000'` → `''`). */
const THREE_DIGITS_TRIMMED: string[] = [];
for (let i = 0; i < 1000; i++) {
  SMALL_WHOLE.push(String(i));
  const digits = String(i).padStart(3, '0');
  THREE_DIGITS.push(digits);
  THREE_DIGITS_TRIMMED.push(digits.replace(/0+$/, ''));
}

/** Microseconds below this (2^32 seconds) keep the reasoning above exact. */
const MAX_MICROS = 4_294_967_296e6;

let lastWhole = -1;
let lastWholeText = '';

/** Text of a whole number (below 1000 from the table, else cached: consecutive events share it). */
function wholeText(whole: number): string {
  if (whole < 1000) return SMALL_WHOLE[whole];
  if (whole !== lastWhole) {
    lastWhole = whole;
    lastWholeText = String(whole);
  }
  return lastWholeText;
}

/** The count of microseconds v stands for, or -1 when v is not a non-negative k / 1e6 below 2^32 s. */
function microsOf(value: number): number {
  if (!(value >= 0)) return -1;
  const micros = Math.round(value * 1e6);
  return micros < MAX_MICROS && micros / 1e6 === value ? micros : -1;
}

/** `String(value)` for a finite number. */
export function numberText(value: number): string {
  const negative = value < 0;
  const micros = microsOf(negative ? -value : value);
  if (micros < 0) return String(value);
  const fraction = micros % 1e6;
  const whole = (micros - fraction) / 1e6;
  let text: string;
  if (fraction === 0) {
    text = wholeText(whole);
  } else {
    const low = fraction % 1000;
    const high = (fraction - low) / 1000;
    text = low === 0 ? `${wholeText(whole)}.${THREE_DIGITS_TRIMMED[high]}` : `${wholeText(whole)}.${THREE_DIGITS[high]}${THREE_DIGITS_TRIMMED[low]}`;
  }
  return negative ? `-${text}` : text;
}

/**
 * Python's `'%.3f' % value` (the readable log's `(+1.234s)`), which is `value.toFixed(3)` except
 * for a double exactly halfway between two results (0.0625, 2.5625 …): Python rounds those to even
 * (`0.062`), `toFixed` up (`0.063`).
 */
export function fixed3Text(value: number): string {
  const micros = microsOf(value);
  if (micros < 0 || micros % 1000 === 500) return exactTieFixed3(value) ?? value.toFixed(3);
  const rest = micros % 1000;
  const millis = (micros - rest) / 1000 + (rest > 500 ? 1 : 0);
  const fraction = millis % 1000;
  return `${wholeText((millis - fraction) / 1000)}.${THREE_DIGITS[fraction]}`;
}

/** An integer 0 … 999,999 as six digits and `Z` (`'000042Z'`), the end of a timestamp. */
export function sixDigitsZ(value: number): string {
  const low = value % 1000;
  return `${THREE_DIGITS[(value - low) / 1000]}${THREE_DIGITS[low]}Z`;
}

/**
 * The text when value × 1000 is exactly n + ½: value = m / 2000 with m odd, which a double holds
 * exactly only when m is a multiple of 125 (value = (m / 125) / 16). Rounded half to even.
 */
function exactTieFixed3(value: number): string | undefined {
  const magnitude = Math.abs(value);
  const m = magnitude * 2000;
  if (m % 250 !== 125 || m > Number.MAX_SAFE_INTEGER || m / 125 / 16 !== magnitude) return undefined;
  const below = (m - 1) / 2;
  const millis = below % 2 === 0 ? below : below + 1;
  const fraction = millis % 1000;
  return `${value < 0 ? '-' : ''}${(millis - fraction) / 1000}.${String(fraction).padStart(3, '0')}`;
}

/**
 * An integer with a comma every three digits (`'-1,234,567'`), as `value.toLocaleString('en-US')`
 * writes it. The first toLocaleString of a process loads ICU's number formatting, ~25 ms on the
 * benchmark machine: the HTML report is written at exit, and the exit should not wait for it.
 */
export function groupedInteger(value: number): string {
  const magnitude = Math.abs(value);
  const digits = plainDigits(String(magnitude));
  let end = digits.length;
  let text = '';
  for (; end > 3; end -= 3) text = `,${digits.slice(end - 3, end)}${text}`;
  text = `${digits.slice(0, end)}${text}`;
  return value < 0 || Object.is(value, -0) ? `-${text}` : text;
}

/** `'1.2e+21'` → `'1200000000000000000000'` (String() writes 1e21 and above with an exponent; the digits it gives are kept). */
function plainDigits(text: string): string {
  const exponent = text.indexOf('e+');
  if (exponent < 0) return text;
  const mantissa = text.slice(0, exponent).replace('.', '');
  return mantissa.padEnd(Number(text.slice(exponent + 2)) + 1, '0');
}
