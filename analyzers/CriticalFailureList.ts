import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { writeTextSync } from '../exporters/atomicWrite';
import { reportError } from '../src/errorHandler';
import type { CriticalFailure } from './reportTypes';

/**
 * Entries kept as objects: enough for every human format (the HTML timeline marks at most 2,000).
 * Past this, entries wait in a temporary file, so a run with a million failed LLM calls does not
 * hold a million entries in the agent's memory (DESIGN: memory is never O(events)).
 */
export const CRITICAL_FAILURES_IN_MEMORY = 2000;

/** Entries sit at depth 3 of latent_analysis_report.json (report → failure_analysis → array). */
const ENTRY_INDENT = '      ';
const ARRAY_INDENT = '    ';
/** Spilled entries are written in their final text, each followed by this. */
const SEPARATOR = ',\n';
/** How an entry's text ends: its closing brace is the only line indented exactly ENTRY_INDENT. */
const ENTRY_END = `\n${ENTRY_INDENT}}${SEPARATOR}`;
const SPILL_BUFFER_CHARS = 64 * 1024;
const READ_BYTES = 1 << 20;

const FIELD_INDENT = `\n${ENTRY_INDENT}  `;

/** One entry exactly as `JSON.stringify(report, null, 2)` writes it inside critical_failures. */
export function renderCriticalFailure(entry: CriticalFailure): string {
  const { timestamp, type, stage, error } = entry;
  // The usual entry, four strings in this order, is written directly: indenting JSON.stringify
  // costs ~2.5 µs an entry, most of the time a storm of failures spends here.
  if (typeof timestamp === 'string' && typeof type === 'string' && typeof stage === 'string' && typeof error === 'string' && sameKeys(entry)) {
    return `${ENTRY_INDENT}{${FIELD_INDENT}"timestamp": ${JSON.stringify(timestamp)},${FIELD_INDENT}"type": ${JSON.stringify(type)},${FIELD_INDENT}"stage": ${JSON.stringify(stage)},${FIELD_INDENT}"error": ${JSON.stringify(error)}\n${ENTRY_INDENT}}`;
  }
  return ENTRY_INDENT + JSON.stringify(entry, null, 2).replace(/\n/g, `\n${ENTRY_INDENT}`);
}

function sameKeys(entry: CriticalFailure): boolean {
  let count = 0;
  for (const key in entry) {
    if (key !== (count === 0 ? 'timestamp' : count === 1 ? 'type' : count === 2 ? 'stage' : count === 3 ? 'error' : '')) return false;
    count++;
  }
  return count === 4 && typeof (entry as { toJSON?: unknown }).toJSON !== 'function';
}

/**
 * The seed's `critical_failures`, in event order, in bounded memory: the first
 * CRITICAL_FAILURES_IN_MEMORY entries as objects, later ones as report text in an unlinked
 * temporary file (nothing is left behind, even after a kill). The JSON report streams the whole
 * list from it; `all()` reads it back for callers who ask for every entry. If the temporary file
 * cannot be written, entries stay in memory instead: nothing is lost.
 */
export class CriticalFailureList {
  private readonly kept: CriticalFailure[] = [];
  private fd = -1;
  /** Where the file is while it could not be unlinked at once (Windows). */
  private spillPath: string | undefined;
  private spillBytes = 0;
  /** Spilled text not yet in the file (all of it, once the file failed). */
  private pending = '';
  private spillFailed = false;
  private count = 0;

  /**
   * @param spillDir where the temporary file goes (default: the OS temp directory). A live run
   *   passes its log directory: /tmp is often a tmpfs, whose pages are memory too.
   */
  constructor(
    private readonly inMemory = CRITICAL_FAILURES_IN_MEMORY,
    private readonly spillDir?: string,
  ) {}

  /** Entries recorded. */
  get length(): number {
    return this.count;
  }

  /** Entries that went to the temporary file (for tests and memory checks). */
  get spilled(): number {
    return this.count - this.kept.length;
  }

  /** Adds an entry; throws, adding nothing, where JSON.stringify(entry) throws (a BigInt). */
  push(entry: CriticalFailure): void {
    if (this.kept.length < this.inMemory) {
      this.kept.push(entry);
      this.count++;
      return;
    }
    this.pending += renderCriticalFailure(entry) + SEPARATOR;
    this.count++;
    if (this.pending.length >= SPILL_BUFFER_CHARS && !this.spillFailed) this.flushSpill();
  }

  /** The first entries (every entry while no more than CRITICAL_FAILURES_IN_MEMORY were recorded). */
  first(): CriticalFailure[] {
    return this.kept.slice();
  }

  /** Every entry in order, read back from the temporary file: memory grows with the list. */
  all(): CriticalFailure[] {
    const entries = this.kept.slice();
    if (this.count === this.kept.length) return entries;
    let carry = '';
    const take = (text: string, last: boolean) => {
      carry += text;
      let start = 0;
      for (let end = carry.indexOf(ENTRY_END); end !== -1; end = carry.indexOf(ENTRY_END, start)) {
        entries.push(JSON.parse(carry.slice(start, end + ENTRY_END.length - SEPARATOR.length)) as CriticalFailure);
        start = end + ENTRY_END.length;
      }
      carry = carry.slice(start);
      if (last && carry.trim() !== '') throw new Error('agent-autopsy: the critical failures file ends mid-entry');
    };
    this.readSpill((text) => take(text, false));
    take(this.pending, true);
    return entries;
  }

  /**
   * Writes the list as the JSON report's array text, piece by piece: the `[ … ]` that
   * `JSON.stringify(report, null, 2)` writes for failure_analysis.critical_failures.
   */
  writeJsonArray(write: (chunk: string | Uint8Array) => void): void {
    if (this.count === 0) {
      write('[]');
      return;
    }
    write('[\n');
    let text = '';
    for (let i = 0; i < this.kept.length; i++) {
      text += (i === 0 ? '' : SEPARATOR) + renderCriticalFailure(this.kept[i]);
      if (text.length >= SPILL_BUFFER_CHARS) {
        write(text);
        text = '';
      }
    }
    if (this.count === this.kept.length) {
      write(`${text}\n${ARRAY_INDENT}]`);
      return;
    }
    // Spilled entries are stored each followed by SEPARATOR: the one before the first is owed,
    // and the last one's is not written.
    write(this.kept.length > 0 ? `${text}${SEPARATOR}` : text);
    const pending = Buffer.from(this.pending, 'utf8');
    const total = this.spillBytes + pending.length - SEPARATOR.length;
    let written = 0;
    const copy = (bytes: Uint8Array) => {
      const part = bytes.subarray(0, Math.max(0, Math.min(bytes.length, total - written)));
      written += part.length;
      if (part.length > 0) write(part);
    };
    this.readSpillBytes((bytes) => copy(bytes));
    copy(pending);
    write(`\n${ARRAY_INDENT}]`);
  }

  /** Closes the temporary file; afterwards the list holds only the entries kept in memory. */
  dispose(): void {
    this.count = this.kept.length;
    this.pending = '';
    this.spillBytes = 0;
    if (this.fd !== -1) {
      try {
        closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.fd = -1;
    }
    if (this.spillPath) {
      try {
        unlinkSync(this.spillPath);
      } catch {
        /* gone already */
      }
      this.spillPath = undefined;
    }
  }

  private flushSpill(): void {
    try {
      if (this.fd === -1) this.openSpill();
      const bytes = Buffer.from(this.pending, 'utf8');
      writeTextSync(this.fd, bytes);
      this.spillBytes += bytes.length;
      this.pending = '';
    } catch (error) {
      // A full or read-only temporary directory: keep the rest in memory rather than lose it.
      this.spillFailed = true;
      reportError(error, `cannot write critical failures to a temporary file in ${this.spillDir ?? tmpdir()} (they are kept in memory)`);
    }
  }

  private openSpill(): void {
    const path = join(this.spillDir ?? tmpdir(), `.agent-autopsy-critical-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
    this.fd = openSync(path, 'wx+', 0o600);
    try {
      unlinkSync(path);
    } catch {
      this.spillPath = path;
    }
  }

  /** The file's text in order (a UTF-8 sequence split between reads is joined by the decoder). */
  private readSpill(onText: (text: string) => void): void {
    const decoder = new StringDecoder('utf8');
    this.readSpillBytes((bytes) => onText(decoder.write(bytes)));
    onText(decoder.end());
  }

  /** The file's bytes in order, in chunks of up to 1 MiB (each valid only during the call). */
  private readSpillBytes(onBytes: (bytes: Buffer) => void): void {
    if (this.fd === -1 || this.spillBytes === 0) return;
    const buffer = Buffer.allocUnsafe(Math.min(READ_BYTES, this.spillBytes));
    for (let position = 0; position < this.spillBytes; ) {
      const n = readSync(this.fd, buffer, 0, Math.min(buffer.length, this.spillBytes - position), position);
      if (n === 0) throw new Error('agent-autopsy: the critical failures file is shorter than written');
      position += n;
      onBytes(buffer.subarray(0, n));
    }
  }
}
