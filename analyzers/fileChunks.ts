import { isAscii } from 'node:buffer';
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { TruthLogError } from './TruthLogParser';

// 64 KiB: a chunk string stays in V8's young generation (1 MiB strings go to large-object space and
// every line sliced from one keeps it alive): lower peak RSS and faster reads (bench/README.md).
const CHUNK_BYTES = 1 << 16;

export interface ReadProgress {
  bytesRead: number;
  totalBytes: number;
}

export interface ReadOptions {
  /** Called after each chunk (64 KiB). */
  onProgress?: (progress: ReadProgress) => void;
}

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
 * The file's text in chunks of 64 KiB (UTF-8 sequences never split), reporting progress
 * after each; the file is closed when the loop ends, however it ends. Log readers feed these
 * chunks to their incremental parsers, so memory stays flat whatever the file's size.
 */
export function* readTextChunks(path: string, options: ReadOptions = {}): Generator<string, void> {
  const fd = openLogFile(path);
  try {
    const stat = fstatSync(fd);
    const totalBytes = stat.size;
    const decoder = new StringDecoder('utf8');
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let bytesRead = 0;
    // The decoder holds no part of a character: the last chunk ended with a 7-bit byte.
    let decoderIdle = true;
    for (;;) {
      // A log is read as it stood when opened: one its writer grows faster than it is read would
      // never end. (A pipe or device has no size: it is read to its end.)
      if (stat.isFile() && bytesRead >= totalBytes) break;
      const n = readSync(fd, buffer, 0, stat.isFile() ? Math.min(CHUNK_BYTES, totalBytes - bytesRead) : CHUNK_BYTES, null);
      if (n === 0) break;
      bytesRead += n;
      const bytes = buffer.subarray(0, n);
      // 7-bit ASCII (nearly every chunk of a log) is its own latin1: a plain copy, without the UTF-8 decoder's scan.
      const text = decoderIdle && isAscii(bytes) ? bytes.toString('latin1') : decoder.write(bytes);
      decoderIdle = bytes[n - 1] < 0x80;
      options.onProgress?.({ bytesRead, totalBytes });
      yield text;
    }
    const rest = decoder.end();
    if (rest) yield rest;
  } finally {
    closeSync(fd);
  }
}

/**
 * How long a read holds the event loop: a progress bar (10 frames a second) still draws, and a
 * long read does not wait for the loop after every 64 KiB chunk (~0.1 s per million events).
 */
const YIELD_EVERY_MS = 50;

/** A function to await between chunks: it gives the event loop a turn once every 50 ms. */
export function eventLoopTurns(): () => Promise<void> | undefined {
  let yielded = performance.now();
  return () => {
    if (performance.now() - yielded < YIELD_EVERY_MS) return undefined;
    return new Promise<void>((done) =>
      setImmediate(() => {
        yielded = performance.now();
        done();
      }),
    );
  };
}
