import diagnosticsChannel from 'node:diagnostics_channel';
import { STATUS_CODES } from 'node:http';
import { SpanKind, SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import { InstrumentationBase, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { recordFailureAndEnd } from '../api';
import { reportError } from '../errorHandler';
import { currentRun } from '../runtime';
import { activeOwnSpan } from '../separateSpans';
import * as sc from '../semconv';
import { VERSION } from '../version';
import { llmEndpointOf, pathWithoutQuery } from './llmEndpoints';

export interface LlmRequestInstrumentationConfig extends InstrumentationConfig {
  /**
   * Whether the client that sent a request (told by its headers: `header(name)` reads one, by its
   * lower-case name) records its calls itself, or is instrumented (the openai client, the Anthropic
   * SDK with its own tracing on): its requests are then left to those spans.
   */
  clientTracesCalls?: (header: (name: string) => string | undefined) => boolean;
}

/** undici's request object, as its diagnostics channels hand it over (only what is read here). */
interface UndiciRequest {
  origin?: unknown;
  method?: unknown;
  path?: unknown;
  /** `[name, value, …]` (Node's own fetch), or `name: value\r\n…` (older undici packages). */
  headers?: unknown;
}

interface OpenRequest {
  span: Span;
  /** The response's status, once its headers came (a 2xx or 3xx: the call ends with its body). */
  status?: number;
}

const CHANNELS = {
  create: 'undici:request:create',
  headers: 'undici:request:headers',
  trailers: 'undici:request:trailers',
  error: 'undici:request:error',
} as const;

/**
 * Records the HTTP requests of LLM APIs that no instrumentation sees as llm spans (GenAI
 * conventions): those of the Vercel AI SDK's providers without `experimental_telemetry`, of Mastra
 * and other frameworks built on them, of plain `fetch`. Zero code only.
 *
 * What it reads is what Node's fetch (undici) publishes on its diagnostics channels: method, host,
 * path and request headers as a request is created, the status as the response's headers arrive,
 * the end of the body, or the error. Nothing is wrapped, and the request, its body and the response
 * are never touched. So the span has the operation (from the path), the provider (from the host),
 * the status and the error, but no model unless the path names it, and no token counts: those are
 * in the bodies. A request is one call: a client's retries are calls of their own.
 *
 * A request made while an llm span is active (an AI SDK call with telemetry, an `llmCall()` around
 * a provider, Mastra's bridge) is a request of that call: its span is folded into the call by the
 * span processor, so the call writes no second event and counts the requests that failed before
 * its outcome as its failed attempts (the AI SDK's retries inside one of Mastra's inferences).
 * A request is left alone when its client records its calls and counts its retries itself
 * (clientTracesCalls: the openai client, the Anthropic SDK), or when its `traceparent` names an
 * open llm span that is not the active one.
 *
 * The span starts in the request's context (the stage and task of the code that called fetch)
 * and ends when the body has been read to its end (a stream's last chunk), when an error response
 * arrives (a status of 400 or more: the body is the client's to read, and it may never be), or
 * with the request's error. A body the app stopped reading (an aborted stream after a 2xx) ends it
 * without error, as the openai instrumentation does.
 */
export class LlmRequestInstrumentation extends InstrumentationBase<LlmRequestInstrumentationConfig> {
  /** Requests being recorded: undici's request object to its span. */
  private readonly open = new WeakMap<object, OpenRequest>();
  private subscribed = false;

  constructor(config: LlmRequestInstrumentationConfig = {}) {
    // InstrumentationBase enables from its constructor, before this class's fields exist.
    super(sc.LLM_REQUESTS_SCOPE, VERSION, { ...config, enabled: false });
    if (config.enabled !== false) this.enable();
  }

  protected init(): void {
    /* no module hooks: Node's diagnostics channels are subscribed to in enable() */
  }

  override enable(): void {
    super.enable();
    if (this.subscribed || this.open === undefined) return;
    diagnosticsChannel.subscribe(CHANNELS.create, this.onCreate);
    diagnosticsChannel.subscribe(CHANNELS.headers, this.onHeaders);
    diagnosticsChannel.subscribe(CHANNELS.trailers, this.onTrailers);
    diagnosticsChannel.subscribe(CHANNELS.error, this.onError);
    this.subscribed = true;
  }

  override disable(): void {
    super.disable();
    if (!this.subscribed) return;
    diagnosticsChannel.unsubscribe(CHANNELS.create, this.onCreate);
    diagnosticsChannel.unsubscribe(CHANNELS.headers, this.onHeaders);
    diagnosticsChannel.unsubscribe(CHANNELS.trailers, this.onTrailers);
    diagnosticsChannel.unsubscribe(CHANNELS.error, this.onError);
    this.subscribed = false;
  }

  private readonly onCreate = (message: unknown): void => {
    try {
      const request = (message as { request?: UndiciRequest } | undefined)?.request;
      if (!request || typeof request.path !== 'string' || typeof request.method !== 'string') return;
      // A string in Node's own undici; a URL in some versions of the undici package.
      const origin = typeof request.origin === 'string' ? request.origin : request.origin instanceof URL ? request.origin.origin : undefined;
      if (origin === undefined) return;
      const headers = request.headers;
      const header = (name: string) => headerValue(headers, name);
      const endpoint = llmEndpointOf(request.method, origin, request.path, header);
      if (!endpoint) return;
      if (this.getConfig().clientTracesCalls?.(header)) return;
      if (namedByTraceparent(header('traceparent'))) return;
      const attributes: Attributes = { [sc.ATTR_GEN_AI_OPERATION_NAME]: endpoint.operation };
      if (endpoint.provider !== undefined) attributes[sc.ATTR_GEN_AI_PROVIDER_NAME] = endpoint.provider;
      if (endpoint.model !== undefined) attributes[sc.ATTR_GEN_AI_REQUEST_MODEL] = endpoint.model;
      attributes[sc.ATTR_SERVER_ADDRESS] = endpoint.address;
      attributes[sc.ATTR_SERVER_PORT] = endpoint.port;
      attributes[sc.ATTR_HTTP_REQUEST_METHOD] = request.method;
      attributes[sc.ATTR_URL_PATH] = pathWithoutQuery(request.path);
      const span = this.tracer.startSpan(`${endpoint.operation} ${endpoint.model ?? endpoint.address}`, { kind: SpanKind.CLIENT, attributes });
      this.open.set(request, { span });
    } catch (error) {
      reportError(error, 'an LLM API request could not be recorded');
    }
  };

  private readonly onHeaders = (message: unknown): void => {
    try {
      const { request, response } = (message ?? {}) as { request?: object; response?: { statusCode?: unknown; statusText?: unknown } };
      const open = request && this.open.get(request);
      if (!open || typeof response?.statusCode !== 'number') return;
      const status = response.statusCode;
      open.span.setAttribute(sc.ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      if (status < 400) {
        open.status = status;
        return;
      }
      this.open.delete(request);
      const text = typeof response.statusText === 'string' && response.statusText !== '' ? response.statusText : STATUS_CODES[status];
      open.span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${status}${text ? ` ${text}` : ''}` });
      // The HTTP conventions' error type of a failed response: its status code.
      open.span.setAttribute(sc.ATTR_ERROR_TYPE, String(status));
      open.span.end();
    } catch (error) {
      reportError(error, 'an LLM API response could not be recorded');
    }
  };

  private readonly onTrailers = (message: unknown): void => {
    try {
      const request = (message as { request?: object } | undefined)?.request;
      const open = request && this.open.get(request);
      if (!open) return;
      this.open.delete(request);
      open.span.end();
    } catch (error) {
      reportError(error, 'an LLM API response could not be recorded');
    }
  };

  private readonly onError = (message: unknown): void => {
    try {
      const { request, error } = (message ?? {}) as { request?: object; error?: unknown };
      const open = request && this.open.get(request);
      if (!open) return;
      this.open.delete(request);
      // The app stopped reading an answer that had come (a stream it broke out of): no failure.
      if (open.status !== undefined && (error as { name?: unknown } | undefined)?.name === 'AbortError') open.span.end();
      else recordFailureAndEnd(open.span, error);
    } catch (failure) {
      reportError(failure, 'an LLM API request error could not be recorded');
    }
  };
}

/** A request header's value, from undici's array or string form; names compared without case. */
export function headerValue(headers: unknown, name: string): string | undefined {
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const key = headers[i];
      if (typeof key === 'string' && key.length === name.length && key.toLowerCase() === name) {
        const value = headers[i + 1];
        return Array.isArray(value) ? String(value[0]) : String(value);
      }
    }
    return undefined;
  }
  if (typeof headers === 'string') {
    for (const line of headers.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon === name.length && line.slice(0, colon).toLowerCase() === name) return line.slice(colon + 1).trim();
    }
  }
  return undefined;
}

const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-([\da-f]{16})-[\da-f]{2}$/;

/**
 * The request's `traceparent` names an llm span the run has open that is not the active one: a
 * client that traces its call without making its span active, and counts its own retries (the
 * Anthropic SDK's, told by its headers first; a fork or wrapper of it that the headers miss).
 */
function namedByTraceparent(traceparent: string | undefined): boolean {
  const spanId = traceparent === undefined ? undefined : TRACEPARENT.exec(traceparent.trim().toLowerCase())?.[1];
  const run = spanId === undefined ? undefined : currentRun();
  if (spanId === undefined || !run) return false;
  run.settleSpans();
  return run.openSpans.byId(spanId)?.kind === 'llm' && activeOwnSpan()?.spanContext().spanId !== spanId;
}
