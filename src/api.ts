import { context, INVALID_SPAN_CONTEXT, SpanKind, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { AgentSpan, markEnded, useHandover } from './AgentSpan';
import { instantNow, type Instant } from './clock';
import { clipString, DEFAULT_MAX_STRING_LENGTH, errorClassName, errorMessage, httpStatusOf, safeData, safeString } from './safeValue';
import { recordException } from './exceptionEvent';
import { reportError } from './errorHandler';
import { redactString } from './redact';
import type { SpanKindName } from './eventTypes';
import * as sc from './semconv';
import { currentRun, getAutopsyTracer, warnOnce } from './runtime';
import { genAiProviderName, genAiSystemName } from './providerName';
import { parkHandover, type SpanHandover } from './spanData';
import { noteErrorStage } from './spanStage';
import { endSpanAt } from './spanEndTime';
import { endAfterNestedLlm } from './streamedLlmCalls';
import { ownSpanAttributes } from './ownSpanAttributes';
import { StreamChunks } from './StreamChunks';
import { generatorKind, tracedGenerator } from './tracedGenerator';
import { trackedParentContext } from './track';
import { observePromiseSubclass, once } from './observePromise';
import type { EventData } from './types';

export type SpanCallback<T> = (span: AgentSpan) => T;

export interface StageAttributes {
  /** Stage id (e.g. 'stage1'); the first argument when given as a string. */
  stage?: string;
  name?: string;
  [key: string]: unknown;
}

export interface LlmCallAttributes {
  model?: string;
  provider?: string;
  /** GenAI operation name: chat (default), text_completion, embeddings … */
  operation?: string;
  [key: string]: unknown;
}

export interface CodeExecAttributes {
  language?: string;
  [key: string]: unknown;
}

export interface AutofixAttributes {
  /** Repair depth 1–3 (written as layer1 … layer3 in autofix_log.json). */
  layer?: number | string;
  /** What was repaired, e.g. 'syntax'. */
  type?: string;
  [key: string]: unknown;
}

type Args<A, T> = [nameOrAttrs: string | A, fn: SpanCallback<T>] | [name: string, attrs: A, fn: SpanCallback<T>];

interface SpanSpec {
  kind: SpanKindName;
  name: string;
  data: EventData;
  attributes: Attributes;
}

interface ParsedArgs<A, T> {
  /** The name given as the first argument, clipped at `max`. */
  label?: string;
  attrs: A;
  fn: SpanCallback<T>;
  /** The run's maxStringLength: names and ids made from the arguments are clipped to it. */
  max: number;
}

function parseArgs<A extends Record<string, unknown>, T>(args: unknown[], call: string): ParsedArgs<A, T> {
  const fn = args[args.length - 1];
  if (typeof fn !== 'function') {
    throw new TypeError('agent-autopsy: the last argument must be the function to run inside the span');
  }
  const max = currentRun()?.config.maxStringLength ?? DEFAULT_MAX_STRING_LENGTH;
  let first = args.length > 1 ? args[0] : undefined;
  const second = args.length > 2 ? args[1] : undefined;
  if (typeof first === 'number' || typeof first === 'bigint' || typeof first === 'boolean') {
    // stage(i, fn) in plain JavaScript: the span was named 'stage', as if no name had been given.
    warnOnce(`${call}-name`, `${call}(): the name should be a string, got ${typeof first} ${String(first)}; it is recorded as ${JSON.stringify(String(first))}`);
    first = String(first);
  }
  if (args.length > 2 && second !== undefined && second !== null && !isObject(second)) {
    warnOnce(`${call}-attributes`, `${call}(): the attributes should be an object, got ${Array.isArray(second) ? 'an array' : `a ${typeof second}`}; they were not recorded`);
  }
  // The name is cleaned as data strings are (secrets redacted, cut at max): it becomes the span's
  // name and a value in every event and report that names the span.
  if (typeof first === 'string') return { label: safeString(first, max), attrs: cleanAttributes<A>(second, max), fn: fn as SpanCallback<T>, max };
  return { attrs: cleanAttributes<A>(first, max), fn: fn as SpanCallback<T>, max };
}

const NO_ATTRIBUTES = Object.freeze({});

/**
 * The user's attributes as plain, safe data (secrets redacted, long strings cut, getters that
 * throw contained) before anything spreads them: nothing about them can throw into the host.
 */
function cleanAttributes<A>(value: unknown, max: number): A {
  // Shared and frozen: the wrappers only read the attributes (they copy them into the data).
  if (!isObject(value)) return NO_ATTRIBUTES as A;
  return safeData(value, { maxStringLength: max }) as A;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** What `fn` returned, as far as ending its span goes. */
const PLAIN = 0;
/** A native promise (its constructor is Promise itself). */
const NATIVE_PROMISE = 1;
/** An instance of a Promise subclass (openai's APIPromise …), returned as it is: see observePromise.ts. */
const PROMISE_SUBCLASS = 2;
/** Any other object with a then() method (a query builder …), adopted once with Promise.resolve. */
const THENABLE = 3;
/** A native generator (`function*`, `async function*`): the span ends when it does (tracedGenerator.ts). */
const GENERATOR = 4;

/**
 * Reading `then` or `constructor` runs the app's code (a getter, a Proxy trap): whatever fails
 * while looking makes the result a plain value, returned untouched.
 */
function resultShape(value: unknown): number {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return PLAIN;
  try {
    if (value instanceof Promise) return value.constructor === Promise ? NATIVE_PROMISE : PROMISE_SUBCLASS;
    if (typeof (value as PromiseLike<unknown>).then === 'function') return THENABLE;
    return generatorKind(value) === undefined ? PLAIN : GENERATOR;
  } catch {
    return PLAIN;
  }
}

/**
 * Records a thrown value on the span: ERROR status, error type, HTTP status and exception event
 * (at `time`, a `performance.now()` reading as the SDK takes it, when given: the span's end, read
 * before this). Each step is guarded on its own, the status first: a value that throws when read
 * (a getter, a Proxy's trap) loses what cannot be read, never the failure itself.
 */
export function recordFailure(span: Span, error: unknown, time?: number): void {
  let problem: unknown;
  try {
    // The span's stage is set when the run turns its queued start into an event (SpanMark): do it
    // now, so the error keeps the stage, a string. Kept as a WeakMap's value, the span would live
    // until a full GC (+25 MB RSS in a storm of failing calls, bench/README.md item 29).
    currentRun()?.settleSpans();
    noteErrorStage(error, span);
  } catch (failure) {
    problem = failure;
  }
  // Redacted here, not only by our exporters: with the app's own provider, its exporters send
  // this span as it is (an OpenAI 401 message quotes the key). errorMessage never throws.
  const message = redactString(errorMessage(error) + causeNote(error));
  try {
    span.setStatus({ code: 2, message });
  } catch (failure) {
    problem ??= failure;
  }
  let type: string | undefined;
  try {
    type = errorClassName(error);
    // An error whose class has no name still failed the span: the conventions' fallback, as fail() gives.
    span.setAttribute(sc.ATTR_ERROR_TYPE, type || sc.ERROR_TYPE_OTHER);
    const status = httpStatusOf(error);
    if (status !== undefined) span.setAttribute(sc.ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  } catch (failure) {
    problem ??= failure;
  }
  try {
    if (error instanceof Error) {
      recordException(span, error, type, time);
    } else {
      span.recordException({ name: 'NonErrorThrown', message }, time);
    }
  } catch (failure) {
    problem ??= failure;
  }
  if (problem !== undefined) reportError(problem, 'part of the error could not be recorded on its span');
}

/**
 * recordFailure, then ends the span at the time it failed, read before the error's stack is (slow
 * the first time with source maps on, see spanEndTime.ts): for the instrumentations' spans, which
 * no AgentSpan handle ends. `errorType`, when given, is the span's `error.type` in place of the
 * error's class (a client's own name for the failure). Throws what `span.end()` throws.
 */
export function recordFailureAndEnd(span: Span, error: unknown, errorType?: string): void {
  const at = instantNow();
  recordFailure(span, error, at.sdk);
  if (errorType !== undefined) span.setAttribute(sc.ATTR_ERROR_TYPE, errorType);
  endSpanAt(span, at);
}

/**
 * The system or socket error behind an error that has no code of its own: undici's
 * `TypeError: terminated` (a connection dropped while a body or stream was read) says why only in
 * its cause (`SocketError: other side closed`, code UND_ERR_SOCKET). Empty otherwise.
 */
function causeNote(error: unknown): string {
  try {
    if (!(error instanceof Error) || (error as { code?: unknown }).code !== undefined) return '';
    const cause = error.cause;
    if (!(cause instanceof Error)) return '';
    const code = (cause as { code?: unknown }).code;
    if (typeof code !== 'string' || code === '') return '';
    // Clipped only: recordFailure redacts the whole message it is part of.
    return clipString(` (cause: ${code}: ${String(cause.message)})`, DEFAULT_MAX_STRING_LENGTH);
  } catch {
    return '';
  }
}

function runInSpan<T>(spec: SpanSpec, fn: SpanCallback<T>, onResult?: (handle: AgentSpan, value: unknown) => void): T {
  let tracer: Tracer;
  let span: Span;
  let handle: AgentSpan;
  let parent = context.active();
  try {
    // Inside a seed-style span (`track('stage_start')` …) opened after the active one, that span is the parent.
    const run = currentRun();
    if (run) parent = trackedParentContext(run, spec.kind) ?? parent;
    tracer = getAutopsyTracer();
    const handover: SpanHandover = { data: spec.data, clean: true, endData: undefined, endClean: false };
    parkHandover(handover);
    try {
      // An LLM call is a request to a model served elsewhere: CLIENT, as the GenAI conventions ask
      // of inference spans (and as instrumented clients' spans are); the rest are the app's own work.
      span = tracer.startSpan(spec.name, spec.kind === 'llm' ? { kind: SpanKind.CLIENT, attributes: spec.attributes } : { attributes: spec.attributes }, parent);
    } finally {
      parkHandover(undefined);
    }
    handle = new AgentSpan(span, spec.kind);
    useHandover(handle, handover);
  } catch (error) {
    // The host's work runs whatever happens to the instrumentation.
    reportError(error, 'span could not be started');
    return fn(new AgentSpan(trace.wrapSpanContext(INVALID_SPAN_CONTEXT), spec.kind));
  }
  let result: T;
  const active = trace.setSpan(parent, span);
  try {
    result = context.with(active, fn, undefined, handle);
  } catch (error) {
    failSpan(handle, span, error);
    throw error;
  }
  const shape = resultShape(result);
  if (shape !== PLAIN) {
    const returned = endWhenSettled(result, shape, handle, span, active, onResult);
    if (returned !== UNOBSERVED) return returned as T;
  }
  if (onResult) onResult(handle, result);
  endSpan(handle, span, true);
  return result;
}

/**
 * Records the error of a callback that failed and ends its span, at the time it failed: read
 * before the error is recorded, which reads its stack (slow the first time with source maps on,
 * see spanEndTime.ts).
 */
function failSpan(handle: AgentSpan, span: Span, error: unknown): void {
  const at = instantNow();
  recordFailure(span, error, at.sdk);
  endSpan(handle, span, false, at);
}

/**
 * Ends the span of a callback that failed (its error is recorded, `at` read before), or of one
 * that succeeded: then the SDK and the span processor read their clocks as it ends.
 */
function endSpan(handle: AgentSpan, span: Span, succeeded = false, at?: Instant): void {
  markEnded(handle);
  try {
    // A call whose stream is still being read (an instrumentation's request inside it is open)
    // ends with it; a call whose callback failed ends now, with its error.
    if (succeeded && handle.kind === 'llm' && endAfterNestedLlm(span)) return;
    if (at === undefined) span.end();
    else endSpanAt(span, at);
  } catch (error) {
    reportError(error, 'span could not be ended');
  }
}

const UNOBSERVED = Symbol('unobserved');

/**
 * Ends the span when a promise-like result settles, and returns what the wrapper returns then; a
 * result that cannot be observed is UNOBSERVED (the caller ends the span now). Apart from
 * runInSpan, so that the synchronous path allocates no closures.
 */
function endWhenSettled<T>(result: T, shape: number, handle: AgentSpan, span: Span, active: Context, onResult: ((handle: AgentSpan, value: unknown) => void) | undefined): T | typeof UNOBSERVED {
  if (shape === GENERATOR) return traceGenerator(result as object, handle, span, active, onResult) as T;
  if (shape === NATIVE_PROMISE || shape === THENABLE) {
    // A derived promise, as any async wrapper returns: it settles with the same value or error,
    // and one the app ignores still rejects unhandled, as the original would have.
    return Promise.resolve(result).then(
      (value) => {
        // `async () => produce()`: the generator it resolves to is the work.
        if (isGenerator(value)) return traceGenerator(value, handle, span, active, onResult);
        if (onResult) onResult(handle, value);
        endSpan(handle, span, true);
        return value;
      },
      (error: unknown) => {
        failSpan(handle, span, error);
        throw error;
      },
    ) as T;
  }
  // A Promise subclass: the very object, with its own methods (`.withResponse()` …); the span
  // ends with the outcome of the app's own consumption of it.
  const succeeded = (value: unknown) => {
    if (onResult) onResult(handle, value);
    endSpan(handle, span, true);
  };
  const failed = (error: unknown) => failSpan(handle, span, error);
  return observePromiseSubclass(result as object, once({ value: succeeded, error: failed, response: succeeded })) ? result : UNOBSERVED;
}

/** A resolved value is only looked at for its tag (it went through `then` lookups as it resolved). */
function isGenerator(value: unknown): value is object {
  if (value === null || typeof value !== 'object') return false;
  try {
    return generatorKind(value) !== undefined;
  } catch {
    return false;
  }
}

/**
 * A generator the callback returned: each step runs in the span's context, and the span ends when
 * it is done (or failed). An llm call's generator streams its answer: the call is marked streamed
 * (`gen_ai.request.stream`) and the first value it yields is its first chunk (StreamChunks),
 * timed from the call's start.
 */
function traceGenerator(generator: object, handle: AgentSpan, span: Span, active: Context, onResult: ((handle: AgentSpan, value: unknown) => void) | undefined): object {
  const chunks = handle.kind === 'llm' ? streamChunksFor(span) : undefined;
  return tracedGenerator(
    generator as Generator,
    generatorKind(generator)!,
    active,
    (outcome) => {
      if (outcome.failed) {
        failSpan(handle, span, outcome.error);
        return;
      }
      if (onResult) onResult(handle, outcome.value);
      endSpan(handle, span, true);
    },
    chunks,
  );
}

/** The StreamChunks of an llm call whose callback returned a generator; undefined when it cannot be made. */
function streamChunksFor(span: Span): StreamChunks | undefined {
  try {
    if (span.isRecording()) span.setAttribute(sc.ATTR_GEN_AI_REQUEST_STREAM, true);
    // When the call started, by the run's clock (the time to first chunk counts from there).
    return new StreamChunks(span, currentRun()?.spanStartMs(span) ?? NaN);
  } catch (error) {
    reportError(error, 'the stream of an llm call could not be timed');
    return undefined;
  }
}

/** Runs `fn` inside a stage span: `stage('stage1', { name: 'Problem Analysis' }, fn)`. */
export function stage<T>(...args: Args<StageAttributes, T>): T {
  const { label, attrs, fn, max } = parseArgs<StageAttributes, T>(args, 'stage');
  // A string attribute is already clipped; another value (an array …) can print long.
  const id = clipString(String(label ?? attrs.stage ?? attrs.id ?? attrs.name ?? 'stage'), max);
  // Object.assign, not a spread: the span processor may add keys (bench/README.md, item 1).
  const data: EventData = Object.assign({ stage: id }, attrs);
  data.stage = id;
  return runInSpan(
    {
      kind: 'stage',
      name: `stage ${id}`,
      data,
      attributes: ownSpanAttributes('stage', data, ['stage'], sc.ATTR_AUTOPSY_STAGE, id),
    },
    fn,
  );
}

export interface TaskAttributes {
  /**
   * The task is a tool call of the agent's (`true`, or the tool's name when it is not the task's):
   * its span is then the GenAI conventions' `execute_tool` span, for backends that show tool calls.
   */
  tool?: boolean | string;
  /** The model's id for this tool call (`gen_ai.tool.call.id`), with `tool`. */
  toolCallId?: string;
  [key: string]: unknown;
}

const TASK_OWN_KEYS = ['task'];

/** Runs `fn` inside a task span: `task('data_processing', fn)`; a tool call: `task('web_search', { tool: true }, fn)`. */
export function task<T>(...args: Args<TaskAttributes, T>): T {
  const { label, attrs, fn, max } = parseArgs<TaskAttributes, T>(args, 'task');
  const name = clipString(String(label ?? attrs.task ?? attrs.name ?? 'task'), max);
  const data: EventData = Object.assign({ task: name }, attrs);
  data.task = name;
  // `tool` and `toolCallId` stay in autopsy.data.* too: an OTLP file of the spans reads back the events' data.
  const attributes = ownSpanAttributes('task', data, TASK_OWN_KEYS, sc.ATTR_AUTOPSY_TASK, name);
  let spanName: string;
  // Only `true` or a name: `tool: 0`, `null` or `''` left in the data by an app is no tool call.
  if (attrs.tool !== true && (typeof attrs.tool !== 'string' || attrs.tool === '')) {
    spanName = `task ${name}`;
  } else {
    // The GenAI conventions' execute_tool span (name, operation, tool): still a task to the autopsy.
    const tool = attrs.tool === true ? name : attrs.tool;
    attributes[sc.ATTR_GEN_AI_OPERATION_NAME] = sc.GEN_AI_OPERATION_EXECUTE_TOOL;
    attributes[sc.ATTR_GEN_AI_TOOL_NAME] = tool;
    if (typeof attrs.toolCallId === 'string') attributes[sc.ATTR_GEN_AI_TOOL_CALL_ID] = attrs.toolCallId;
    spanName = clipString(`${sc.GEN_AI_OPERATION_EXECUTE_TOOL} ${tool}`, max);
  }
  if (typeof data.stage === 'string') attributes[sc.ATTR_AUTOPSY_STAGE] = data.stage;
  return runInSpan({ kind: 'task', name: spanName, data, attributes }, fn);
}

/** Runs an LLM call inside an llm span: `llmCall({ model: 'gpt-4o', provider: 'openai' }, async (call) => …)`. */
export function llmCall<T>(...args: Args<LlmCallAttributes, T>): T {
  const { label, attrs, fn, max } = parseArgs<LlmCallAttributes, T>(args, 'llmCall');
  const data: EventData = label === undefined ? Object.assign({}, attrs) : Object.assign({ name: label }, attrs);
  const operation = String(attrs.operation ?? 'chat');
  const attributes = ownSpanAttributes('llm', data, ['model', 'provider', 'operation'], sc.ATTR_GEN_AI_OPERATION_NAME, operation);
  if (attrs.model !== undefined) attributes[sc.ATTR_GEN_AI_REQUEST_MODEL] = String(attrs.model);
  if (attrs.provider !== undefined) {
    const given = String(attrs.provider);
    const provider = genAiProviderName(given);
    attributes[sc.ATTR_GEN_AI_PROVIDER_NAME] = provider;
    attributes[sc.ATTR_GEN_AI_SYSTEM] = genAiSystemName(provider);
    // The name as given too, when it was changed: an OTLP file of the spans reads back the events' data.
    if (provider !== given) attributes[`${sc.ATTR_AUTOPSY_DATA_PREFIX}provider`] = given;
  }
  if (typeof data.stage === 'string') attributes[sc.ATTR_AUTOPSY_STAGE] = data.stage;
  const name = label ?? clipString(`${operation}${attrs.model !== undefined ? ` ${String(attrs.model)}` : ''}`, max);
  return runInSpan({ kind: 'llm', name, data, attributes }, fn);
}

/** Runs generated code inside a code_exec span: `codeExec({ language: 'python' }, async (exec) => …)`. */
export function codeExec<T>(...args: Args<CodeExecAttributes, T>): T {
  const { label, attrs, fn, max } = parseArgs<CodeExecAttributes, T>(args, 'codeExec');
  const data: EventData = label === undefined ? Object.assign({}, attrs) : Object.assign({ name: label }, attrs);
  const attributes = ownSpanAttributes('code_exec', data, ['language']);
  if (attrs.language !== undefined) attributes[sc.ATTR_CODE_LANGUAGE] = String(attrs.language);
  if (typeof data.stage === 'string') attributes[sc.ATTR_AUTOPSY_STAGE] = data.stage;
  const name = label ?? clipString(`code_exec${attrs.language !== undefined ? ` ${String(attrs.language)}` : ''}`, max);
  return runInSpan({ kind: 'code_exec', name, data, attributes }, fn);
}

/**
 * Runs one repair attempt inside an autofix span: `autofix({ layer: 1, type: 'syntax' }, () => tryFix())`.
 * The attempt failed when `fn` throws (or rejects) or returns `false`; anything else is a success.
 */
export function autofix<T>(...args: Args<AutofixAttributes, T>): T {
  const { label, attrs, fn, max } = parseArgs<AutofixAttributes, T>(args, 'autofix');
  const data: EventData = label === undefined ? Object.assign({}, attrs) : Object.assign({ name: label }, attrs);
  const attributes = ownSpanAttributes('autofix', data, ['layer', 'type']);
  if (attrs.layer !== undefined) attributes[sc.ATTR_AUTOFIX_LAYER] = String(attrs.layer);
  if (attrs.type !== undefined) attributes[sc.ATTR_AUTOFIX_TYPE] = String(attrs.type);
  if (typeof data.stage === 'string') attributes[sc.ATTR_AUTOPSY_STAGE] = data.stage;
  const name = label ?? clipString(`autofix${attrs.type !== undefined ? ` ${String(attrs.type)}` : ''}`, max);
  return runInSpan({ kind: 'autofix', name, data, attributes }, fn, (handle, value) => {
    try {
      handle.span.setAttribute(sc.ATTR_AUTOFIX_SUCCESS, value !== false);
    } catch {
      /* recorded as a success by default */
    }
  });
}
