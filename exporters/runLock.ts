import { closeSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { threadId } from 'node:worker_threads';

/**
 * The lock of a run directory: `Memory/logs/.agent-autopsy.lock`, `{pid, hostname, started}`
 * (`started` is the run's start_time, as in the header of its execution_tracker.json; `locale`, a
 * run's other than English, so a killed run's report is rebuilt in its language). It exists
 * while a process records into the directory: created when the run starts, removed when the run is
 * finished (shutdown() or any exit path), left behind only when the process could not finish it
 * (kill -9, a power cut). A second process never truncates a directory whose lock names a live
 * process; a lock whose process is gone (or whose pid another process has now) is taken over.
 * Nothing here throws.
 */
export interface RunLockOwner {
  pid: number;
  hostname: string;
  /** The run's start time (execution_tracker.json's start_time). */
  started: string;
  /** The worker thread that holds it, when not the main thread (threads share the pid). */
  thread?: number;
  /**
   * Which process had the pid (Linux): `<boot id>/<start time in clock ticks since boot>`, from
   * /proc. A process that later gets the same pid — after a reboot, or in the next container of a
   * restarted service — has another one, so its lock is seen to be stale.
   */
  process_start?: string;
  /** The run's report locale, when it is not English (a rebuilt report of a killed run follows it). */
  locale?: string;
}

/** A lock this process holds: released only while it still says so (see releaseRunLock). */
export interface HeldRunLock {
  path: string;
  text: string;
}

export type RunLockClaim =
  | { status: 'acquired'; lock: HeldRunLock }
  /** Another live process records here; `owner` is undefined when its lock cannot be read. */
  | { status: 'held'; owner: RunLockOwner | undefined }
  /** No lock can be written here (a read-only or missing directory): go on without one. */
  | { status: 'unavailable' };

/** How many times a stale lock is taken over before giving up (others keep taking it too). */
const ATTEMPTS = 3;

function localHost(): string {
  try {
    return hostname();
  } catch {
    return '';
  }
}

/** The lock's owner, parsed; undefined when the text is not a lock (garbage, or half written). */
export function parseRunLock(text: string): RunLockOwner | undefined {
  try {
    const value = JSON.parse(text) as Partial<RunLockOwner> | null;
    if (!value || typeof value !== 'object') return undefined;
    const { pid, hostname: host, started, thread } = value;
    if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0 || typeof host !== 'string' || typeof started !== 'string') return undefined;
    const owner: RunLockOwner = { pid, hostname: host, started };
    if (typeof thread === 'number' && Number.isInteger(thread) && thread > 0) owner.thread = thread;
    if (typeof value.process_start === 'string') owner.process_start = value.process_start;
    if (typeof value.locale === 'string') owner.locale = value.locale;
    return owner;
  } catch {
    return undefined;
  }
}

/** The lock at `path`: its text, or undefined when there is none (or it cannot be read: `error`). */
function readLockText(path: string): { text?: string; error?: NodeJS.ErrnoException } {
  try {
    return { text: readFileSync(path, 'utf8') };
  } catch (error) {
    return { error: error as NodeJS.ErrnoException };
  }
}

/** Reads a run directory's lock (`path` is the lock file). Undefined when there is none or it is not a lock. */
export function readRunLock(path: string): RunLockOwner | undefined {
  const { text } = readLockText(path);
  return text === undefined ? undefined : parseRunLock(text);
}

/** Was the lock written on this machine (its pid can be checked here)? */
export function onThisMachine(owner: RunLockOwner): boolean {
  return owner.hostname === localHost();
}

/** `/proc/<pid>/stat` on Linux; undefined elsewhere, or when the process is gone. */
function procStat(pid: number | 'self'): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
}

let bootId: string | undefined | null = null;

function currentBootId(): string | undefined {
  if (bootId === null) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
    } catch {
      bootId = undefined;
    }
  }
  return bootId;
}

/**
 * `<boot id>/<start time>` of the process, from its /proc stat line ("pid (comm) S ppid …": the
 * start time is the 20th field after the command, which may itself hold spaces and parentheses).
 */
function processStartOf(stat: string | undefined): string | undefined {
  const boot = currentBootId();
  if (stat === undefined || boot === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = fields[19];
  return ticks !== undefined && /^\d+$/.test(ticks) ? `${boot}/${ticks}` : undefined;
}

let ownStart: string | undefined | null = null;

function ownProcessStart(): string | undefined {
  if (ownStart === null) ownStart = processStartOf(procStat('self'));
  return ownStart;
}

/**
 * Is the lock's process alive on this machine? A zombie (exited, not yet reaped) is not, and
 * neither is another process that has its pid now (its start differs from the lock's).
 */
function processAlive(owner: RunLockOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    // EPERM: it exists, it belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // Linux: the state follows the last ')'. Elsewhere there is no /proc.
  const stat = procStat(owner.pid);
  if (stat === undefined) return true;
  if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') return false;
  if (owner.process_start === undefined) return true;
  const start = processStartOf(stat);
  return start === undefined || start === owner.process_start;
}

/**
 * What a lock's owner is now: `live` (a process on this machine that still runs, or a lock from
 * another machine, which cannot be checked and so is never taken over), `dead` (its process is
 * gone, or its pid belongs to another process now), or `self` (this very process and thread: a
 * lock of its own that outlived its run, or one from a process that had the same pid in an
 * earlier container).
 */
export function runLockOwnerState(owner: RunLockOwner): 'live' | 'dead' | 'self' {
  if (!onThisMachine(owner)) return 'live';
  if (owner.pid === process.pid) {
    if ((owner.thread ?? 0) === threadId) return 'self';
    // Another thread of this process, unless the lock is from an earlier process with this pid.
    return owner.process_start === undefined || owner.process_start === ownProcessStart() ? 'live' : 'dead';
  }
  return processAlive(owner) ? 'live' : 'dead';
}

/** The lock text this process writes for a run that started at `started`. */
function lockText(started: string, locale: string | undefined): string {
  const owner: RunLockOwner = { pid: process.pid, hostname: localHost(), started };
  if (threadId !== 0) owner.thread = threadId;
  const start = ownProcessStart();
  if (start !== undefined) owner.process_start = start;
  if (locale !== undefined && locale !== 'en') owner.locale = locale;
  return `${JSON.stringify(owner)}\n`;
}

/**
 * Creates the lock file with `text`, atomically: a reader never sees it empty or half written.
 * The text goes to a file of this process first, which is then hard-linked to the lock's name (a
 * link never replaces an existing file); where hard links are not supported (FAT, some network
 * file systems), an exclusive create, whose empty file another process may see for a moment.
 */
function createExclusive(path: string, text: string): 'created' | 'exists' | 'failed' {
  const temporary = `${path}.${process.pid}-${threadId}.tmp`;
  let linked: 'created' | 'exists' | 'unsupported' = 'unsupported';
  try {
    writeNew(temporary, text, 'w');
    try {
      linkSync(temporary, path);
      linked = 'created';
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') linked = 'exists';
    }
  } catch {
    return 'failed'; // the directory cannot be written
  } finally {
    try {
      unlinkSync(temporary);
    } catch {
      /* never created */
    }
  }
  if (linked !== 'unsupported') return linked;
  try {
    writeNew(path, text, 'wx');
    return 'created';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EEXIST' ? 'exists' : 'failed';
  }
}

function writeNew(path: string, text: string, flags: 'w' | 'wx'): void {
  const fd = openSync(path, flags, 0o600);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/**
 * Removes the lock at `path` if it still reads `text` (so a lock someone else has taken meanwhile
 * stays). Between the read and the unlink another process could still replace it: two processes
 * taking over one stale lock in the same microseconds. Start-up only, and rare enough to accept.
 */
function removeIfUnchanged(path: string, text: string): void {
  if (readLockText(path).text !== text) return;
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}

/**
 * Claims the run directory whose lock file is `path` for a run that started at `started`: creates
 * the lock, or takes over one whose owner is dead (or this process itself), or says who holds it.
 * `locale` is the run's report locale (kept in the lock when it is not English).
 */
export function acquireRunLock(path: string, started: string, locale?: string): RunLockClaim {
  const text = lockText(started, locale);
  let owner: RunLockOwner | undefined;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const created = createExclusive(path, text);
    if (created === 'created') return { status: 'acquired', lock: { path, text } };
    if (created === 'failed') return { status: 'unavailable' };
    const current = readLockText(path);
    if (current.text === undefined) {
      if (current.error?.code === 'ENOENT') continue; // released meanwhile: try again
      return { status: 'held', owner: undefined }; // there, but not ours to read (EACCES)
    }
    owner = parseRunLock(current.text);
    if (owner && runLockOwnerState(owner) === 'live') return { status: 'held', owner };
    // Stale (its process is gone), this process's own, or not a lock at all: take it over.
    removeIfUnchanged(path, current.text);
  }
  // Others keep creating it: someone is recording here.
  return { status: 'held', owner };
}

/** Removes a lock this process holds (at the end of its run). Never throws. */
export function releaseRunLock(lock: HeldRunLock): void {
  removeIfUnchanged(lock.path, lock.text);
}
