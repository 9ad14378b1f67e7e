#!/usr/bin/env node
import { writeFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { analyzeRun } from '../analyzers/readRun';
import { TruthLogError } from '../analyzers/TruthLogParser';
import { renderHtmlReport } from '../exporters/htmlReport';
import { renderMarkdownReport } from '../exporters/markdownReport';
import { renderJsonReport } from '../exporters/writeReportFiles';
import { VERSION } from './version';

/** Exit codes: 0 report made, 1 the run had failures (with --fail-on-failures), 2 bad input. */
export const EXIT_OK = 0;
export const EXIT_RUN_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

function parseFormat(value: string): 'json' | 'md' | 'html' {
  if (value === 'json' || value === 'md' || value === 'html') return value;
  throw new InvalidArgumentError('expected json, md or html');
}

async function reportCommand(input: string, options: { format: 'json' | 'md' | 'html'; out?: string; locale?: string; failOnFailures?: boolean }): Promise<number> {
  const { report } = await analyzeRun(input, { locale: options.locale });
  const text = options.format === 'json' ? renderJsonReport(report) : options.format === 'md' ? renderMarkdownReport(report) : renderHtmlReport(report);
  if (options.out) writeFileSync(options.out, text, { mode: 0o600 });
  else process.stdout.write(text);
  return options.failOnFailures && report.summary.total_failures > 0 ? EXIT_RUN_FAILED : EXIT_OK;
}

export function buildProgram(): Command {
  const program = new Command('agent-autopsy')
    .description('Post-mortems for LLM agent runs recorded by agent-autopsy (or the original Python tracker).')
    .version(VERSION)
    .exitOverride();
  program
    .command('report')
    .description('rebuild the autopsy of a run from what is on disk (torn logs after a crash or kill -9 included)')
    .argument('<run>', 'run directory, its Memory/logs folder, or an execution_tracker.json file')
    .option('-f, --format <format>', 'json, md or html', parseFormat, 'json')
    .option('-o, --out <file>', 'write to a file instead of stdout')
    .option('--locale <locale>', 'en or zh-CN')
    .option('--fail-on-failures', 'exit with 1 when the run had failures (for CI)')
    .action(async (input: string, options) => {
      process.exitCode = await reportCommand(input, options);
    });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return EXIT_OK;
    if (typeof code === 'string' && code.startsWith('commander.')) return EXIT_BAD_INPUT;
    if (error instanceof TruthLogError) {
      process.stderr.write(`agent-autopsy: ${error.message}\n`);
      return EXIT_BAD_INPUT;
    }
    process.stderr.write(`agent-autopsy: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_BAD_INPUT;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    () => {
      process.exitCode = EXIT_BAD_INPUT;
    },
  );
}
