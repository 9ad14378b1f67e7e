import type { Attributes, Span } from '@opentelemetry/api';
import { InstrumentationNodeModuleDefinition, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { withSpanIfObserved } from '../AutopsyContextManager';
import { nowMs } from '../clock';
import * as sc from '../semconv';
import { observeApiPromise, once } from '../observePromise';
import { realSetTimeout } from '../realTimers';
import { warnOnce } from '../runtime';
import { serverOf } from '../serverAddress';
import { supersedeEnclosingLlmSpan } from '../supersededSpans';
import { guard, streamReader, type StreamObserver } from './observedStream';
import { SafeInstrumentationBase } from './SafeInstrumentationBase';

export { guard, type StreamObserver } from './observedStream';

/*
 * What tracing a call of the `openai` and `@anthropic-ai/sdk` clients shares. Both are generated
 * by Stainless: a resource method (`chat.completions.create`, `messages.create`) returns an
 * APIPromise of the parsed body, or of a `Stream` whose `iterator` reads the server-sent events;
 * the client builds each attempt's request in `buildRequest(options, { retryCount })`.
 */

/* eslint-disable @typescript-eslint/no-explicit-any */
export type AnyFunction = (...args: any[]) => any;

/**
 * An instrumentation of a Stainless client package: it notes the versions it patched (told
 * apart on the wire by their `X-Stainless-Package-Version` header) and counts each call's retries
 * through the client's `buildRequest`. Subclasses name their module and its resources' `create`
 * methods (clientModule()), each wrapped with traceCalls().
 */
export abstract class StainlessClientInstrumentation<Config extends InstrumentationConfig> extends SafeInstrumentationBase<Config> {
  /** The versions of the client modules patched here. */
  private readonly patchedVersions = new Set<string>();
  /** The prototypes whose `create` is wrapped here, with the method's name and the wrapper it got (the latest, after a disable() and enable()). */
  private readonly wrapped = new Map<any, { method: string; wrapper: AnyFunction }>();
  private checkScheduled = false;

  /** The client package's name, for what the instrumentation says. */
  protected abstract readonly packageName: string;
  /** What the "re-wrapped" warning adds about the instrumentations known to do it, and the part of them to disable. */
  protected abstract readonly replacedNote: { known: string; part: string };

  /**
   * The calls of the client of this version are traced: its module was patched here (and its calls
   * are recorded by this instrumentation's wrapper, another instrumentation's that replaced it, or
   * the client itself).
   */
  tracesVersion(version: string): boolean {
    return this.patchedVersions.has(version) && this.isEnabled();
  }

  /**
   * The definition of the client's module `name` (versions `versions`): as it loads, the `create`
   * of each of `methods(module)` is wrapped with its patch (none found: said, and nothing is
   * traced), the version noted, the client class's `buildRequest` wrapped to count retries, and a
   * look taken later at whether another instrumentation replaced the wrappers; undone as it unloads.
   */
  protected clientModule(name: string, versions: string[], methods: (module: any) => CreateMethod[], clientClass: (module: any) => unknown): InstrumentationNodeModuleDefinition {
    return new InstrumentationNodeModuleDefinition(
      name,
      versions,
      (module: any, moduleVersion?: string) => {
        const found = methods(module);
        if (found.length === 0) {
          this._diag.warn(`${name}: no resource class found, calls are not traced`);
          return module;
        }
        for (const { owner, method, patch } of found) {
          this._wrap(owner, 'create', patch);
          this.wrapped.set(owner, { method, wrapper: owner.create });
        }
        this.checkWrappersLater();
        if (moduleVersion !== undefined) this.patchedVersions.add(moduleVersion);
        const owner = buildRequestOwner(clientClass(module));
        if (owner) this._wrap(owner, 'buildRequest', patchBuildRequest);
        else this._diag.warn(`${name}: no buildRequest found, the retries of a call are not counted`);
        return module;
      },
      (module: any, moduleVersion?: string) => {
        if (moduleVersion !== undefined) this.patchedVersions.delete(moduleVersion);
        for (const { owner } of methods(module)) {
          this._unwrap(owner, 'create');
          this.wrapped.delete(owner);
        }
        const owner = buildRequestOwner(clientClass(module));
        if (owner) this._unwrap(owner, 'buildRequest');
      },
    );
  }

  /** The patch of a resource's `create` (traceCreate()), enabled with this instrumentation. */
  protected traceCalls(tracing: Omit<CallTracing, 'isEnabled' | 'startFailed'>): (original: AnyFunction) => AnyFunction {
    return traceCreate({
      ...tracing,
      isEnabled: () => this.isEnabled(),
      startFailed: (error) => this._diag.error(`${this.packageName}: the span could not be started`, error),
    });
  }

  /**
   * Another instrumentation that wraps `create` with InstrumentationBase._wrap after this one
   * (OpenLLMetry's, @opentelemetry/instrumentation-openai) first removes this wrapper: the calls
   * are then recorded from its spans only, which may lack what this one records (failures, retries,
   * the first chunk). Looked at once the module has loaded (the other's hook runs in the same
   * require) and as the process exits (an instrumentation enabled later), and said once.
   */
  private checkWrappersLater(): void {
    if (this.checkScheduled) return;
    this.checkScheduled = true;
    realSetTimeout(() => this.warnIfReplaced(), 0).unref();
    process.once('exit', () => this.warnIfReplaced());
  }

  private warnIfReplaced(): void {
    try {
      const replaced: string[] = [];
      for (const [owner, { method, wrapper }] of this.wrapped) if (!wraps(owner.create, wrapper)) replaced.push(method);
      if (replaced.length === 0 || !this.isEnabled()) return;
      const { known, part } = this.replacedNote;
      warnOnce(
        `${this.packageName}-wrapper-replaced`,
        `another instrumentation re-wrapped ${this.packageName}'s ${replaced.join(', ')} and removed agent-autopsy's own wrapper: those calls are recorded from its spans only, which may lack failures, retries and the time to first chunk${known}; disable that instrumentation's ${part} part to keep agent-autopsy's (README, "Beside an existing OpenTelemetry setup")`,
      );
    } catch {
      /* a module that cannot be read: nothing to say */
    }
  }
}

/** A resource method a client instrumentation wraps: `owner.create`, named `method` (`chat.completions.create` …). */
export interface CreateMethod {
  owner: any;
  method: string;
  patch: (original: AnyFunction) => AnyFunction;
}

/** How one client's calls are traced by traceCreate(). */
export interface CallTracing {
  isEnabled(): boolean;
  /** Whether this call is left untraced (a client that traces its calls itself). */
  skip?(client: any): boolean;
  /** Starts the call's span; `client` is the resource's client (`this._client`). */
  start(client: any, params: Record<string, any>): Span;
  /** A span that could not be started: the call goes on untraced. */
  startFailed(error: unknown): void;
  /** The call's parsed result arrived: a body (the span is ended) or a Stream (traceStream()). */
  result(span: Span, params: Record<string, any>, value: any): void;
  /** The call failed: records it on the span and ends it. */
  fail(span: Span, error: unknown): void;
}

/**
 * A wrapper for a resource's `create`: the host call always runs, and what it returns is the very
 * object the client made; a failure of the telemetry never changes it. The outcome is taken from
 * the consumption the app starts (observeApiPromise): the response is never read here. A call
 * whose result the app only takes with `.asResponse()` (the raw HTTP response) is never parsed:
 * its span ends when the response arrives, without usage or finish reasons.
 */
function traceCreate(tracing: CallTracing): (original: AnyFunction) => AnyFunction {
  return (original) =>
    function tracedCreate(this: { _client?: any }, ...args: unknown[]) {
      if (!tracing.isEnabled()) return original.apply(this, args);
      const params = (args[0] ?? {}) as Record<string, any>;
      let span: Span | undefined;
      try {
        if (!tracing.skip?.(this?._client)) {
          supersedeEnclosingLlmSpan();
          span = tracing.start(this?._client, params);
        }
      } catch (error) {
        tracing.startFailed(error);
      }
      // Called once whatever happened above, outside the try: what it throws is the app's.
      if (span === undefined) return original.apply(this, args);
      const callArgs = withCallAttempts(args, span);
      const traced = span;
      let result: any;
      try {
        result = withSpanIfObserved(traced, () => original.apply(this, callArgs));
      } catch (error) {
        // The client threw before sending anything (an argument it refuses): the call failed there.
        guard(() => tracing.fail(traced, error));
        throw error;
      }
      const settle = once({
        value: (value: any) => tracing.result(traced, params, value),
        error: (error: unknown) => tracing.fail(traced, error),
        // Only the raw HTTP response was taken (`.asResponse()`): the body is the app's to read.
        response: () => traced.end(),
      });
      if (observeApiPromise(result, settle)) return result;
      if (result && typeof result.then === 'function') result.then(settle.value, settle.error);
      else traced.end();
      return result;
    };
}

/** The request-options key that carries a call's CallAttempts to buildRequest (see countAttempt). */
const CALL_ATTEMPTS = Symbol('agent-autopsy.clientCall');

/** The attempts the client made for one traced call so far. */
class CallAttempts {
  attempts = 0;
  constructor(readonly span: Span) {}

  /** What the SDK's debug log prints for it (it logs the request options): not the whole span. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `agent-autopsy call (${this.attempts} attempt${this.attempts === 1 ? '' : 's'})`;
  }
}

/**
 * `create`'s arguments with a copy of its request options (the second argument) that also holds
 * the call's CallAttempts; the arguments as they are when the options are no object or cannot be
 * copied (a getter that throws: the SDK then meets it as it would have).
 */
function withCallAttempts(args: unknown[], span: Span): unknown[] {
  try {
    const options = args[1];
    if (options !== undefined && (options === null || typeof options !== 'object')) return args;
    const copy = args.length > 2 ? args.slice() : [args[0], undefined];
    copy[1] = { ...(options as object), [CALL_ATTEMPTS]: new CallAttempts(span) };
    return copy;
  } catch {
    return args;
  }
}

/**
 * The prototype that defines `buildRequest`, walking up from the client class `client` (OpenAI's
 * in openai 5.x – 7.x, BaseAnthropic's in @anthropic-ai/sdk 0.50 on, APIClient's before).
 */
function buildRequestOwner(client: unknown): any {
  let proto = typeof client === 'function' ? client.prototype : undefined;
  while (proto && proto !== Object.prototype) {
    if (Object.prototype.hasOwnProperty.call(proto, 'buildRequest') && typeof proto.buildRequest === 'function') return proto;
    proto = Object.getPrototypeOf(proto);
  }
  return undefined;
}

/**
 * Counts each attempt of a traced call before its request is built. The client retries a failed
 * request itself (429, 5xx, timeouts; `maxRetries`, 2 by default) before the app sees an error. To
 * count those attempts, `create` hands the SDK a copy of the call's request options with one more
 * key (a symbol, with the call's CallAttempts), which the SDK carries into `buildRequest(options,
 * { retryCount })`, called once per attempt with the SDK's own count of retries (the one it sends
 * as `X-Stainless-Retry-Count`): from the second attempt on the span gets
 * `http.request.resend_count`, as @anthropic-ai/sdk 1.x's own spans have it. Not `prepareRequest`,
 * the documented hook: an app's subclass that overrides it need not call the client's empty one
 * (AzureOpenAI's buildRequest calls the client's). Nothing reaches the request or the server; a
 * client version that stopped carrying the key only loses the count.
 */
function patchBuildRequest(original: AnyFunction): AnyFunction {
  return function tracedBuildRequest(this: unknown, ...args: unknown[]) {
    guard(() => countAttempt((args[0] as Record<symbol, unknown> | undefined)?.[CALL_ATTEMPTS], (args[1] as { retryCount?: unknown } | undefined)?.retryCount));
    return original.apply(this, args);
  };
}

/** `retryCount` is the SDK's own count; the attempts seen so far stand in where a version gives none. */
function countAttempt(call: unknown, retryCount: unknown): void {
  if (!(call instanceof CallAttempts)) return;
  call.attempts++;
  const resends = typeof retryCount === 'number' && Number.isSafeInteger(retryCount) && retryCount >= 0 ? retryCount : call.attempts - 1;
  if (resends > 0 && call.span.isRecording()) {
    call.span.setAttribute(sc.ATTR_HTTP_REQUEST_RESEND_COUNT, resends);
    (call.span as Span & { [RESENT_AT]?: number })[RESENT_AT] = nowMs();
  }
}

/** When the client sent a call's request again, the last time (epoch ms, the run's clock): a field on its span. */
const RESENT_AT = Symbol('agent-autopsy.resentAt');

/**
 * A streamed call's result: `value` is the client's Stream, whose `iterator` every way of reading
 * it goes through (`Stream#[Symbol.asyncIterator]()`, `tee()`, the SDKs' stream helpers); it is
 * replaced with one that reads the stream through for the app and ends the span however the
 * reading ends. False when `value` is no such stream.
 */
export function traceStream(span: Span, value: any, observer: () => StreamObserver): boolean {
  if (!value || typeof value.iterator !== 'function') return false;
  const iterator = value.iterator as () => AsyncIterator<unknown>;
  // Timed from when the request that answered was sent: the span's start, or the client's last
  // retry (its wait before it is the retry's, counted in failed_attempts, not the model's).
  const read = streamReader(span, (span as Span & { [RESENT_AT]?: number })[RESENT_AT]);
  value.iterator = function tracedIterator(this: unknown) {
    return read(iterator.call(this), observer());
  };
  return true;
}

/**
 * `server.address` and `server.port` of a client's base URL, keeping the last one: an app talks
 * to one endpoint, and parsing it each call costs ~5 µs. One per instrumentation.
 */
export function serverAttributesCache(): (baseURL: string | undefined) => Readonly<Attributes> {
  let lastBaseURL: string | undefined;
  let lastAttributes: Readonly<Attributes> = {};
  return (baseURL) => {
    if (!baseURL) return {};
    if (baseURL !== lastBaseURL) {
      const server = serverOf(baseURL);
      lastAttributes = server ? Object.freeze({ [sc.ATTR_SERVER_ADDRESS]: server.address, [sc.ATTR_SERVER_PORT]: server.port }) : {};
      lastBaseURL = baseURL;
    }
    return lastAttributes;
  };
}

/** Whether `fn` is `wrapper` or wraps it (shimmer keeps the wrapped function as `__original`), a few layers down. */
function wraps(fn: unknown, wrapper: AnyFunction): boolean {
  let current = fn;
  for (let depth = 0; depth < 8 && typeof current === 'function'; depth++) {
    if (current === wrapper) return true;
    current = (current as AnyFunction & { __original?: unknown }).__original;
  }
  return false;
}

