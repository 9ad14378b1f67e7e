import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileSink } from '../exporters/FileSink';
import { tempRunDir } from './helpers/tempDirs';

// FileSink copies text its writer declared 7-bit ASCII without UTF-8 encoding (latin1 is a plain
// copy of V8's one-byte strings); any other text in the same flush makes the flush UTF-8.

let sink: FileSink | undefined;

afterEach(() => {
  sink?.close();
  sink = undefined;
});

function open(): { path: string; sink: FileSink } {
  const path = join(tempRunDir('autopsy-sink-'), 'out.log');
  sink = new FileSink(path, { flushIntervalMs: 60_000 });
  return { path, sink };
}

describe('FileSink', () => {
  it('writes text declared ASCII byte for byte', () => {
    const { path, sink } = open();
    sink.write('{"a":1},\n', true);
    sink.write('[x] (+0.001s) [INFO] t: {}\n', true);
    sink.flushSync();
    expect(readFileSync(path).toString('latin1')).toBe('{"a":1},\n[x] (+0.001s) [INFO] t: {}\n');
    expect(sink.bytesWritten).toBe(readFileSync(path).length);
  });

  it('writes a flush as UTF-8 when any of its texts was not declared ASCII, before or after ASCII ones', () => {
    const { path, sink } = open();
    sink.write('ascii first ', true);
    sink.write('café 阶段一 🙂 ');
    sink.write('ascii last\n', true);
    sink.flushSync();
    sink.write('then ASCII alone\n', true);
    sink.flushSync();
    sink.write('and again é\n');
    sink.flushSync();
    const expected = 'ascii first café 阶段一 🙂 ascii last\nthen ASCII alone\nand again é\n';
    expect(readFileSync(path, 'utf8')).toBe(expected);
    expect(sink.bytesWritten).toBe(Buffer.byteLength(expected, 'utf8'));
  });

  it('text without the flag is UTF-8 even when it is ASCII, and a lone surrogate becomes U+FFFD', () => {
    const { path, sink } = open();
    sink.write('plain ');
    sink.write('x\ud800y\n');
    sink.close();
    expect(readFileSync(path, 'utf8')).toBe('plain x\ufffdy\n');
  });
});
