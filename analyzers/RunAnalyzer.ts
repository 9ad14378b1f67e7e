import type { Locale, TruthEvent } from '../src/types';
import { secondsBetween } from '../src/clock';
import { errorMessage, WARNING_QUOTE_LENGTH } from '../src/safeValue';
import { checkOptionNames, describeValue, warnAboutSetting } from '../src/settingWarnings';
import { emptyAutofixStats } from './autofixStats';
import { eventKind, type EventKind } from './eventKind';
import { CRITICAL_FAILURES_IN_MEMORY, type CriticalFailureList } from './CriticalFailureList';
import { CustomRuleEngine, validateRules } from './customRules';
import type { DiagnosisEngine, DiagnosisRule } from './diagnosisTypes';
import { FailureAggregate } from './FailureAggregate';
import { LlmUsageAggregate } from './LlmUsageAggregate';
import { isKnownLocale, messagesFor, normalizeLocale } from './messages';
import type { AutofixStatistics, AutopsyReport, Diagnosis, ExitInfo, UnfinishedSpan } from './reportTypes';
import { buildFailureAnalysis, buildFixSuggestions, buildSummary } from './seedReport';
import { StageTimeline } from './StageTimeline';
import { builtInDiagnosisEngine, rankDiagnoses } from './diagnoses';

export interface RunAnalyzerOptions {
  locale?: Locale | string;
  /** User diagnosis rules, evaluated next to the built-in ones. */
  rules?: readonly DiagnosisRule[];
  /**
   * Count events by type and level for eventCounts() (the live tracker's get_summary); default
   * true. The report does not use these counts: a reader that only builds the report skips them.
   */
  eventCounts?: boolean;
  /** Critical failures kept as objects before the rest go to a temporary file (default 2,000). */
  criticalFailuresInMemory?: number;
  /** Where that temporary file goes (default: the OS temp directory; a live run uses its log directory). */
  criticalFailuresDir?: string;
}

export interface ReportContext {
  /** Autofix statistics (from autofix_log.json or counted in-process). */
  autofix?: AutofixStatistics;
  exit?: ExitInfo;
  unfinished?: UnfinishedSpan[];
  outputDir?: string;
  startTime?: string | null;
  serviceName?: string;
  source?: string;
  /**
   * The run's "now", epoch ms (default: the current time): open spans' ages and the run's duration
   * are measured to it. An offline read passes the run's last event, not the time of the read.
   */
  now?: number;
  /** When the report was made, epoch ms, its `timestamp` (default: the current time, as the seed reporter). */
  generatedAt?: number;
  /**
   * 'all' (default) lists every critical failure in the report object, reading back those that
   * went to the temporary file; 'first' lists only those kept in memory, for a writer that streams
   * the rest from `criticalFailures` (writeReportFiles does).
   */
  criticalFailures?: 'all' | 'first';
}

const WARNING_PREFIX = 'new RunAnalyzer(): ';
const OPTION_NAMES: ReadonlyArray<keyof RunAnalyzerOptions> = ['locale', 'rules', 'eventCounts', 'criticalFailuresInMemory', 'criticalFailuresDir'];

/**
 * The options that can be honoured, from plain JavaScript too. Whatever is not an options object,
 * a misspelled or unknown name, a value of the wrong kind (a `locale` that is no string or no known
 * locale, an `eventCounts` that is not true or false, a `criticalFailuresInMemory` that is no whole
 * number from 0 up, a `criticalFailuresDir` that is no non-empty string) or a property whose read
 * throws is named on stderr in one line and left out, so its default applies, as init() and
 * new HtmlEventCollector() treat theirs. `rules` are checked by validateRules (which throws: see
 * the README's Custom rules).
 */
function readOptions(options: unknown): RunAnalyzerOptions {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    warnAboutSetting(`${WARNING_PREFIX}the options should be an object (such as { locale: 'zh-CN' }), got ${describeValue(options)}; the defaults are used`);
    return {};
  }
  if (!checkOptionNames(options, OPTION_NAMES, WARNING_PREFIX)) return {};
  const read = (name: keyof RunAnalyzerOptions): unknown => {
    try {
      return (options as Record<string, unknown>)[name];
    } catch (error) {
      warnAboutSetting(`${WARNING_PREFIX}option ${name} could not be read (${errorMessage(error, WARNING_QUOTE_LENGTH)}); the default is used`);
      return undefined;
    }
  };
  const refuse = (name: keyof RunAnalyzerOptions, expected: string, value: unknown, fallback: string) =>
    warnAboutSetting(`${WARNING_PREFIX}option ${name} should be ${expected}, got ${describeValue(value)}; the default (${fallback}) is used`);
  const given: RunAnalyzerOptions = {};
  const locale = read('locale');
  if (typeof locale === 'string' && locale !== '' && !isKnownLocale(locale)) {
    warnAboutSetting(`${WARNING_PREFIX}unknown locale ${JSON.stringify(locale).slice(0, 80)}; the report is written in English (supported: en, zh-CN)`);
  } else if (typeof locale === 'string') given.locale = locale;
  else if (locale !== undefined) refuse('locale', "a string ('en' or 'zh-CN')", locale, "'en'");
  const rules = read('rules');
  if (rules !== undefined) given.rules = rules as RunAnalyzerOptions['rules'];
  const eventCounts = read('eventCounts');
  if (typeof eventCounts === 'boolean') given.eventCounts = eventCounts;
  else if (eventCounts !== undefined) refuse('eventCounts', 'true or false', eventCounts, 'true');
  const inMemory = read('criticalFailuresInMemory');
  if (typeof inMemory === 'number' && Number.isSafeInteger(inMemory) && inMemory >= 0) given.criticalFailuresInMemory = inMemory;
  else if (inMemory !== undefined) refuse('criticalFailuresInMemory', 'a whole number from 0 up', inMemory, String(CRITICAL_FAILURES_IN_MEMORY));
  const dir = read('criticalFailuresDir');
  if (typeof dir === 'string' && dir.trim() !== '') given.criticalFailuresDir = dir;
  else if (dir !== undefined) refuse('criticalFailuresDir', 'a directory path (a non-empty string)', dir, 'the OS temp directory');
  return given;
}

/**
 * Everything the autopsy concludes, computed as events stream past: memory grows with distinct
 * types, stages and models, never with the number of events. The same analyzer serves the live
 * process (fed by the span processor) and offline reads of a log (fed by a reader).
 */
export class RunAnalyzer {
  readonly locale: Locale;
  private readonly failures: FailureAggregate;
  private readonly llm = new LlmUsageAggregate();
  private readonly stages = new StageTimeline();
  private readonly engines: DiagnosisEngine[];
  private events = 0;
  // One lookup per event and map: the count is a field of the entry, not a value set back.
  private readonly byType = new Map<string, { count: number }>();
  private readonly byLevel = new Map<string, { count: number }>();
  private firstTimestamp: string | null = null;
  private lastTimestamp: string | null = null;
  private lastElapsed = 0;
  private readonly counting: boolean;

  constructor(given: RunAnalyzerOptions = {}) {
    const options = readOptions(given);
    this.counting = options.eventCounts !== false;
    this.locale = normalizeLocale(options.locale);
    this.failures = new FailureAggregate(options.criticalFailuresInMemory, options.criticalFailuresDir);
    this.engines = [builtInDiagnosisEngine()];
    // Validated even when empty or not a list: a single rule passed without [ ] must not be ignored.
    if (options.rules != null) validateRules(options.rules);
    if (options.rules != null && options.rules.length > 0) this.engines.push(new CustomRuleEngine(options.rules));
  }

  /** `kind`: eventKind(event.type), when the caller has it already. */
  observe(event: TruthEvent, kind: EventKind = eventKind(event.type)): void {
    this.events++;
    if (this.counting) {
      countIn(this.byType, event.type);
      countIn(this.byLevel, event.level);
    }
    if (this.firstTimestamp === null) this.firstTimestamp = event.timestamp;
    this.lastTimestamp = event.timestamp;
    if (typeof event.elapsed_seconds === 'number') this.lastElapsed = event.elapsed_seconds;
    this.failures.observe(event, kind);
    this.llm.observe(event, kind);
    this.stages.observe(event, kind);
    for (const engine of this.engines) engine.observe(event, kind);
  }

  /** Every critical failure so far, in bounded memory (the JSON report streams it). */
  get criticalFailures(): CriticalFailureList {
    return this.failures.critical;
  }

  /**
   * buildReport by a reader that is done with this analyzer. With `criticalFailures: 'first'` the
   * list stays open for a writer that streams it (the caller disposes of it); otherwise the report
   * lists every entry and the temporary file is released.
   */
  finishReport(context: ReportContext): { report: AutopsyReport; criticalFailures?: CriticalFailureList } {
    const report = this.buildReport(context);
    if (context.criticalFailures === 'first') return { report, criticalFailures: this.failures.critical };
    this.dispose();
    return { report };
  }

  /** Releases the temporary file behind the critical failures; reports built later list only the first ones. */
  dispose(): void {
    this.failures.critical.dispose();
  }

  get totalEvents(): number {
    return this.events;
  }

  get lastEventTimestamp(): string | null {
    return this.lastTimestamp;
  }

  get lastElapsedSeconds(): number {
    return this.lastElapsed;
  }

  /** Counts as the seed tracker's get_summary() returns them. */
  eventCounts(): { total_events: number; events_by_type: Record<string, number>; events_by_level: Record<string, number> } {
    return {
      total_events: this.events,
      events_by_type: countsOf(this.byType),
      events_by_level: countsOf(this.byLevel),
    };
  }

  buildReport(context: ReportContext = {}): AutopsyReport {
    const messages = messagesFor(this.locale);
    const now = context.now ?? Date.now();
    const autofix = context.autofix ?? emptyAutofixStats();
    const failureAnalysis = buildFailureAnalysis(this.failures, messages, context.criticalFailures);
    const exit: ExitInfo = context.exit ?? { reason: 'unknown', exit_code: null, signal: null, at: null };
    const unfinished = context.unfinished ?? [];
    const stages = this.stages.result();
    let diagnoses: Diagnosis[] = [];
    const diagnosisContext = { exit, unfinished, stages, autofix, messages, locale: this.locale, now };
    for (const engine of this.engines) {
      try {
        diagnoses = diagnoses.concat(engine.diagnose(diagnosisContext));
      } catch {
        /* one faulty engine (a user's rule) must not cost the whole report */
      }
    }
    const startTime = context.startTime ?? this.firstTimestamp;
    const startMs = startTime ? Date.parse(startTime) : NaN;
    return {
      timestamp: new Date(context.generatedAt ?? Date.now()).toISOString(),
      failure_analysis: failureAnalysis,
      autofix_statistics: autofix,
      fix_suggestions: buildFixSuggestions(failureAnalysis.failure_patterns, autofix, messages, this.llm.failedCallRetries.mostlyRetried, this.llm.mostlyNonRetryable),
      summary: buildSummary(this.failures, autofix),
      diagnoses: rankDiagnoses(diagnoses),
      llm_usage: this.llm.result(),
      stages,
      unfinished,
      exit: { ...exit, description: exit.description ?? messages.exitReasons[exit.reason] },
      run: {
        output_dir: context.outputDir ?? '',
        start_time: startTime ?? null,
        total_events: this.events,
        // Rounded to the microsecond, as every other duration in the report (no 0.962462646484375).
        duration_seconds: Number.isFinite(startMs) ? Math.max(0, secondsBetween(startMs, now)) : null,
        locale: this.locale,
        ...(context.serviceName ? { service_name: context.serviceName } : {}),
        ...(context.source ? { source: context.source } : {}),
      },
    };
  }
}

function countIn(counts: Map<string, { count: number }>, key: string): void {
  const entry = counts.get(key);
  if (entry) entry.count++;
  else counts.set(key, { count: 1 });
}

function countsOf(counts: Map<string, { count: number }>): Record<string, number> {
  return Object.fromEntries(Array.from(counts, ([key, entry]) => [key, entry.count]));
}
