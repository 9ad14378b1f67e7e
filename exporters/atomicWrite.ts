import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { reportIoError } from '../src/errorHandler';

/** Writes all of `chunk` (text as UTF-8) at the file's current position (a write may take only part of it). */
export function writeTextSync(fd: number, chunk: string | Uint8Array): void {
  const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
  for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

/**
 * Replaces a whole file so a reader (or a crash half-way) never sees it half written: `produce`
 * hands its text to `write` in as many pieces as it likes (a large report need never be one
 * string), then the file takes its final name. Returns false, after reporting once, when the disk
 * refuses; an error thrown by `produce` itself is passed on after the temporary file is removed.
 */
export function writeFileAtomicWith(path: string, produce: (write: (chunk: string | Uint8Array) => void) => void, mode = 0o600): boolean {
  const temporary = `${path}.${process.pid}.tmp`;
  let fd = -1;
  let ioFailure = true;
  try {
    fd = openSync(temporary, 'w', mode);
    ioFailure = false;
    produce((chunk) => {
      ioFailure = true;
      writeTextSync(fd, chunk);
      ioFailure = false;
    });
    ioFailure = true;
    closeSync(fd);
    fd = -1;
    renameSync(temporary, path);
    return true;
  } catch (error) {
    if (fd !== -1) {
      try {
        closeSync(fd);
      } catch {
        /* nothing more to release */
      }
    }
    try {
      unlinkSync(temporary);
    } catch {
      /* nothing was created */
    }
    if (!ioFailure) throw error;
    reportIoError(error, `cannot write ${path}`, dirname(path));
    return false;
  }
}

/** writeFileAtomicWith for text already in one string. */
export function writeFileAtomic(path: string, content: string, mode = 0o600): boolean {
  return writeFileAtomicWith(path, (write) => write(content), mode);
}
