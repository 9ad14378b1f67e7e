import { realpathSync } from 'node:fs';
import { isAbsolute, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Was the zero-code entry given to node as a preload (`--import agent-autopsy/register`,
 * `--require …`, in the command line or in NODE_OPTIONS), or imported by the app itself?
 *
 * It matters for the ES module entry only: an app's static imports are all loaded before the first
 * of them runs, so `import 'agent-autopsy/register'` on an app's first line registers the loader
 * hooks after `openai` was loaded, and its calls are silently not recorded. Read from the flags
 * alone: nothing here runs for the usual `--import agent-autopsy/register` beyond one string compare.
 */
export type PreloadVerdict =
  /** agent-autopsy/register (or a path to this package's register file) is a preload flag. */
  | 'preloaded'
  /** A preload of the app's own (`--import ./otel.mjs`) may have imported it, before the app: nothing to say. */
  | 'maybe-preloaded'
  /** Neither: the app imported it. */
  | 'imported';

const PRELOAD_FLAGS = new Set(['--import', '--require', '-r']);

/**
 * NODE_OPTIONS as node splits it: on spaces, with double-quoted parts (`--require "./a b.cjs"`)
 * in which a backslash escapes the next character.
 */
export function splitNodeOptions(text: string): string[] {
  const args: string[] = [];
  let current = '';
  let started = false;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted && char === '\\' && i + 1 < text.length) {
      current += text[++i];
    } else if (char === '"') {
      quoted = !quoted;
      started = true;
    } else if (char === ' ' && !quoted) {
      if (started) args.push(current);
      current = '';
      started = false;
    } else {
      current += char;
      started = true;
    }
  }
  if (started) args.push(current);
  return args;
}

/** The values of `--import X`, `--import=X`, `--require X`, `-r X` … in `args`. */
export function preloadsIn(args: readonly string[]): string[] {
  const preloads: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const equals = arg.indexOf('=');
    if (equals !== -1 && PRELOAD_FLAGS.has(arg.slice(0, equals))) preloads.push(arg.slice(equals + 1));
    else if (PRELOAD_FLAGS.has(arg) && i + 1 < args.length) preloads.push(args[++i]);
  }
  return preloads;
}

export function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** The file a preload names, or undefined for a package name (`tsx`, `agent-autopsy/register`). */
function preloadFile(preload: string, cwd: string): string | undefined {
  if (preload.startsWith('file:')) {
    try {
      return fileURLToPath(preload);
    } catch {
      return undefined;
    }
  }
  if (preload.startsWith('.') || isAbsolute(preload)) return resolve(cwd, preload);
  return undefined;
}

/**
 * `registerFiles`: this package's register files (dist/register.mjs and .cjs), by real path; asked
 * only when a preload is a path. A preload under node_modules other than ours (tsx's loader,
 * another tool's) is not the app's: it did not import agent-autopsy/register for it.
 */
export function preloadVerdict(execArgv: readonly string[], nodeOptions: string | undefined, registerFiles: () => readonly string[], cwd: string): PreloadVerdict {
  const preloads = preloadsIn(execArgv);
  if (nodeOptions) preloads.push(...preloadsIn(splitNodeOptions(nodeOptions)));
  if (preloads.includes('agent-autopsy/register')) return 'preloaded';
  let verdict: PreloadVerdict = 'imported';
  for (const preload of preloads) {
    const file = preloadFile(preload, cwd);
    if (file === undefined) continue;
    const real = realPath(file);
    if (registerFiles().includes(real)) return 'preloaded';
    if (!real.split(sep).includes('node_modules')) verdict = 'maybe-preloaded';
  }
  return verdict;
}
