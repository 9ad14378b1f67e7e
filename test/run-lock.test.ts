import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../exporters/paths';
import { acquireRunLock, parseRunLock, readRunLock, releaseRunLock, runLockOwnerState } from '../exporters/runLock';
import { openRunDirectory } from '../src/runDirectory';
import { tempRunDir } from './helpers/tempDirs';

/**
 * The run directory's lock (Memory/logs/.agent-autopsy.lock): who may truncate a run directory.
 * Processes that really run concurrently are in run-directory-in-use.test.ts.
 */

const STARTED = '2026-01-01T00:00:00.000000Z';

/** `<boot id>/<start time in ticks>` of a process, read from /proc here independently of the library. */
function processStart(pid: number | 'self'): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const ticks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  return `${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}/${ticks}`;
}

const OWN_START = processStart('self');
const OURS = `{"pid":${process.pid},"hostname":${JSON.stringify(hostname())},"started":"${STARTED}","process_start":"${OWN_START}"}\n`;
/** The process_start of a process that had some pid before a reboot. */
const EARLIER_BOOT = '00000000-0000-4000-8000-000000000000/4242';

function lockIn(dir = tempRunDir('autopsy-lock-')): string {
  return join(dir, LOCK_FILE);
}

/** The pid of a process that has ended (and was reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  return child.pid;
}

describe('acquireRunLock', () => {
  it('creates {pid, hostname, started} and release removes it', () => {
    const path = lockIn();
    const claim = acquireRunLock(path, STARTED);
    expect(claim).toEqual({ status: 'acquired', lock: { path, text: OURS } });
    expect(readFileSync(path, 'utf8')).toBe(OURS);
    // Nothing else is left in the directory (the text is linked into place from a file of its own).
    expect(readdirSync(join(path, '..'))).toEqual([LOCK_FILE]);
    if (claim.status === 'acquired') releaseRunLock(claim.lock);
    expect(existsSync(path)).toBe(false);
  });

  it('is held while it names another live process on this machine', () => {
    const path = lockIn();
    const other = `{"pid":${process.ppid},"hostname":${JSON.stringify(hostname())},"started":"${STARTED}"}\n`;
    writeFileSync(path, other);
    expect(acquireRunLock(path, STARTED)).toEqual({ status: 'held', owner: { pid: process.ppid, hostname: hostname(), started: STARTED } });
    expect(readFileSync(path, 'utf8')).toBe(other);
  });

  it('is held when it names a process on another machine (which cannot be checked)', () => {
    const path = lockIn();
    const remote = `{"pid":${deadPid()},"hostname":"some-other-host","started":"${STARTED}"}\n`;
    writeFileSync(path, remote);
    expect(acquireRunLock(path, STARTED)).toMatchObject({ status: 'held', owner: { hostname: 'some-other-host' } });
    expect(readFileSync(path, 'utf8')).toBe(remote);
  });

  it('is held while it names another live process with that very start', () => {
    const path = lockIn();
    const other = `{"pid":${process.ppid},"hostname":${JSON.stringify(hostname())},"started":"${STARTED}","process_start":"${processStart(process.ppid)}"}\n`;
    writeFileSync(path, other);
    expect(acquireRunLock(path, STARTED)).toMatchObject({ status: 'held', owner: { pid: process.ppid, process_start: processStart(process.ppid) } });
    expect(readFileSync(path, 'utf8')).toBe(other);
  });

  it('takes over a lock whose pid now belongs to another process (a reboot, the next container)', () => {
    for (const start of [EARLIER_BOOT, `${OWN_START.split('/')[0]}/1`]) {
      const path = lockIn();
      // The parent process is alive, but it is not the process that wrote this lock.
      writeFileSync(path, `{"pid":${process.ppid},"hostname":${JSON.stringify(hostname())},"started":"${STARTED}","process_start":"${start}"}\n`);
      expect(acquireRunLock(path, STARTED)).toEqual({ status: 'acquired', lock: { path, text: OURS } });
      expect(readFileSync(path, 'utf8')).toBe(OURS);
    }
  });

  it('takes over a lock whose process is gone, one of its own pid, and one that is not a lock', () => {
    for (const stale of [
      `{"pid":${deadPid()},"hostname":${JSON.stringify(hostname())},"started":"2025-12-31T00:00:00.000000Z"}\n`,
      `{"pid":${process.pid},"hostname":${JSON.stringify(hostname())},"started":"2025-12-31T00:00:00.000000Z"}\n`,
      '',
      'not json',
    ]) {
      const path = lockIn();
      writeFileSync(path, stale);
      expect(acquireRunLock(path, STARTED)).toEqual({ status: 'acquired', lock: { path, text: OURS } });
      expect(readFileSync(path, 'utf8')).toBe(OURS);
    }
  });

  it('says it is unavailable where no lock can be written, and release leaves a lock taken over by another', () => {
    expect(acquireRunLock(join(tempRunDir('autopsy-lock-'), 'missing', LOCK_FILE), STARTED)).toEqual({ status: 'unavailable' });
    const path = lockIn();
    const claim = acquireRunLock(path, STARTED);
    const theirs = `{"pid":${process.ppid},"hostname":${JSON.stringify(hostname())},"started":"${STARTED}"}\n`;
    writeFileSync(path, theirs);
    if (claim.status === 'acquired') releaseRunLock(claim.lock);
    expect(readFileSync(path, 'utf8')).toBe(theirs);
  });
});

describe('reading a lock', () => {
  it('parses only a complete owner', () => {
    expect(parseRunLock(OURS)).toEqual({ pid: process.pid, hostname: hostname(), started: STARTED, process_start: OWN_START });
    expect(parseRunLock('{"pid":7,"hostname":"h","started":"s","thread":2}')).toEqual({ pid: 7, hostname: 'h', started: 's', thread: 2 });
    for (const bad of ['', '{', 'null', '[]', '{"pid":0,"hostname":"h","started":"s"}', '{"pid":-1,"hostname":"h","started":"s"}', '{"pid":1.5,"hostname":"h","started":"s"}', '{"pid":7,"started":"s"}']) {
      expect(parseRunLock(bad)).toBeUndefined();
    }
    expect(readRunLock(join(tempRunDir('autopsy-lock-'), LOCK_FILE))).toBeUndefined();
  });

  it('tells live, dead and self apart', () => {
    const host = hostname();
    expect(runLockOwnerState({ pid: process.ppid, hostname: host, started: STARTED })).toBe('live');
    expect(runLockOwnerState({ pid: deadPid(), hostname: host, started: STARTED })).toBe('dead');
    expect(runLockOwnerState({ pid: process.pid, hostname: host, started: STARTED })).toBe('self');
    // Another thread of this process.
    expect(runLockOwnerState({ pid: process.pid, hostname: host, started: STARTED, thread: 5 })).toBe('live');
    expect(runLockOwnerState({ pid: process.pid, hostname: host, started: STARTED, thread: 5, process_start: OWN_START })).toBe('live');
    // A worker thread of an earlier process that had this pid.
    expect(runLockOwnerState({ pid: process.pid, hostname: host, started: STARTED, thread: 5, process_start: EARLIER_BOOT })).toBe('dead');
    expect(runLockOwnerState({ pid: process.ppid, hostname: host, started: STARTED, process_start: processStart(process.ppid) })).toBe('live');
    expect(runLockOwnerState({ pid: process.ppid, hostname: host, started: STARTED, process_start: EARLIER_BOOT })).toBe('dead');
    // Another machine's process cannot be checked, whatever its start.
    expect(runLockOwnerState({ pid: process.ppid, hostname: 'some-other-host', started: STARTED, process_start: EARLIER_BOOT })).toBe('live');
    expect(runLockOwnerState({ pid: deadPid(), hostname: 'some-other-host', started: STARTED })).toBe('live');
  });
});

describe('openRunDirectory', () => {
  it('uses the directory asked for and locks it', () => {
    const dir = tempRunDir('autopsy-lock-');
    const opened = openRunDirectory(dir, STARTED);
    expect(opened.paths.outputDir).toBe(dir);
    expect(opened.inUse).toBeUndefined();
    expect(opened.createdDir).toBe(join(dir, 'Memory'));
    expect(readFileSync(join(dir, 'Memory', 'logs', LOCK_FILE), 'utf8')).toBe(OURS);
  });

  it('goes to processes/<pid> when another live process records there', () => {
    const dir = tempRunDir('autopsy-lock-');
    mkdirSync(join(dir, 'Memory', 'logs'), { recursive: true });
    const owner = { pid: process.ppid, hostname: hostname(), started: STARTED };
    writeFileSync(join(dir, 'Memory', 'logs', LOCK_FILE), JSON.stringify(owner));
    const opened = openRunDirectory(dir, STARTED);
    const own = join(dir, 'processes', String(process.pid));
    expect(opened.paths.outputDir).toBe(own);
    expect(opened.paths.logDir).toBe(join(own, 'Memory', 'logs'));
    expect(opened.createdDir).toBe(join(dir, 'processes'));
    expect(opened.inUse).toEqual({ outputDir: dir, lockFile: join(dir, 'Memory', 'logs', LOCK_FILE), owner });
    expect(readFileSync(join(own, 'Memory', 'logs', LOCK_FILE), 'utf8')).toBe(OURS);
  });
});
