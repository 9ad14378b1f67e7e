import type { TruthEvent } from '../src/types';
import { formatEventLines, type EventLines } from './eventFormat';
import { FileSink } from './FileSink';

const SYNC_EVERY_BYTES = 8 * 1024 * 1024;

export interface TruthLogExporterOptions {
  /** execution_tracker.json */
  jsonPath: string;
  /** execution_tracker_readable.txt */
  readablePath: string;
  /** ISO start time written in the JSON header. */
  startTime: string;
  flushIntervalMs?: number;
}

/**
 * Writes Truth-Mode events to the seed's two files as they happen.
 *
 * execution_tracker.json is the seed document `{start_time, events, total_events}` laid out one
 * event per line, so it can be appended to without holding events in memory:
 *
 *     {"start_time": "…", "events": [
 *     {…first event…},
 *     {…last event…}
 *     ], "total_events": 2}
 *
 * Until `shutdown()` writes the closing line the file is a torn document; every reader in this
 * package recovers each complete line of it.
 */
export class TruthLogExporter {
  private readonly json: FileSink;
  private readonly readable: FileSink;
  private count = 0;
  private finished = false;
  /** Length of the file before the closing line written by `checkpoint()`, while it is there. */
  private footerStart = -1;

  constructor(options: TruthLogExporterOptions) {
    // Each file is synced in the background every 8 MiB, so the fsync at shutdown stays short.
    const sinkOptions = { flags: 'w' as const, flushIntervalMs: options.flushIntervalMs, syncEveryBytes: SYNC_EVERY_BYTES };
    this.json = new FileSink(options.jsonPath, sinkOptions);
    this.readable = new FileSink(options.readablePath, sinkOptions);
    this.json.write(`{"start_time": ${JSON.stringify(options.startTime)}, "events": [`);
  }

  /** Events written so far. */
  get totalEvents(): number {
    return this.count;
  }

  /** A log file was deleted while the run went on (its run directory removed, perhaps made anew by another run). */
  logDeleted(): boolean {
    return this.json.isDeleted() || this.readable.isDeleted();
  }

  get isShutdown(): boolean {
    return this.finished;
  }

  /**
   * Appends one event to both files. Never throws. `recorded`: the event was built by
   * AutopsyRun.record() (see formatEventLines).
   */
  export(event: TruthEvent, recorded = false): boolean {
    if (this.finished) return false;
    let lines: EventLines;
    try {
      lines = formatEventLines(event, recorded, this.count === 0 ? '\n' : ',\n');
    } catch {
      // Only JSON.stringify throws there (a BigInt deep in the data): no line for this event.
      return false;
    }
    if (this.footerStart >= 0) {
      this.json.truncate(this.footerStart);
      this.footerStart = -1;
    }
    this.json.write(lines.json, lines.ascii);
    this.count++;
    if (lines.readable !== undefined) this.readable.write(lines.readable, lines.ascii);
    return true;
  }

  forceFlush(): void {
    this.json.flushSync();
    this.readable.flushSync();
  }

  /**
   * Makes execution_tracker.json a complete document now (the seed's save_json_log) while the run
   * goes on: the closing line is written, and cut off again when the next event arrives.
   */
  checkpoint(): void {
    if (this.finished) return;
    if (this.footerStart < 0) {
      this.json.flushSync();
      this.footerStart = this.json.bytesWritten;
      this.json.write(this.footer());
    }
    this.forceFlush();
  }

  private footer(): string {
    return `\n], "total_events": ${this.count}}\n`;
  }

  /** Writes the closing line and closes both files. Idempotent; synchronous so exit paths can use it. */
  shutdown(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.footerStart < 0) this.json.write(this.footer());
    this.json.close({ fsync: true });
    this.readable.close({ fsync: true });
  }
}
