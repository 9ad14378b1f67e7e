/** ANSI colours for terminal output: on for a TTY unless NO_COLOR is set; FORCE_COLOR turns them on (FORCE_COLOR=0 or false off). */
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

export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  const force = env.FORCE_COLOR;
  // As Node and supports-color read it: 0 or false turns colour off, even on a terminal.
  if (force === '0' || force === 'false') return false;
  if (force !== undefined && force !== '') return true;
  return stream.isTTY === true;
}

export function palette(enabled: boolean): Palette {
  if (!enabled) return { red: plain, yellow: plain, green: plain, dim: plain, bold: plain };
  return { red: wrap(31, 39), yellow: wrap(33, 39), green: wrap(32, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}
