import { closeSync, fchmodSync, fstatSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { locateRun } from '../../analyzers/readRun';
import type { AutopsyReport } from '../../analyzers/reportTypes';
import { TruthLogError } from '../../analyzers/TruthLogParser';
import { runsInside } from '../../analyzers/runsInside';
import { AUTOFIX_LOG, LOGS_SUBDIR, PROCESSES_SUBDIR, READABLE_LOG, TRACKER_JSON } from '../../exporters/paths';
import { writeTextSync } from '../../exporters/atomicWrite';
import { HtmlEventCollector } from '../../exporters/HtmlEventCollector';
import { renderHtmlReport } from '../../exporters/htmlReport';
import { renderMarkdownReport } from '../../exporters/markdownReport';
import { shellPath } from '../../exporters/shellPath';
import { renderJsonReport, writeJsonReport } from '../../exporters/writeReportFiles';
import { EXIT_OK, EXIT_RUN_FAILED } from './exitCodes';
import { loadRun } from './loadRun';
import { writtenByOriginalReporter, type ReportSection } from './reportSections';
import { whyTheRunFailed } from './runFailed';

export type ReportFormat = 'json' | 'md' | 'html';

export interface ReportCommandOptions {
  format: ReportFormat;
  out?: string;
  locale?: string;
  failOnFailures?: boolean;
  progress?: boolean;
  /** Events listed in the HTML report (the most recent ones beyond this). */
  maxEvents?: number;
}

/** `agent-autopsy report <run>`: rebuilds the autopsy from disk in the asked format. */
export async function reportCommand(input: string, options: ReportCommandOptions): Promise<number> {
  // `-o -` is stdout, as for most command-line tools.
  const out = options.out === '-' ? undefined : options.out;
  // Checked before the log is read: one line, and no time spent reading a log for nothing.
  if (out) refuseRunRecords(input, out);
  const collector = options.format === 'html' ? new HtmlEventCollector({ maxEvents: options.maxEvents }) : undefined;
  // Asked before reading: a pipe's name (/dev/fd/63) may be gone afterwards.
  const rereadable = canReadAgain(input);
  // The report object keeps the first critical failures; the JSON text streams every one.
  const { report, analyzed, missingSections } = await loadRun(input, {
    locale: options.locale,
    progress: options.progress,
    criticalFailures: 'first',
    onEvent: collector ? (event) => collector.observe(event) : undefined,
  });
  const criticalFailures = analyzed?.criticalFailures;
  // A saved report's sentences stay in the language they were written in (its run.locale, kept in
  // the JSON); --locale sets the page's headings and labels. A log read now is in that locale already.
  const shown = options.locale ? { ...report, run: { ...report.run, locale: options.locale } } : report;
  try {
    const write: TextWriter = out ? fileWriter(out) : (chunk: string | Uint8Array) => void process.stdout.write(typeof chunk === 'string' ? chunk : Buffer.from(chunk)); // stdout may write later: bytes are copied
    try {
      if (options.format === 'json') {
        if (criticalFailures) writeJsonReport(report, criticalFailures, write);
        // A saved report's sections it never had stay out, rather than printed as zeros.
        else write(renderJsonReport(withoutSections(report, missingSections)));
      } else {
        // A log was read (even one with no events): the page has the list. A saved report JSON has no events to list.
        // The Markdown goes to stdout or --out, with no latent_analysis_report.json beside it: a list
        // cut short points at the command that prints all of it.
        // A pipe gives its bytes once: the command names what to do with them instead.
        const fullReportCommand = `agent-autopsy report ${rereadable ? shellPath(input) : '<the input saved to a file>'} --format json`;
        // A saved report's missing sections (zeros in `report`) are said to be not recorded.
        const missing = missingSections.length > 0 ? { sections: missingSections, originalReporter: writtenByOriginalReporter(missingSections) } : undefined;
        write(
          options.format === 'md'
            ? renderMarkdownReport(shown, { fullReportCommand, missingSections: missing })
            : renderHtmlReport(shown, collector && analyzed ? { events: collector } : { missingSections: missing, savedReport: true }),
        );
      }
    } finally {
      write.close?.();
    }
  } finally {
    criticalFailures?.dispose();
  }
  noteOtherProcessesRuns(input);
  if (!options.failOnFailures) return EXIT_OK;
  const reasons = whyTheRunFailed(report, missingSections);
  if (reasons.length === 0) return EXIT_OK;
  process.stderr.write(`agent-autopsy: exit ${EXIT_RUN_FAILED} (--fail-on-failures): ${reasons.join('; ')}\n`);
  return EXIT_RUN_FAILED;
}

/**
 * A run directory whose `processes/` holds the runs of other processes (child processes, or a
 * second agent given the same directory) says so on stderr: the report is of this run only.
 */
function noteOtherProcessesRuns(input: string): void {
  let dir = resolve(input);
  try {
    if (!statSync(dir).isDirectory()) return;
  } catch {
    return;
  }
  // Given its Memory/logs folder: the run directory is two levels up.
  if (dir.endsWith(LOGS_SUBDIR)) dir = dirname(dirname(dir));
  const others = runsInside(join(dir, PROCESSES_SUBDIR));
  if (!others) return;
  const runs = others.count === 1 ? 'the run of another process' : `the runs of ${others.count} other processes`;
  process.stderr.write(`agent-autopsy: this is the run of one process; ${shellPath(dir)} also holds ${runs} in ${PROCESSES_SUBDIR}/, the newest: agent-autopsy report ${shellPath(others.newest)}\n`);
}

/** The report without `sections` (those a saved report lacks): the JSON says nothing it was not told. */
function withoutSections(report: AutopsyReport, sections: readonly ReportSection[]): AutopsyReport {
  if (sections.length === 0) return report;
  const kept: Record<string, unknown> = { ...report };
  for (const section of sections) delete kept[section];
  return kept as unknown as AutopsyReport;
}

/** Whether `input` can be read again by the command the Markdown prints: a file or a directory, not standard input or a pipe. */
function canReadAgain(input: string): boolean {
  if (input === '-') return false;
  try {
    const stat = statSync(input);
    return stat.isFile() || stat.isDirectory();
  } catch {
    // Not there (yet): loadRun names the problem; the command names the input as given.
    return true;
  }
}

type TextWriter = ((chunk: string | Uint8Array) => void) & { close?: () => void };

/**
 * `--out` naming the file to be read, or another of the run's records (its JSON log when the
 * readable one is read, its autofix log), would replace the evidence with its report.
 */
function refuseRunRecords(input: string, out: string): void {
  const records = [resolve(input)];
  try {
    const location = locateRun(input);
    records.push(location.trackerJson, ...[TRACKER_JSON, READABLE_LOG, AUTOFIX_LOG].map((name) => join(location.logDir, name)));
  } catch {
    /* the read that follows says what is wrong with the input */
  }
  if (records.some((record) => sameFile(record, out))) throw new TruthLogError("will not write the report over the run's log", resolve(out));
}

/** Whether two paths name the same file (links included); false when either is not there. */
function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.isFile() && x.ino === y.ino && x.dev === y.dev;
  } catch {
    return false;
  }
}

const WRITE_ERRORS: Record<string, string> = {
  ENOENT: 'its directory does not exist',
  ENOTDIR: 'its directory does not exist',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
};

function cannotWrite(path: string, error: unknown): TruthLogError {
  const code = (error as NodeJS.ErrnoException).code;
  return new TruthLogError(`cannot write the report: ${(code && WRITE_ERRORS[code]) ?? code ?? String(error)}`, resolve(path));
}

/** Writes text to a file (created with mode 0600) in pieces, as they come; a report cut short by the disk is removed. */
function fileWriter(path: string): TextWriter {
  let fd: number;
  try {
    fd = openSync(path, 'w', 0o600);
  } catch (error) {
    throw cannotWrite(path, error);
  }
  // An existing file keeps its mode on open: a report may carry error messages, so make it private.
  // Only a regular file: a device or FIFO (`-o /dev/null`) is shared by every user of the machine.
  try {
    if (fstatSync(fd).isFile()) fchmodSync(fd, 0o600);
  } catch {
    /* a file system without modes */
  }
  const write = (chunk: string | Uint8Array) => {
    try {
      writeTextSync(fd, chunk);
    } catch (error) {
      const regular = fstatSync(fd).isFile();
      closeSync(fd);
      fd = -1;
      if (regular) unlinkSync(path);
      throw cannotWrite(path, error);
    }
  };
  return Object.assign(write, { close: () => fd !== -1 && closeSync(fd) });
}
