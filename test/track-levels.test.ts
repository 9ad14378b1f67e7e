import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { init, shutdown, track } from '../src/index';
import { readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

describe('track() levels', () => {
  it("accepts every spelling the README names, 'warn' included, in its type and at run time", async () => {
    // Type-checked by `tsc --noEmit -p .`: each of these is a valid third argument of track().
    const levels: Array<Parameters<typeof track>[2]> = ['INFO', 'WARNING', 'ERROR', 'info', 'warning', 'error', 'warn'];
    const outputDir = join(tempRunDir(), 'run');
    init({ outputDir, handleExit: false, reportFormats: [] });
    for (const level of levels) track('level_check', { level }, level);
    await shutdown();
    const written = readTrackerDocument(outputDir).events.filter((event) => event.type === 'level_check').map((event) => event.level);
    expect(written).toEqual(['INFO', 'WARNING', 'ERROR', 'INFO', 'WARNING', 'ERROR', 'WARNING']);
  });
});
