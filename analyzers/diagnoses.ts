import { parseEventType } from '../src/eventTypes';
import { redactString } from '../src/redact';
import type { TruthEvent } from '../src/types';
import { layerKey } from './autofixStats';
import { CodeRepairs } from './CodeRepairs';
import { rankDiagnoses, setCauses, severityRank } from './causalRanking';
import type { BuiltInDiagnosisId, DiagnosisContext, DiagnosisEngine, ErrorClassId } from './diagnosisTypes';
import { classifyError, connectionTarget, NOT_FROM_LLM, contextLimits, isJsonParseError, retryAfterSeconds, type ErrorClassification } from './errorClassifier';
import { errorFactsOf, eventErrorText, errorSearchText, errorSummary, eventExample, isErrorEvent, type ErrorFacts } from './eventErrors';
import { eventKind, type EventKind } from './eventKind';
import { Evidence } from './Evidence';
import { stageKey, UNKNOWN_STAGE } from './FailureAggregate';
import type { DiagnosisTexts } from './messages';
import { addEventIds, addFailure, addStreamFacts, spanName } from './OpenSpanTracker';
import type { Diagnosis, DiagnosisEvidence, ExitInfo, UnfinishedSpan } from './reportTypes';
import { RetryStormDetector } from './RetryStormDetector';
import { failedAttemptsOf, RetryTally } from './RetryTally';
import { messageKey, NO_ORIGINS, PropagationTracker, type ErrorOrigin } from './rootCause';
import { endedFromOutside, failedEnding } from './runEnding';
import type { SpanEvent } from './SpanPairing';
import { StageWork, type WorkOfStage } from './StageWork';
import { ToolErrors } from './ToolErrors';
import { TOOL_LOOP_MIN_CALLS, ToolLoopDetector } from './ToolLoopDetector';

export { rankDiagnoses } from './causalRanking';

/**
 * The built-in root-cause rules. Each error event is classified once, at its origin (see
 * rootCause.ts); the rest is judged when the report is built, from what the stream left behind
 * and from how the process ended. Memory grows with distinct stages, models and open spans, never
 * with the number of events.
 *
 * Thresholds:
 * - stage_hang: a stage still open when the process ended. Confident (0.9) when its last event was
 *   HANG_IDLE_SECONDS or more before the end; after a crash, process.exit() or shutdown() only
 *   such a long-idle stage counts (ending the process interrupts stages that were busy, it does
 *   not hang them).
 * - slow_stage: a finished stage that took at least SLOW_STAGE_RATIO times the median duration of
 *   the other stages and at least SLOW_STAGE_MIN_SECONDS more than it (at least two stages). When
 *   that median is under SLOW_STAGE_NEGLIGIBLE_SECONDS (bookkeeping stages), no ratio is quoted and
 *   confidence is low; medium only from 20× when the stage also had failures or retried calls.
 * - autofix_ineffective: at least AUTOFIX_MIN_FAILURES failed repair attempts, and more failures
 *   than successes (the seed's P2 condition).
 * - retry_storm: see RetryStormDetector (4 failures in a row of one stage and model).
 * - tool_loop: see ToolLoopDetector (3 calls in a row of one tool with the same arguments in one
 *   stage); high from TOOL_LOOP_HIGH_CALLS.
 * - tool_errors: see ToolErrors (failed tool calls no other rule explains); high from
 *   TOOL_ERRORS_HIGH_FAILURES.
 */
export const HANG_IDLE_SECONDS = 30;
export const SLOW_STAGE_RATIO = 5;
export const SLOW_STAGE_MIN_SECONDS = 2;
export const AUTOFIX_MIN_FAILURES = 2;
/** Other stages whose median took less than this did next to nothing: a ratio to it means nothing. */
export const SLOW_STAGE_NEGLIGIBLE_SECONDS = 0.02;
export const TOOL_LOOP_HIGH_CALLS = 5;
export const TOOL_ERRORS_HIGH_FAILURES = 3;
/**
 * stage_hang of work stopped from outside within BUSY_IDLE_SECONDS of its latest LLM call's end,
 * after at least BUSY_MIN_LLM_CALLS LLM calls ended in it: busy until the end (a runaway loop, a
 * timeout shorter than the work), not stuck.
 */
export const BUSY_IDLE_SECONDS = 1;
/** Confidence of a diagnosis whose every error came while the app shut down after a signal it handled, relative to the same errors before. */
export const SHUTDOWN_CONFIDENCE_FACTOR = 0.7;
export const BUSY_MIN_LLM_CALLS = 10;

type Severity = Diagnosis['severity'];

interface ClassState {
  evidence: Evidence;
  strength: number;
  /** code_syntax_errors: a failure reported both as code_exec_error and as the seed's syntax_error counts once. */
  fromSyntaxEvents: number;
  retryAfter?: number;
  quota: boolean;
  /** Some of its errors came before the app's handler took a signal (not all of them while it shut down). */
  beforeShutdown: boolean;
  contextLimit?: number;
  contextRequested?: number;
  /**
   * dependency_unreachable: what the first error says could not be reached (its host:port, the
   * task or tool it came from), and whether later errors named another one.
   */
  unreachable?: { key: string; what: string; others: boolean };
  /** Its llm_call_error events and the attempts their client made before each (made at the first one). */
  retries?: RetryTally;
  /**
   * What the last example was made from (eventExample reads nothing else): an error repeated in a
   * loop would make the same text again, which the evidence has already considered.
   */
  exampleType?: string;
  exampleStage?: string;
  exampleMessage?: string;
  exampleDetail?: string;
  exampleErrorType?: string;
}

interface CrashSeen {
  type: 'uncaught_exception' | 'unhandled_rejection';
  timestamp: string;
  message: string;
  errorType?: string;
  /** The diagnosis of the error that crashed the process (where it started, or the crash's own). */
  cause?: ErrorClassId;
  spanId?: string;
  /** The stage it came from ('unknown' outside every stage) and its stack, when the event has one. */
  stage: string;
  stack?: string;
  /** The app's own uncaughtException listener took it (handled_by_app): the process went on. */
  handled: boolean;
}

interface Found {
  diagnosis: Diagnosis;
  causes: Set<string>;
}

const LLM_CAUSES_OF_SLOWNESS: readonly ErrorClassId[] = ['rate_limited', 'llm_timeout', 'llm_server_error', 'context_length_exceeded'];
/** The failures an SDK retries by itself: once it has, their suggestion is not "retry with backoff". */
type RetriedClassId = Extract<ErrorClassId, 'rate_limited' | 'llm_timeout' | 'llm_server_error'>;
const RETRIED_BY_CLIENTS: ReadonlySet<ErrorClassId> = new Set<RetriedClassId>(['rate_limited', 'llm_timeout', 'llm_server_error']);

function classSeverity(id: ErrorClassId, count: number): Severity {
  switch (id) {
    case 'auth_failure':
      return 'critical';
    case 'rate_limited':
    case 'llm_timeout':
    case 'context_length_exceeded':
      return 'high';
    case 'code_syntax_errors':
      return count > 2 ? 'high' : 'medium';
    default:
      return count >= 3 ? 'high' : 'medium';
  }
}

function lessSevere(severity: Severity): Severity {
  return severity === 'critical' ? 'high' : severity === 'high' ? 'medium' : 'low';
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** A round of tool calls as the titles name it: `search_docs → read_page`. */
function roundNames(round: ReadonlyArray<{ tool: string }>): string {
  return round.map(({ tool }) => tool).join(' → ');
}

/** 2.5 → "2.5", 20 → "20", 0.0042 → "0" (two decimals at most). */
function seconds(value: number): string {
  return String(Math.round(value * 100) / 100);
}

class BuiltInDiagnoses implements DiagnosisEngine {
  private readonly tracker = new PropagationTracker();
  private readonly storms = new RetryStormDetector();
  private readonly tools = new ToolLoopDetector();
  private readonly toolErrors = new ToolErrors();
  private readonly work = new StageWork();
  private readonly repairs = new CodeRepairs();
  private readonly classes = new Map<ErrorClassId, ClassState>();
  /** Stage → the diagnoses whose origin errors happened in it. */
  private readonly stageClasses = new Map<string, Set<ErrorClassId>>();
  /** Stage → timestamp of its last event (ends written at exit for open spans excluded); parsed when needed. */
  private readonly stageActivity = new Map<string, string>();
  /** The stage of the latest events and the time of its last one, not yet in stageActivity (one map write per run of events, not per event). */
  private activeStage: string | undefined;
  private activeStageAt = '';
  private readonly stageSpans = new Map<string, string>();
  private readonly stageStarts = new Map<string, string>();
  /** Spans the run recorded as still open at its end (`*_unfinished` events), for logs read back from disk. */
  private readonly closedUnfinished: UnfinishedSpan[] = [];
  private readonly autofix = {
    failed: 0,
    succeeded: 0,
    evidence: new Evidence(),
    failedLayers: new Map<string, number>(),
    causes: new Set<ErrorClassId>(),
    stages: new Set<string>(),
    /** Failed repairs whose error was an LLM reply that is not valid JSON. */
    invalidJson: 0,
  };
  /** Calls that got through only after their client retried them (`failed_attempts` on their llm_call_end). */
  private readonly recovered = new RetryTally();
  private crash: CrashSeen | undefined;
  private signal: { signal: string; timestamp: string } | undefined;
  /** The first SIGTERM or SIGINT the app's own handler took: what failed after it failed while the app shut down. */
  private handledSignal: string | undefined;
  private lastOrigin: ErrorOrigin | undefined;
  /** The facts of lastOrigin's event, kept (not made into text) until a crash quotes them. */
  private lastOriginFacts: ErrorFacts | undefined;
  private lastTimestamp: string | null = null;

  observe(event: TruthEvent, kind: EventKind = eventKind(event.type)): void {
    const type = event.type;
    const data = event.data ?? {};
    const stage = stageKey(data);
    const unfinished = kind.unfinished;
    if (!unfinished && event.timestamp) {
      this.lastTimestamp = event.timestamp;
      if (stage !== this.activeStage) {
        this.recordActivity();
        this.activeStage = stage;
      }
      this.activeStageAt = event.timestamp;
    }
    if (type === 'stage_start') {
      this.stageStarts.set(stage, event.timestamp);
      if (event.span_id) this.stageSpans.set(stage, event.span_id);
    }
    if (unfinished) this.closedUnfinished.push(unfinishedFromEvent(event, this.stageStarts));
    else if (kind.span !== undefined) this.observeSpanEvent(event, kind.span, stage);
    // A signal the app's own handler took did not end the process (and is not when it ended).
    if (type === 'signal_received') {
      if (data.handled_by_app !== true) this.signal = { signal: String(data.signal ?? ''), timestamp: event.timestamp };
      // Only the signals that ask for a shutdown: a handled SIGHUP or SIGUSR2 may be a reload or a restart.
      else if (data.signal === 'SIGTERM' || data.signal === 'SIGINT') this.handledSignal ??= data.signal;
    }
    if (type === 'llm_call_end') this.callGotThrough(event);
    if (isErrorEvent(event, kind)) {
      this.observeFailure(event, type, stage);
      return;
    }
    const below = kind.ends ? this.tracker.observeEnd(event) : NO_ORIGINS;
    if (type === 'autofix_end') this.autofixOutcome(event, data.success !== false, below);
  }

  /**
   * An event that reports an error, classified once, at its origin. Kept out of observe(), which
   * every event goes through: small enough there for V8 to inline (bench/README.md, item 19).
   */
  private observeFailure(event: TruthEvent, type: string, stage: string): void {
    const facts = errorFactsOf(event);
    const toolFailure = ToolErrors.isToolFailure(event);
    let classification = classifyError(facts);
    // A tool's timeout or 5xx is only weak evidence of an LLM's (errorClassifier.ts): a failed tool call says more.
    if (toolFailure && classification && classification.strength <= NOT_FROM_LLM && (classification.id === 'llm_timeout' || classification.id === 'llm_server_error')) classification = undefined;
    const origin = this.tracker.observeError(event, facts.message, classification?.id);
    if (type === 'uncaught_exception' || type === 'unhandled_rejection') {
      if (!origin && classification) this.addToClass(classification, event, facts);
      this.crash = {
        type,
        timestamp: event.timestamp,
        message: facts.message,
        errorType: facts.errorType,
        cause: origin ? origin.id : classification?.id,
        spanId: origin?.spanId,
        stage,
        stack: typeof event.data?.stack === 'string' ? event.data.stack : undefined,
        handled: event.data?.handled_by_app === true,
      };
      return;
    }
    if (type === 'autofix_error') this.autofixOutcome(event, false, origin ? [origin] : [], classification);
    if (origin) return; // a symptom: its origin was counted already
    this.lastOrigin = { key: facts.message, message: facts.message, id: classification?.id, spanId: event.span_id, timestamp: event.timestamp, stage, type };
    this.lastOriginFacts = facts;
    if (type === 'llm_call_error') this.storms.failure(event, classification?.id);
    if (classification) this.addToClass(classification, event, facts);
    else if (toolFailure) this.toolErrors.add(event, facts, messageKey(facts.message));
  }

  /** A span's start or end: tool calls (tool_loop), what a stage's time went to (slow_stage), code runs that repaired earlier ones. */
  private observeSpanEvent(event: TruthEvent, span: SpanEvent, stage: string): void {
    if (span.kind === 'task') {
      if (span.phase === 'start') this.tools.taskStart(event);
      return;
    }
    this.work.observe(event, span, stage);
    if (span.kind === 'code_exec' && span.phase === 'end') this.repairs.succeeded(stage);
  }

  /** A call that got through ends its streak, and counts among those retried first when it was. */
  private callGotThrough(event: TruthEvent): void {
    this.storms.success(event);
    const failedAttempts = failedAttemptsOf(event.data);
    if (failedAttempts > 0) this.recovered.add(failedAttempts);
  }

  private recordActivity(): void {
    if (this.activeStage !== undefined) this.stageActivity.set(this.activeStage, this.activeStageAt);
  }

  private addToClass(classification: ErrorClassification, event: TruthEvent, facts: ErrorFacts): void {
    const id = classification.id;
    let state = this.classes.get(id);
    if (!state) {
      state = { evidence: new Evidence(), strength: 0, fromSyntaxEvents: 0, quota: false, beforeShutdown: false };
      this.classes.set(id, state);
    }
    const stage = stageKey(event.data);
    // The example is text built per event: only while the evidence still takes examples, and not
    // again from the same parts (bench/README.md item 24).
    let example: string | undefined;
    if (
      state.evidence.wantsExamples &&
      !(state.exampleMessage === facts.message && state.exampleType === event.type && state.exampleStage === stage && state.exampleDetail === facts.detail && state.exampleErrorType === facts.errorType)
    ) {
      example = eventExample(event, facts);
      state.exampleType = event.type;
      state.exampleStage = stage;
      state.exampleMessage = facts.message;
      state.exampleDetail = facts.detail;
      state.exampleErrorType = facts.errorType;
    }
    state.evidence.add(event, example);
    state.strength = Math.max(state.strength, classification.strength);
    if (this.handledSignal === undefined) state.beforeShutdown = true;
    if (event.type === 'llm_call_error') (state.retries ??= new RetryTally()).add(failedAttemptsOf(event.data));
    if (event.type === 'syntax_error') state.fromSyntaxEvents++;
    if (event.type === 'code_exec_error' && (id === 'code_syntax_errors' || id === 'code_runtime_errors')) this.repairs.failed(stage, id);
    if (id === 'rate_limited') {
      const text = errorSearchText(facts);
      const wait = retryAfterSeconds(text, event.data);
      if (wait !== undefined) state.retryAfter = Math.max(state.retryAfter ?? 0, wait);
      if (/quota/i.test(text)) state.quota = true;
    } else if (id === 'context_length_exceeded') {
      const { limit, requested } = contextLimits(errorSearchText(facts));
      if (limit !== undefined) state.contextLimit = limit;
      if (requested !== undefined) state.contextRequested = Math.max(state.contextRequested ?? 0, requested);
    } else if (id === 'dependency_unreachable' && !state.unreachable?.others) {
      noteUnreachable(state, event, facts);
    }
    let ids = this.stageClasses.get(stage);
    if (!ids) {
      ids = new Set();
      this.stageClasses.set(stage, ids);
    }
    ids.add(id);
  }

  private autofixOutcome(event: TruthEvent, success: boolean, below: readonly ErrorOrigin[], own?: ErrorClassification): void {
    if (success) {
      this.autofix.succeeded++;
      return;
    }
    const data = event.data ?? {};
    this.autofix.failed++;
    this.autofix.stages.add(stageKey(data));
    const layer = layerKey(data.layer);
    if (layer) this.autofix.failedLayers.set(layer, (this.autofix.failedLayers.get(layer) ?? 0) + 1);
    for (const origin of below) if (origin.id) this.autofix.causes.add(origin.id);
    if (own && below.length === 0) this.autofix.causes.add(own.id);
    if (event.type === 'autofix_error' && isJsonParseError(below.length > 0 ? below[0].message : eventErrorText(event))) this.autofix.invalidJson++;
    const what = [data.layer !== undefined ? `layer ${String(data.layer)}` : '', data.type !== undefined ? String(data.type) : ''].filter(Boolean).join(' ');
    const example = event.type === 'autofix_error' ? eventExample(event) : `${event.type} (${stageKey(data)}): ${what ? `${what} ` : ''}success=false`;
    this.autofix.evidence.add(event, example);
  }

  diagnose(context: DiagnosisContext): Diagnosis[] {
    this.recordActivity();
    const texts = context.messages.diagnoses;
    const found = new Map<string, Found>();
    const add: AddFn = (id, severity, confidence, evidence, suggestion, causes = []) => {
      found.set(id, {
        diagnosis: { id, severity, confidence: round2(Math.min(0.99, confidence)), title: texts.titles[id], evidence, suggestion },
        causes: new Set(causes),
      });
    };
    // A storm of this error's calls retried with backoff above the client (a framework's retries) was retried already, as the SDK's are.
    const storms = this.storms.storms;
    const stormBackedOff = !storms.distinct && storms.longest?.backoff !== undefined;
    for (const [id, state] of this.classes) {
      const backedOff = stormBackedOff && (storms.causes.get(id) ?? 0) > 0;
      const evidence = state.evidence.toJSON();
      if (id === 'code_syntax_errors') evidence.count = Math.max(state.fromSyntaxEvents, evidence.count - state.fromSyntaxEvents);
      // Only weak signs (a TimeoutError in a tool call): one step less severe than the real thing.
      let severity = state.strength <= NOT_FROM_LLM ? lessSevere(classSeverity(id, evidence.count)) : classSeverity(id, evidence.count);
      // Failing code runs that a later run in the same stage repaired: said first, and one step less severe when all were.
      const repaired = this.repairs.of(id);
      if (repaired) {
        const runs = Math.min(repaired.runs, evidence.count);
        evidence.examples.unshift(texts.codeRepaired(runs, evidence.count, stageList(repaired.stages)));
        if (runs >= evidence.count) severity = lessSevere(severity);
      }
      // The count stays the failures the agent saw; the requests behind them come first among the examples.
      const retries = state.retries;
      if (retries && retries.attempts > 0) evidence.examples.unshift(texts.retriedCalls(retries.calls, retries.requests, retries.retried, retries.fewest, retries.most));
      // Calls the client got through by retrying met the same trouble first: the failures alone understate it.
      if (this.recovered.retried > 0 && RETRIED_BY_CLIENTS.has(id)) {
        evidence.examples.splice(retries && retries.attempts > 0 ? 1 : 0, 0, texts.recoveredCalls(this.recovered.retried, this.recovered.attempts));
      }
      let confidence = state.strength * (evidence.count >= 2 ? 1 : 0.9);
      // Every one came while the app shut down after a signal (its graceful shutdown's own failure,
      // as an exporter's refused connection): real, but less likely what the run came to grief on.
      if (!state.beforeShutdown && this.handledSignal !== undefined) {
        confidence *= SHUTDOWN_CONFIDENCE_FACTOR;
        evidence.examples.push(texts.duringShutdown(this.handledSignal));
      }
      add(id, severity, confidence, evidence, this.classSuggestion(id, state, texts, backedOff));
      // The title names what could not be reached, when the errors say it: that is what to go and check.
      if (state.unreachable?.what) found.get(id)!.diagnosis.title = texts.dependencyUnreachable(state.unreachable.what, state.unreachable.others);
    }
    this.diagnoseRetryStorm(add, texts, found);
    this.diagnoseToolLoop(found, add, texts);
    this.diagnoseToolErrors(found, add, texts);
    this.diagnoseAutofix(context, add, texts);
    const exit = this.effectiveExit(context.exit);
    this.diagnoseStageHang(context, exit, add, texts, found);
    this.diagnoseSlowStage(context, add, texts);
    this.diagnoseCrash(context, exit, found, add, texts);
    this.linkToolLoopToCrash(context, found);
    return linkCauses(found, texts);
  }

  private classSuggestion(id: ErrorClassId, state: ClassState, texts: DiagnosisTexts, backedOff: boolean): string {
    // The client already retried (and waited as retry-after said): what helps is fewer requests, more time, another provider.
    let suggestion = (state.retries?.mostlyRetried || backedOff) && RETRIED_BY_CLIENTS.has(id) ? texts.suggestionsAfterRetries[id as RetriedClassId] : texts.suggestions[id];
    // "Wait up to 0 s" says nothing (a limit that resets at once): only a real wait is quoted.
    if (state.retryAfter !== undefined && state.retryAfter > 0) suggestion += texts.retryAfter(seconds(state.retryAfter));
    if (state.quota) suggestion += texts.quota;
    if (state.contextLimit !== undefined) suggestion += texts.contextLimit(state.contextLimit, state.contextRequested);
    return suggestion;
  }

  private diagnoseRetryStorm(add: AddFn, texts: DiagnosisTexts, found: Map<string, Found>): void {
    const storms = this.storms.storms;
    if (storms.storms === 0) return;
    const evidence = storms.evidence.toJSON();
    const longest = storms.longest!;
    const inStage = longest.stage === UNKNOWN_STAGE ? undefined : longest.stage;
    evidence.examples.unshift(texts.retryStorm(longest.failures, inStage, longest.model, seconds(longest.seconds)));
    // The count covers every storm; a second storm elsewhere must not hide behind the longest one.
    if (storms.storms > 1) {
      const stages = [...storms.stages].map((stage) => (stage === UNKNOWN_STAGE ? texts.outsideStagesName : stage));
      evidence.examples.splice(1, 0, texts.retryStorms(storms.storms, stageList(stages)));
    }
    // Different calls failing one after another were not retried: the report must not say they were.
    if (storms.distinct) evidence.examples.splice(storms.storms > 1 ? 2 : 1, 0, texts.failureStreak.evidence);
    // Retried with growing waits already (a framework's retries above the SDK): backing off is done.
    const backoff = storms.distinct ? undefined : longest.backoff;
    if (backoff) evidence.examples.splice(storms.storms > 1 ? 2 : 1, 0, texts.backedOff.evidence(seconds(backoff.firstGapSeconds), seconds(backoff.lastGapSeconds)));
    // The storm's errors say what it is a symptom of: the causes behind at least a third of them.
    const total = [...storms.causes.values()].reduce((sum, n) => sum + n, 0);
    const causes = [...storms.causes].filter(([, n]) => n * 3 >= total).map(([id]) => id);
    const suggestion = storms.distinct ? texts.failureStreak.suggestion : backoff ? texts.backedOff.suggestion : texts.suggestions.retry_storm;
    add('retry_storm', 'high', longest.failures >= 6 ? 0.9 : 0.8, evidence, suggestion, causes);
    if (storms.distinct) found.get('retry_storm')!.diagnosis.title = texts.failureStreak.title;
  }

  private diagnoseToolLoop(found: Map<string, Found>, add: AddFn, texts: DiagnosisTexts): void {
    const loops = this.tools.loops;
    if (loops.loops === 0) return;
    const evidence = loops.evidence.toJSON();
    const longest = loops.longest!;
    const inStage = longest.stage === UNKNOWN_STAGE ? undefined : longest.stage;
    // Made here, not by Evidence: the arguments are app data, redacted as every example is.
    const [only] = longest.round;
    const example =
      longest.round.length === 1
        ? texts.toolLoop(longest.calls, only.tool, inStage, only.args, seconds(longest.seconds))
        : texts.toolRound(longest.calls, roundNames(longest.round), inStage, longest.round.map(({ tool, args }) => `${tool} ${args}`), seconds(longest.seconds));
    evidence.examples.unshift(redactString(example));
    if (loops.loops > 1) {
      const stages = [...loops.stages].map((stage) => (stage === UNKNOWN_STAGE ? texts.outsideStagesName : stage));
      evidence.examples.splice(1, 0, texts.toolLoops(loops.loops, stageList(stages)));
    }
    // A round of calls made again counts as one call made again: its rounds are the repetitions.
    const confidence = Math.min(0.9, 0.6 + 0.05 * (longest.rounds - TOOL_LOOP_MIN_CALLS));
    add('tool_loop', longest.rounds >= TOOL_LOOP_HIGH_CALLS ? 'high' : 'medium', confidence, evidence, texts.suggestions.tool_loop);
    found.get('tool_loop')!.diagnosis.title =
      longest.round.length === 1 ? texts.toolLoopTitle(only.tool, inStage, longest.calls) : texts.toolRoundTitle(roundNames(longest.round), inStage, longest.rounds);
  }

  private diagnoseToolErrors(found: Map<string, Found>, add: AddFn, texts: DiagnosisTexts): void {
    const worst = this.toolErrors.worst;
    if (worst === undefined) return;
    const failures = this.toolErrors.failures;
    const evidence = this.toolErrors.evidence.toJSON();
    add('tool_errors', failures >= TOOL_ERRORS_HIGH_FAILURES ? 'high' : 'medium', failures >= 2 ? 0.85 : 0.8, evidence, texts.suggestions.tool_errors);
    const { tool, others } = worst;
    found.get('tool_errors')!.diagnosis.title = texts.toolErrorsTitle(tool.tool, tool.stage === UNKNOWN_STAGE ? undefined : tool.stage, tool.failures, others);
  }

  /**
   * A run that ended badly with nothing else to blame, after a tool loop in a stage that did not
   * finish well (it failed, as at a step limit, or never ended): the loop is what ended it.
   */
  private linkToolLoopToCrash(context: DiagnosisContext, found: Map<string, Found>): void {
    const crash = found.get('crash');
    if (!crash || crash.causes.size > 0 || !found.has('tool_loop')) return;
    const outcomes = new Map(context.stages.map((stage) => [stage.stage, stage.outcome]));
    for (const stage of this.tools.loops.stages) {
      if (stage === UNKNOWN_STAGE || outcomes.get(stage) !== 'ok') {
        crash.causes.add('tool_loop');
        return;
      }
    }
  }

  private diagnoseAutofix(context: DiagnosisContext, add: AddFn, texts: DiagnosisTexts): void {
    const stats = context.autofix;
    const fromLog = stats.total_attempts > 0;
    const failed = fromLog ? stats.failed_fixes : this.autofix.failed;
    const succeeded = fromLog ? stats.successful_fixes : this.autofix.succeeded;
    if (failed < AUTOFIX_MIN_FAILURES || failed <= succeeded) return;
    const evidence = this.autofix.evidence.toJSON();
    evidence.count = failed;
    const layers = [...this.autofix.failedLayers].map(([layer, n]) => `${layer} ×${n}`).join(', ');
    evidence.examples.unshift(texts.autofixFailed(failed, fromLog ? stats.total_attempts : failed + succeeded, layers));
    evidence.examples.splice(3);
    const causes = new Set<string>(this.autofix.causes);
    // Repairs of generated code that keep failing are a symptom of that code's errors.
    for (const stage of this.autofix.stages) {
      for (const id of this.stageClasses.get(stage) ?? []) if (id === 'code_syntax_errors' || id === 'code_runtime_errors') causes.add(id);
    }
    // A log without autofix events still names what was repaired (fixes_by_type: { syntax: 4 }).
    for (const type of Object.keys(stats.fixes_by_type)) {
      if (/syntax|indent|compile|parse/i.test(type)) causes.add('code_syntax_errors');
      else if (/runtime|exec|import|module|name|type|value|key|index|attribute|zero/i.test(type)) causes.add('code_runtime_errors');
    }
    const severity: Severity = succeeded === 0 && failed >= 3 ? 'high' : 'medium';
    // Repairs that kept failing on invalid JSON (at least half of those seen) need JSON mode, not more repairs.
    const suggestion = this.autofix.invalidJson > 0 && this.autofix.invalidJson * 2 >= this.autofix.failed ? texts.suggestions.autofix_ineffective + texts.autofixInvalidJson : texts.suggestions.autofix_ineffective;
    add('autofix_ineffective', severity, 0.6 + 0.1 * Math.min(3, failed - succeeded), evidence, suggestion, causes);
  }

  /** How the run ended; a log without the exit details still shows a crash or a signal in its events. */
  private effectiveExit(exit: ExitInfo): ExitInfo {
    if (exit.reason !== 'unknown') return exit;
    if (this.crash && !this.crash.handled) {
      const error = { type: this.crash.errorType ?? 'Error', message: this.crash.message };
      return { reason: this.crash.type, exit_code: exit.exit_code, signal: null, error, at: this.crash.timestamp };
    }
    if (this.signal) return { reason: 'signal', exit_code: exit.exit_code, signal: this.signal.signal || null, at: this.signal.timestamp };
    return exit;
  }

  private endMs(exit: ExitInfo): number {
    const crashed = this.crash && !this.crash.handled ? this.crash.timestamp : undefined;
    for (const candidate of [exit.at, this.signal?.timestamp, crashed, this.lastTimestamp]) {
      const ms = candidate ? Date.parse(candidate) : NaN;
      if (Number.isFinite(ms)) return ms;
    }
    return NaN;
  }

  private diagnoseStageHang(context: DiagnosisContext, exit: ExitInfo, add: AddFn, texts: DiagnosisTexts, found: Map<string, Found>): void {
    if (exit.reason === 'running') return; // a report taken mid-run: open stages are simply busy
    const unfinished = mergeUnfinished(context.unfinished, this.closedUnfinished);
    const stages = unfinished.filter((span) => span.kind === 'stage');
    // A signal or a kill ended the process (or the app's handler of a signal did) while work
    // outside every stage was still open (a zero-code run has no stages: its LLM call that never
    // came back is the hang).
    const fromOutside = endedFromOutside(exit);
    const outside = fromOutside ? innermostOutsideStages(unfinished) : undefined;
    if (stages.length === 0 && !outside) return;
    // Ended on purpose or by a crash while stages were busy: those stages were interrupted.
    const interrupted = !fromOutside && (exit.reason === 'uncaught_exception' || exit.reason === 'unhandled_rejection' || exit.reason === 'exit' || exit.reason === 'shutdown');
    const endMs = this.endMs(exit);
    let how = context.messages.exitReasons[exit.reason] ?? exit.reason;
    // The signal the app's handler took before it ended the process.
    if (fromOutside && exit.reason !== 'signal' && exit.signal) how += ` (${exit.signal})`;
    // After a kill (or an ending the log does not show) the end is only the log's last event.
    const atLogEnd = exit.reason === 'killed' || exit.reason === 'unknown';
    const evidence = new Evidence();
    const causes = new Set<string>();
    let confidence = 0;
    const innermost = innermostOpen(unfinished);
    // Work stopped from outside while it was busy (noted, and how much of it was).
    let busy = 0;
    const busyClause = (stage: string): string => {
      const work = this.work.of(stage);
      if (!fromOutside || !work || work.llmCalls < BUSY_MIN_LLM_CALLS) return '';
      const sinceCall = (endMs - Date.parse(work.lastLlmEnd)) / 1000;
      if (!(sinceCall < BUSY_IDLE_SECONDS)) return '';
      busy++;
      return `${texts.clauseSeparator}${texts.busy.clause(work.llmCalls)}`;
    };
    for (const stage of stages) {
      const activity = Date.parse(this.stageActivity.get(stage.stage) ?? '');
      const idle = Number.isFinite(activity) && Number.isFinite(endMs) ? Math.max(0, (endMs - activity) / 1000) : stage.age_seconds;
      if (interrupted && idle < HANG_IDLE_SECONDS) continue;
      let example = (atLogEnd ? texts.stageHangAtLogEnd : texts.stageHang)(stage.stage, how, seconds(idle));
      const waiting = innermost.get(stage.stage);
      if (waiting) example += `${texts.clauseSeparator}${(atLogEnd ? texts.waitingOnAtLogEnd : texts.waitingOn)(waiting.kind, waiting.name, seconds(waiting.age_seconds))}${streamClause(waiting, texts)}`;
      example += busyClause(stage.stage);
      evidence.note(stage.started, example, stage.span_id);
      // The event loop drained with the stage open: it waited on something that could never happen.
      confidence = Math.max(confidence, idle >= HANG_IDLE_SECONDS ? 0.9 : exit.reason === 'normal' ? 0.8 : 0.6);
      if (this.stageClasses.get(stage.stage)?.has('llm_timeout')) causes.add('llm_timeout');
      // A stage stopped while it went round a tool loop (an orchestrator's timeout, a kill) was not
      // stuck: the loop kept it running.
      if (this.tools.loops.stages.has(stage.stage)) causes.add('tool_loop');
    }
    if (outside) {
      // The process's own events (the signal) come after it: the span's age is how long it waited.
      const waiting = (atLogEnd ? texts.waitingOnAtLogEnd : texts.waitingOn)(outside.kind, outside.name, seconds(outside.age_seconds));
      evidence.note(outside.started, `${texts.outsideStages(how)}${texts.clauseSeparator}${waiting}${streamClause(outside, texts)}${busyClause(UNKNOWN_STAGE)}`, outside.span_id);
      confidence = Math.max(confidence, outside.age_seconds >= HANG_IDLE_SECONDS ? 0.9 : 0.6);
      if (this.stageClasses.get(UNKNOWN_STAGE)?.has('llm_timeout')) causes.add('llm_timeout');
    }
    if (evidence.count === 0) return;
    const severity: Severity = fromOutside ? 'critical' : 'high';
    const stagesNoted = evidence.count - (outside ? 1 : 0);
    // All of it was busy until it was stopped: no hang, and the advice is about why it did not finish.
    const allBusy = busy === evidence.count;
    add('stage_hang', severity, confidence, evidence.toJSON(), allBusy ? texts.busy.suggestion : texts.suggestions.stage_hang, causes);
    if (allBusy) found.get('stage_hang')!.diagnosis.title = texts.busy.title;
    // No stage was open (a zero-code run has none): the title does not speak of one.
    else if (stagesNoted === 0) found.get('stage_hang')!.diagnosis.title = texts.hangOutsideStagesTitle;
  }

  private diagnoseSlowStage(context: DiagnosisContext, add: AddFn, texts: DiagnosisTexts): void {
    const finished = context.stages.filter((stage) => stage.outcome !== 'unfinished' && Number.isFinite(stage.duration_seconds));
    if (finished.length < 2) return;
    const evidence = new Evidence();
    const causes = new Set<string>();
    let worst = 0;
    let troubled = false;
    // Sorted once: a run with thousands of distinct stages must not sort them once per stage.
    const durations = finished.map((stage) => stage.duration_seconds!).sort((a, b) => a - b);
    for (const stage of finished) {
      const duration = stage.duration_seconds!;
      const median = medianWithout(durations, duration);
      const ratio = duration / Math.max(median, 0.001);
      if (ratio < SLOW_STAGE_RATIO || duration - median < SLOW_STAGE_MIN_SECONDS) continue;
      const work = this.work.of(stage.stage);
      // Beside stages that did next to nothing (bookkeeping), any stage that waits on anything is ">100×": no ratio then.
      const negligible = median < SLOW_STAGE_NEGLIGIBLE_SECONDS;
      if (!negligible) {
        worst = Math.max(worst, ratio);
        // A stage that only took long is worth a look; one that also failed or was retried is worth more.
        if (ratio >= 20 && (stage.failures > 0 || (work?.retried ?? 0) > 0)) troubled = true;
      }
      const example = negligible ? texts.slowStageBesideNegligible(stage.stage, seconds(duration), seconds(median)) : texts.slowStage(stage.stage, seconds(duration), ratio >= 100 ? '>100' : ratio.toFixed(1), seconds(median));
      evidence.note(stage.started, example + whatTheStageWaitedOn(work, texts), this.stageSpans.get(stage.stage));
      for (const id of this.stageClasses.get(stage.stage) ?? []) if (LLM_CAUSES_OF_SLOWNESS.includes(id)) causes.add(id);
      if (this.storms.storms.stages.has(stage.stage)) causes.add('retry_storm');
      if (this.tools.loops.stages.has(stage.stage)) causes.add('tool_loop');
    }
    if (evidence.count === 0) return;
    const confidence = worst >= 20 ? 0.85 : worst >= 10 ? 0.75 : worst > 0 ? 0.65 : 0.6;
    add('slow_stage', troubled ? 'medium' : 'low', confidence, evidence.toJSON(), texts.suggestions.slow_stage, causes);
  }

  private diagnoseCrash(context: DiagnosisContext, exit: ExitInfo, found: Map<string, Found>, add: AddFn, texts: DiagnosisTexts): void {
    const ending = failedEnding(exit);
    if (ending === undefined) return;
    const failedExit = ending === 'exit_code';
    const evidence = new Evidence();
    let how = context.messages.exitReasons[exit.reason] ?? exit.reason;
    if (exit.signal) how += ` (${exit.signal})`;
    if (typeof exit.exit_code === 'number') how += `, ${texts.exitCode(exit.exit_code)}`;
    const at = this.crash?.timestamp ?? exit.at ?? this.lastTimestamp;
    evidence.note(at, texts.processEnded(how), this.crash?.spanId);
    const error = exit.error ?? (this.crash ? { type: this.crash.errorType ?? 'Error', message: this.crash.message } : undefined);
    if (error) evidence.addExample(`${error.type}: ${errorSummary({ message: error.message })}`);
    // Where it was thrown: the first frame of the agent's own code, in the stage it came from.
    const frame = ownFrame(exit.error?.stack ?? this.crash?.stack);
    if (frame) evidence.addExample(texts.thrownAt(this.crash && this.crash.stage !== UNKNOWN_STAGE ? this.crash.stage : undefined, frame, /[\\/]node_modules[\\/]/.test(frame)));
    const causes = new Set<string>();
    if (this.crash?.cause) causes.add(this.crash.cause);
    else if (error) {
      const origin = this.tracker.findOrigin(error.message);
      if (origin?.id) causes.add(origin.id);
      // A tool's error that no rule classifies, thrown on up to the process.
      else if (origin && this.toolErrors.failedWith(origin.key)) causes.add('tool_errors');
      if (origin?.spanId) evidence.addSpanId(origin.spanId);
    }
    const fromOutside = endedFromOutside(exit);
    if (fromOutside && found.has('stage_hang')) causes.add('stage_hang');
    const last = failedExit && !error ? this.lastOrigin : undefined;
    if (last?.id && found.has(last.id)) causes.add(last.id);
    else if (last && !last.id && found.has('tool_errors') && this.toolErrors.failedWith(messageKey(last.message))) causes.add('tool_errors');
    else if (last) {
      // No rule took the last failure: the reader still needs to see what it was (a log line the
      // report would otherwise only count), and where.
      evidence.addExample(texts.lastFailure(lastFailureText(last, this.lastOriginFacts)));
      if (last.spanId) evidence.addSpanId(last.spanId);
    }
    if (exit.reason === 'exit') this.exitCallSite(context, exit, evidence, texts);
    // Node ends a drained loop with 13 when the entry module's top-level await never settled: the hang did it.
    if (exit.reason === 'normal' && exit.exit_code === 13) {
      evidence.addExample(texts.unsettledAwait);
      if (found.has('stage_hang')) causes.add('stage_hang');
    }
    const confidence = exit.reason === 'killed' ? 0.6 : failedExit ? 0.8 : exit.reason === 'signal' ? 0.9 : 0.95;
    // The suggestion fits the ending: a signal or a kill came from outside, an exception from the
    // code. Advice on the model's output only when nothing better explains the crash: a crash
    // another diagnosis caused gets that one's advice, and an LLM call's failure is not bad output.
    let caused = false;
    for (const cause of causes) if (found.has(cause)) caused = true;
    const fromLlm = caused || (last !== undefined && (last.type === 'llm_call_error' || last.type === 'llm_call_unfinished'));
    const suggestion =
      fromOutside ? texts.crashSignal : failedExit ? (fromLlm ? texts.crashExitCaused : texts.suggestions.crash) : caused ? texts.crashErrorCaused : texts.crashError;
    add('crash', failedExit ? 'high' : 'critical', confidence, evidence.toJSON(), suggestion, causes);
    // "Ended abnormally" is for exceptions, signals and kills; an exit code is what the process chose.
    if (failedExit) found.get('crash')!.diagnosis.title = texts.crashExitTitle(exit.exit_code as number);
  }

  /** process.exit(): where it was called, and the innermost span it left open (as stage_hang names them). */
  private exitCallSite(context: DiagnosisContext, exit: ExitInfo, evidence: Evidence, texts: DiagnosisTexts): void {
    const clauses: string[] = [];
    if (typeof exit.called_at === 'string' && exit.called_at) clauses.push(texts.exitCalledAt(exit.called_at));
    let open: UnfinishedSpan | undefined;
    for (const span of mergeUnfinished(context.unfinished, this.closedUnfinished)) if (!open || span.started >= open.started) open = span;
    if (open) clauses.push(texts.runningAtExit(open.kind, open.name, open.kind === 'stage' || open.stage === UNKNOWN_STAGE ? undefined : open.stage));
    if (clauses.length > 0) evidence.addExample(clauses.join(texts.clauseSeparator));
  }

  /** Retained entries (for memory tests): grows with stages, models and open spans only. */
  get retained(): number {
    this.recordActivity();
    return this.tracker.retained + this.storms.retained + this.tools.retained + this.toolErrors.retained + this.work.retained + this.repairs.retained + this.stageClasses.size + this.stageActivity.size + this.stageSpans.size + this.stageStarts.size + this.classes.size;
  }
}

/**
 * What a connection error no LLM span made says could not be reached: "127.0.0.1:6333, task
 * retrieve, tool qdrant_search", "MCP server weather, task get_weather". Errors that name another host (or, without one, come from another
 * task) mark that more than one service failed.
 */
function noteUnreachable(state: ClassState, event: TruthEvent, facts: ErrorFacts): void {
  const data = event.data ?? {};
  const target = connectionTarget(errorSearchText(facts));
  const kind = parseEventType(event.type)?.kind;
  const where: string[] = [];
  // A tool call or connection of an MCP client (the flag's): the server is what could not be reached.
  if (typeof data.mcp_server === 'string' && data.mcp_server !== '') where.push(`MCP server ${data.mcp_server}`);
  if (kind === 'task' && typeof data.task === 'string' && data.task !== '') where.push(`task ${data.task}`);
  else if (kind === 'stage' && typeof data.stage === 'string' && data.stage !== '') where.push(`stage ${data.stage}`);
  if (typeof data.tool === 'string' && data.tool !== '' && data.tool !== data.task) where.push(`tool ${data.tool}`);
  const key = target ?? where.join(', ');
  if (!state.unreachable) state.unreachable = { key, what: [...(target ? [target] : []), ...where].join(', '), others: false };
  else if (key !== state.unreachable.key) state.unreachable.others = true;
}

type AddFn = (id: BuiltInDiagnosisId, severity: Severity, confidence: number, evidence: DiagnosisEvidence, suggestion: string, causes?: Iterable<string>) => void;

/** An `<kind>_unfinished` event (written at exit for a span still open) as an unfinished span. */
function unfinishedFromEvent(event: TruthEvent, stageStarts: Map<string, string>): UnfinishedSpan {
  const data = event.data ?? {};
  const prefix = event.type.slice(0, -'_unfinished'.length);
  const kind = parseEventType(`${prefix}_end`)?.kind ?? prefix;
  const age = typeof data.age_seconds === 'number' ? data.age_seconds : 0;
  const endMs = Date.parse(event.timestamp);
  const startedAt = kind === 'stage' ? stageStarts.get(stageKey(data)) : undefined;
  const started = startedAt ?? (Number.isFinite(endMs) ? new Date(endMs - age * 1000).toISOString() : event.timestamp);
  // Named as the live run and the log's readers name it ("stage s1", "chat gpt-4o"): without span
  // ids (a readable log), the name is what makes it the same span as the one the report lists.
  const span: UnfinishedSpan = { name: spanName(kind, data), kind, stage: stageKey(data), started, age_seconds: age };
  addEventIds(span, event);
  addFailure(span, data);
  return addStreamFacts(span, data);
}

/**
 * What a streamed LLM call still open at the end had received (its `llm_call_unfinished` event's
 * stream facts), as a clause after the one that names it: "did the model never start answering,
 * or did it stall half way?". Empty for any other span, and for a run killed before it could say.
 */
function streamClause(span: UnfinishedSpan, texts: DiagnosisTexts): string {
  if (span.stream !== true) return '';
  const first = span.time_to_first_chunk;
  const quiet = span.seconds_since_last_chunk;
  const clause = first === undefined ? texts.streamNotStarted : quiet === undefined ? texts.streamStarted(seconds(first)) : texts.streamStalled(seconds(first), seconds(quiet));
  return `${texts.clauseSeparator}${clause}`;
}

/** `stage_error (answer): Agent stopped …`, or `task_unfinished (validate): ValidationError: …` (the type when it adds to the message). */
function lastFailureText(origin: ErrorOrigin, facts: ErrorFacts | undefined): string {
  const summary = facts ? errorSummary(facts) : errorSummary({ message: origin.message });
  const type = facts?.errorType;
  const typed = type && type !== 'Error' && !summary.startsWith(type) ? `${type}: ${summary}` : summary;
  return `${origin.type} (${origin.stage})${typed ? `: ${typed}` : ''}`;
}

/** The unfinished spans the report context lists, plus those only the log's `*_unfinished` events name. */
function mergeUnfinished(listed: UnfinishedSpan[], recorded: UnfinishedSpan[]): UnfinishedSpan[] {
  const known = new Set(listed.map((span) => span.span_id ?? `${span.kind}\u0000${span.stage}\u0000${span.name}`));
  return [...listed, ...recorded.filter((span) => !known.has(span.span_id ?? `${span.kind}\u0000${span.stage}\u0000${span.name}`))];
}

/** What a slow stage's time went to, as clauses after its sentence: its LLM calls (and their retries), its code runs, or neither. */
function whatTheStageWaitedOn(work: WorkOfStage | undefined, texts: DiagnosisTexts): string {
  let clauses = '';
  if (work && work.llmCalls > 0) {
    clauses += texts.clauseSeparator + texts.stageLlmCalls(work.llmCalls, seconds(work.llmSeconds), work.model, seconds(work.longestLlmSeconds), work.longestLlmModel);
    if (work.retried > 0) clauses += texts.clauseSeparator + texts.stageRetriedCalls(work.retried, work.llmCalls, work.failedAttempts);
  }
  if (work && work.codeRuns > 0) clauses += texts.clauseSeparator + texts.stageCodeRuns(work.codeRuns, seconds(work.codeSeconds));
  return clauses || texts.clauseSeparator + texts.stageNothingTraced;
}

/** Stage names for a sentence: the first few, then how many more. */
function stageList(stages: Iterable<string>, max = 5): string {
  const names: string[] = [];
  let more = 0;
  for (const stage of stages) {
    if (names.length < max) names.push(stage);
    else more++;
  }
  return more > 0 ? `${names.join(', ')} (+${more})` : names.join(', ');
}

/** The deepest span still open outside every stage (the one started last), if any. */
function innermostOutsideStages(unfinished: UnfinishedSpan[]): UnfinishedSpan | undefined {
  let found: UnfinishedSpan | undefined;
  for (const span of unfinished) {
    if (span.kind === 'stage' || span.stage !== UNKNOWN_STAGE) continue;
    if (!found || span.started >= found.started) found = span;
  }
  return found;
}

/** How many enclosing spans stage_hang follows up from an open span (a cycle of ids cannot loop). */
const MAX_NESTING = 64;

/**
 * Per stage, the deepest span still open inside it (what the stage was waiting on): the one
 * started last, the later in the list on a tie. A span counts for its own stage and, through the
 * open spans' parent ids, for every stage it ran inside: an outer stage waits on what its inner
 * stages wait on. Failing any such span, the inner stage itself (the AI SDK's `invoke_agent`
 * inside the app's stage). One pass for all stages: a pass per hung stage made an exit with
 * thousands of them quadratic (20,000 open stages: 18 s).
 */
function innermostOpen(unfinished: UnfinishedSpan[]): Map<string, UnfinishedSpan> {
  const byId = new Map<string, UnfinishedSpan>();
  for (const span of unfinished) if (span.span_id) byId.set(span.span_id, span);
  const innermost = new Map<string, UnfinishedSpan>();
  const innerStages = new Map<string, UnfinishedSpan>();
  const offer = (found: Map<string, UnfinishedSpan>, stage: string, span: UnfinishedSpan) => {
    const before = found.get(stage);
    if (!before || span.started >= before.started) found.set(stage, span);
  };
  for (const span of unfinished) {
    const found = span.kind === 'stage' ? innerStages : innermost;
    if (span.kind !== 'stage') offer(found, span.stage, span);
    let parent = span.parent_span_id ? byId.get(span.parent_span_id) : undefined;
    for (let depth = 0; parent && depth < MAX_NESTING; depth++) {
      if (parent.kind === 'stage' && parent.stage !== span.stage) offer(found, parent.stage, span);
      parent = parent.parent_span_id ? byId.get(parent.parent_span_id) : undefined;
    }
  }
  for (const [stage, span] of innerStages) if (!innermost.has(stage)) innermost.set(stage, span);
  return innermost;
}

/**
 * `at fn (file:///app/agent.mjs:42:17)`: the first stack frame outside Node's internals and
 * node_modules (the first frame of any file when there is none), or undefined. A frame without a
 * file and line (`new Promise (<anonymous>)`, `Array.map (<anonymous>)`, `async Promise.all (index 0)`,
 * eval'd code) is skipped; a function that is itself named `<anonymous>` is the app's own code
 * (`Object.<anonymous> (/app/agent.cjs:4:28)`, a CommonJS module's top level). Node's module loader
 * hooks (`node:internal/modules/esm/hooks`) in the stack make it an import that failed: the
 * node_modules frames there are a loader hook passing the error on (import-in-the-middle's
 * `resolve`, tsx's), not where it came from, so there is no frame to name.
 */
export function ownFrame(stack: string | undefined): string | undefined {
  if (!stack) return undefined;
  let fallback: string | undefined;
  let loaderHooks = false;
  for (const raw of stack.split('\n')) {
    const line = raw.trim();
    if (!line.startsWith('at ')) continue;
    if (line.includes('(node:internal/modules/esm/hooks:')) loaderHooks = true;
    if (/\(?node:|\(native\)|<anonymous>:\d+:\d+\)?$/.test(line) || !/:\d+:\d+\)?$/.test(line)) continue;
    // Past Node's hook runner, a frame is a loader hook that called nextResolve()/nextLoad() and
    // passed the error on (the zero-code flag's own hook among them), wherever its file is.
    if (loaderHooks) continue;
    if (!/[\\/]node_modules[\\/]/.test(line)) return line;
    fallback ??= line;
  }
  return loaderHooks ? undefined : fallback;
}

/** The median of the other values: `sorted` (ascending, finite, at least two) with one `value` left out. */
export function medianWithout(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle] < value) low = middle + 1;
    else high = middle;
  }
  const at = (index: number) => sorted[index < low ? index : index + 1];
  const count = sorted.length - 1;
  return count % 2 ? at((count - 1) / 2) : (at(count / 2 - 1) + at(count / 2)) / 2;
}

/**
 * Keeps the causes that are present, lifts a cause's severity to that of the worst consequence
 * it led to (a rate limit that crashed the run is critical), tells the reader in the suggestion,
 * and records the links for rankDiagnoses.
 */
function linkCauses(found: Map<string, Found>, texts: DiagnosisTexts): Diagnosis[] {
  for (const entry of found.values()) {
    for (const cause of [...entry.causes]) if (!found.has(cause) || cause === entry.diagnosis.id) entry.causes.delete(cause);
  }
  for (let changed = true, rounds = 0; changed && rounds < found.size; rounds++) {
    changed = false;
    for (const entry of found.values()) {
      for (const cause of entry.causes) {
        const causeDiagnosis = found.get(cause)!.diagnosis;
        if (severityRank(entry.diagnosis.severity) < severityRank(causeDiagnosis.severity)) {
          causeDiagnosis.severity = entry.diagnosis.severity;
          changed = true;
        }
      }
    }
  }
  const diagnoses: Diagnosis[] = [];
  for (const entry of found.values()) {
    if (entry.causes.size > 0) {
      setCauses(entry.diagnosis, entry.causes, texts.consequenceOf);
    }
    diagnoses.push(entry.diagnosis);
  }
  return diagnoses;
}

export function builtInDiagnosisEngine(): DiagnosisEngine & { readonly retained: number } {
  return new BuiltInDiagnoses();
}

/** Built-in diagnoses of an event list (for tests and one-off use): observe all, then diagnose and rank. */
export function diagnoseEvents(events: Iterable<TruthEvent>, context: DiagnosisContext): Diagnosis[] {
  const engine = builtInDiagnosisEngine();
  for (const event of events) engine.observe(event);
  return rankDiagnoses(engine.diagnose(context));
}
