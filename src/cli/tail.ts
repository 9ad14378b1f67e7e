import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { TruthLogError } from '../../analyzers/TruthLogParser';
import { LOGS_SUBDIR, READABLE_LOG } from '../../exporters/paths';
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

/** The last `count` lines of a file, reading backwards from the end (the file may be large). */
function lastLines(fd: number, size: number, count: number): { text: string; offset: number } {
  if (count <= 0) return { text: '', offset: size };
  const chunk = 64 * 1024;
  let position = size;
  let newlines = 0;
  let start = 0;
  const buffer = Buffer.allocUnsafe(chunk);
  // A final newline ends the last line; it does not start another.
  let skipFinal = true;
  outer: while (position > 0) {
    const length = Math.min(chunk, position);
    position -= length;
    readSync(fd, buffer, 0, length, position);
    for (let i = length - 1; i >= 0; i--) {
      if (buffer[i] !== 10) {
        skipFinal = false;
        continue;
      }
      if (skipFinal) {
        skipFinal = false;
        continue;
      }
      newlines++;
      if (newlines === count) {
        start = position + i + 1;
        break outer;
      }
    }
  }
  const length = size - start;
  const out = Buffer.allocUnsafe(length);
  readSync(fd, out, 0, length, start);
  return { text: out.toString('utf8'), offset: size };
}

/**
 * `agent-autopsy tail <run>`: prints the last lines of the run's readable log, then follows it
 * like `tail -f` (waiting for it to appear, starting over when it is truncated) until SIGINT.
 */
export function tailCommand(input: string, options: TailOptions): Promise<number> {
  const path = readableLogPath(input);
  const out = options.out ?? process.stdout;
  const note = options.note ?? ((line: string) => process.stderr.write(`agent-autopsy: ${line}\n`));
  const p = options.palette;
  let offset = 0;
  let carry = '';
  let decoder = new StringDecoder('utf8');
  let present = false;
  let announcedWait = false;

  const emit = (text: string, final = false) => {
    const data = carry + text;
    const lines = data.split('\n');
    carry = final ? '' : (lines.pop() ?? '');
    if (final && lines[lines.length - 1] === '') lines.pop();
    if (lines.length > 0) out.write(`${lines.map((line) => colorizeLine(line.endsWith('\r') ? line.slice(0, -1) : line, p)).join('\n')}\n`);
  };

  const readNew = (first: boolean) => {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      if (present) {
        note(`${path} disappeared; waiting for it to come back`);
        present = false;
        offset = 0;
        carry = '';
        decoder = new StringDecoder('utf8');
      } else if (!announcedWait) {
        note(`waiting for ${path} …`);
        announcedWait = true;
      }
      return;
    }
    try {
      const size = fstatSync(fd).size;
      if (!present) {
        present = true;
        if (first) {
          const tail = lastLines(fd, size, options.lines);
          emit(decoder.write(Buffer.from(tail.text, 'utf8')));
          offset = tail.offset;
          return;
        }
      }
      if (size < offset) {
        note(`${path} was truncated; reading it from the start`);
        offset = 0;
        carry = '';
        decoder = new StringDecoder('utf8');
      }
      const buffer = Buffer.allocUnsafe(64 * 1024);
      while (offset < size) {
        const n = readSync(fd, buffer, 0, Math.min(buffer.length, size - offset), offset);
        if (n <= 0) break;
        offset += n;
        emit(decoder.write(buffer.subarray(0, n)));
      }
    } finally {
      closeSync(fd);
    }
  };

  // Without --follow there is nothing to wait for: a log that is not there is bad input.
  if (!options.follow && !existsSync(path)) return Promise.reject(new TruthLogError('no such file or directory', path));
  return new Promise((done) => {
    readNew(true);
    if (!options.follow) {
      emit(decoder.end(), true);
      done(EXIT_OK);
      return;
    }
    const timer = setInterval(() => readNew(false), options.pollMs ?? 200);
    const stop = () => {
      clearInterval(timer);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      emit(decoder.end(), true);
      done(EXIT_OK);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    out.on?.('error', (error: NodeJS.ErrnoException) => {
      // The reader went away (`… | head`): stop quietly.
      if (error.code === 'EPIPE') stop();
    });
  });
}
