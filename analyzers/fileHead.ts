import { closeSync, openSync, readSync, statSync } from 'node:fs';

/**
 * The first `bytes` bytes of a regular file as UTF-8 text (a character cut at the end is replaced),
 * or undefined when `path` is no regular file or cannot be read: enough to tell what kind of file
 * it is without reading a 300 MB log whole.
 */
export function readFileHead(path: string, bytes: number): string | undefined {
  let fd: number | undefined;
  try {
    if (!statSync(path).isFile()) return undefined;
    fd = openSync(path, 'r');
    const buffer = Buffer.alloc(bytes);
    const n = readSync(fd, buffer, 0, bytes, 0);
    return buffer.subarray(0, n).toString('utf8');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
