import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Every temporary directory a test file made. test/setup/removeTempDirs.ts removes
 * them after the file's last hook, so a run leaves nothing in /tmp or test/.
 */
const dirs: string[] = [];

/** A fresh directory (under the OS temp dir unless `parent` is given), removed after the file's tests. */
export function tempRunDir(prefix = 'autopsy-test-', parent = tmpdir()): string {
  const dir = mkdtempSync(join(parent, prefix));
  dirs.push(dir);
  return dir;
}

/** Removes them all; `AUTOPSY_KEEP_TEST_DIRS=1` keeps them to look at after a failure. */
export function removeTempDirs(): void {
  if (process.env.AUTOPSY_KEEP_TEST_DIRS === '1') {
    if (dirs.length > 0) console.log(`kept ${dirs.length} test directories:\n  ${dirs.join('\n  ')}`);
    return;
  }
  for (const dir of dirs.splice(0)) {
    try {
      chmodSync(dir, 0o700); // the read-only cases
    } catch {
      /* already gone */
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
