/**
 * ANSI colours for terminal output, on and off by Node's own rule (see useColor): FORCE_COLOR,
 * when set, decides alone; otherwise NO_COLOR (any value) turns them off, and a terminal has them.
 */
export interface Palette {
  red(text: string): string;
  yellow(text: string): string;
  green(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

function wrap(open: number, close: number): (text: string) => string {
  return (text) => `\u001b[${open}m${text}\u001b[${close}m`;
}

const plain = (text: string) => text;

/** The FORCE_COLOR values Node reads as colour on (16, 256 and 16 million colours); any other value is off. */
const FORCE_COLOR_ON = new Set(['', '1', 'true', '2', '3']);

/** What useColor needs of a stream; a tty.WriteStream (process.stdout on a terminal) has getColorDepth. */
export interface ColorStream {
  isTTY?: boolean;
  getColorDepth?(env?: NodeJS.ProcessEnv): number;
}

/**
 * Whether to colour output to `stream`, as Node decides for its own output (shouldColorize in
 * lib/internal/util/colors.js, getColorDepth in lib/internal/tty.js, Node 20):
 * - FORCE_COLOR set: '' (empty), '1', 'true', '2' or '3' is on, any other value ('0', 'false', 'yes')
 *   off, on a terminal or not; NO_COLOR is then ignored (FORCE_COLOR wins).
 * - Otherwise NO_COLOR (any value, empty too), NODE_DISABLE_COLORS or TERM=dumb is off, and so is
 *   output that is not a terminal; a terminal is on when Node gives it more than 2 colours
 *   (`stream.getColorDepth()`, which reads TERM, COLORTERM, CI …).
 */
export function useColor(stream: ColorStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.FORCE_COLOR !== undefined) return FORCE_COLOR_ON.has(env.FORCE_COLOR);
  if (env.NO_COLOR !== undefined || env.NODE_DISABLE_COLORS !== undefined || env.TERM === 'dumb') return false;
  if (stream.isTTY !== true) return false;
  return typeof stream.getColorDepth === 'function' ? stream.getColorDepth(env) > 2 : true;
}

export function palette(enabled: boolean): Palette {
  if (!enabled) return { red: plain, yellow: plain, green: plain, dim: plain, bold: plain };
  return { red: wrap(31, 39), yellow: wrap(33, 39), green: wrap(32, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}
