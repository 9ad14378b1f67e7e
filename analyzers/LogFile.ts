import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { TruthLogError } from './TruthLogParser';

/**
 * How much of a file is looked at to tell what it is (a log of one kind or another, a saved
 * report). A report's first keys are short (its largest section, failure_analysis, is a key to
 * decide on, not to skip), so this is plenty; a 300 MB log is never read whole to be told apart.
 */
export const HEAD_BYTES = 64 * 1024;

/** Opens a log for reading; a missing or unreadable file is a TruthLogError naming it. */
export function openLogFile(path: string): number {
  try {
    if (statSync(path).isDirectory()) throw new TruthLogError('expected a file but found a directory', path);
    return openSync(path, 'r');
  } catch (error) {
    if (error instanceof TruthLogError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new TruthLogError(code === 'ENOENT' ? 'no such file' : `cannot read file (${code ?? String(error)})`, path);
  }
}

/**
 * A log (or a saved report) opened once, so that what it is can be told from its head before it is
 * read from its start. A regular file is looked at by offset. A pipe, a FIFO or a process
 * substitution (`<(cat traces.jsonl)`, `/dev/stdin`) gives its bytes only once: the head it gave is
 * kept and handed out again first, then the rest is read on from the same descriptor, so nothing
 * is read twice and a large input is not held whole.
 */
export class LogFile {
  /** A regular file (with a size); false for a pipe, FIFO, socket or device. */
  readonly regular: boolean;
  /** The size of a regular file when it was opened (0 for the others). */
  readonly size: number;
  /** Bytes handed out so far (by takeHead and read). */
  bytesRead = 0;
  private fd: number;
  private headText: string | undefined;
  /** What a stream gave for the head, not yet handed out. */
  private pending: Buffer | undefined;
  /** A stream ended within its head: reading on would wait for more (a terminal) or get nothing. */
  private ended = false;

  private constructor(
    readonly path: string,
    fd: number,
    /** False for a descriptor of the process's own (its stdin), which stays open. */
    private readonly owned = true,
  ) {
    this.fd = fd;
    try {
      const stat = fstatSync(fd);
      this.regular = stat.isFile();
      this.size = this.regular ? stat.size : 0;
    } catch (error) {
      this.close();
      throw new TruthLogError(`cannot read file (${(error as NodeJS.ErrnoException).code ?? String(error)})`, path);
    }
  }

  /** Opens `path`; a missing or unreadable file is a TruthLogError naming it. */
  static open(path: string): LogFile {
    // A socket cannot be opened by its name (ENXIO): the stdin Node gives a child it spawns is one.
    // `/dev/stdin` (or /dev/fd/N) naming one is read from the process's own descriptor.
    const own = ownDescriptor(path);
    if (own !== undefined && isSocket(own)) return new LogFile(path, own, false);
    return new LogFile(path, openLogFile(path));
  }

  /**
   * The first HEAD_BYTES bytes as UTF-8 text (a character cut at the end is replaced), read once.
   * A regular file is read by offset and still reads from its start; a stream is read up to the
   * head's size or its end, and what it gave comes first from read().
   */
  head(): string {
    if (this.headText !== undefined) return this.headText;
    const buffer = Buffer.alloc(HEAD_BYTES);
    let length = 0;
    if (this.regular) length = readSync(this.fd, buffer, 0, HEAD_BYTES, 0);
    else {
      // A pipe gives what its writer has written so far: read on to the head's size or the end.
      while (length < HEAD_BYTES) {
        const n = readSync(this.fd, buffer, length, HEAD_BYTES - length, null);
        if (n === 0) {
          this.ended = true;
          break;
        }
        length += n;
      }
      this.pending = buffer.subarray(0, length);
    }
    this.headText = buffer.toString('utf8', 0, length);
    return this.headText;
  }

  /**
   * Reads on into `buffer` from where the reading stands (a stream's kept head first); 0 at the
   * end. A regular file is read as it stood when opened: one its writer grows faster than it is
   * read would never end.
   */
  read(buffer: Buffer): number {
    if (this.pending !== undefined && this.pending.length > 0) {
      const n = this.pending.copy(buffer, 0, 0, Math.min(buffer.length, this.pending.length));
      this.pending = this.pending.subarray(n);
      this.bytesRead += n;
      return n;
    }
    if (this.ended || this.fd === -1) return 0;
    const wanted = this.regular ? Math.min(buffer.length, this.size - this.bytesRead) : buffer.length;
    if (wanted <= 0) return 0;
    const n = readSync(this.fd, buffer, 0, wanted, null);
    if (n === 0) this.ended = true;
    this.bytesRead += n;
    return n;
  }

  /** The whole text from the start (a saved report, which is parsed whole), then closes the file. */
  text(): string {
    try {
      const head = this.pending ?? Buffer.alloc(0);
      this.pending = undefined;
      const rest = this.ended ? Buffer.alloc(0) : readFileSync(this.fd);
      this.bytesRead += head.length + rest.length;
      return (head.length === 0 ? rest : Buffer.concat([head, rest])).toString('utf8');
    } finally {
      this.close();
    }
  }

  /** Closes the file (again: nothing). */
  close(): void {
    if (this.fd === -1) return;
    const fd = this.fd;
    this.fd = -1;
    this.pending = undefined;
    if (this.owned) closeSync(fd);
  }
}

/** The descriptor `/dev/stdin`, `/dev/fd/N` or `/proc/self/fd/N` names (this process's own). */
function ownDescriptor(path: string): number | undefined {
  if (path === '/dev/stdin') return 0;
  const match = /^\/(?:dev|proc\/self)\/fd\/(\d+)$/.exec(path);
  return match ? Number(match[1]) : undefined;
}

function isSocket(fd: number): boolean {
  try {
    return fstatSync(fd).isSocket();
  } catch {
    return false;
  }
}
