import { Command, InvalidArgumentError, Option } from 'commander';
import { isKnownLocale } from '../analyzers/messages';
import { palette, useColor } from './cli/color';
import { diffLocale } from './cli/diffLabels';
import { diffRuns } from './cli/diffRuns';
import { formatDiffText } from './cli/diffText';
import { EXIT_BAD_INPUT, EXIT_OK, EXIT_RUN_FAILED } from './cli/exitCodes';
import { loadRun } from './cli/loadRun';
import { reportCommand, type ReportFormat } from './cli/report';
import { tailCommand } from './cli/tail';
import { VERSION } from './version';

export { EXIT_BAD_INPUT, EXIT_OK, EXIT_RUN_FAILED } from './cli/exitCodes';

function parseFormat(value: string): ReportFormat {
  if (value === 'json' || value === 'md' || value === 'html') return value;
  throw new InvalidArgumentError('expected json, md or html');
}

function parseLocale(value: string): string {
  if (isKnownLocale(value)) return value;
  throw new InvalidArgumentError('expected en or zh-CN');
}

/**
 * Digits only: Number() would read '' and ' ' as 0, and '1e3' or '0x10' as numbers nobody typed.
 * `least` is the smallest count that means something (a report lists at least one event).
 */
function countParser(least: 0 | 1): (value: string) => number {
  return (value) => {
    const n = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < least) throw new InvalidArgumentError(least === 0 ? 'expected a whole number' : 'expected a whole number from 1 up');
    return n;
  };
}

export function buildProgram(): Command {
  const program = new Command('agent-autopsy')
    .description('Post-mortems for LLM agent runs recorded by agent-autopsy, the original Python tracker, or OpenTelemetry (OTLP JSON).')
    .version(VERSION)
    .exitOverride()
    // commander's own messages ("error: …") take this tool's prefix, as every other message does.
    // One line, as every message of the CLI: commander puts its "(Did you mean report?)" on a second one.
    .configureOutput({ outputError: (text, write) => write(`${text.replace(/^error: /, 'agent-autopsy: ').trimEnd().replace(/\s*\n\s*/g, ' ')}\n`) })
    // Scripts and CI read the exit code first: the help says what each one means.
    .addHelpText(
      'after',
      '\nExit codes:\n  0  done\n  1  the run had failures or did not end cleanly (report --fail-on-failures) or B is worse than A (diff --fail-on-regression)\n  2  a usage error or bad input (one line on stderr says what and where)',
    );

  program
    .command('report')
    .description('rebuild the autopsy of a run from what is on disk (torn logs after a crash or kill -9 included)')
    .argument('<run>', 'run directory, its Memory/logs folder, an execution_tracker.json, an OTLP JSON file, or a saved report JSON (- for standard input)')
    .option('-f, --format <format>', 'json, md or html', parseFormat, 'json' as ReportFormat)
    .option('-o, --out <file>', 'write to a file instead of stdout (- for stdout)')
    .option('--locale <locale>', 'en or zh-CN', parseLocale)
    .option('--fail-on-failures', 'exit with 1 when the run had failures or did not end cleanly (for CI)')
    .option('--max-events <n>', 'events listed in the HTML report, 1 or more (the most recent beyond this)', countParser(1), 200_000)
    .option('--no-progress', 'never draw a progress bar')
    .action(async (input: string, options) => {
      process.exitCode = await reportCommand(input, options);
    });

  program
    .command('diff')
    .description('what got better or worse from run A to run B: failures, diagnoses, tokens, durations')
    .argument('<runA>', 'the earlier run (directory, log file, OTLP JSON file or report JSON; - for standard input)')
    .argument('<runB>', 'the later run')
    .addOption(new Option('-f, --format <format>', 'text or json').choices(['text', 'json']).default('text'))
    .option('--locale <locale>', 'en or zh-CN', parseLocale)
    .option('--fail-on-regression', 'exit with 1 when B is worse than A in any way (for CI)')
    .option('--no-progress', 'never draw a progress bar')
    .action(async (inputA: string, inputB: string, options: { format: 'text' | 'json'; locale?: string; failOnRegression?: boolean; progress: boolean }) => {
      // A diff reads counts, not the list of critical failures: only the first ones are kept.
      const load = async (input: string) => {
        const run = await loadRun(input, { locale: options.locale, progress: options.progress, criticalFailures: 'first' });
        run.analyzed?.criticalFailures?.dispose();
        return run;
      };
      const a = await load(inputA);
      const b = await load(inputB);
      const diff = diffRuns(a, b);
      // The JSON is the same in every language but for what it quotes from the reports (titles, endings).
      process.stdout.write(options.format === 'json' ? `${JSON.stringify(diff, null, 2)}\n` : formatDiffText(diff, palette(useColor(process.stdout)), diffLocale(options.locale, [a, b])));
      process.exitCode = options.failOnRegression && diff.regressions.length > 0 ? EXIT_RUN_FAILED : EXIT_OK;
    });

  program
    .command('tail')
    .description("follow a live run's readable log (execution_tracker_readable.txt) with colour by level, like tail -f")
    .argument('<run>', 'run directory, its Memory/logs folder, or the readable log itself (it may not exist yet)')
    .option('-n, --lines <n>', 'existing lines to print first (0 for none)', countParser(0), 10)
    .option('--no-follow', 'print the last lines and exit')
    .action(async (input: string, options: { lines: number; follow: boolean }) => {
      process.exitCode = await tailCommand(input, { lines: options.lines, follow: options.follow, palette: palette(useColor(process.stdout)) });
    });

  // commander's own `help <name>` prints the whole help for a name that is no command, with exit 2
  // but without saying why: this one says what `agent-autopsy <name>` says.
  program.helpCommand(false);
  program
    .command('help')
    .argument('[command]')
    .description('display help for command')
    .helpOption(false)
    .action(async (name?: string) => {
      if (name === undefined) return program.help();
      const command = program.commands.find((c) => c.name() === name);
      if (command) return command.help();
      // The unknown-command error, suggestion included ("Did you mean report?").
      await program.parseAsync([name], { from: 'user' });
    });
  return program;
}

/** One line, whatever the error carries. */
function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (error) {
    const code = (error as { code?: string }).code;
    // No command at all: commander prints the help on stderr and says exit code 1; a usage error here.
    if (code === 'commander.help' && (error as { exitCode?: number }).exitCode !== 0) return EXIT_BAD_INPUT;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return EXIT_OK;
    // commander has printed its own one-line message.
    if (typeof code === 'string' && code.startsWith('commander.')) return EXIT_BAD_INPUT;
    process.stderr.write(`agent-autopsy: ${oneLine(error)}\n`);
    return EXIT_BAD_INPUT;
  }
}

/**
 * `agent-autopsy report … | head`: when the reader of stdout goes away, stop quietly with the exit
 * code decided so far (0 if none yet), as `cat` would, instead of crashing with an EPIPE stack.
 */
function stopWhenStdoutCloses(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK);
    process.stderr.write(`agent-autopsy: cannot write to stdout: ${oneLine(error)}\n`);
    process.exit(EXIT_BAD_INPUT);
  });
}

/** The `agent-autopsy` bin (dist/cli.cjs): runs main() on the process's arguments. */
export function runCli(): void {
  stopWhenStdoutCloses();
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    () => {
      process.exitCode = EXIT_BAD_INPUT;
    },
  );
}
