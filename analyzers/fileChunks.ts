import { isAscii } from 'node:buffer';
import { StringDecoder } from 'node:string_decoder';
import { LogFile } from './LogFile';

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

/**
 * The file's text in chunks of 64 KiB (UTF-8 sequences never split), reporting progress
 * after each; the file is closed when the loop ends, however it ends. Log readers feed these
 * chunks to their incremental parsers, so memory stays flat whatever the file's size. A LogFile
 * whose head was looked at is read from its start all the same (a pipe's head is not lost).
 */
export function* readTextChunks(source: string | LogFile, options: ReadOptions = {}): Generator<string, void> {
  const file = typeof source === 'string' ? LogFile.open(source) : source;
  try {
    // A pipe or device has no size: it is read to its end.
    const totalBytes = file.size;
    const decoder = new StringDecoder('utf8');
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    // The decoder holds no part of a character: the last chunk ended with a 7-bit byte.
    let decoderIdle = true;
    for (;;) {
      const n = file.read(buffer);
      if (n === 0) break;
      const bytes = buffer.subarray(0, n);
      // 7-bit ASCII (nearly every chunk of a log) is its own latin1: a plain copy, without the UTF-8 decoder's scan.
      const text = decoderIdle && isAscii(bytes) ? bytes.toString('latin1') : decoder.write(bytes);
      decoderIdle = bytes[n - 1] < 0x80;
      options.onProgress?.({ bytesRead: file.bytesRead, totalBytes });
      yield text;
    }
    const rest = decoder.end();
    if (rest) yield rest;
  } finally {
    file.close();
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
