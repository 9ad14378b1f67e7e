import { closeSync, fchmodSync, fdatasync, fstatSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { runUntraced } from '../src/AutopsyContextManager';
import { reportIoError } from '../src/errorHandler';
import { realClearTimeout, realSetTimeout } from '../src/realTimers';

export interface FileSinkOptions {
  /** `w` starts a new file, `a` appends. */
  flags?: 'w' | 'a';
  /** Files get this mode (0600: logs may hold stack traces and data), also when they existed. */
  mode?: number;
  /** Buffered text reaches the disk at the latest after this many ms. */
  flushIntervalMs?: number;
  /** Buffered text is written at once when it grows beyond this many characters. */
  highWaterMark?: number;
  /** After this many bytes written since the last one, an fdatasync runs in the background (0: never). */
  syncEveryBytes?: number;
}

/**
 * A small synchronous, buffered file writer in the spirit of pino's sonic-boom, with the two
 * properties an autopsy needs: every exit path can flush it synchronously, and an I/O failure
 * (ENOSPC, EACCES, EIO …, or the file deleted under it) is reported once and turns the sink into a
 * no-op instead of throwing into the host. Memory is bounded by `highWaterMark`, never by the number
 * of lines written.
 */
export class FileSink {
  readonly path: string;
  private fd = -1;
  private pending = '';
  /** Every text in `pending` was declared 7-bit ASCII by its writer. */
  private pendingAscii = true;
  private timer: NodeJS.Timeout | undefined;
  private failed = false;
  private closed = false;
  /** The file was deleted under it (its directory may belong to another run by now). */
  private deletedUnder = false;
  /** Bytes in the file (this sink writes at explicit positions, so it can also cut the file back). */
  private size = 0;
  /** Regular files are written at explicit offsets; pipes and devices cannot seek. */
  private positional = true;
  /** The file system counts links (nlink > 0 at open), so a deleted file can be noticed. */
  private countsLinks = false;
  private readonly flushIntervalMs: number;
  private readonly highWaterMark: number;
  private syncEveryBytes: number;
  /** Bytes known to be on disk (a background fdatasync finished after they were written). */
  private syncedSize = 0;
  private syncing = false;

  constructor(path: string, options: FileSinkOptions = {}) {
    this.path = path;
    this.flushIntervalMs = options.flushIntervalMs ?? 25;
    this.highWaterMark = options.highWaterMark ?? 64 * 1024;
    this.syncEveryBytes = options.syncEveryBytes ?? 0;
    const mode = options.mode ?? 0o600;
    try {
      this.fd = openSync(path, options.flags ?? 'w', mode);
      const stat = fstatSync(this.fd);
      if (options.flags === 'a') this.size = stat.size;
      this.positional = stat.isFile();
      this.countsLinks = stat.isFile() && stat.nlink > 0;
      // An existing log keeps its old mode on open: tighten it (only a regular file we own, never a device).
      if (stat.isFile() && (stat.mode & 0o777) !== mode && stat.uid === process.getuid?.()) tighten(this.fd, mode);
    } catch (error) {
      this.fail(error);
    }
  }

  get ok(): boolean {
    return !this.failed && !this.closed;
  }

  /** Was the file deleted while it was written? Checked now (one fstat) while it is open. */
  isDeleted(): boolean {
    if (!this.deletedUnder && !this.failed && !this.closed && this.countsLinks) this.checkNotDeleted();
    return this.deletedUnder;
  }

  /**
   * Appends `text`. A writer that knows its text is 7-bit ASCII says so with `ascii`: the text is
   * then copied to the file as it is, without UTF-8 encoding (the bytes are the same).
   */
  write(text: string, ascii = false): void {
    if (this.failed || this.closed) return;
    if (!ascii) this.pendingAscii = false;
    this.pending += text;
    if (this.pending.length >= this.highWaterMark) this.flushSync();
    else if (this.timer === undefined) this.schedule();
  }

  /** Writes everything buffered now. Safe to call from `process.on('exit')`. */
  flushSync(): void {
    if (this.timer !== undefined) {
      realClearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.failed || this.pending.length === 0 || this.fd < 0) return;
    // Telemetry never traces itself: an fs instrumentation in the app must not see these writes.
    runUntraced(this.writePending, this);
  }

  private writePending(): void {
    const text = this.pending;
    // ASCII is its own UTF-8 and its own latin1: latin1 is a plain copy of V8's one-byte string.
    const encoding = this.pendingAscii ? 'latin1' : 'utf8';
    this.pending = '';
    this.pendingAscii = true;
    // The string goes to writeSync as it is (Node encodes it straight into the write: a third less
    // per line than a Buffer.from of our own, bench/README.md); only a partial write needs the bytes.
    let buffer: Buffer | undefined;
    let offset = 0;
    try {
      const written = writeSync(this.fd, text, this.positional ? this.size : null, encoding);
      this.size += written;
      if (written < (encoding === 'latin1' ? text.length : Buffer.byteLength(text, 'utf8'))) {
        buffer = Buffer.from(text, encoding);
        offset = written;
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') {
        this.fail(error);
        return;
      }
      buffer = Buffer.from(text, encoding);
    }
    let again = 0;
    while (buffer !== undefined && offset < buffer.length) {
      try {
        const written = writeSync(this.fd, buffer, offset, buffer.length - offset, this.positional ? this.size : null);
        offset += written;
        this.size += written;
      } catch (error) {
        // A non-blocking descriptor (a pipe or tty given as path) may say EAGAIN: retry a little.
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN' && again++ < 1000) continue;
        this.fail(error);
        return;
      }
    }
    if (this.countsLinks) this.checkNotDeleted();
    if (this.syncEveryBytes > 0 && this.size - this.syncedSize >= this.syncEveryBytes) this.syncInBackground();
  }

  /**
   * Starts an fdatasync on libuv's pool (never blocking the agent), so the file's dirty pages reach
   * the disk while the run goes on and the fsync at close has little left to do: after 1,000,000
   * events it would otherwise write hundreds of megabytes while the process exits (bench/README.md).
   */
  private syncInBackground(): void {
    if (this.syncing || this.fd < 0) return;
    this.syncing = true;
    const target = this.size;
    fdatasync(this.fd, (error) => {
      this.syncing = false;
      if (!error) this.syncedSize = Math.max(this.syncedSize, target);
      else this.syncEveryBytes = 0; // not supported here (or the file is gone): stop trying
    });
  }

  /** Writes to a deleted file succeed and vanish: notice it (one fstat per flush) and say so. */
  private checkNotDeleted(): void {
    try {
      if (fstatSync(this.fd).nlink === 0) {
        this.deletedUnder = true;
        this.fail(Object.assign(new Error('the file was deleted while the agent was running; later events are not recorded'), { code: 'EDELETED' }));
      }
    } catch (error) {
      this.fail(error);
    }
  }

  /** Bytes written to the file so far (after a flush, its length). */
  get bytesWritten(): number {
    return this.size;
  }

  /** Cuts the file back to `length` bytes; later writes continue from there. */
  truncate(length: number): void {
    this.flushSync();
    if (this.failed || this.fd < 0 || length > this.size) return;
    try {
      ftruncateSync(this.fd, length);
      this.size = length;
    } catch (error) {
      this.fail(error);
    }
  }

  /** Flushes, optionally fsyncs, and closes. Idempotent. */
  close(options: { fsync?: boolean } = {}): void {
    if (this.closed) return;
    this.flushSync();
    this.closed = true;
    if (this.fd >= 0) {
      try {
        if (options.fsync) fsyncSync(this.fd);
      } catch {
        /* fsync is best effort (not supported on every file system) */
      }
      try {
        closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.fd = -1;
    }
  }

  private schedule(): void {
    this.timer = realSetTimeout(() => {
      this.timer = undefined;
      this.flushSync();
    }, this.flushIntervalMs);
    // Telemetry never keeps the process alive.
    this.timer.unref();
  }

  private fail(error: unknown): void {
    this.failed = true;
    this.pending = '';
    reportIoError(error, `cannot write ${this.path}`, dirname(this.path));
  }
}

function tighten(fd: number, mode: number): void {
  try {
    fchmodSync(fd, mode);
  } catch {
    /* a file system without modes: keep writing */
  }
}
