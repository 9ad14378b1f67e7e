import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTextChunks } from '../analyzers/fileChunks';
import { tempRunDir } from './helpers/tempDirs';

// readTextChunks copies 7-bit ASCII chunks as latin1 and decodes the others as UTF-8, keeping a
// character cut by a chunk boundary for the next chunk. Whatever falls on the 64 KiB boundaries,
// the text must be the file decoded whole.

const CHUNK = 1 << 16;

function file(parts: Buffer[]): string {
  const path = join(tempRunDir(), 'log.json');
  writeFileSync(path, Buffer.concat(parts));
  return path;
}

const ascii = (length: number) => Buffer.alloc(length, 'a');

describe('readTextChunks', () => {
  it('reads characters cut by chunk boundaries, invalid bytes and ASCII chunks as the whole file decodes', () => {
    const e = Buffer.from('é'); // 2 bytes
    const emoji = Buffer.from('😀'); // 4 bytes
    const parts = [
      ascii(CHUNK - 1), e.subarray(0, 1), // chunk 0 ends inside é
      e.subarray(1), ascii(CHUNK - 1), // chunk 1 finishes it, ends with ASCII
      ascii(CHUNK - 2), emoji.subarray(0, 2), // chunk 2 ends inside the emoji
      emoji.subarray(2), ascii(CHUNK - 3), Buffer.from([0xc3]), // chunk 3: an invalid byte at its end…
      ascii(CHUNK), // …before a chunk all ASCII: the lone byte is a replacement character
      ascii(100), Buffer.from([0xff]), ascii(CHUNK - 101), // an invalid byte inside a chunk
      ascii(CHUNK), // a chunk all ASCII
      ascii(10), Buffer.from('€').subarray(0, 2), // the file ends inside a character
    ];
    const bytes = Buffer.concat(parts);
    const text = [...readTextChunks(file(parts))].join('');
    expect(text).toBe(bytes.toString('utf8'));
    expect(text.length).toBe(bytes.toString('utf8').length);
    // The lone byte at the end of chunk 3 (é and the emoji before it are 1 and 2 UTF-16 units for 2 and 4 bytes).
    expect(text.indexOf('\ufffd')).toBe(CHUNK * 4 - 4);
    expect(text.split('\ufffd').length - 1).toBe(3);
  });

  it('chunks of ASCII come as they are, one per 64 KiB', () => {
    const chunks = [...readTextChunks(file([ascii(CHUNK), Buffer.from('{"a": 1}\n'), ascii(CHUNK)]))];
    expect(chunks.map((chunk) => chunk.length)).toEqual([CHUNK, CHUNK, 9]);
    expect(chunks[1].startsWith('{"a": 1}\n')).toBe(true);
  });
});
