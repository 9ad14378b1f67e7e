import type { Locale } from '../src/types';
import type { BuiltInDiagnosisId } from './diagnosisTypes';

/** Titles, suggestions and evidence sentences of the built-in diagnoses. */
export interface DiagnosisTexts {
  titles: Record<BuiltInDiagnosisId, string>;
  suggestions: Record<BuiltInDiagnosisId, string>;
  /** In place of `suggestions` when most of the failed calls had been retried by their client already. */
  suggestionsAfterRetries: Record<Extract<BuiltInDiagnosisId, 'rate_limited' | 'llm_timeout' | 'llm_server_error'>, string>;
  /**
   * The requests behind a diagnosis's failed LLM calls: `calls` failed, `requests` sent, `retried`
   * of the calls retried `fewest` to `most` times each before the agent saw the error.
   */
  retriedCalls: (calls: number, requests: number, retried: number, fewest: number, most: number) => string;
  /**
   * Next to a diagnosis the SDKs retry (429, timeouts, 5xx): `calls` other calls got through only
   * after `attempts` failed attempts in all (what those attempts failed with is not recorded).
   */
  recoveredCalls: (calls: number, attempts: number) => string;
  /** Put before the suggestion of a diagnosis that other diagnoses caused. */
  consequenceOf: (causes: string[]) => string;
  retryAfter: (seconds: string) => string;
  /** dependency_unreachable's title when the errors say what could not be reached: `what` is "127.0.0.1:6333, task retrieve"; `others`: other services failed too. */
  dependencyUnreachable: (what: string, others: boolean) => string;
  quota: string;
  contextLimit: (limit: number, requested: number | undefined) => string;
  /** `stage` is undefined for calls outside every stage (a zero-code run). */
  retryStorm: (failures: number, stage: string | undefined, model: string, seconds: string) => string;
  /** After the longest storm's sentence when there were more: how many, and in which stages. */
  retryStorms: (storms: number, stages: string) => string;
  /** Stands for the calls outside every stage in the list of retryStorms. */
  outsideStagesName: string;
  /**
   * retry_storm's title, suggestion and an evidence line when its failures were different calls
   * (one per parent span, none retried by its client): they failed in a row, nothing was retried.
   */
  failureStreak: { title: string; suggestion: string; evidence: string };
  /**
   * retry_storm's evidence line and suggestion when the waits between its failures grew as a
   * backoff's do (from `first` to `last` seconds): the call was retried with backoff already.
   */
  backedOff: { evidence: (first: string, last: string) => string; suggestion: string };
  autofixFailed: (failed: number, total: number, detail: string) => string;
  stageHang: (stage: string, how: string, idleSeconds: string) => string;
  waitingOn: (kind: string, name: string, seconds: string) => string;
  /** stage_hang of work outside every stage (a zero-code run): followed by waitingOn. */
  outsideStages: (how: string) => string;
  /** stage_hang's title when no stage was open, only work outside every stage. */
  hangOutsideStagesTitle: string;
  /**
   * stage_hang of work that was busy until the end, not stuck (stopped from outside moments after
   * its last event, with `calls` LLM calls ended in it): the clause after its sentence, and the
   * title and suggestion when all of the open work was.
   */
  busy: { clause: (calls: number) => string; title: string; suggestion: string };
  /** After the examples of a diagnosis whose every error came after a signal the app's handler took, while it shut down. */
  duringShutdown: (signal: string) => string;
  /**
   * The same for a run whose end is not in the log (killed, or an unknown ending): the time of the
   * end is unknown, so idle times and ages count only to the log's last event. A time of '0' means
   * the stage's last event, or the span's start, is the log's last event, and is said so.
   */
  stageHangAtLogEnd: (stage: string, how: string, idleSeconds: string) => string;
  waitingOnAtLogEnd: (kind: string, name: string, seconds: string) => string;
  /**
   * After waitingOn, for a streamed LLM call: its answer had not started (no chunk came); it
   * started after `first` s (its first chunk); or it started, then nothing came for the last
   * `quiet` s before the end.
   */
  streamNotStarted: string;
  streamStarted: (first: string) => string;
  streamStalled: (first: string, quiet: string) => string;
  /** Joins the clauses of one evidence sentence ('; ' in English, '；' in Chinese). */
  clauseSeparator: string;
  slowStage: (stage: string, seconds: string, ratio: string, median: string) => string;
  /** slow_stage when the other stages took almost no time: a ratio to their median would mean nothing. */
  slowStageBesideNegligible: (stage: string, seconds: string, median: string) => string;
  /**
   * What a slow stage's time went to (after its slowStage sentence). `model`: the one model all the
   * calls named ('' for none), undefined when they named several; `longestModel` is the longest call's.
   */
  stageLlmCalls: (calls: number, seconds: string, model: string | undefined, longest: string, longestModel: string) => string;
  stageRetriedCalls: (retried: number, calls: number, failedAttempts: number) => string;
  stageCodeRuns: (runs: number, seconds: string) => string;
  /** A slow stage with no LLM call and no code run recorded in it. */
  stageNothingTraced: string;
  /** code_syntax_errors / code_runtime_errors: `repaired` of the `total` failing runs were followed by a successful run in the same stage. */
  codeRepaired: (repaired: number, total: number, stages: string) => string;
  /** tool_loop's title, naming the longest loop (`stage` undefined outside every stage). */
  toolLoopTitle: (tool: string, stage: string | undefined, calls: number) => string;
  toolLoop: (calls: number, tool: string, stage: string | undefined, args: string, seconds: string) => string;
  /** tool_loop of a round of 2 or 3 different calls (`round`: `search_docs → read_page`), made `rounds` times in a row. */
  toolRoundTitle: (round: string, stage: string | undefined, rounds: number) => string;
  /** `calls` in all; `each`: every call of the round with its arguments, `search_docs {"q":"x"}`. */
  toolRound: (calls: number, round: string, stage: string | undefined, each: string[], seconds: string) => string;
  /** After the longest loop's sentence when there were more: how many, and in which stages. */
  toolLoops: (loops: number, stages: string) => string;
  /** tool_errors' title: the tool that failed most, where it first failed, how often, and how many other tools failed. */
  toolErrorsTitle: (tool: string, stage: string | undefined, failures: number, others: number) => string;
  processEnded: (how: string) => string;
  exitCode: (code: number) => string;
  /** Explains exit code 13 after a drained event loop. */
  unsettledAwait: string;
  /** Where the error that crashed the process was thrown: its stage (when in one) and stack frame. */
  /** `inDependency`: the frame is in node_modules, as no frame of the app's own code was in the stack. */
  thrownAt: (stage: string | undefined, frame: string, inDependency: boolean) => string;
  /**
   * The crash title after the process exited with a non-zero code (the event loop drained with
   * process.exitCode set, or process.exit(n)): `titles.crash` is for exceptions, signals and kills.
   */
  crashExitTitle: (code: number) => string;
  /** After a non-zero exit code: the last failure before it, which no rule classified (`what` is `stage_error (answer): message`). */
  lastFailure: (what: string) => string;
  /** After process.exit(): where it was called (a stack frame). */
  exitCalledAt: (frame: string) => string;
  /** After process.exit(): the innermost span still open then (`stage` undefined outside every stage, or when the span is the stage). */
  runningAtExit: (kind: string, name: string, stage: string | undefined) => string;
  /** The crash suggestion after an uncaught exception or unhandled rejection (`suggestions.crash` is the one for a non-zero exit code). */
  crashError: string;
  /**
   * `crashError` and `suggestions.crash` without their advice on LLM output, for a crash another
   * diagnosis caused (its advice comes first) or whose last failure was an LLM call's.
   */
  crashErrorCaused: string;
  crashExitCaused: string;
  /** The crash suggestion after a signal or a kill. */
  crashSignal: string;
  /** Added to the autofix_ineffective suggestion when the failed repairs were rejected as invalid JSON. */
  autofixInvalidJson: string;
}

/**
 * Every sentence the reports show, in English and Simplified Chinese. Rule ids, categories and
 * field names never change with the locale; only these texts do.
 */
export interface MessageCatalog {
  frequentLlmErrors: { description: (count: number) => string; suggestion: string };
  stageFailures: { description: (stage: string, count: number) => string; suggestion: (stage: string) => string };
  frequentSyntaxErrors: { description: (count: number) => string; suggestion: string };
  apiManagement: { suggestion: string; details: string[] };
  /** The P0 api_management suggestion when most failed LLM calls had been retried by their client already. */
  apiManagementAfterRetries: { suggestion: string; details: string[] };
  /** The P0 api_management suggestion when most failed LLM calls were refused for their key (401/403): no retry or pacing helps. */
  apiManagementAuthFailures: { suggestion: string; details: string[] };
  /** The P0 api_management suggestion when most failed LLM calls sent more than the context window holds. */
  apiManagementContextLength: { suggestion: string; details: string[] };
  codeGeneration: { suggestion: string; details: string[] };
  errorRecovery: { suggestion: string; details: string[] };
  reportTitle: string;
  headings: Record<
    | 'summary'
    | 'diagnoses'
    | 'suggestions'
    | 'patterns'
    | 'failuresByType'
    | 'failuresByStage'
    | 'criticalFailures'
    | 'autofix'
    | 'llmUsage'
    | 'stages'
    | 'unfinished'
    | 'exit'
    | 'events',
    string
  >;
  labels: Record<
    | 'totalFailures'
    | 'autofixAttempts'
    | 'autofixSuccessRate'
    | 'mostCommonFailure'
    | 'mostProblematicStage'
    | 'generated'
    | 'none'
    | 'exitedHow'
    | 'successful'
    | 'failed',
    string
  >;
  exitReasons: Record<string, string>;
  diagnoses: DiagnosisTexts;
}

/** `task check_sql` as it is (the name says its kind); a label (`chat gpt-4o`, `draft`) after its kind, quoted. */
function spanLabel(kind: string, name: string, open = ' "', close = '"'): string {
  return name.startsWith(`${kind} `) ? name : `${kind}${open}${name}${close}`;
}

/** 1 → "once", 2 → "twice", 3 → "3 times". */
function times(n: number): string {
  return n === 1 ? 'once' : n === 2 ? 'twice' : `${n} times`;
}

const en: MessageCatalog = {
  frequentLlmErrors: {
    description: (count) => `LLM calls failed ${count} times`,
    suggestion: 'Check the API key, network connectivity and rate limits',
  },
  stageFailures: {
    description: (stage, count) => `Stage ${stage} failed ${count} times`,
    suggestion: (stage) => `Look at the failures of stage ${stage} by type and at the top diagnosis`,
  },
  frequentSyntaxErrors: {
    description: (count) => `${count} syntax errors`,
    suggestion: 'Strengthen the syntax fixer',
  },
  apiManagement: {
    suggestion: 'Enforce stricter rate limiting on LLM calls',
    details: [
      'Wait longer between calls that share an API key',
      'Retry with exponential backoff and honour retry-after',
      'Spread the load over several API keys',
    ],
  },
  apiManagementAfterRetries: {
    suggestion: 'Enforce stricter rate limiting on LLM calls',
    details: [
      'Send fewer requests at once: cap concurrent calls per API key or queue them',
      'The client already retried most failed calls: back off at the agent level rather than retrying more',
      'Spread the load over several API keys, or ask the provider for a higher limit',
    ],
  },
  apiManagementAuthFailures: {
    suggestion: 'Fix the API key the LLM calls use: the provider refused it',
    details: [
      'Check the key the process really sees (the environment variable or apiKey option): set, not expired or revoked, rotated everywhere the agent runs, allowed to use this model',
      'Do not retry 401/403: the same key is refused every time',
      'Fail fast at start-up: make one cheap call with the key before starting the work',
    ],
  },
  apiManagementContextLength: {
    suggestion: "Keep prompts inside the model's context window",
    details: [
      'Count tokens before sending and stay under the window (max_tokens counts against it)',
      'Do not resend the same prompt: it fails the same way; truncate or summarise old turns and tool output first',
      'Retrieve less, or switch to a model with a larger context window',
    ],
  },
  codeGeneration: {
    suggestion: 'Strengthen the syntax fixer',
    details: [
      'Add more syntax repair rules',
      'Parse generated code (AST check) before running it',
      'Let an LLM repair what the rules cannot',
    ],
  },
  errorRecovery: {
    suggestion: 'Improve the error-recovery mechanism',
    details: [
      'Add a deep (layer 3) repair step',
      'Diagnose the error more precisely before retrying',
      'Add more repair strategies',
    ],
  },
  reportTitle: 'Agent autopsy',
  headings: {
    summary: 'Summary',
    diagnoses: 'Diagnoses',
    suggestions: 'Fix suggestions',
    patterns: 'Failure patterns',
    failuresByType: 'Failures by type',
    failuresByStage: 'Failures by stage',
    criticalFailures: 'Critical failures',
    autofix: 'Autofix statistics',
    llmUsage: 'LLM usage',
    stages: 'Stages',
    unfinished: 'Unfinished spans',
    exit: 'How the process ended',
    events: 'Events',
  },
  labels: {
    totalFailures: 'Total failures',
    autofixAttempts: 'Autofix attempts',
    autofixSuccessRate: 'Autofix success rate',
    mostCommonFailure: 'Most common failure',
    mostProblematicStage: 'Most problematic stage',
    generated: 'Generated',
    none: 'None',
    exitedHow: 'Ended',
    successful: 'successful',
    failed: 'failed',
  },
  exitReasons: {
    running: 'still running (report taken during the run)',
    normal: 'normally (event loop drained)',
    shutdown: 'by shutdown()',
    exit: 'by process.exit()',
    uncaught_exception: 'by an uncaught exception',
    unhandled_rejection: 'by an unhandled promise rejection',
    signal: 'by a signal',
    killed: 'abruptly, killed or lost (no clean end recorded)',
    unknown: 'in a way the log does not record',
  },
  diagnoses: {
    titles: {
      rate_limited: 'The LLM provider rate-limited the agent (HTTP 429)',
      auth_failure: 'LLM calls were rejected: authentication failed (HTTP 401/403, or a key refused as invalid)',
      llm_timeout: 'LLM calls timed out',
      context_length_exceeded: "Prompts exceeded the model's context window",
      llm_server_error: 'The LLM provider failed or could not be reached (5xx, overloaded, connection dropped)',
      dependency_unreachable: 'A service the agent calls could not be reached (connection refused or dropped, host not found)',
      code_syntax_errors: 'Generated code did not compile (syntax errors)',
      code_runtime_errors: 'Generated code failed at run time',
      autofix_ineffective: 'Self-repair (autofix) failed more often than it succeeded',
      retry_storm: 'Retry storm: the same LLM call failed again and again',
      tool_loop: 'Tool loop: the agent made the same tool call again and again',
      tool_errors: 'A tool call failed',
      stage_hang: 'A stage never finished (hang)',
      slow_stage: 'A stage took far longer than the others',
      crash: 'The process ended abnormally',
    },
    suggestions: {
      rate_limited:
        'Pace the calls: honour the retry-after header (the official SDKs do when maxRetries > 0), retry with exponential backoff and jitter, cap concurrent LLM calls per API key (a semaphore such as p-limit), and cache or batch repeated prompts. If the limit is on tokens per minute, shorten prompts or lower max_tokens; if it persists, ask the provider for a higher tier.',
      auth_failure:
        'Check the key the process really sees (OPENAI_API_KEY / ANTHROPIC_API_KEY / GEMINI_API_KEY, the AWS credentials for Bedrock, or the apiKey option): that it is set, not expired or revoked, belongs to the right organisation or project and may use this model. Do not retry a refused key (401/403; Gemini answers one with a 400, API_KEY_INVALID); fail fast at start-up with one cheap call instead.',
      llm_timeout:
        'Set an explicit per-request timeout that fits the expected generation (the SDKs\' timeout option, AbortSignal.timeout), stream long answers, retry timeouts with backoff a bounded number of times, and lower max_tokens or split the work when single calls run long.',
      context_length_exceeded:
        'Count tokens before sending (tiktoken, count_tokens) and stay under the window: truncate or drop old turns, summarise long history and tool output, retrieve only the relevant chunks, lower max_tokens (it counts against the window), or switch to a model with a larger context window.',
      llm_server_error:
        "The provider failed (5xx, 529 overloaded) or the connection dropped. These are transient: retry them with exponential backoff and jitter, lower burst concurrency when you see 'overloaded', keep a fallback model or provider, and check the provider's status page when it persists.",
      dependency_unreachable:
        'A service the agent calls (a tool, an MCP server, a database, vector store or API) refused or dropped the connection, its host name did not resolve, or its program could not be started (spawn … ENOENT: not installed, or not on the PATH the agent runs with). Check that it is up and listening, that the URL, host and port the agent uses are the ones it serves on (environment variables, container or service names, DNS), and that the network lets the agent reach it (firewall, network policy, proxy); run the command of a stdio MCP server by hand: one that exits at start-up or crashes closes the connection (MCP error -32000: Connection closed). If the agent cannot work without it, check it once at start-up and stop with a clear message; otherwise give calls to it a connect timeout and a fallback.',
      code_syntax_errors:
        'Check generated code before running it (Python: ast.parse or compile; JavaScript: node --check or new vm.Script), take code only from fenced blocks of the reply, feed the exact error and line back to the model, and lower the temperature for code generation.',
      code_runtime_errors:
        'Give the model the end of the traceback (exception, message, line) when asking for a fix, run generated code in a sandbox with a timeout, check its imports against the installed packages (ModuleNotFoundError), and try it on a small input before the full run.',
      autofix_ineffective:
        'The repair loop does not converge: give each repair the full error (traceback, line) and the previous failed attempt, escalate to a deeper layer (or regenerate from the specification) after one failed patch instead of repeating it, and cap attempts per error.',
      retry_storm:
        'Retry only what can succeed (429, 5xx, timeouts; never 400/401/403/404), cap attempts (3 to 5), back off exponentially with jitter, honour retry-after, and stop with a circuit breaker after repeated failures instead of hammering the provider.',
      tool_loop:
        'Give the tool a result the model can act on: a final answer, or an error or status it can read and that tells it what to do next ("forecast not available yet: answer without it"), not the same "pending" again. Detect repeated identical calls in the agent loop (same tool, same arguments) and stop or change strategy after the second one, cap the steps per run, and make the step limit end with an answer or a clear error.',
      tool_errors:
        "Read the tool's error in the examples and fix it where it comes from: the tool's code, the service it calls, or the arguments the model gave it (check them against the tool's schema before using them). Make the tool catch its failures and return a result the model can act on (what went wrong and what to do next) rather than throw, give its calls to outside services a timeout and a bounded retry, and check in a test that the agent still answers when the tool fails.",
      stage_hang:
        'Put a timeout on every LLM, tool and code call (SDK timeout, AbortSignal.timeout, a subprocess timeout), make sure every promise settles (no missing await, no callback that never fires), add a watchdog per stage, and save checkpoints so a killed run can resume.',
      slow_stage:
        'See what the stage waits on (LLM latency in llm_usage, retries and backoff, code runs): run independent calls in parallel, cache repeated prompts, shorten prompts or use a faster model for simple steps, and drop retries that only add waiting.',
      crash:
        'Find the error that made the process exit with a non-zero code (the failures in this report, or the last lines the process printed), catch errors at each stage boundary and save a checkpoint so the run can resume, and validate LLM output before using it (JSON mode or structured outputs, schema checks).',
    },
    suggestionsAfterRetries: {
      rate_limited:
        'The client already retried these calls (the official SDKs wait as retry-after says before each retry) and they still hit the limit: more retries will not get through it. Send fewer requests: cap concurrent LLM calls per API key (a semaphore such as p-limit) or queue them, back off at the agent level (pause the step or stage before its next call, not just the request), cache or batch repeated prompts, and ask the provider for a higher rate limit or tier. If the limit is on tokens per minute, shorten prompts or lower max_tokens.',
      llm_timeout:
        "The client already retried these calls and they still timed out: more retries only multiply the wait (timeout × attempts). Give a call the time its answer needs (the SDKs' timeout option) or stream long answers, lower max_tokens or split the work, and keep maxRetries low for calls that cannot finish in time.",
      llm_server_error:
        "The client already retried these calls with backoff and they still failed: the provider stayed down or overloaded for longer than the retries lasted. Fall back to another model or provider, lower burst concurrency when you see 'overloaded', pause new calls at the agent level for a while (a circuit breaker) instead of retrying each one, and check the provider's status page.",
    },
    retriedCalls: (calls, requests, retried, fewest, most) => {
      // A call that states no failed attempts may have had retries nobody counted: then only a lower bound.
      const head = `${calls} failed call${calls === 1 ? '' : 's'}, ${retried < calls ? 'at least ' : ''}${requests} HTTP requests: `;
      if (retried === calls && fewest === most) return `${head}${calls === 1 ? 'it was' : 'each was'} retried ${times(most)} before the agent saw the error`;
      const range = fewest === most ? times(most) : `${fewest} to ${most} times`;
      return `${head}${retried} of them ${retried === 1 ? 'was' : 'were'} retried (${range}${retried > 1 ? ' each' : ''}) before the agent saw the error`;
    },
    recoveredCalls: (calls, attempts) =>
      `${calls} more call${calls === 1 ? '' : 's'} got through only after retries (${attempts} failed attempt${attempts === 1 ? '' : 's'} before their outcome)`,
    consequenceOf: (causes) => `Most likely a consequence of ${causes.join(' and ')}: fix ${causes.length > 1 ? 'those' : 'that'} first. `,
    retryAfter: (seconds) => ` The provider asked to wait up to ${seconds} s (retry-after).`,
    dependencyUnreachable: (what, others) => `A service the agent calls could not be reached (${what}${others ? ', and others' : ''})`,
    quota: ' Some responses say the quota is used up: that is billing, not pacing; add credit or raise the spending limit.',
    contextLimit: (limit, requested) => ` The window is ${limit} tokens${requested !== undefined ? `; a request needed ${requested}` : ''}.`,
    retryStorm: (failures, stage, model, seconds) =>
      `${failures} failed calls in a row${model ? ` to ${model}` : ''} ${stage === undefined ? 'outside every stage' : `in ${stage}`} within ${seconds} s`,
    retryStorms: (storms, stages) => `${storms} storms in all (the longest above), in ${stages}`,
    outsideStagesName: '(outside every stage)',
    failureStreak: {
      title: 'LLM calls failed one after another, with no success in between',
      suggestion:
        'These were different calls (each from its own task or span), not one call retried: each failed once and the next was sent anyway. Stop sending new calls after a few failures in a row (a circuit breaker) and pause before resuming, rather than sending every queued call into the same failure; the diagnosis of their errors says why they failed.',
      evidence: 'Each failure was a different call (its own parent span), and no client retried it',
    },
    backedOff: {
      evidence: (first, last) => `The waits between the failures grew from ${first} s to ${last} s: the call was already retried with backoff`,
      suggestion:
        "The call was already retried with growing waits (backoff) and kept failing: more retries or longer waits will not get it through. Fix what the error's own diagnosis names (a limit, an outage, a refused key), cap the attempts so the agent fails fast (the framework's maxRetries), stop new calls for a while after repeated failures (a circuit breaker), and keep a fallback model or provider for long outages.",
    },
    autofixFailed: (failed, total, detail) => `${failed} of ${total} repair attempts failed${detail ? ` (${detail})` : ''}`,
    stageHang: (stage, how, idle) => `${stage} was still running when the process ended ${how}; its last event was ${idle} s before the end`,
    waitingOn: (kind, name, seconds) => `still waiting on ${kind} "${name}" (open for ${seconds} s)`,
    outsideStages: (how) => `Work outside every stage was still running when the process ended ${how}`,
    hangOutsideStagesTitle: 'Work never finished (hang): it was still running when the process ended',
    duringShutdown: (signal) => `Every one came after the process got ${signal}, while the app's handler of it shut the app down`,
    busy: {
      clause: (calls) => `it was busy, not stuck: ${calls} LLM calls had ended in it, the last moments before the end`,
      title: 'Work was still busy when the process was stopped: a loop that did not end, or more work than the time it was given',
      suggestion:
        'The work was not stuck: it kept making LLM calls until it was stopped. Find out why it did not finish: an agent loop without a step limit (set maxSteps, maxTurns or a recursion limit, and make reaching it end with an answer or a clear error), a model that never gives a final answer (read its last replies), or more work than the time the orchestrator allows (raise the timeout, or split the work and save checkpoints so a stopped run can resume).',
    },
    stageHangAtLogEnd: (stage, how, idle) =>
      `${stage} was still running when the process ended ${how}; ${idle === '0' ? "its last event is the log's last one" : `its last event came ${idle} s before the log's last one`}, and the time of the end is not recorded (it may have waited longer)`,
    waitingOnAtLogEnd: (kind, name, seconds) =>
      `still waiting on ${kind} "${name}" (${seconds === '0' ? "its start is the log's last event" : `started ${seconds} s before the log's last event`})`,
    streamNotStarted: 'its streamed answer had not started (no chunk came)',
    streamStarted: (first) => `its streamed answer had started after ${first} s (first chunk)`,
    streamStalled: (first, quiet) => `its streamed answer had started after ${first} s (first chunk), then nothing came for the last ${quiet} s`,
    clauseSeparator: '; ',
    slowStage: (stage, seconds, ratio, median) => `${stage} took ${seconds} s, ${ratio}× the median of the other stages (${median} s)`,
    slowStageBesideNegligible: (stage, seconds, median) => `${stage} took ${seconds} s, while the other stages took almost no time (median ${median} s)`,
    stageLlmCalls: (calls, seconds, model, longest, longestModel) =>
      calls === 1
        ? `its LLM call${model ? ` (${model})` : ''} took ${seconds} s of it`
        : `its ${calls} LLM calls${model ? ` (${model})` : ''} took ${seconds} s in all, the longest ${longest} s${model === undefined && longestModel ? ` (${longestModel})` : ''}`,
    stageRetriedCalls: (retried, calls, attempts) =>
      `${calls === 1 ? 'it was' : `${retried} of them ${retried === 1 ? 'was' : 'were'}`} retried by the client (${attempts} failed attempt${attempts === 1 ? '' : 's'})`,
    stageCodeRuns: (runs, seconds) => `its ${runs === 1 ? 'code run' : `${runs} code runs`} took ${seconds} s`,
    stageNothingTraced: 'no LLM call or code run was recorded in it: the time went to its own code or to calls nothing traced',
    codeRepaired: (repaired, total, stages) =>
      repaired >= total
        ? `Repaired: ${total === 1 ? 'the failing run was' : `each of the ${total} failing runs was`} followed by a successful run of the code in the same stage (${stages})`
        : `${repaired} of the ${total} failing runs ${repaired === 1 ? 'was' : 'were'} followed by a successful run of the code in the same stage (${stages}); the other ${total - repaired} ${total - repaired === 1 ? 'was' : 'were'} not`,
    toolLoopTitle: (tool, stage, calls) => `Tool loop: the agent called ${tool} ${calls} times in a row with the same arguments${stage === undefined ? '' : ` in stage ${stage}`}`,
    toolLoop: (calls, tool, stage, args, seconds) =>
      `${calls} calls in a row to ${tool} ${stage === undefined ? 'outside every stage' : `in stage ${stage}`} within ${seconds} s, each with the arguments ${args}`,
    toolRoundTitle: (round, stage, rounds) => `Tool loop: the agent went round ${round} ${rounds} times with the same arguments${stage === undefined ? '' : ` in stage ${stage}`}`,
    toolRound: (calls, round, stage, each, seconds) =>
      `${calls} calls ${stage === undefined ? 'outside every stage' : `in stage ${stage}`} within ${seconds} s, going round ${round}, each time with the same arguments: ${each.join('; ')}`,
    toolLoops: (loops, stages) => `${loops} tool loops in all (the longest above), in ${stages}`,
    toolErrorsTitle: (tool, stage, failures, others) =>
      `A tool call failed: ${tool} failed ${times(failures)}${stage === undefined ? '' : ` in stage ${stage}`}${others > 0 ? `, and ${others} other tool${others === 1 ? '' : 's'} failed too` : ''}`,
    processEnded: (how) => `The process ended ${how}`,
    exitCode: (code) => `exit code ${code}`,
    unsettledAwait: 'Exit code 13 is Node\'s "unsettled top-level await": the entry module was still awaiting a promise that never settled when nothing was left to run',
    thrownAt: (stage, frame, inDependency) => `Thrown${stage !== undefined ? ` in stage ${stage}` : ''} ${frame}${inDependency ? ' (in a dependency: no frame of your own code is in the stack)' : ''}`,
    crashExitTitle: (code) => `The process exited with code ${code}`,
    lastFailure: (what) => `Last failure before the exit: ${what}`,
    exitCalledAt: (frame) => `process.exit() was called at ${frame}`,
    runningAtExit: (kind, name, stage) => `${spanLabel(kind, name)} was still running${stage !== undefined ? ` in stage ${stage}` : ''}`,
    crashError:
      'Catch errors at each stage boundary and save a checkpoint so the run can resume, and fix the error where the stack points (the evidence names the first frame of your own code); if the bad value came from the model, validate LLM output before using it (JSON mode or structured outputs, schema checks).',
    crashErrorCaused:
      'Catch errors at each stage boundary and save a checkpoint so the run can resume, and fix the error where the stack points (the evidence names the first frame of your own code).',
    crashExitCaused:
      'Find the error that made the process exit with a non-zero code (the failures in this report, or the last lines the process printed), and catch errors at each stage boundary and save a checkpoint so the run can resume.',
    crashSignal:
      'Find what ended the process (an orchestrator timeout or liveness probe, the OOM killer, Ctrl-C) and give the run the time or memory it needs; save checkpoints so a stopped run can resume.',
    autofixInvalidJson:
      ' The failed repairs were rejected as invalid JSON: request JSON mode or structured outputs (a response schema) instead of repairing free text, and strip code fences before parsing.',
  },
};

const zhCN: MessageCatalog = {
  frequentLlmErrors: {
    description: (count) => `LLM 调用共失败 ${count} 次`,
    suggestion: '请核对 API 密钥、网络连通性与速率限制',
  },
  stageFailures: {
    description: (stage, count) => `阶段 ${stage} 共失败 ${count} 次`,
    suggestion: (stage) => `请查看阶段 ${stage} 按类型统计的失败，以及排在首位的诊断`,
  },
  frequentSyntaxErrors: {
    description: (count) => `出现语法错误 ${count} 次`,
    suggestion: '加强语法修复器',
  },
  apiManagement: {
    suggestion: '对 LLM 调用实施更严格的速率限制',
    details: ['共用同一 API 密钥的调用之间等待更久', '采用指数退避重试，并遵循 retry-after', '将负载分散到多个 API 密钥'],
  },
  apiManagementAfterRetries: {
    suggestion: '对 LLM 调用实施更严格的速率限制',
    details: ['减少同时发出的请求：限制每个 API 密钥的并发调用数，或将调用排队', '客户端已重试过大部分失败的调用：应在智能体层面退避，而不是继续重试', '将负载分散到多个 API 密钥，或向服务商申请更高的限额'],
  },
  apiManagementAuthFailures: {
    suggestion: '修正 LLM 调用所用的 API 密钥：服务商拒绝了它',
    details: [
      '核对进程实际读取到的密钥（环境变量或 apiKey 选项）：是否已设置、是否过期或被吊销、是否已在智能体运行的每个地方完成轮换、是否有权使用该模型',
      '不要重试 401/403：同一个密钥每次都会被拒绝',
      '在启动时尽早失败：开始工作前先用该密钥做一次低成本调用',
    ],
  },
  apiManagementContextLength: {
    suggestion: '让提示词保持在模型的上下文窗口以内',
    details: [
      '发送前先计算 token 数并保持在窗口以内（max_tokens 也占用窗口）',
      '不要重发同样的提示词：它会以同样的方式失败；先截断或摘要较早的对话轮次和工具输出',
      '少检索一些内容，或换用上下文窗口更大的模型',
    ],
  },
  codeGeneration: {
    suggestion: '加强语法修复器',
    details: ['补充更多语法修复规则', '运行前先对生成的代码做 AST 校验', '规则无法修复时交给 LLM 修复'],
  },
  errorRecovery: {
    suggestion: '改进错误恢复机制',
    details: ['增加第 3 层深度修复', '重试前更准确地诊断错误', '增加更多修复策略'],
  },
  reportTitle: '智能体尸检报告',
  headings: {
    summary: '摘要',
    diagnoses: '诊断',
    suggestions: '修复建议',
    patterns: '失败模式',
    failuresByType: '按类型统计的失败',
    failuresByStage: '按阶段统计的失败',
    criticalFailures: '关键失败',
    autofix: '自愈统计',
    llmUsage: 'LLM 用量',
    stages: '阶段',
    unfinished: '未结束的跨度',
    exit: '进程结束方式',
    events: '事件',
  },
  labels: {
    totalFailures: '失败总数',
    autofixAttempts: '自愈尝试次数',
    autofixSuccessRate: '自愈成功率',
    mostCommonFailure: '最常见的失败',
    mostProblematicStage: '问题最多的阶段',
    generated: '生成时间',
    none: '无',
    exitedHow: '结束方式',
    successful: '成功',
    failed: '失败',
  },
  exitReasons: {
    running: '仍在运行（运行期间生成的报告）',
    normal: '正常结束（事件循环已空）',
    shutdown: '调用 shutdown() 结束',
    exit: '调用 process.exit() 结束',
    uncaught_exception: '未捕获的异常',
    unhandled_rejection: '未处理的 Promise 拒绝',
    signal: '收到信号',
    killed: '被强制终止或丢失（没有记录到正常结束）',
    unknown: '未知',
  },
  diagnoses: {
    titles: {
      rate_limited: 'LLM 服务商对智能体限流（HTTP 429）',
      auth_failure: 'LLM 调用被拒绝：身份验证失败（HTTP 401/403，或密钥被判定无效）',
      llm_timeout: 'LLM 调用超时',
      context_length_exceeded: '提示词超出模型的上下文窗口',
      llm_server_error: 'LLM 服务商出错或无法连接（5xx、过载、连接中断）',
      dependency_unreachable: '智能体调用的服务无法连接（连接被拒绝或中断、主机名无法解析）',
      code_syntax_errors: '生成的代码无法编译（语法错误）',
      code_runtime_errors: '生成的代码运行时出错',
      autofix_ineffective: '自愈（autofix）失败多于成功',
      retry_storm: '重试风暴：同一个 LLM 调用反复失败',
      tool_loop: '工具循环：智能体一再发出同样的工具调用',
      tool_errors: '工具调用失败',
      stage_hang: '有阶段始终没有结束（挂起）',
      slow_stage: '某个阶段比其他阶段慢得多',
      crash: '进程异常结束',
    },
    suggestions: {
      rate_limited:
        '控制调用节奏：遵循 retry-after 响应头（官方 SDK 在 maxRetries > 0 时会这样做），以指数退避加随机抖动重试，限制每个 API 密钥的并发 LLM 调用数（如 p-limit 信号量），并缓存或合并重复的提示词。若限制的是每分钟 token 数，请缩短提示词或调低 max_tokens；若持续出现，请向服务商申请更高的额度等级。',
      auth_failure:
        '核对进程实际读取到的密钥（OPENAI_API_KEY / ANTHROPIC_API_KEY / GEMINI_API_KEY、Bedrock 所用的 AWS 凭证，或 apiKey 选项）：是否已设置、是否过期或被吊销、是否属于正确的组织或项目、是否有权使用该模型。不要重试被拒绝的密钥（401/403；Gemini 以 400 API_KEY_INVALID 拒绝）；改为在启动时用一次低成本调用尽早失败。',
      llm_timeout:
        '为每个请求设置与预期生成时长相符的超时（SDK 的 timeout 选项、AbortSignal.timeout），长回答使用流式输出，对超时做有限次数的退避重试；单次调用过长时调低 max_tokens 或拆分任务。',
      context_length_exceeded:
        '发送前先计算 token 数（tiktoken、count_tokens），保持在窗口以内：截断或丢弃较早的对话轮次，摘要长历史和工具输出，只检索相关片段，调低 max_tokens（它也占用窗口），或换用上下文窗口更大的模型。',
      llm_server_error:
        '服务商出错（5xx、529 过载）或连接中断。这类错误是暂时的：以指数退避加随机抖动重试；出现 overloaded 时降低突发并发；准备备用模型或服务商；持续出现时查看服务商的状态页面。',
      dependency_unreachable:
        '智能体调用的某个服务（工具、MCP 服务器、数据库、向量库或 API）拒绝或中断了连接、其主机名无法解析，或其程序无法启动（spawn … ENOENT：未安装，或不在智能体运行时的 PATH 中）。请确认该服务已启动并在监听，智能体使用的 URL、主机和端口正是它提供服务的地址（环境变量、容器或服务名、DNS），并且网络允许智能体访问它（防火墙、网络策略、代理）；对 stdio 方式的 MCP 服务器，请手动运行其命令：启动时退出或崩溃的服务器会关闭连接（MCP error -32000: Connection closed）。若智能体离不开它，请在启动时检查一次并以明确的错误信息停止；否则为对它的调用设置连接超时和备用方案。',
      code_syntax_errors:
        '运行前先检查生成的代码（Python：ast.parse 或 compile；JavaScript：node --check 或 new vm.Script），只从回复的代码块中提取代码，把确切的错误和行号反馈给模型，并降低代码生成的 temperature。',
      code_runtime_errors:
        '请求修复时把回溯信息的末尾（异常类型、消息、行号）交给模型；在带超时的沙箱中运行生成的代码；对照已安装的包检查其导入（ModuleNotFoundError）；正式运行前先用小输入试跑。',
      autofix_ineffective:
        '修复循环没有收敛：每次修复都提供完整错误（回溯、行号）和上一次失败的尝试；一次修补失败后升级到更深的层级（或按规格重新生成），不要重复同样的修补；并限制每个错误的尝试次数。',
      retry_storm:
        '只重试可能成功的错误（429、5xx、超时；绝不重试 400/401/403/404），限制尝试次数（3 到 5 次），以指数退避加随机抖动，遵循 retry-after，并在连续失败后用熔断器停止，而不是持续冲击服务商。',
      tool_loop:
        '让工具返回模型能据以行动的结果：最终答案，或模型读得懂、并告诉它下一步怎么做的错误或状态（“天气预报暂不可用：请不依赖它作答”），而不是一再返回同样的“pending”。在智能体循环中检测重复的相同调用（同一工具、同样参数），第二次之后就停止或改变策略；限制每次运行的步数，并让步数上限以一个答案或明确的错误结束。',
      tool_errors:
        '查看示例中工具的错误，并从源头修复：工具自身的代码、它调用的服务，或模型传给它的参数（使用前先按工具的模式校验）。让工具捕获自身的失败并返回模型能据以行动的结果（出了什么问题、下一步该怎么做），而不是抛出异常；为它对外部服务的调用设置超时和有限次数的重试；并用测试确认工具失败时智能体仍能给出回答。',
      stage_hang:
        '为每个 LLM、工具和代码调用设置超时（SDK 超时、AbortSignal.timeout、子进程超时），确保每个 Promise 都会完成（不要漏掉 await，不要有永不触发的回调），为每个阶段加看门狗，并保存检查点以便被终止的运行可以恢复。',
      slow_stage:
        '查看该阶段在等待什么（llm_usage 中的 LLM 延迟、重试与退避、代码运行）：并行执行互不依赖的调用，缓存重复的提示词，缩短提示词或对简单步骤使用更快的模型，去掉只会增加等待的重试。',
      crash:
        '找出使进程以非零退出码结束的错误（本报告中的失败，或进程最后打印的几行），在每个阶段边界捕获错误并保存检查点，以便运行可以恢复，并在使用 LLM 输出前先校验（JSON 模式或结构化输出、模式校验）。',
    },
    suggestionsAfterRetries: {
      rate_limited:
        '客户端已经重试过这些调用（官方 SDK 每次重试前都会按 retry-after 等待），仍然触发限流：再多的重试也无法突破限制。请减少请求：限制每个 API 密钥的并发 LLM 调用数（如 p-limit 信号量）或将调用排队，在智能体层面退避（下一次调用前暂停该步骤或阶段，而不只是单个请求），缓存或合并重复的提示词，并向服务商申请更高的速率限制或额度等级。若限制的是每分钟 token 数，请缩短提示词或调低 max_tokens。',
      llm_timeout:
        '客户端已经重试过这些调用，仍然超时：更多重试只会成倍延长等待（超时 × 尝试次数）。请给调用足够的时间（SDK 的 timeout 选项）或对长回答使用流式输出，调低 max_tokens 或拆分任务，并对无法按时完成的调用保持较低的 maxRetries。',
      llm_server_error:
        '客户端已经以退避方式重试过这些调用，仍然失败：服务商宕机或过载的时间超过了重试持续的时间。请切换到备用模型或服务商，出现 overloaded 时降低突发并发，在智能体层面暂停新的调用一段时间（熔断器）而不是逐个重试，并查看服务商的状态页面。',
    },
    retriedCalls: (calls, requests, retried, fewest, most) => {
      const head = `${calls} 次调用失败，背后${retried < calls ? '至少' : '共'}有 ${requests} 个 HTTP 请求：`;
      if (retried === calls && fewest === most) return `${head}${calls === 1 ? '该调用在智能体收到错误之前已' : '每次调用在智能体收到错误之前都已'}重试 ${most} 次`;
      const range = fewest === most ? `${most}` : `${fewest}–${most}`;
      return `${head}其中 ${retried} 次调用在智能体收到错误之前已重试${retried === 1 ? ` ${range} 次` : `（每次 ${range} 次）`}`;
    },
    recoveredCalls: (calls, attempts) => `另有 ${calls} 次调用在重试后才成功（得到结果前失败了 ${attempts} 次）`,
    consequenceOf: (causes) => `很可能是 ${causes.join('、')} 造成的后果：请先解决${causes.length > 1 ? '它们' : '它'}。`,
    retryAfter: (seconds) => `服务商要求最多等待 ${seconds} 秒（retry-after）。`,
    dependencyUnreachable: (what, others) => `智能体调用的服务无法连接（${what}${others ? '，以及其他服务' : ''}）`,
    quota: '部分响应表明额度已用完：这是计费问题而非调用节奏问题，请充值或提高消费上限。',
    contextLimit: (limit, requested) => `窗口为 ${limit} 个 token${requested !== undefined ? `；某次请求需要 ${requested} 个` : ''}。`,
    retryStorm: (failures, stage, model, seconds) => `${stage === undefined ? '阶段之外' : `${stage} 中`}${model ? `对 ${model} 的` : ''}调用在 ${seconds} 秒内连续失败 ${failures} 次`,
    retryStorms: (storms, stages) => `共 ${storms} 次重试风暴（上一条为最长的一次），分布在 ${stages}`,
    outsideStagesName: '（阶段之外）',
    failureStreak: {
      title: 'LLM 调用接连失败，中间没有一次成功',
      suggestion:
        '这些是不同的调用（各自来自不同的任务或跨度），而不是同一个调用的重试：每个调用失败一次后，下一个调用照样发出。请在连续失败几次后停止发送新的调用（熔断器），暂停一段时间再恢复，而不是让排队的每个调用都遭遇同样的失败；这些错误的诊断说明了它们失败的原因。',
      evidence: '每次失败都是不同的调用（各有自己的父跨度），客户端也没有重试过',
    },
    backedOff: {
      evidence: (first, last) => `两次失败之间的等待从 ${first} 秒增长到 ${last} 秒：该调用已经以退避方式重试过`,
      suggestion:
        '该调用已经以逐渐增长的等待（退避）重试过，仍然失败：更多的重试或更长的等待都无法让它成功。请解决这些错误自身的诊断所指出的问题（限额、服务中断、密钥被拒），限制尝试次数以便智能体尽早失败（框架的 maxRetries），在反复失败后暂停新的调用一段时间（熔断器），并为长时间的中断准备备用模型或服务商。',
    },
    autofixFailed: (failed, total, detail) => `${total} 次修复尝试中有 ${failed} 次失败${detail ? `（${detail}）` : ''}`,
    stageHang: (stage, how, idle) => `进程结束时（${how}）${stage} 仍在运行；其最后一个事件距结束 ${idle} 秒`,
    waitingOn: (kind, name, seconds) => `仍在等待 ${kind}“${name}”（已持续 ${seconds} 秒）`,
    outsideStages: (how) => `进程结束时（${how}）阶段之外的工作仍在运行`,
    hangOutsideStagesTitle: '有工作始终没有结束（挂起）：进程结束时它仍在运行',
    duringShutdown: (signal) => `它们都发生在进程收到 ${signal} 之后、应用对该信号的处理程序关闭应用期间`,
    busy: {
      clause: (calls) => `它一直在忙而不是卡住：其中已有 ${calls} 次 LLM 调用结束，最后一次就在结束前片刻`,
      title: '进程被停止时工作仍在忙碌：一个没有结束的循环，或工作量超出了给它的时间',
      suggestion:
        '这项工作并没有卡住：它一直在发出 LLM 调用，直到被停止。请找出它没有完成的原因：智能体循环没有步数上限（设置 maxSteps、maxTurns 或递归上限，并让达到上限时以一个答案或明确的错误结束）、模型始终不给出最终答案（查看它最后的回复），或工作量超出了编排器允许的时间（提高超时时间，或拆分工作并保存检查点，以便被停止的运行可以恢复）。',
    },
    stageHangAtLogEnd: (stage, how, idle) =>
      `进程结束时（${how}）${stage} 仍在运行；${idle === '0' ? '其最后一个事件即日志的最后一个事件' : `其最后一个事件比日志的最后一个事件早 ${idle} 秒`}，结束的时刻没有记录（实际等待可能更久）`,
    waitingOnAtLogEnd: (kind, name, seconds) =>
      `仍在等待 ${kind}“${name}”（${seconds === '0' ? '其开始即日志的最后一个事件' : `开始于日志最后一个事件之前 ${seconds} 秒`}）`,
    streamNotStarted: '其流式回答尚未开始（没有收到任何数据块）',
    streamStarted: (first) => `其流式回答在 ${first} 秒后开始（首个数据块）`,
    streamStalled: (first, quiet) => `其流式回答在 ${first} 秒后开始（首个数据块），此后最后 ${quiet} 秒没有收到任何数据`,
    clauseSeparator: '；',
    slowStage: (stage, seconds, ratio, median) => `${stage} 耗时 ${seconds} 秒，是其他阶段中位数（${median} 秒）的 ${ratio} 倍`,
    slowStageBesideNegligible: (stage, seconds, median) => `${stage} 耗时 ${seconds} 秒，而其他阶段几乎不花时间（中位数 ${median} 秒）`,
    stageLlmCalls: (calls, seconds, model, longest, longestModel) =>
      calls === 1
        ? `其中 LLM 调用${model ? `（${model}）` : ''}耗时 ${seconds} 秒`
        : `其中 ${calls} 次 LLM 调用${model ? `（${model}）` : ''}共耗时 ${seconds} 秒，最长一次 ${longest} 秒${model === undefined && longestModel ? `（${longestModel}）` : ''}`,
    stageRetriedCalls: (retried, calls, attempts) => `${calls === 1 ? '该调用' : `其中 ${retried} 次调用`}曾被客户端重试（失败尝试 ${attempts} 次）`,
    stageCodeRuns: (runs, seconds) => (runs === 1 ? `其中代码运行耗时 ${seconds} 秒` : `其中 ${runs} 次代码运行共耗时 ${seconds} 秒`),
    stageNothingTraced: '其中没有记录到 LLM 调用或代码运行：时间花在该阶段自身的代码或未被追踪的调用上',
    codeRepaired: (repaired, total, stages) =>
      repaired >= total
        ? `已修复：${total === 1 ? '这次失败的运行' : `这 ${total} 次失败的运行`}之后，同一阶段（${stages}）中的代码都再次运行成功`
        : `${total} 次失败的运行中有 ${repaired} 次之后同一阶段（${stages}）中的代码再次运行成功；其余 ${total - repaired} 次没有`,
    toolLoopTitle: (tool, stage, calls) => `工具循环：智能体${stage === undefined ? '' : `在 ${stage} 中`}以相同参数连续调用 ${tool} ${calls} 次`,
    toolLoop: (calls, tool, stage, args, seconds) =>
      `${stage === undefined ? '阶段之外' : `${stage} 中`}在 ${seconds} 秒内连续 ${calls} 次调用 ${tool}，每次参数都是 ${args}`,
    toolRoundTitle: (round, stage, rounds) => `工具循环：智能体${stage === undefined ? '' : `在 ${stage} 中`}以相同参数反复调用 ${round}，共 ${rounds} 轮`,
    toolRound: (calls, round, stage, each, seconds) =>
      `${stage === undefined ? '阶段之外' : `${stage} 中`}在 ${seconds} 秒内共 ${calls} 次调用，反复循环 ${round}，每轮参数都相同：${each.join('；')}`,
    toolLoops: (loops, stages) => `共 ${loops} 个工具循环（上一条为最长的一个），分布在 ${stages}`,
    toolErrorsTitle: (tool, stage, failures, others) => `工具调用失败：${tool} ${stage === undefined ? '' : `在阶段 ${stage} 中`}失败 ${failures} 次${others > 0 ? `，另有 ${others} 个工具也失败了` : ''}`,
    processEnded: (how) => `进程结束方式：${how}`,
    exitCode: (code) => `退出码 ${code}`,
    unsettledAwait: '退出码 13 是 Node 的“未完成的顶层 await”：事件循环已无事可做时，入口模块仍在等待一个永远不会完成的 Promise',
    thrownAt: (stage, frame, inDependency) => `抛出位置：${stage !== undefined ? `阶段 ${stage}，` : ''}${frame}${inDependency ? '（在依赖库中：堆栈里没有你自己代码的帧）' : ''}`,
    crashExitTitle: (code) => `进程以退出码 ${code} 结束`,
    lastFailure: (what) => `退出前的最后一次失败：${what}`,
    exitCalledAt: (frame) => `process.exit() 的调用位置：${frame}`,
    runningAtExit: (kind, name, stage) => `${spanLabel(kind, name, '“', '”')}仍在运行${stage !== undefined ? `（阶段 ${stage}）` : ''}`,
    crashError:
      '在每个阶段边界捕获错误并保存检查点，以便运行可以恢复，并在堆栈指向的位置（证据中列出的你自己代码的第一帧）修复错误；若错误的值来自模型，使用 LLM 输出前先校验（JSON 模式或结构化输出、模式校验）。',
    crashErrorCaused: '在每个阶段边界捕获错误并保存检查点，以便运行可以恢复，并在堆栈指向的位置（证据中列出的你自己代码的第一帧）修复错误。',
    crashExitCaused: '找出使进程以非零退出码结束的错误（本报告中的失败，或进程最后打印的几行），并在每个阶段边界捕获错误并保存检查点，以便运行可以恢复。',
    crashSignal:
      '查明是谁结束了进程（编排器超时或存活探针、OOM killer、Ctrl-C），并给运行足够的时间或内存；保存检查点，以便被停止的运行可以恢复。',
    autofixInvalidJson: '失败的修复被判定为无效 JSON：请使用 JSON 模式或结构化输出（响应模式），而不是修复自由文本，并在解析前去掉代码块围栏。',
  },
};

const catalogs: Record<Locale, MessageCatalog> = { en, 'zh-CN': zhCN };

export function messagesFor(locale: Locale | string | undefined): MessageCatalog {
  return catalogs[normalizeLocale(locale)];
}

/** True for the locales normalizeLocale() knows (en…, zh-CN and its spellings); other values fall back to English. */
export function isKnownLocale(locale: string): boolean {
  return /^en(?:[-_]|$)/i.test(locale) || normalizeLocale(locale) === 'zh-CN';
}

export function normalizeLocale(locale: string | undefined): Locale {
  if (!locale) return 'en';
  const lower = locale.toLowerCase().replace('_', '-');
  return lower === 'zh' || lower.startsWith('zh-cn') || lower.startsWith('zh-hans') || lower === 'zh-sg' ? 'zh-CN' : 'en';
}
