import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Which copy of @opentelemetry/api the app loads, next to ours. OpenTelemetry keeps one global
 * registration per major version, stamped with the version of the copy that made it, and a copy
 * whose minor version is higher than that stamp does not see it: for such a copy there is no
 * tracer provider and no context manager, and its own registrations fail. agent-autopsy's
 * OpenTelemetry SDK (2.x) accepts @opentelemetry/api below 1.10, so an app that depends on a
 * newer API gets two copies.
 */
export interface ApiCopy {
  version: string;
  /** The directory of its package.json. */
  dir: string;
}

function packageOf(entry: string): ApiCopy | undefined {
  let dir = dirname(entry);
  for (let depth = 0; depth < 6; depth++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === '@opentelemetry/api' && typeof pkg.version === 'string') return { version: pkg.version, dir };
    } catch {
      // no package.json here (a build folder): look further up
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/** True when a copy of version `reader` sees a global registration made by a copy of version `registrar` (the API's own rule). */
export function seesRegistration(reader: string, registrar: string): boolean {
  const [readerMajor, readerMinor, readerPatch] = reader.split(/[.+-]/).map(Number);
  const [major, minor, patch] = registrar.split(/[.+-]/).map(Number);
  if (readerMajor !== major) return false;
  if (major === 0) return readerMinor === minor && readerPatch <= patch;
  return readerMinor <= minor;
}

/**
 * The app's copy (resolved from its main script's directory, then the working directory) next to
 * ours, with the file the app loads; undefined when it is ours (the same directory, links
 * resolved) or when either cannot be found.
 */
function appAndOurCopies(mainScript: string | undefined): { app: ApiCopy; ours: ApiCopy; entry: string } | undefined {
  try {
    const ours = packageOf(require.resolve('@opentelemetry/api'));
    const bases = [...(mainScript ? [dirname(mainScript)] : []), process.cwd()];
    const entry = require.resolve('@opentelemetry/api', { paths: bases });
    const app = packageOf(entry);
    if (!ours || !app || realpathSync(app.dir) === realpathSync(ours.dir)) return undefined;
    return { app, ours, entry };
  } catch {
    return undefined;
  }
}

/**
 * The entry file of the app's copy, when it is another copy than ours that sees a registration
 * made with ours: the same version installed twice (a linked or folder install of agent-autopsy).
 * Its own registrations still fail as duplicates of ours.
 */
export function sightedAppApiCopy(mainScript = process.argv[1]): string | undefined {
  const copies = appAndOurCopies(mainScript);
  return copies && seesRegistration(copies.app.version, copies.ours.version) ? copies.entry : undefined;
}

/** The app's copy, when it is another copy than ours and cannot see a registration made with ours. */
export function blindAppApiCopy(mainScript = process.argv[1]): { app: ApiCopy; ours: ApiCopy } | undefined {
  const copies = appAndOurCopies(mainScript);
  return copies && !seesRegistration(copies.app.version, copies.ours.version) ? { app: copies.app, ours: copies.ours } : undefined;
}
