import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { threadId } from 'node:worker_threads';
import { PROCESSES_SUBDIR, runPaths, type RunPaths } from '../exporters/paths';
import { acquireRunLock, releaseRunLock, type HeldRunLock, type RunLockClaim, type RunLockOwner } from '../exporters/runLock';
import { systemClockMs } from './clock';
import { reportIoError } from './errorHandler';

/** Where a run records, as decided when it starts. */
export interface RunDirectory {
  paths: RunPaths;
  /** The outermost directory created for it (undefined when its log directory already existed). */
  createdDir?: string;
  /** The lock this process holds on it (undefined when none could be written). */
  lock?: HeldRunLock;
  /** Set when the directory asked for was being recorded by another live process. */
  inUse?: RunDirectoryInUse;
}

export interface RunDirectoryInUse {
  /** The run directory that was asked for. */
  outputDir: string;
  lockFile: string;
  /** Who holds it (undefined when its lock cannot be read). */
  owner?: RunLockOwner;
  /**
   * Set instead of `owner` when no live process held it, but its log was written after this run
   * started (the ISO time it was last written): a run of a process that ran beside this one (its
   * child, or another agent given the same directory) and finished before this run recorded anything.
   */
  writtenSince?: string;
}

/**
 * When the log `trackerJson` was last written, if that was after this run started (`startedAt`,
 * the system clock's ms, as file times are): a run that opens its directory at its first event
 * (zero code) may find there the finished run of a process that ran while it did, which it must
 * not truncate. A log last written before this run started is an earlier run's, replaced as always.
 */
function writtenSince(trackerJson: string, startedAt: number): string | undefined {
  try {
    const written = statSync(trackerJson).mtimeMs;
    // A millisecond of slack: Date.now() drops the fraction that a file time keeps.
    return written >= startedAt + 1 ? new Date(written).toISOString() : undefined;
  } catch {
    return undefined; // no log there
  }
}

/**
 * `mkdir -p`: returns the first directory it created, as `mkdirSync`'s recursive option does. That
 * option loops forever (100 % CPU, before the app runs) where a parent cannot be made although it
 * looks missing, as under /proc; each missing directory is made here once, from the top down.
 */
function makeDirectories(path: string, mode: number): string | undefined {
  const missing: string[] = [];
  for (let at = resolve(path); !existsSync(at); at = dirname(at)) {
    missing.push(at);
    if (dirname(at) === at) break;
  }
  let first: string | undefined;
  for (let i = missing.length - 1; i >= 0; i--) {
    try {
      mkdirSync(missing[i], { mode });
      first ??= missing[i];
    } catch (error) {
      // Made meanwhile by another process (two agents starting at once): go on.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(missing[i]).isDirectory()) throw error;
    }
  }
  // What is there must be a directory, as the recursive mkdir says (EEXIST for a file).
  if (missing.length === 0 && !statSync(path).isDirectory()) mkdirSync(path, { mode });
  return first;
}

type DirectoryClaim = RunLockClaim | { status: 'written-since'; at: string };

function claim(outputDir: string, started: string, startedAt: number, locale: string | undefined): { directory: RunDirectory; claim: DirectoryClaim } {
  const paths = runPaths(outputDir);
  let createdDir: string | undefined;
  try {
    createdDir = makeDirectories(paths.logDir, 0o700);
  } catch (error) {
    reportIoError(error, `cannot create ${paths.logDir}`, paths.logDir, true);
    return { directory: { paths }, claim: { status: 'unavailable' } };
  }
  const result = acquireRunLock(paths.lockFile, started, locale);
  const directory: RunDirectory = { paths, createdDir };
  if (result.status !== 'acquired') return { directory, claim: result };
  const since = writtenSince(paths.trackerJson, startedAt);
  if (since !== undefined) {
    releaseRunLock(result.lock);
    return { directory, claim: { status: 'written-since', at: since } };
  }
  directory.lock = result.lock;
  return { directory, claim: result };
}

/**
 * Opens the run directory `outputDir` for a run that started at `started` (before anything in it
 * is truncated). When another live process is recording there — a child process that inherited
 * the zero-code flag and AGENT_AUTOPSY_DIR from its parent, or a second process given the same
 * outputDir — this run goes to `<outputDir>/processes/<pid>` instead, so neither loses its log;
 * also when the directory holds a run that was written after this one started (see writtenSince).
 * A directory whose lock cannot be written (read-only) is used as it is. `locale` (the run's report
 * locale) is kept in the lock, for a report rebuilt after a kill. `startedAt` is when the run
 * started by the system clock (systemClockMs), to compare with the logs' file times.
 */
export function openRunDirectory(outputDir: string, started: string, locale?: string, startedAt: number = systemClockMs()): RunDirectory {
  const asked = claim(outputDir, started, startedAt, locale);
  if (asked.claim.status !== 'held' && asked.claim.status !== 'written-since') return asked.directory;
  const inUse: RunDirectoryInUse = { outputDir, lockFile: asked.directory.paths.lockFile };
  if (asked.claim.status === 'written-since') inUse.writtenSince = asked.claim.at;
  else if (asked.claim.owner) inUse.owner = asked.claim.owner;
  // Threads of one process share its pid; a pid can also be in use on another machine sharing the disk.
  const name = join(outputDir, PROCESSES_SUBDIR, threadId === 0 ? String(process.pid) : `${process.pid}-${threadId}`);
  for (const candidate of [name, `${name}-2`, `${name}-3`]) {
    const own = claim(candidate, started, startedAt, locale);
    if (own.claim.status !== 'held' && own.claim.status !== 'written-since') return { ...own.directory, inUse };
  }
  // Taken three times over: a name no one else can have chosen.
  return { ...claim(`${name}-${Date.now()}`, started, startedAt, locale).directory, inUse };
}
