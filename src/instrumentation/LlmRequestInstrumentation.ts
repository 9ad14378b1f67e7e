import diagnosticsChannel from 'node:diagnostics_channel';
import { STATUS_CODES, type ClientRequest, type IncomingMessage } from 'node:http';
import { SpanKind, SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import { InstrumentationBase, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { recordFailureAndEnd } from '../api';
import { reportError } from '../errorHandler';
import { currentRun } from '../runtime';
import { activeOwnSpan } from '../separateSpans';
import * as sc from '../semconv';
import { VERSION } from '../version';
import { llmEndpointOf, pathWithoutQuery, type LlmEndpoint } from './llmEndpoints';

export interface LlmRequestInstrumentationConfig extends InstrumentationConfig {
  /**
   * Whether the client that sent a request (told by its headers: `header(name)` reads one, by its
   * lower-case name) records its calls itself, or is instrumented (the openai client, the Anthropic
   * SDK with its own tracing on): its requests are then left to those spans. `endpoint` is the
   * call the request is (a client may trace some of its APIs and not others).
   */
  clientTracesCalls?: (header: (name: string) => string | undefined, endpoint: LlmEndpoint) => boolean;
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

/** `node:http`'s (axios, `node-fetch` and the SDKs on it); Node added the error channel in 2024 (20.20 has it, older 20.x may not). */
const HTTP_CHANNELS = {
  start: 'http.client.request.start',
  response: 'http.client.response.finish',
  error: 'http.client.request.error',
} as const;

/**
 * Records the HTTP requests of LLM APIs that no instrumentation sees as llm spans (GenAI
 * conventions): those of the Vercel AI SDK's providers without `experimental_telemetry`, of Mastra
 * and other frameworks built on them, of plain `fetch`, and of clients on `node:http` (axios,
 * `node-fetch` and the SDKs built on it). Not HTTP/2 (the AWS SDK's Bedrock client): Node 20
 * publishes nothing for it. Zero code only.
 *
 * What it reads is what Node publishes on its diagnostics channels, for fetch (undici) and for
 * `node:http`: method, host, path and request headers as a request starts, the status as the
 * response's headers arrive, then the end of the body or the error. Nothing is wrapped, and the
 * request, its body and the response are never touched, beyond a `close` listener on a
 * `node:http` request and response (no `error` listener: an app's unhandled error stays its own).
 * So the span has the operation (from the path), the provider (from the host), the status and the
 * error, but no model unless the path names it, and no token counts: those are in the bodies. A
 * request is one call: a client's retries are calls of their own.
 *
 * A request made while an llm span is active (an AI SDK call with telemetry, an `llmCall()` around
 * a provider, Mastra's bridge) is a request of that call: its span is folded into the call by the
 * span processor, so the call writes no second event and counts the requests that failed before
 * its outcome as its failed attempts (the AI SDK's retries inside one of Mastra's inferences).
 * A request is left alone when its client records its calls and counts its retries itself
 * (clientTracesCalls: the openai client, the Anthropic SDK), or when its `traceparent` names an
 * open llm span that is not the active one.
 *
 * The span starts in the request's context (the stage and task of the code that sent it) and ends
 * when the body has been read to its end (a stream's last chunk), when an error response arrives
 * (a status of 400 or more: the body is the client's to read, and it may never be), or with the
 * request's error. A body the app stopped reading (an aborted stream after a 2xx) ends it without
 * error, as the openai instrumentation does.
 */
export class LlmRequestInstrumentation extends InstrumentationBase<LlmRequestInstrumentationConfig> {
  /** Requests being recorded: undici's request object, or node:http's ClientRequest, to its span. */
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
    diagnosticsChannel.subscribe(HTTP_CHANNELS.start, this.onHttpStart);
    diagnosticsChannel.subscribe(HTTP_CHANNELS.response, this.onHttpResponse);
    diagnosticsChannel.subscribe(HTTP_CHANNELS.error, this.onHttpError);
    this.subscribed = true;
  }

  override disable(): void {
    super.disable();
    if (!this.subscribed) return;
    diagnosticsChannel.unsubscribe(CHANNELS.create, this.onCreate);
    diagnosticsChannel.unsubscribe(CHANNELS.headers, this.onHeaders);
    diagnosticsChannel.unsubscribe(CHANNELS.trailers, this.onTrailers);
    diagnosticsChannel.unsubscribe(CHANNELS.error, this.onError);
    diagnosticsChannel.unsubscribe(HTTP_CHANNELS.start, this.onHttpStart);
    diagnosticsChannel.unsubscribe(HTTP_CHANNELS.response, this.onHttpResponse);
    diagnosticsChannel.unsubscribe(HTTP_CHANNELS.error, this.onHttpError);
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
      const span = this.startCall(request.method, origin, request.path, (name) => headerValue(headers, name));
      if (span) this.open.set(request, { span });
    } catch (error) {
      reportError(error, 'an LLM API request could not be recorded');
    }
  };

  /** The llm span of a request to an LLM API, or undefined for any other request and those left to their client. */
  private startCall(method: string, origin: string, path: string, header: (name: string) => string | undefined): Span | undefined {
    const endpoint = llmEndpointOf(method, origin, path, header);
    if (!endpoint) return undefined;
    if (this.getConfig().clientTracesCalls?.(header, endpoint)) return undefined;
    if (namedByTraceparent(header('traceparent'))) return undefined;
    const attributes: Attributes = { [sc.ATTR_GEN_AI_OPERATION_NAME]: endpoint.operation };
    if (endpoint.provider !== undefined) attributes[sc.ATTR_GEN_AI_PROVIDER_NAME] = endpoint.provider;
    if (endpoint.model !== undefined) attributes[sc.ATTR_GEN_AI_REQUEST_MODEL] = endpoint.model;
    attributes[sc.ATTR_SERVER_ADDRESS] = endpoint.address;
    attributes[sc.ATTR_SERVER_PORT] = endpoint.port;
    attributes[sc.ATTR_HTTP_REQUEST_METHOD] = method;
    attributes[sc.ATTR_URL_PATH] = pathWithoutQuery(path);
    return this.tracer.startSpan(`${endpoint.operation} ${endpoint.model ?? endpoint.address}`, { kind: SpanKind.CLIENT, attributes });
  }

  private readonly onHeaders = (message: unknown): void => {
    try {
      const { request, response } = (message ?? {}) as { request?: object; response?: { statusCode?: unknown; statusText?: unknown } };
      const open = request && this.open.get(request);
      if (!open || typeof response?.statusCode !== 'number') return;
      this.responded(request, open, response.statusCode, response.statusText);
    } catch (error) {
      reportError(error, 'an LLM API response could not be recorded');
    }
  };

  /**
   * Notes the response's status; an error status (400 or more) ends the call, failed, and true is
   * returned. Otherwise the call ends with the body.
   */
  private responded(request: object, open: OpenRequest, status: number, statusText: unknown): boolean {
    open.span.setAttribute(sc.ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    if (status < 400) {
      open.status = status;
      return false;
    }
    this.open.delete(request);
    const text = typeof statusText === 'string' && statusText !== '' ? statusText : STATUS_CODES[status];
    open.span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${status}${text ? ` ${text}` : ''}` });
    // The HTTP conventions' error type of a failed response: its status code.
    open.span.setAttribute(sc.ATTR_ERROR_TYPE, String(status));
    open.span.end();
    return true;
  }

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

  private readonly onHttpStart = (message: unknown): void => {
    try {
      const request = (message as { request?: ClientRequest } | undefined)?.request;
      if (!request || typeof request.method !== 'string' || typeof request.path !== 'string' || typeof request.getHeader !== 'function') return;
      const header = (name: string) => {
        const value = request.getHeader(name);
        return value === undefined ? undefined : String(Array.isArray(value) ? value[0] : value);
      };
      const target = httpTarget(request, header('host'));
      if (!target) return;
      const span = this.startCall(request.method, target.origin, target.path, header);
      if (!span) return;
      this.open.set(request, { span });
      // On a Node without the error channel, a request's error is published nowhere: it ends the call as the request closes.
      request.once('close', () => this.onHttpClose(request));
    } catch (error) {
      reportError(error, 'an LLM API request could not be recorded');
    }
  };

  private readonly onHttpResponse = (message: unknown): void => {
    try {
      const { request, response } = (message ?? {}) as { request?: ClientRequest; response?: IncomingMessage };
      const open = request && this.open.get(request);
      if (!open || typeof response?.statusCode !== 'number') return;
      if (this.responded(request, open, response.statusCode, response.statusMessage)) return;
      response.once('close', () => {
        try {
          if (this.open.get(request) !== open) return;
          this.open.delete(request);
          // Not complete and no error: the app destroyed the response (stopped reading a stream).
          if (response.complete || !response.errored) open.span.end();
          else recordFailureAndEnd(open.span, response.errored, systemErrorCode(response.errored));
        } catch (error) {
          reportError(error, 'an LLM API response could not be recorded');
        }
      });
    } catch (error) {
      reportError(error, 'an LLM API response could not be recorded');
    }
  };

  private readonly onHttpError = (message: unknown): void => {
    try {
      const { request, error } = (message ?? {}) as { request?: object; error?: unknown };
      const open = request && this.open.get(request);
      // After a response, its own close says how the body ended.
      if (!open || open.status !== undefined) return;
      this.open.delete(request);
      recordFailureAndEnd(open.span, error, systemErrorCode(error));
    } catch (failure) {
      reportError(failure, 'an LLM API request error could not be recorded');
    }
  };

  private onHttpClose(request: ClientRequest): void {
    try {
      const open = this.open.get(request);
      if (!open || open.status !== undefined) return;
      this.open.delete(request);
      // Why it closed is in the error the app got, not here.
      recordFailureAndEnd(open.span, new Error('the request closed before a response came'), 'RequestClosed');
    } catch (failure) {
      reportError(failure, 'an LLM API request error could not be recorded');
    }
  }
}

/**
 * node:http's errors are plain Errors: their code (ECONNRESET, ECONNREFUSED, ETIMEDOUT, or a
 * client's own as axios's ECONNABORTED) is the type that tells them apart.
 */
function systemErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z_]+$/.test(code) ? code : undefined;
}

/**
 * A node:http request's origin and path. The path is in origin form (`/v1/…`), or in absolute
 * form when the request goes to a plain HTTP proxy (`http://api.example.com/v1/…`).
 */
function httpTarget(request: ClientRequest, hostHeader: string | undefined): { origin: string; path: string } | undefined {
  const path = request.path;
  if (!path.startsWith('/')) {
    if (!URL.canParse(path)) return undefined;
    const url = new URL(path);
    return { origin: url.origin, path: `${url.pathname}${url.search}` };
  }
  const host = hostHeader ?? request.host;
  if (typeof host !== 'string' || host === '') return undefined;
  return { origin: `${request.protocol}//${host}`, path };
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
