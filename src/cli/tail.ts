import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { runsInside, runsInsideHint } from '../../analyzers/runsInside';
import { checkHeldLength, TruthLogError } from '../../analyzers/TruthLogParser';
import { LOGS_SUBDIR, READABLE_LOG, TRACKER_JSON } from '../../exporters/paths';
import type { Palette } from './color';
import { EXIT_OK } from './exitCodes';

export interface TailOptions {
  /** Existing lines printed first (default 10). */
  lines: number;
  /** Keep following the file (default true). */
  follow: boolean;
  palette: Palette;
  /** How often the file is checked for new lines, in ms (default 200). */
  pollMs?: number;
  out?: NodeJS.WritableStream;
  /** Notes (waiting for the file, truncation) go here (default stderr). */
  note?: (line: string) => void;
}

/** The readable log of a run: the run directory, its Memory/logs folder, or the file itself. */
export function readableLogPath(input: string): string {
  const path = resolve(input);
  if (existsSync(path) && statSync(path).isFile()) return path;
  if (basename(path) === READABLE_LOG) return path;
  if (existsSync(join(path, READABLE_LOG)) || (basename(path) === 'logs' && basename(dirname(path)) === 'Memory')) return join(path, READABLE_LOG);
  // Not there yet: the run directory of a run that has not started.
  return join(path, LOGS_SUBDIR, READABLE_LOG);
}

/**
 * A note for a readable log that is missing next to a JSON log: every run writes its readable log
 * from its start, so a directory holding only the JSON log (copied alone, or saved from elsewhere)
 * is not going to get one.
 */
function onlyJsonLog(readable: string): string {
  return existsSync(join(dirname(readable), TRACKER_JSON)) ? ` (only ${TRACKER_JSON} is there, which tail does not follow; \`agent-autopsy report ${dirname(readable)}\` reads it)` : '';
}

const LINE = /^(\[[^\]]*\] \(\+[^)]*\)) \[([A-Z]+)\] ([^:]*)(:.*)?$/;

/** One readable-log line with colour: time dim, level and type by severity. */
export function colorizeLine(line: string, p: Palette): string {
  const match = LINE.exec(line);
  if (!match) return line;
  const [, when, level, type, rest = ''] = match;
  const tone = level === 'ERROR' ? p.red : level === 'WARNING' ? p.yellow : p.green;
  const body = level === 'ERROR' ? p.red(`${type}${rest}`) : level === 'WARNING' ? p.yellow(`${type}${rest}`) : `${p.bold(type)}${rest}`;
  return `${p.dim(when)} ${tone(`[${level}]`)} ${body}`;
}

/**
 * Where the last `count` whole lines of a file start, reading backwards from the end (the file may
 * be large), and where the last whole line ends (after its newline). Bytes after that last newline
 * are a line still being written, which is not one of them.
 */
function lastWholeLines(fd: number, size: number, count: number): { start: number; end: number } {
  const buffer = Buffer.allocUnsafe(64 * 1024);
  let position = size;
  let end = -1;
  let newlinesBefore = 0;
  while (position > 0) {
    const length = Math.min(buffer.length, position);
    position -= length;
    readSync(fd, buffer, 0, length, position);
    let i = length;
    while (i > 0 && (i = buffer.lastIndexOf(10, i - 1)) >= 0) {
      if (end < 0) {
        end = position + i + 1;
        if (count === 0) return { start: end, end };
        continue;
      }
      // A newline before the last whole line ends the line before: `count` of them past it, start.
      if (++newlinesBefore === count) return { start: position + i + 1, end };
    }
  }
  return end < 0 ? { start: 0, end: 0 } : { start: 0, end };
}

/** Bytes at the start of the log that tell one run's log from the next (its first line's timestamp). */
const HEAD_BYTES = 64;

/** Whether opening failed because the file is not there (yet), which `tail` waits out. */
function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Whether something is at `path`: false only when it is missing (not when it cannot be looked at). */
function pathThere(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (error) {
    return !isMissing(error);
  }
}

/**
 * `agent-autopsy tail <run>`: prints the last lines of the run's readable log, then follows it
 * like `tail -f` (waiting for it to appear, starting over when it is truncated or replaced by a new
 * run) until SIGINT. A log that cannot be read (permissions) is bad input, as is a missing one
 * without --follow.
 */
export function tailCommand(input: string, options: TailOptions): Promise<number> {
  const path = readableLogPath(input);
  // The folder that holds the runs (the default ./autopsy-runs), given instead of one of them: no
  // run will ever write its log there, so waiting for it would wait for ever.
  if (!existsSync(path)) {
    const inside = runsInside(resolve(input));
    if (inside) return Promise.reject(new TruthLogError(`no ${join(LOGS_SUBDIR, READABLE_LOG)} in this directory`, resolve(input), runsInsideHint(inside, 'tail')));
  }
  const out = options.out ?? process.stdout;
  const note = options.note ?? ((line: string) => process.stderr.write(`agent-autopsy: ${line}\n`));
  const p = options.palette;
  let offset = 0;
  let carry = '';
  let decoder = new StringDecoder('utf8');
  let present = false;
  let announcedWait = false;
  // The file being followed: its inode, and its first bytes (a new run's log starts differently).
  let inode = -1;
  let head = Buffer.alloc(0);

  // Said when tail ends with part of a line that has no newline yet: that part is not printed.
  const halfLineNote = `${path} ends in half a line (no newline yet); not printed`;

  /** Adds `part` to the line not yet ended, which is held as one string: a clear error past V8's longest. */
  const hold = (part: string) => {
    checkHeldLength(carry.length + part.length, path, 'line');
    carry += part;
  };

  const emit = (text: string) => {
    // Only the new text is searched: a long line that comes in many pieces is searched once.
    const lines = text.split('\n');
    hold(lines[0]);
    if (lines.length === 1) return;
    lines[0] = carry;
    carry = '';
    hold(lines.pop() as string);
    out.write(`${lines.map((line) => colorizeLine(line.endsWith('\r') ? line.slice(0, -1) : line, p)).join('\n')}\n`);
  };

  const startOver = (why: string) => {
    note(`${path} ${why}; reading it from the start`);
    offset = 0;
    carry = '';
    decoder = new StringDecoder('utf8');
  };

  /** Reads what is new; throws TruthLogError when the log is there but cannot be read. */
  const readNew = (first: boolean) => {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      if (!isMissing(error)) throw new TruthLogError(`cannot read file (${(error as NodeJS.ErrnoException).code ?? String(error)})`, path);
      if (present) {
        note(`${path} disappeared; waiting for it to come back`);
        present = false;
        offset = 0;
        carry = '';
        decoder = new StringDecoder('utf8');
      } else if (!announcedWait) {
        note(`waiting for ${path} …${onlyJsonLog(path)}`);
        announcedWait = true;
      }
      return;
    }
    try {
      const stat = fstatSync(fd);
      if (stat.isDirectory()) throw new TruthLogError('not a file but a directory', path);
      const size = stat.size;
      let readUntil = size;
      const start = Buffer.allocUnsafe(Math.min(HEAD_BYTES, size));
      const startLength = start.length > 0 ? readSync(fd, start, 0, start.length, 0) : 0;
      const newHead = start.subarray(0, startLength);
      if (!present) {
        present = true;
        inode = stat.ino;
        head = Buffer.from(newHead);
        if (first) {
          const whole = lastWholeLines(fd, size, options.lines);
          offset = whole.start;
          // Without --follow, the last lines are whole ones: a line without its newline is left out.
          if (!options.follow) readUntil = whole.end;
        }
      } else if (stat.ino !== inode) {
        // Renamed away and written anew (a new run, log rotation).
        startOver('was replaced');
      } else if (size < offset) {
        startOver('was truncated');
      } else if (offset > 0 && !newHead.subarray(0, head.length).equals(head.subarray(0, newHead.length))) {
        // Truncated and already written past where we were (a new run in the same directory
        // between two looks): the first line is another one.
        startOver('was truncated');
      }
      inode = stat.ino;
      if (offset === 0 || newHead.length > head.length) head = Buffer.from(newHead);
      const buffer = Buffer.allocUnsafe(64 * 1024);
      while (offset < readUntil) {
        const n = readSync(fd, buffer, 0, Math.min(buffer.length, readUntil - offset), offset);
        if (n <= 0) break;
        offset += n;
        emit(decoder.write(buffer.subarray(0, n)));
      }
      if (readUntil < size) note(halfLineNote);
    } finally {
      closeSync(fd);
    }
  };

  // Without --follow there is nothing to wait for: a log that is not there is bad input.
  if (!options.follow && !pathThere(path)) return Promise.reject(new TruthLogError(`no such file or directory${onlyJsonLog(path)}`, path));
  return new Promise((done, fail) => {
    try {
      readNew(true);
    } catch (error) {
      fail(error);
      return;
    }
    if (!options.follow) {
      done(EXIT_OK);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const finish = (error?: unknown) => {
      clearInterval(timer);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      // A line still being written stays unprinted (tail never prints half a line): say so. Its
      // start may be only part of a character, which the decoder holds.
      if (error === undefined && (carry !== '' || decoder.end() !== '')) note(halfLineNote);
      if (error === undefined) done(EXIT_OK);
      else fail(error);
    };
    const stop = () => finish();
    timer = setInterval(() => {
      try {
        readNew(false);
      } catch (error) {
        finish(error);
      }
    }, options.pollMs ?? 200);
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    out.on?.('error', (error: NodeJS.ErrnoException) => {
      // The reader went away (`… | head`): stop quietly.
      if (error.code === 'EPIPE') stop();
    });
  });
}
