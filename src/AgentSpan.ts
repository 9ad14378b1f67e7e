import type { Span } from '@opentelemetry/api';
import { reportError } from './errorHandler';
import { takeFailException, writeExceptionEvent } from './exceptionEvent';
import { currentRun, warnOnce } from './runtime';
import { DEFAULT_MAX_STRING_LENGTH, errorClassName, errorMessage, safeData, safeString } from './safeValue';
import type { SpanKindName } from './eventTypes';
import * as sc from './semconv';
import { addEndData, addHandoverEndData, type SpanHandover } from './spanData';
import type { EventData } from './types';

export interface TokenUsage {
  /** All of the prompt's tokens, cached ones included. */
  inputTokens?: number;
  /** All of the output's tokens, reasoning ones included. */
  outputTokens?: number;
  /** Defaults to input + output. */
  totalTokens?: number;
  /** Of the input tokens, those read from the provider's prompt cache (OpenAI's `cached_tokens`, Anthropic's `cache_read_input_tokens`). */
  cacheReadInputTokens?: number;
  /** Of the input tokens, those written to the prompt cache (Anthropic's `cache_creation_input_tokens`). */
  cacheCreationInputTokens?: number;
  /** Of the output tokens, the reasoning ones (OpenAI's `reasoning_tokens`). */
  reasoningTokens?: number;
}

/** The shares of the counts: setUsage key, event field, span attribute. */
const USAGE_DETAILS = [
  ['cacheReadInputTokens', 'cache_read_input_tokens', sc.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS],
  ['cacheCreationInputTokens', 'cache_creation_input_tokens', sc.ATTR_GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS],
  ['reasoningTokens', 'reasoning_tokens', sc.ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS],
] as const;

export interface CodeExecResult {
  exitCode?: number | null;
  /** The tail of stderr is kept (last 2,000 characters). */
  stderr?: string;
  command?: string;
}

const STDERR_TAIL = 2000;

/**
 * Marks a handle whose span the wrapper has ended: what is set on it afterwards cannot be recorded.
 * A symbol-keyed field, not a WeakSet: every span ends through here, and a weak table costs an
 * insertion per span and work at each GC.
 */
const ENDED = Symbol('agent-autopsy.ended');

/** Called by the wrappers that started the handle's span with `handover`: its end data goes there. */
export function useHandover(handle: AgentSpan, handover: SpanHandover): void {
  (handle as unknown as { handover: SpanHandover | undefined }).handover = handover;
}

/** Called by the wrappers when they end the handle's span. */
export function markEnded(handle: AgentSpan): void {
  (handle as unknown as Record<symbol, boolean>)[ENDED] = true;
}

/** Warns (once per process) when `method` is called on a handle whose span has ended; true then. */
function afterEnd(handle: AgentSpan, method: string): boolean {
  if ((handle as unknown as Record<symbol, boolean>)[ENDED] !== true) return false;
  warnOnce('span-after-end', `span.${method}() was called after its span ended (its callback had returned or its promise settled); nothing was recorded`);
  return true;
}

/** A token count as given: a number of 0 or more, else named on stderr (once) and left out. */
function tokenCount(usage: unknown, key: keyof TokenUsage): number | undefined {
  const value = (usage as Record<string, unknown>)[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value === 'number' ? String(value) : `a ${typeof value}`;
  warnOnce(`set-usage-${key}`, `span.setUsage(): ${key} should be a number of tokens (0 or more), got ${shown}; it was not recorded`);
  return undefined;
}

/**
 * What `stage/task/llmCall/codeExec/autofix` hand to their callback: adds details to the span and
 * to its end event. Every method is safe to call at any time and never throws.
 */
export class AgentSpan {
  /** Where the end data goes when a wrapper started the span (useHandover); else a table by span. */
  private handover: SpanHandover | undefined = undefined;
  /** The error type an earlier fail() gave the span: a later fail() that names none keeps it. */
  private failedType: string | undefined = undefined;

  constructor(
    /** The underlying OpenTelemetry span, for anything not covered here. */
    readonly span: Span,
    readonly kind: SpanKindName,
  ) {}

  /**
   * Adds fields to the end event's data (and primitive ones to the span's attributes). The data is
   * cleaned first, as track()'s is (long strings cut, secrets redacted, at most 1,000 keys); a
   * value that is not an object goes under `value` (a string was spread into one field per character).
   */
  set(data: EventData): this {
    try {
      if (afterEnd(this, 'set')) return this;
      if (data !== undefined && data !== null && (typeof data !== 'object' || Array.isArray(data))) {
        warnOnce('span-set-data', 'span.set(): data should be an object; other values are recorded under data.value');
      }
      const clean = safeData(data, { maxStringLength: currentRun()?.config.maxStringLength ?? DEFAULT_MAX_STRING_LENGTH });
      this.addEndData(clean);
      const keys = Object.keys(clean);
      for (let i = 0; i < keys.length; i++) {
        const value = clean[keys[i]];
        if (isAttributeValue(value)) this.span.setAttribute(`${sc.ATTR_AUTOPSY_DATA_PREFIX}${keys[i]}`, value);
      }
    } catch (error) {
      reportError(error, 'span data could not be set');
    }
    return this;
  }

  /**
   * Token usage of an LLM call (`gen_ai.usage.*` on the span; input_tokens, output_tokens,
   * tokens_used in the event, and cache_read_input_tokens, cache_creation_input_tokens and
   * reasoning_tokens when given).
   */
  setUsage(usage: TokenUsage): this {
    try {
      if (afterEnd(this, 'setUsage')) return this;
      if (usage === null || typeof usage !== 'object') {
        warnOnce('set-usage', 'span.setUsage() takes an object such as { inputTokens, outputTokens }; nothing was recorded');
        return this;
      }
      const input = tokenCount(usage, 'inputTokens');
      const output = tokenCount(usage, 'outputTokens');
      // Without an explicit total, tokens_used is worked out when the span ends from the counts on
      // it (setUsage called twice, or a count filled in by an instrumented call inside it).
      const total = tokenCount(usage, 'totalTokens');
      const data: EventData = {};
      if (input !== undefined) {
        data.input_tokens = input;
        this.span.setAttribute(sc.ATTR_GEN_AI_USAGE_INPUT_TOKENS, input);
      }
      if (output !== undefined) {
        data.output_tokens = output;
        this.span.setAttribute(sc.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS, output);
      }
      if (total !== undefined) data.tokens_used = total;
      // Most calls give no shares: three reads, not a loop, for them.
      if (usage.cacheReadInputTokens !== undefined || usage.cacheCreationInputTokens !== undefined || usage.reasoningTokens !== undefined) {
        for (const [key, field, attribute] of USAGE_DETAILS) {
          const value = tokenCount(usage, key);
          if (value === undefined) continue;
          data[field] = value;
          this.span.setAttribute(attribute, value);
        }
      }
      this.addEndData(data);
    } catch (error) {
      reportError(error, 'token usage could not be set');
    }
    return this;
  }

  /**
   * Outcome of a code execution: exit code, the tail of stderr, the command. A non-zero exit code
   * marks the execution failed (its end is a code_exec_error), as for child processes; the error
   * message is the exit code and the last line of stderr (`exit code 1: NameError: …`).
   */
  setResult(result: CodeExecResult): this {
    try {
      if (afterEnd(this, 'setResult')) return this;
      const data: EventData = {};
      if (result?.exitCode !== undefined) data.exit_code = result.exitCode;
      if (typeof result?.stderr === 'string' && result.stderr.length > 0) data.stderr_tail = result.stderr.slice(-STDERR_TAIL);
      if (typeof result?.command === 'string') data.command = result.command;
      // Cleaned as set() cleans (a command is clipped, secrets redacted, an exit code that is an
      // object made safe): end data reaches the event as it is, and the span's attributes reach the
      // app's own exporters as they are (a command line may hold a password).
      const clean = safeData(data, { maxStringLength: currentRun()?.config.maxStringLength ?? DEFAULT_MAX_STRING_LENGTH });
      if (typeof clean.exit_code === 'number') this.span.setAttribute(sc.ATTR_CODE_EXIT_CODE, clean.exit_code);
      if (typeof clean.stderr_tail === 'string') this.span.setAttribute(sc.ATTR_CODE_STDERR_TAIL, clean.stderr_tail);
      if (typeof clean.command === 'string') this.span.setAttribute(sc.ATTR_CODE_COMMAND, clean.command);
      this.addEndData(clean);
      if (typeof result?.exitCode === 'number' && result.exitCode !== 0) {
        const lastLine = lastNonEmptyLine(typeof clean.stderr_tail === 'string' ? clean.stderr_tail : '');
        this.fail(lastLine ? `exit code ${result.exitCode}: ${lastLine}` : `exit code ${result.exitCode}`, 'NonZeroExitCode');
      }
    } catch (error) {
      reportError(error, 'code execution result could not be set');
    }
    return this;
  }

  /** `data` is clean (safeData, or numbers checked as setUsage checks them) and new: it is kept, not copied. */
  private addEndData(data: EventData): void {
    if (this.handover) addHandoverEndData(this.handover, data);
    else addEndData(this.span, data);
  }

  /**
   * Marks the span failed without throwing (e.g. a non-zero exit code the caller handles). Given
   * the error itself (`catch (e) { span.fail(e) }`), its message is recorded and its class is the
   * error type; another value is recorded as text. A later call that names no type (`fail('more
   * context')` after `fail(error)`) keeps the type the span already failed with, as its exception
   * event does, so the span's `error.type` and the end event's `error_type` agree. The error's
   * exception event is written now, whatever ends the span afterwards (the wrapper, the app's own
   * `.span.end()`, or the exit while it is still open). Its stack is read now too: with source maps
   * on, the first stack a process formats is slow to read, and that time is the app's own, inside
   * the span, as when the app logs the error.
   */
  fail(message?: unknown, errorType?: string): this {
    try {
      if (afterEnd(this, 'fail')) return this;
      // Redacted here, not only by our exporters: with the app's own provider, its exporters send
      // the status as it is (a message may quote a key). Clipped as the event's error is.
      const max = currentRun()?.config.maxStringLength ?? DEFAULT_MAX_STRING_LENGTH;
      const text = typeof message === 'string' ? safeString(message, max) : message === undefined ? message : errorMessage(message, max);
      const type =
        (typeof errorType === 'string' ? safeString(errorType, max) : message instanceof Error ? errorClassName(message, max) : undefined) ||
        this.failedType;
      this.failedType = type;
      this.span.setStatus({ code: 2, message: text });
      this.span.setAttribute(sc.ATTR_ERROR_TYPE, type || sc.ERROR_TYPE_OTHER);
      // The error itself: its exception event (with the stack), as a thrown one gets.
      if (message instanceof Error && takeFailException(this.span, message)) writeExceptionEvent(this.span, message, type);
    } catch (error) {
      reportError(error, 'span status could not be set');
    }
    return this;
  }
}

/** The footer Node prints last on stderr when a program crashes: its version, not the error. */
const NODE_CRASH_FOOTER = /^Node\.js v\d+\.\d+\.\d+/;
/** The line of a Node crash that names the error, above its stack: `TypeError: …`, `Error: …`. */
const NODE_ERROR_LINE = /^(?:[A-Za-z_$][\w$]*)?(?:Error|Exception)\b/;

/**
 * A traceback's last line names the error (`NameError: name 'x' is not defined`). A crashed Node
 * program's last line is Node's footer (`Node.js v20.20.2`): its error line above the stack is used.
 */
function lastNonEmptyLine(text: string): string {
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    let line = lines[i].trim();
    if (line === '') continue;
    if (NODE_CRASH_FOOTER.test(line)) {
      for (let j = i - 1; j >= 0; j--) {
        const above = lines[j].trim();
        if (NODE_ERROR_LINE.test(above)) {
          line = above;
          break;
        }
      }
    }
    return line.length > 500 ? `${line.slice(0, 500)}…` : line;
  }
  return '';
}

function isAttributeValue(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}
