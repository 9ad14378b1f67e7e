import { resolve } from 'node:path';
import { readTruthLogSync } from '../analyzers/readRun';
import { AutopsyRun } from './AutopsyRun';
import { resolveConfig } from './config';
import { nowMs } from './clock';
import { reportError } from './errorHandler';
import { adoptRun, findRun, warnOnce } from './runtime';
import { trackIn } from './track';
import type { AutopsyOptions, Level, TruthEvent } from './types';

export interface TrackerSummary {
  total_events: number;
  total_duration: number;
  events_by_type: Record<string, number>;
  events_by_level: Record<string, number>;
}

/**
 * Drop-in port of the original Python `ExecutionTracker`. It writes the same files through the
 * same machinery as `init()` (if `init()` already opened this directory, both share that run),
 * but keeps no events in memory: the query methods read the log back from disk.
 */
export class ExecutionTracker {
  readonly outputDir: string;
  readonly logDir: string;
  readonly jsonLogPath: string;
  readonly readableLogPath: string;
  private readonly run: AutopsyRun;

  constructor(outputDir: string, options: Omit<AutopsyOptions, 'outputDir'> = {}) {
    if (typeof outputDir !== 'string') {
      // A constructor cannot go on without its directory: the error names what is missing.
      throw new TypeError(`agent-autopsy: new ExecutionTracker(outputDir) needs the run directory as a string, got ${outputDir === null ? 'null' : typeof outputDir}`);
    }
    const absolute = resolve(outputDir);
    let run = findRun(absolute);
    if (!run) {
      run = new AutopsyRun(resolveConfig({ ...options, outputDir: absolute }));
      adoptRun(run);
    }
    this.run = run;
    // Another live process's directory sends this run to `<outputDir>/processes/<pid>`. (A
    // zero-code run that has not opened its directory yet opens it now: the paths are final.)
    const paths = run.claimDirectory();
    this.outputDir = paths.outputDir;
    this.logDir = paths.logDir;
    this.jsonLogPath = paths.trackerJson;
    this.readableLogPath = paths.readableLog;
  }

  /** Records an event: written to both logs in call order, when the event loop next turns (or sooner, see AutopsyRun). */
  track(eventType: string, data?: Record<string, unknown> | unknown, level: Level = 'INFO'): void {
    if (this.run.isFinished) {
      warnOnce('tracker-after-close', 'ExecutionTracker.track() was called after its run ended (close() or shutdown()); the event was not recorded');
      return;
    }
    trackIn(this.run, eventType, data, level);
  }

  /** Makes execution_tracker.json a complete JSON document on disk now (tracking may continue). */
  saveJsonLog(): void {
    this.run.checkpoint();
  }

  getEventsByType(eventType: string): TruthEvent[] {
    return this.readEvents((event) => event.type === eventType);
  }

  getEventsByLevel(level: Level | string): TruthEvent[] {
    return this.readEvents((event) => event.level === level);
  }

  getErrorEvents(): TruthEvent[] {
    return this.getEventsByLevel('ERROR');
  }

  getSummary(): TrackerSummary {
    const counts = this.run.analyzer.eventCounts();
    return {
      total_events: counts.total_events,
      total_duration: Math.round((nowMs() - this.run.startMs) * 1000) / 1e6,
      events_by_type: counts.events_by_type,
      events_by_level: counts.events_by_level,
    };
  }

  /**
   * Ends this tracker's run: closes the logs and writes the report (also done at process exit).
   * The run ends as by `shutdown()`: the process goes on, so its exit is not known yet.
   */
  close(): void {
    if (this.run.isFinished) return;
    this.run.setExit({ reason: 'shutdown', exit_code: null, signal: null });
    this.run.finish();
  }

  /**
   * The matching events, read back from the log on disk (nothing is kept in memory). A log that
   * cannot be read (deleted, unwritable directory) gives what could be read, and the problem goes
   * to the error handler: a query never throws into the agent.
   */
  private readEvents(keep: (event: TruthEvent) => boolean): TruthEvent[] {
    const found: TruthEvent[] = [];
    try {
      this.run.flush();
      readTruthLogSync(this.jsonLogPath, (event) => {
        if (keep(event)) found.push(event);
      });
    } catch (error) {
      reportError(error, `cannot read back ${this.jsonLogPath}`);
    }
    return found;
  }
}
