import { diag } from '@opentelemetry/api';
import { writeStderr } from './errorHandler';
import { errorMessage, WARNING_QUOTE_LENGTH } from './safeValue';

/**
 * A setting that cannot be honoured (an init() option, an option of an exported class) is named
 * on stderr, and the caller goes on with the default: nothing here throws into the app.
 */
export function warnAboutSetting(message: string): void {
  writeStderr(`agent-autopsy: ${message}\n`);
  try {
    diag.warn(message);
  } catch {
    /* a user's diag logger threw */
  }
}

/** A value as a warning quotes it: short, and never by running the app's code. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)} (a string)`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value === undefined) return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Checks the names of an options object from plain JavaScript: each own key that is not one of
 * `known` is named on stderr in one line, with the known name it most likely means
 * (`unknown option "maxEvent" ignored (did you mean maxEvents?)`), after `prefix` (a class's
 * `new HtmlEventCollector(): `); the key is ignored, so its option keeps the default. Returns false,
 * after one line saying so, when the keys cannot be read at all (a Proxy whose ownKeys trap
 * throws): the caller then uses every default.
 */
export function checkOptionNames(given: object, known: readonly string[], prefix = ''): boolean {
  let keys: string[];
  try {
    keys = Object.keys(given);
  } catch (error) {
    warnAboutSetting(`${prefix}the options could not be read (${errorMessage(error, WARNING_QUOTE_LENGTH)}); the defaults are used`);
    return false;
  }
  for (const key of keys) {
    if (known.includes(key)) continue;
    const near = nearestName(key, known);
    warnAboutSetting(`${prefix}unknown option ${JSON.stringify(key.slice(0, WARNING_QUOTE_LENGTH))} ignored${near ? ` (did you mean ${near}?)` : ''}`);
  }
  return true;
}

/** Case, `-` and `_` aside, the name as the comparison sees it (`max_events` is `maxevents`). */
const bare = (name: string) => name.toLowerCase().replace(/[-_]/g, '');

/**
 * The known name `key` most likely misspells: the same name but for case, `-` and `_`
 * (`outputdir`, `output_dir`), else the nearest within two edits (a letter left out, added, changed,
 * or two swapped: `maxEvent`, `maxEvnets`), at most one edit per three letters of the name so a
 * short name is not suggested for anything; on a tie the first in `known`. Undefined when none is near.
 */
function nearestName(key: string, known: readonly string[]): string | undefined {
  const wanted = bare(key.slice(0, WARNING_QUOTE_LENGTH));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    const distance = editDistance(wanted, bare(name));
    if (distance < bestDistance && distance <= Math.min(2, Math.floor(name.length / 3))) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

/** Edits (insert, delete, change one letter, swap two neighbours) between `a` and `b` (optimal string alignment). */
function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2] + 1);
      current.push(d);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length];
}
