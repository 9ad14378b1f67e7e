import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { reportIoError } from '../src/errorHandler';

/**
 * Replaces a whole file so a reader (or a crash half-way) never sees it half written.
 * Returns false, after reporting once, when the disk refuses.
 */
export function writeFileAtomic(path: string, content: string, mode = 0o600): boolean {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, content, { mode });
    renameSync(temporary, path);
    return true;
  } catch (error) {
    reportIoError(error, `cannot write ${path}`, dirname(path));
    try {
      unlinkSync(temporary);
    } catch {
      /* nothing was created */
    }
    return false;
  }
}
