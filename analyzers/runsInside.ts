import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LOGS_SUBDIR, READABLE_LOG, TRACKER_JSON } from '../exporters/paths';
import { shellPath } from '../exporters/shellPath';

/** The run directories right inside a folder: how many, and the one whose log was written last. */
export interface RunsInside {
  count: number;
  newest: string;
}

/** At most this many entries are looked at: a folder of runs is read once, on an error path only. */
const MAX_ENTRIES = 100_000;

/**
 * The runs right inside `folder` (each `<name>/Memory/logs/` with a tracker log), for a command
 * given the folder that holds the runs (the default `./autopsy-runs`) instead of one of them.
 * Undefined when there are none, or the folder cannot be listed.
 */
export function runsInside(folder: string): RunsInside | undefined {
  let names: string[];
  try {
    names = readdirSync(folder, { withFileTypes: true })
      .slice(0, MAX_ENTRIES)
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return undefined;
  }
  let count = 0;
  let newest = '';
  let newestMs = -Infinity;
  for (const name of names) {
    const written = lastWritten(join(folder, name, LOGS_SUBDIR));
    if (written === undefined) continue;
    count++;
    // Ties (the same millisecond) go to the later name: run names start with their time.
    if (written > newestMs || (written === newestMs && name > newest)) {
      newestMs = written;
      newest = name;
    }
  }
  return count === 0 ? undefined : { count, newest: join(folder, newest) };
}

/** When the run's log in `logDir` was last written (its JSON log, else its readable one), or undefined when it has none. */
function lastWritten(logDir: string): number | undefined {
  for (const file of [TRACKER_JSON, READABLE_LOG]) {
    try {
      return statSync(join(logDir, file)).mtimeMs;
    } catch {
      /* not there: the other one, or not a run */
    }
  }
  return undefined;
}

/** The hint for a folder that holds runs: "it holds 3 runs, the newest: agent-autopsy <command> <dir>". */
export function runsInsideHint(inside: RunsInside, command: string): string {
  const runs = inside.count === 1 ? 'one run' : `${inside.count} runs`;
  return `it holds ${runs}, the newest: agent-autopsy ${command} ${shellPath(inside.newest)}`;
}
