// A local, deterministic fake LLM server for demos and tests.
//
// It speaks enough of the OpenAI and Anthropic HTTP wire formats that the official
// `openai` (v6) and `@anthropic-ai/sdk` clients work against it unmodified — point either
// client at `baseURL` with any API key:
//
//   OpenAI     POST /v1/chat/completions   (JSON, or SSE with `stream: true`)
//              POST /v1/responses          (JSON, or SSE Responses-API events)
//              POST /v1/embeddings         (float arrays, or base64 — the SDK's default)
//              GET  /v1/models
//   Anthropic  POST /v1/messages           (JSON, or the real SSE event sequence)
//              POST /v1/messages/count_tokens
//   Bedrock    POST /model/{modelId}/converse                       (JSON)
//              POST /model/{modelId}/converse-stream                (AWS event stream)
//              POST /model/{modelId}/invoke                         (Claude's Messages body)
//              POST /model/{modelId}/invoke-with-response-stream    (event stream of its chunks)
//   Gemini     POST /v1beta/models/{model}:generateContent         (JSON; also /v1/, and Vertex AI's
//              POST /v1beta/models/{model}:streamGenerateContent    /projects/…/publishers/…/models/…)
//              POST /v1beta/models/{model}:embedContent, :batchEmbedContents, :countTokens, :predict
//              POST /v1beta/interactions                            (the Interactions API: JSON, or SSE events)
//
// The AWS SDK's BedrockRuntimeClient speaks HTTP/2 by default: give it `endpoint: bedrockEndpoint`
// (a second, cleartext HTTP/2 listener with the same routes), any region and any credentials
// (signatures are not checked). `url` serves the Bedrock routes over HTTP/1.1 too.
//
// The Google Gen AI SDK (`@google/genai`) takes `url` as its base URL: `new GoogleGenAI({ apiKey,
// httpOptions: { baseUrl: url } })`. Its errors come in Google's shape (`{error: {code, message,
// status}}`), a refused key as Gemini refuses one: 400 INVALID_ARGUMENT with reason API_KEY_INVALID.
//
// The Anthropic SDK appends `/v1/messages` to its base URL, so it may be given either `url`
// or `baseURL` (a doubled `/v1/v1/` prefix is folded into one).
//
// Every request is recorded (secrets redacted), and each one can be made to fail the way a
// real provider fails — 429 with `retry-after`, 401, 500, 503/529 overloaded, 400 context
// length exceeded, a request that never gets an answer, a reset connection — through a
// scripted queue (`server.script([...])`) or a per-request hook (`options.handler`).
//
// Everything is deterministic: reply text depends only on the prompt, ids on a counter,
// token counts on text length. The server listens on 127.0.0.1 only.
//
// Standalone:  node examples/fake-llm-server.mjs [--port 8787]   (Ctrl-C to stop)

import http from 'node:http';
import http2 from 'node:http2';
import { pathToFileURL } from 'node:url';
import zlib from 'node:zlib';

const HOST = '127.0.0.1';

/** Header names whose values never reach the request log. */
const SECRET_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key',
  'cookie',
  'set-cookie',
  'openai-api-key',
  'anthropic-api-key',
  'x-goog-api-key',
]);

/**
 * Start a fake LLM server on 127.0.0.1.
 *
 * @param {object}   [options]
 * @param {number}   [options.port=0]            TCP port; 0 picks a free one.
 * @param {Function} [options.handler]           `(request, body) => rule | undefined`, asked first for
 *                                               every API request; `undefined` falls through to the script.
 *                                               `request` is `{index, method, path, endpoint, provider,
 *                                               model, stream, promptText, promptTokens, headers, body, raw}`
 *                                               where `headers` are the real (unredacted) ones and `raw` is the
 *                                               Node IncomingMessage.
 * @param {Array}    [options.script]            initial scripted queue (same as calling `script()`).
 * @param {string}   [options.apiKey]            when set, any other key gets a 401 (auth is checked first
 *                                               and does not consume a script entry).
 * @param {number}   [options.contextWindow]     prompt-token limit; larger prompts get a 400 context-length
 *                                               error (default: unlimited). Tokens ≈ characters / 4.
 * @param {number}   [options.latencyMs=0]       delay before every answer.
 * @param {number}   [options.chunkDelayMs=0]    delay between streamed SSE events.
 * @param {number}   [options.firstChunkDelayMs=0]  delay between a stream's headers and its first event.
 * @param {number}   [options.embeddingDimensions=64]
 * @param {Function} [options.log]               called with a one-line summary of each answered request.
 *
 * A **rule** says how to answer one request. Accepted forms:
 *   - `'ok'` / `undefined` / `{}`                 a normal reply
 *   - a keyword: `'rate_limit'` (429), `'auth'` (401), `'server_error'` (500), `'overloaded'`
 *     (Anthropic 529, OpenAI 503), `'context_length'` (400), `'not_found'` (404), `'timeout'`,
 *     `'reset'`; a status number or numeric string works too (`429`, `'529'`)
 *   - an object `{ status?, kind?, ... }` — `kind` is one of the keywords above (`'error'` for a generic
 *     error with `status`); without `kind` it is derived from `status` (429 → rate_limit, 401 → auth,
 *     400 → context_length, 404 → not_found, 500 → server_error, 503/529 → overloaded, other ≥ 400 →
 *     error, `status: 'timeout' | 'reset'` → that kind). Optional fields:
 *       content       reply text (string, or `(request, body) => string`)
 *       finishReason  OpenAI finish_reason / Anthropic stop_reason override
 *       usage         `{ inputTokens, outputTokens }` override
 *       delayMs       delay before answering (overrides `latencyMs`)
 *       chunkDelayMs  delay between SSE events
 *       firstChunkDelayMs  for streaming requests: delay between the response's headers and its first
 *                     SSE event (a model slow to start answering; `delayMs` delays the headers too)
 *       retryAfter    seconds, sent as `retry-after` (429 defaults to 1)
 *       retryAfterMs  sent as `retry-after-ms` (the SDKs prefer it — handy to keep tests fast)
 *       shouldRetry   boolean, sent as `x-should-retry`
 *       message       error message override;  errorType / code: error body overrides
 *       headers       extra response headers
 *       body          a raw JSON body to send as-is (with `status`, default 200)
 *       midStream     for streaming requests: send half of the stream first, then fail
 *                     (reset / timeout / an SSE `error` event for error kinds)
 *       midStreamAfter  with `midStream`: how many SSE events to send before failing (default half;
 *                     0 fails right after the headers)
 *       match         `{ endpoint?, provider?, model?, path? }` — for script entries: only a matching
 *                     request consumes this entry (non-matching requests skip it)
 *
 * @returns {Promise<{url: string, port: number, host: string, baseURL: string, anthropicBaseURL: string,
 *   requests: object[], script: (rules: Array) => object, reset: () => void, server: http.Server,
 *   close: () => Promise<void>}>}
 */
export async function startFakeLlmServer(options = {}) {
  const state = {
    queue: [],
    requests: [],
    counter: 0,
    closed: false,
    held: new Set(), // responses deliberately left unanswered (timeouts)
    timers: new Set(),
    sockets: new Set(),
  };
  if (options.script) state.queue.push(...options.script);

  const answer = (req, res) => {
    handleRequest(req, res, options, state).catch((err) => {
      // A bug in the fake must never hang a test: answer 500 if still possible.
      if (!res.headersSent && !res.destroyed) {
        sendJson(res, 500, { error: { message: `fake server bug: ${err?.message}`, type: 'server_error' } });
      } else {
        res.destroy();
      }
    });
  };
  const server = http.createServer(answer);
  // Cleartext HTTP/2 (prior knowledge), as the AWS SDK's Bedrock client speaks it.
  const server2 = http2.createServer(answer);
  for (const listener of [server, server2]) {
    listener.on('connection', (socket) => {
      state.sockets.add(socket);
      socket.on('close', () => state.sockets.delete(socket));
    });
  }
  // Keep-alive sockets must not outlive close(); Node's defaults are fine otherwise.
  server.keepAliveTimeout = 5000;

  const listen = (listener, port) =>
    new Promise((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(port, HOST, () => {
        listener.off('error', reject);
        resolve();
      });
    });
  await listen(server, options.port ?? 0);
  await listen(server2, 0);

  const { port } = server.address();
  const url = `http://${HOST}:${port}`;
  let closePromise;

  const api = {
    url,
    port,
    host: HOST,
    /** Base URL for the OpenAI SDK (`new OpenAI({ baseURL })`); the Anthropic SDK accepts it too. */
    baseURL: `${url}/v1`,
    /** Base URL in Anthropic's own convention (the SDK adds `/v1/messages`). */
    anthropicBaseURL: url,
    /** The HTTP/2 listener, for the AWS SDK's BedrockRuntimeClient (`new BedrockRuntimeClient({ endpoint })`). */
    bedrockEndpoint: `http://${HOST}:${server2.address().port}`,
    /** Every request received, in arrival order: `{index, method, path, headers (redacted), body, ...}`. */
    requests: state.requests,
    server,
    /** Replace the pending scripted queue; entries are consumed one per matching request. */
    script(rules = []) {
      state.queue.length = 0;
      state.queue.push(...rules);
      return api;
    },
    /** Forget the recorded requests and the pending script. */
    reset() {
      state.queue.length = 0;
      state.requests.length = 0;
    },
    /** Stop listening and end every open, keep-alive and held connection. Idempotent. */
    close() {
      if (closePromise) return closePromise;
      state.closed = true;
      for (const t of state.timers) clearTimeout(t);
      state.timers.clear();
      closePromise = Promise.all([new Promise((resolve) => server.close(() => resolve())), new Promise((resolve) => server2.close(() => resolve()))]).then(() => undefined);
      for (const res of state.held) res.destroy();
      state.held.clear();
      server.closeAllConnections?.();
      for (const socket of state.sockets) socket.destroy();
      return closePromise;
    },
  };
  return api;
}

// ---------------------------------------------------------------------------------------------
// Request handling
// ---------------------------------------------------------------------------------------------

async function handleRequest(req, res, options, state) {
  const rawBody = await readBody(req);
  const path = normalizePath(req.url);
  const route = findRoute(req.method, path);

  let body;
  let parseError = false;
  if (rawBody.length > 0) {
    try {
      body = JSON.parse(rawBody);
    } catch {
      body = rawBody;
      parseError = true;
    }
  }
  const json = body && typeof body === 'object' ? body : {};
  const promptText = route ? extractPrompt(route.endpoint, json) : '';
  const request = {
    index: state.counter++,
    method: req.method,
    path,
    endpoint: route?.endpoint ?? null,
    provider: route?.provider ?? providerFromHeaders(req.headers),
    model: route?.model ?? (typeof json.model === 'string' ? json.model : null),
    stream: json.stream === true || route?.stream === true,
    promptText,
    promptTokens: estimateTokens(promptText),
    headers: req.headers,
    body,
    raw: req,
  };

  // The public record: a plain snapshot with secrets removed.
  const record = {
    index: request.index,
    method: request.method,
    path,
    headers: redactHeaders(req.headers),
    body,
    endpoint: request.endpoint,
    provider: request.provider,
    model: request.model,
    stream: request.stream,
    receivedAt: new Date().toISOString(),
    outcome: null, // filled once answered: 'ok', 'rate_limit', 'timeout', ...
    status: null, // HTTP status sent (null for timeout / reset)
  };
  state.requests.push(record);

  const finish = (outcome, status) => {
    record.outcome = outcome;
    record.status = status;
    options.log?.(`${req.method} ${path} -> ${status ?? '-'} ${outcome}`);
  };

  if (!route) {
    const provider = request.provider;
    sendJson(res, 404, errorBody(provider, 'not_found', { message: `Unknown route ${req.method} ${path}` }, request));
    finish('not_found', 404);
    return;
  }
  if (parseError) {
    sendJson(res, 400, errorBody(route.provider, 'error', {
      status: 400,
      message: 'We could not parse the JSON body of your request.',
    }, request));
    finish('bad_json', 400);
    return;
  }

  // 1. authentication (a real server checks it before anything else)
  let rule;
  if (options.apiKey !== undefined && presentedKey(req.headers) !== options.apiKey) {
    rule = normalizeRule('auth');
  }
  // 2. the per-request hook, 3. the scripted queue, 4. success
  if (!rule && typeof options.handler === 'function') {
    const fromHandler = await options.handler(request, body);
    if (fromHandler !== undefined) rule = normalizeRule(fromHandler);
  }
  if (!rule) {
    const i = state.queue.findIndex((entry) => ruleMatches(entry, request));
    if (i >= 0) rule = normalizeRule(state.queue.splice(i, 1)[0]);
  }
  rule ??= normalizeRule('ok');

  // A prompt larger than the configured window fails like the real thing.
  if (rule.kind === 'ok' && !rule.body && options.contextWindow && request.promptTokens > options.contextWindow) {
    rule = normalizeRule({ kind: 'context_length', limit: options.contextWindow });
  }

  const delay = rule.delayMs ?? options.latencyMs ?? 0;
  if (delay > 0) {
    await sleep(delay, state);
    if (state.closed || res.destroyed) return;
  }

  const ctx = { req, res, request, rule, options, state, provider: route.provider, finish };

  if (rule.body !== undefined) {
    sendJson(res, rule.status ?? 200, rule.body, rule.headers);
    finish('custom', rule.status ?? 200);
    return;
  }
  if (rule.midStream && request.stream && ['chat.completions', 'responses', 'messages', 'converse', 'invoke', 'generate_content', 'interactions'].includes(route.endpoint)) {
    await replySuccess(ctx, route.endpoint);
    return;
  }
  switch (rule.kind) {
    case 'ok':
      await replySuccess(ctx, route.endpoint);
      return;
    case 'timeout':
      holdOpen(ctx);
      return;
    case 'reset':
      finish('reset', null);
      req.socket.destroy();
      return;
    default:
      replyError(ctx);
  }
}

/** Answer a request that should succeed (or fail midway through a stream when `rule.midStream`). */
async function replySuccess(ctx, endpoint) {
  const { request, rule, provider } = ctx;
  const json = request.body && typeof request.body === 'object' ? request.body : {};
  if (endpoint === 'models') {
    sendJson(ctx.res, 200, {
      object: 'list',
      data: ['gpt-4o', 'gpt-4o-mini', 'text-embedding-3-small'].map((id) => ({ id, object: 'model', created: 1715367049, owned_by: 'system' })),
    }, commonHeaders(provider, request));
    ctx.finish('ok', 200);
    return;
  }
  if (endpoint === 'embeddings') {
    sendJson(ctx.res, 200, embeddingsResponse(json, ctx.options), commonHeaders(provider, request));
    ctx.finish('ok', 200);
    return;
  }
  if (endpoint === 'gemini_embeddings') {
    sendJson(ctx.res, 200, geminiEmbeddings(request, json, ctx.options), commonHeaders(provider, request));
    ctx.finish('ok', 200);
    return;
  }
  if (endpoint === 'count_tokens') {
    sendJson(ctx.res, 200, provider === 'gemini' ? { totalTokens: request.promptTokens } : { input_tokens: request.promptTokens }, commonHeaders(provider, request));
    ctx.finish('ok', 200);
    return;
  }
  const maxTokens = json.max_completion_tokens ?? json.max_tokens ?? json.max_output_tokens ?? json.inferenceConfig?.maxTokens ?? json.generationConfig?.maxOutputTokens;

  // A text completion: decide the text, cap it at the requested maximum, count tokens.
  let text = typeof rule.content === 'function' ? String(rule.content(request, request.body)) : rule.content;
  text ??= defaultReply(request.promptText);
  let truncated = false;
  if (Number.isInteger(maxTokens) && maxTokens > 0 && estimateTokens(text) > maxTokens) {
    text = text.slice(0, maxTokens * 4);
    truncated = true;
  }
  const reply = {
    id: makeId(endpoint, request.index),
    itemId: `msg_fake${pad(request.index)}`,
    model: request.model ?? (provider === 'anthropic' ? 'claude-sonnet-4-6' : 'gpt-4o'),
    text,
    truncated,
    inputTokens: rule.usage?.inputTokens ?? request.promptTokens,
    outputTokens: rule.usage?.outputTokens ?? estimateTokens(text),
    created: Math.floor(Date.now() / 1000),
  };

  if (!request.stream) {
    const bodies = {
      'chat.completions': chatCompletion,
      responses: responsesObject,
      messages: anthropicMessage,
      converse: converseResponse,
      // Claude on Bedrock answers InvokeModel in the Messages API's body.
      invoke: anthropicMessage,
      generate_content: geminiResponse,
      interactions: interactionObject,
    };
    sendJson(ctx.res, 200, bodies[endpoint](reply, rule, json), commonHeaders(provider, request));
    ctx.finish('ok', 200);
    return;
  }

  const events = {
    'chat.completions': chatCompletionEvents,
    responses: responsesEvents,
    messages: anthropicEvents,
    converse: converseEvents,
    invoke: invokeStreamEvents,
    generate_content: geminiEvents,
    interactions: interactionEvents,
  }[endpoint](reply, rule, json);
  await streamEvents(ctx, events);
}

/** Write SSE events; with `rule.midStream`, stop halfway and fail the way the rule says. */
async function streamEvents(ctx, events) {
  const { res, rule, state, request, provider } = ctx;
  // Bedrock's streams are AWS event streams, their events already encoded; HTTP/2 forbids `connection`.
  const bedrock = provider === 'bedrock';
  const encode = bedrock ? (event) => event : formatSse;
  res.writeHead(200, {
    ...(bedrock ? { 'content-type': 'application/vnd.amazon.eventstream' } : { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }),
    ...(req2(ctx.req) ? {} : { connection: 'keep-alive' }),
    ...commonHeaders(provider, request),
    ...(rule.headers ?? {}),
  });
  const stopAt = !rule.midStream ? events.length : Number.isInteger(rule.midStreamAfter) && rule.midStreamAfter >= 0 ? Math.min(rule.midStreamAfter, events.length) : Math.max(1, Math.floor(events.length / 2));
  const gap = rule.chunkDelayMs ?? ctx.options.chunkDelayMs ?? 0;
  const firstDelay = rule.firstChunkDelayMs ?? ctx.options.firstChunkDelayMs ?? 0;
  if (firstDelay > 0) {
    // The headers first, so the client's request has its response and waits on the stream.
    res.flushHeaders();
    await sleep(firstDelay, state);
  }
  for (let i = 0; i < stopAt; i++) {
    if (state.closed || res.destroyed) return;
    // Wait until each event has reached the socket, so a later reset cannot swallow it.
    await new Promise((resolve) => res.write(encode(events[i]), () => resolve()));
    if (gap > 0) await sleep(gap, state);
  }
  if (!rule.midStream) {
    res.end();
    ctx.finish('ok', 200);
    return;
  }
  if (rule.kind === 'timeout') {
    holdOpen(ctx);
  } else if (rule.kind === 'reset') {
    ctx.finish('reset_mid_stream', 200);
    await sleep(10, state); // let the client read what was sent before the connection drops
    ctx.req.socket.destroy();
  } else if (rule.kind === 'ok') {
    res.end(); // a stream that just stops early
    ctx.finish('truncated_stream', 200);
  } else {
    const err = errorBody(provider, rule.kind, rule, request);
    // Anthropic sends `event: error`; OpenAI and Gemini put `{error: ...}` in a data line; Bedrock an exception message.
    if (bedrock) res.end(eventStreamMessage({ ':message-type': 'exception', ':exception-type': bedrockStreamException(rule.kind), ':content-type': 'application/json' }, err));
    else res.end(formatSse(provider === 'anthropic' ? { event: 'error', data: err } : { data: err }));
    ctx.finish(`${rule.kind}_mid_stream`, 200);
  }
}

/** Leave the request unanswered until the client gives up or the server closes. */
function holdOpen(ctx) {
  const { res, state } = ctx;
  state.held.add(res);
  res.on('close', () => state.held.delete(res));
  ctx.finish('timeout', null);
}

function replyError(ctx) {
  const { res, rule, provider, request } = ctx;
  const status = rule.status ?? defaultStatus(rule.kind, provider);
  const headers = { ...commonHeaders(provider, request) };
  if (rule.kind === 'rate_limit' || status === 429) {
    headers['retry-after'] = String(rule.retryAfter ?? 1);
    Object.assign(headers, rateLimitHeaders(provider, rule));
  } else if (rule.retryAfter !== undefined) {
    headers['retry-after'] = String(rule.retryAfter);
  }
  if (rule.retryAfterMs !== undefined) headers['retry-after-ms'] = String(rule.retryAfterMs);
  if (rule.shouldRetry !== undefined) headers['x-should-retry'] = String(Boolean(rule.shouldRetry));
  if (provider === 'bedrock') headers['x-amzn-errortype'] = `${bedrockError(rule.kind, rule, request)[0]}:http://internal.amazon.com/coral/com.amazon.bedrock/`;
  sendJson(res, status, errorBody(provider, rule.kind, rule, request), { ...headers, ...(rule.headers ?? {}) });
  ctx.finish(rule.kind, status);
}

// ---------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------

const KIND_ALIASES = {
  ok: 'ok',
  success: 'ok',
  rate_limit: 'rate_limit',
  rate_limited: 'rate_limit',
  auth: 'auth',
  unauthorized: 'auth',
  invalid_api_key: 'auth',
  server_error: 'server_error',
  overloaded: 'overloaded',
  context_length: 'context_length',
  context_length_exceeded: 'context_length',
  not_found: 'not_found',
  timeout: 'timeout',
  hang: 'timeout',
  reset: 'reset',
  econnreset: 'reset',
  connection_reset: 'reset',
  error: 'error',
};

function kindFromStatus(status) {
  if (status === undefined || (status >= 200 && status < 300)) return 'ok';
  if (status === 429) return 'rate_limit';
  if (status === 401) return 'auth';
  if (status === 400) return 'context_length';
  if (status === 404) return 'not_found';
  if (status === 500) return 'server_error';
  if (status === 503 || status === 529) return 'overloaded';
  return 'error';
}

/** Turn any accepted rule form into `{kind, status?, ...}`. */
export function normalizeRule(rule) {
  if (rule === undefined || rule === null) return { kind: 'ok' };
  if (typeof rule === 'number') return { kind: kindFromStatus(rule), status: rule };
  if (typeof rule === 'string') {
    const key = rule.trim().toLowerCase();
    if (/^\d{3}$/.test(key)) return normalizeRule(Number(key));
    const kind = KIND_ALIASES[key];
    if (!kind) throw new TypeError(`fake-llm-server: unknown rule "${rule}"`);
    return { kind };
  }
  if (typeof rule !== 'object') throw new TypeError(`fake-llm-server: bad rule ${String(rule)}`);
  const out = { ...rule };
  if (typeof out.status === 'string') {
    if (/^\d{3}$/.test(out.status)) out.status = Number(out.status);
    else {
      out.kind ??= out.status;
      delete out.status;
    }
  }
  if (out.kind !== undefined) {
    const kind = KIND_ALIASES[String(out.kind).toLowerCase()];
    if (!kind) throw new TypeError(`fake-llm-server: unknown rule kind "${out.kind}"`);
    out.kind = kind;
  } else {
    out.kind = kindFromStatus(out.status);
  }
  return out;
}

function ruleMatches(entry, request) {
  const match = entry && typeof entry === 'object' ? entry.match : undefined;
  if (!match) return true;
  return Object.entries(match).every(([key, want]) => {
    const have = request[key];
    if (want instanceof RegExp) return typeof have === 'string' && want.test(have);
    return have === want;
  });
}

function defaultStatus(kind, provider) {
  switch (kind) {
    case 'rate_limit': return 429;
    // Gemini refuses a key with a 400 (INVALID_ARGUMENT, reason API_KEY_INVALID).
    case 'auth': return provider === 'bedrock' ? 403 : provider === 'gemini' ? 400 : 401;
    case 'context_length': return 400;
    case 'not_found': return 404;
    case 'overloaded': return provider === 'anthropic' ? 529 : 503;
    default: return 500;
  }
}

// ---------------------------------------------------------------------------------------------
// Error bodies, in each provider's real shape
// ---------------------------------------------------------------------------------------------

function errorBody(provider, kind, rule, request) {
  const model = request.model ?? 'the model';
  const limit = rule.limit ?? 8192;
  const tokens = request.promptTokens;
  if (provider === 'bedrock') return { message: rule.message ?? bedrockError(kind, rule, request)[1] };
  if (provider === 'gemini') return geminiError(kind, rule, request);
  if (provider === 'anthropic') {
    const [type, message] = {
      rate_limit: ['rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit (https://docs.anthropic.com/en/api/rate-limits); see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later.'],
      auth: ['authentication_error', 'invalid x-api-key'],
      server_error: ['api_error', 'Internal server error'],
      overloaded: ['overloaded_error', 'Overloaded'],
      context_length: ['invalid_request_error', `prompt is too long: ${Math.max(tokens, limit + 1)} tokens > ${limit} maximum`],
      not_found: ['not_found_error', `model: ${model}`],
    }[kind] ?? [(rule.status ?? 500) >= 500 ? 'api_error' : 'invalid_request_error', `Request failed with status ${rule.status ?? 500}`];
    return {
      type: 'error',
      error: { type: rule.errorType ?? type, message: rule.message ?? message },
      request_id: `req_fake${pad(request.index)}`,
    };
  }
  const [type, code, message, param] = {
    // Real OpenAI 429s say which limit was hit in `type` ("requests" / "tokens").
    rate_limit: ['requests', 'rate_limit_exceeded', `Rate limit reached for ${model} in organization org-fake on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in ${rule.retryAfter ?? 1}s. Visit https://platform.openai.com/account/rate-limits to learn more.`, null],
    auth: ['invalid_request_error', 'invalid_api_key', 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.', null],
    server_error: ['server_error', null, 'The server had an error while processing your request. Sorry about that!', null],
    overloaded: ['server_error', null, 'The engine is currently overloaded, please try again later.', null],
    context_length: ['invalid_request_error', 'context_length_exceeded', `This model's maximum context length is ${limit} tokens. However, your messages resulted in ${Math.max(tokens, limit + 1)} tokens. Please reduce the length of the messages.`, request.endpoint === 'responses' ? 'input' : 'messages'],
    not_found: ['invalid_request_error', 'model_not_found', `The model \`${model}\` does not exist or you do not have access to it.`, null],
  }[kind] ?? [(rule.status ?? 500) >= 500 ? 'server_error' : 'invalid_request_error', null, `Request failed with status ${rule.status ?? 500}`, null];
  return {
    error: {
      message: rule.message ?? message,
      type: rule.errorType ?? type,
      param,
      code: rule.code !== undefined ? rule.code : code,
    },
  };
}

/** Bedrock's error: its type (sent in `x-amzn-errortype`, as AWS does) and message. */
function bedrockError(kind, rule, request) {
  const [type, message] = {
    rate_limit: ['ThrottlingException', 'Too many requests, please wait before trying again.'],
    auth: ['UnrecognizedClientException', 'The security token included in the request is invalid.'],
    server_error: ['InternalServerException', 'The server encountered an internal error while processing the request.'],
    overloaded: ['ServiceUnavailableException', 'Bedrock is unable to process your request.'],
    context_length: ['ValidationException', 'Input is too long for requested model.'],
    not_found: ['ResourceNotFoundException', `Could not resolve the foundation model from the provided model identifier: ${request.model}`],
  }[kind] ?? [(rule.status ?? 500) >= 500 ? 'InternalServerException' : 'ValidationException', `Request failed with status ${rule.status ?? 500}`];
  return [rule.errorType ?? type, message];
}

/**
 * Google's error body: the HTTP code, a message and the RPC status; a refused key also names its
 * reason in an ErrorInfo, and a rate limit the delay it asks for in a RetryInfo, as Gemini's do.
 */
function geminiError(kind, rule, request) {
  const model = request.model ?? 'the model';
  const limit = rule.limit ?? 1048576;
  const [code, status, message] = {
    rate_limit: [429, 'RESOURCE_EXHAUSTED', 'You exceeded your current quota, please check your plan and billing details.'],
    auth: [400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.'],
    server_error: [500, 'INTERNAL', 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting'],
    overloaded: [503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.'],
    context_length: [400, 'INVALID_ARGUMENT', `The input token count (${Math.max(request.promptTokens, limit + 1)}) exceeds the maximum number of tokens allowed (${limit}).`],
    not_found: [404, 'NOT_FOUND', `models/${model} is not found for API version v1beta, or is not supported for generateContent.`],
  }[kind] ?? [rule.status ?? 500, (rule.status ?? 500) >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT', `Request failed with status ${rule.status ?? 500}`];
  const error = { code: rule.status ?? code, message: rule.message ?? message, status: rule.errorType ?? status };
  if (kind === 'auth') error.details = [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } }];
  if (kind === 'rate_limit') error.details = [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${rule.retryAfter ?? 1}s` }];
  return { error };
}

/** The exception event a Bedrock stream ends with for an error kind. */
function bedrockStreamException(kind) {
  return { rate_limit: 'throttlingException', overloaded: 'serviceUnavailableException', context_length: 'validationException' }[kind] ?? 'modelStreamErrorException';
}

function rateLimitHeaders(provider, rule) {
  const reset = `${rule.retryAfter ?? 1}s`;
  if (provider === 'bedrock' || provider === 'gemini') return {};
  if (provider === 'anthropic') {
    const at = new Date(Date.now() + (rule.retryAfter ?? 1) * 1000).toISOString();
    return {
      'anthropic-ratelimit-requests-limit': '50',
      'anthropic-ratelimit-requests-remaining': '0',
      'anthropic-ratelimit-requests-reset': at,
    };
  }
  return {
    'x-ratelimit-limit-requests': '3',
    'x-ratelimit-remaining-requests': '0',
    'x-ratelimit-reset-requests': reset,
  };
}

function commonHeaders(provider, request) {
  if (provider === 'bedrock') return { 'x-amzn-requestid': `fake-${pad(request.index)}` };
  if (provider === 'gemini') return { 'x-gemini-service-tier': 'standard' };
  return provider === 'anthropic'
    ? { 'request-id': `req_fake${pad(request.index)}` }
    : { 'x-request-id': `req_fake${pad(request.index)}`, 'openai-processing-ms': '1' };
}

// ---------------------------------------------------------------------------------------------
// Success bodies
// ---------------------------------------------------------------------------------------------

function chatCompletion(reply, rule, json) {
  const n = Number.isInteger(json.n) && json.n > 1 ? json.n : 1;
  const finish = rule.finishReason ?? (reply.truncated ? 'length' : 'stop');
  return {
    id: reply.id,
    object: 'chat.completion',
    created: reply.created,
    model: reply.model,
    choices: Array.from({ length: n }, (_, index) => ({
      index,
      message: { role: 'assistant', content: reply.text, refusal: null, annotations: [] },
      logprobs: null,
      finish_reason: finish,
    })),
    usage: openAiUsage(reply, n),
    service_tier: 'default',
    system_fingerprint: 'fp_fake',
  };
}

function openAiUsage(reply, n = 1) {
  return {
    prompt_tokens: reply.inputTokens,
    completion_tokens: reply.outputTokens * n,
    total_tokens: reply.inputTokens + reply.outputTokens * n,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

function chatCompletionEvents(reply, rule, json) {
  const includeUsage = json.stream_options?.include_usage === true;
  const base = {
    id: reply.id,
    object: 'chat.completion.chunk',
    created: reply.created,
    model: reply.model,
    service_tier: 'default',
    system_fingerprint: 'fp_fake',
  };
  const chunk = (choice) => ({
    data: { ...base, choices: [{ index: 0, logprobs: null, finish_reason: null, ...choice }], ...(includeUsage ? { usage: null } : {}) },
  });
  const events = [chunk({ delta: { role: 'assistant', content: '', refusal: null } })];
  for (const piece of splitText(reply.text)) events.push(chunk({ delta: { content: piece } }));
  events.push(chunk({ delta: {}, finish_reason: rule.finishReason ?? (reply.truncated ? 'length' : 'stop') }));
  // With include_usage the real API adds one more chunk: empty choices, the request's usage.
  if (includeUsage) events.push({ data: { ...base, choices: [], usage: openAiUsage(reply) } });
  events.push({ data: '[DONE]' });
  return events;
}

function responsesObject(reply, rule, json, status = 'completed') {
  const done = status === 'completed';
  return {
    id: reply.id,
    object: 'response',
    created_at: reply.created,
    status,
    background: false,
    error: null,
    incomplete_details: reply.truncated && done ? { reason: 'max_output_tokens' } : null,
    instructions: json.instructions ?? null,
    max_output_tokens: json.max_output_tokens ?? null,
    model: reply.model,
    output: done ? [responsesMessage(reply, 'completed')] : [],
    parallel_tool_calls: true,
    previous_response_id: json.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: json.store ?? true,
    temperature: json.temperature ?? 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: json.top_p ?? 1,
    truncation: 'disabled',
    usage: done
      ? {
          input_tokens: reply.inputTokens,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: reply.outputTokens,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: reply.inputTokens + reply.outputTokens,
        }
      : null,
    user: null,
    metadata: {},
  };
}

function responsesMessage(reply, status, text = reply.text) {
  return {
    id: reply.itemId,
    type: 'message',
    status,
    role: 'assistant',
    content: status === 'completed' ? [{ type: 'output_text', text, annotations: [], logprobs: [] }] : [],
  };
}

function responsesEvents(reply, rule, json) {
  const item = { item_id: reply.itemId, output_index: 0, content_index: 0 };
  const raw = [
    { type: 'response.created', response: responsesObject(reply, rule, json, 'in_progress') },
    { type: 'response.in_progress', response: responsesObject(reply, rule, json, 'in_progress') },
    { type: 'response.output_item.added', output_index: 0, item: responsesMessage(reply, 'in_progress') },
    { type: 'response.content_part.added', ...item, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } },
    ...splitText(reply.text).map((delta) => ({ type: 'response.output_text.delta', ...item, delta, logprobs: [] })),
    { type: 'response.output_text.done', ...item, text: reply.text, logprobs: [] },
    { type: 'response.content_part.done', ...item, part: { type: 'output_text', text: reply.text, annotations: [], logprobs: [] } },
    { type: 'response.output_item.done', output_index: 0, item: responsesMessage(reply, 'completed') },
    { type: 'response.completed', response: responsesObject(reply, rule, json, 'completed') },
  ];
  return raw.map((data, sequence_number) => ({ event: data.type, data: { ...data, sequence_number } }));
}

function anthropicMessage(reply, rule) {
  return {
    id: reply.id,
    type: 'message',
    role: 'assistant',
    model: reply.model,
    content: [{ type: 'text', text: reply.text }],
    stop_reason: rule.finishReason ?? (reply.truncated ? 'max_tokens' : 'end_turn'),
    stop_sequence: null,
    usage: anthropicUsage(reply.inputTokens, reply.outputTokens),
  };
}

function converseUsage(reply) {
  return { inputTokens: reply.inputTokens, outputTokens: reply.outputTokens, totalTokens: reply.inputTokens + reply.outputTokens };
}

function converseResponse(reply, rule) {
  return {
    output: { message: { role: 'assistant', content: [{ text: reply.text }] } },
    stopReason: rule.finishReason ?? (reply.truncated ? 'max_tokens' : 'end_turn'),
    usage: converseUsage(reply),
    metrics: { latencyMs: 1 },
  };
}

/** ConverseStream's events, each an encoded event-stream message. */
function converseEvents(reply, rule) {
  const event = (type, body) => eventStreamMessage({ ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' }, body);
  return [
    event('messageStart', { role: 'assistant' }),
    ...splitText(reply.text).map((text) => event('contentBlockDelta', { contentBlockIndex: 0, delta: { text } })),
    event('contentBlockStop', { contentBlockIndex: 0 }),
    event('messageStop', { stopReason: rule.finishReason ?? (reply.truncated ? 'max_tokens' : 'end_turn') }),
    event('metadata', { usage: converseUsage(reply), metrics: { latencyMs: 1 } }),
  ];
}

/**
 * InvokeModelWithResponseStream's events for Claude: each of the Messages API's stream events in
 * a `chunk` (base64 JSON), the last with Bedrock's own `amazon-bedrock-invocationMetrics`.
 */
function invokeStreamEvents(reply, rule) {
  const events = anthropicEvents(reply, rule).filter((sse) => sse.event !== 'ping').map((sse) => sse.data);
  events[events.length - 1] = { ...events[events.length - 1], 'amazon-bedrock-invocationMetrics': { inputTokenCount: reply.inputTokens, outputTokenCount: reply.outputTokens, invocationLatency: 1, firstByteLatency: 1 } };
  return events.map((data) => eventStreamMessage({ ':event-type': 'chunk', ':content-type': 'application/json', ':message-type': 'event' }, { bytes: Buffer.from(JSON.stringify(data)).toString('base64') }));
}

/**
 * One message of an AWS event stream: its total and headers' lengths and their CRC32, headers
 * (string values), the JSON payload, and the message's CRC32.
 */
function eventStreamMessage(headers, payload) {
  const headerBytes = Buffer.concat(
    Object.entries(headers).map(([name, value]) => {
      const nameBytes = Buffer.from(name);
      const valueBytes = Buffer.from(value);
      const header = Buffer.alloc(1 + nameBytes.length + 3);
      header.writeUInt8(nameBytes.length, 0);
      nameBytes.copy(header, 1);
      header.writeUInt8(7, 1 + nameBytes.length); // string
      header.writeUInt16BE(valueBytes.length, 2 + nameBytes.length);
      return Buffer.concat([header, valueBytes]);
    }),
  );
  const body = Buffer.from(JSON.stringify(payload));
  const total = 12 + headerBytes.length + body.length + 4;
  const prelude = Buffer.alloc(12);
  prelude.writeUInt32BE(total, 0);
  prelude.writeUInt32BE(headerBytes.length, 4);
  prelude.writeUInt32BE(zlib.crc32(prelude.subarray(0, 8)), 8);
  const message = Buffer.concat([prelude, headerBytes, body, Buffer.alloc(4)]);
  message.writeUInt32BE(zlib.crc32(message.subarray(0, total - 4)), total - 4);
  return message;
}

function geminiUsage(reply) {
  return {
    promptTokenCount: reply.inputTokens,
    candidatesTokenCount: reply.outputTokens,
    totalTokenCount: reply.inputTokens + reply.outputTokens,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: reply.inputTokens }],
  };
}

function geminiFinishReason(reply, rule) {
  return rule.finishReason ?? (reply.truncated ? 'MAX_TOKENS' : 'STOP');
}

/** A GenerateContentResponse: one candidate (one per `candidateCount`), its usage, the model's version. */
function geminiResponse(reply, rule, json) {
  const count = Number.isInteger(json.generationConfig?.candidateCount) && json.generationConfig.candidateCount > 1 ? json.generationConfig.candidateCount : 1;
  return {
    candidates: Array.from({ length: count }, (_, index) => ({ content: { parts: [{ text: reply.text }], role: 'model' }, finishReason: geminiFinishReason(reply, rule), index })),
    usageMetadata: geminiUsage({ ...reply, outputTokens: reply.outputTokens * count }),
    modelVersion: reply.model,
    responseId: reply.id,
  };
}

/** streamGenerateContent's SSE chunks: each a GenerateContentResponse with a piece of the text; the last has the finish reason and the usage. */
function geminiEvents(reply, rule) {
  const pieces = splitText(reply.text);
  return pieces.map((text, i) => {
    const last = i === pieces.length - 1;
    const candidate = { content: { parts: [{ text }], role: 'model' }, index: 0, ...(last ? { finishReason: geminiFinishReason(reply, rule) } : {}) };
    const usage = last ? geminiUsage(reply) : { promptTokenCount: reply.inputTokens, totalTokenCount: reply.inputTokens };
    return { data: { candidates: [candidate], usageMetadata: usage, modelVersion: reply.model, responseId: reply.id } };
  });
}

/** An Interaction, completed: its text output and usage. */
function interactionObject(reply, rule) {
  const at = new Date(reply.created * 1000).toISOString();
  return {
    id: reply.id,
    status: rule.finishReason ?? 'completed',
    model: reply.model,
    outputs: [{ type: 'text', text: reply.text }],
    usage: { total_input_tokens: reply.inputTokens, total_output_tokens: reply.outputTokens, total_tokens: reply.inputTokens + reply.outputTokens },
    created: at,
    updated: at,
  };
}

/** An Interaction's SSE events: created, its text in deltas, completed with the usage. */
function interactionEvents(reply, rule) {
  const done = interactionObject(reply, rule);
  return [
    { data: { event_type: 'interaction.created', interaction: { id: reply.id, status: 'in_progress', model: reply.model } } },
    ...splitText(reply.text).map((text) => ({ data: { event_type: 'step.delta', index: 0, delta: { type: 'text', text } } })),
    { data: { event_type: 'interaction.completed', interaction: { id: reply.id, status: done.status, model: reply.model, usage: done.usage } } },
  ];
}

/** embedContent's one embedding, batchEmbedContents' one per request, Vertex AI's predict one per instance (with its token count). */
function geminiEmbeddings(request, json, options) {
  const dims = (config) => (Number.isInteger(config?.outputDimensionality) && config.outputDimensionality > 0 ? config.outputDimensionality : options.embeddingDimensions ?? 64);
  const textOf = (content) => (Array.isArray(content?.parts) ? content.parts.map((part) => part?.text ?? '').join(' ') : '');
  if (request.path.endsWith(':embedContent')) return { embedding: { values: embed(textOf(json.content), dims(json)) } };
  if (request.path.endsWith(':predict')) {
    const instances = Array.isArray(json.instances) ? json.instances : [];
    return { predictions: instances.map((instance) => ({ embeddings: { values: embed(String(instance?.content ?? ''), dims(json.parameters)), statistics: { token_count: estimateTokens(String(instance?.content ?? '')), truncated: false } } })), metadata: { billableCharacterCount: 1 } };
  }
  const requests = Array.isArray(json.requests) ? json.requests : [];
  return { embeddings: requests.map((item) => ({ values: embed(textOf(item?.content), dims(item)) })) };
}

function anthropicUsage(input, output) {
  return {
    input_tokens: input,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    output_tokens: output,
    service_tier: 'standard',
  };
}

function anthropicEvents(reply, rule) {
  const ev = (type, data) => ({ event: type, data: { type, ...data } });
  return [
    ev('message_start', {
      message: {
        id: reply.id,
        type: 'message',
        role: 'assistant',
        model: reply.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: anthropicUsage(reply.inputTokens, 1),
      },
    }),
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    ev('ping', {}),
    ...splitText(reply.text).map((text) => ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text } })),
    ev('content_block_stop', { index: 0 }),
    ev('message_delta', {
      delta: { stop_reason: rule.finishReason ?? (reply.truncated ? 'max_tokens' : 'end_turn'), stop_sequence: null },
      usage: { output_tokens: reply.outputTokens },
    }),
    ev('message_stop', {}),
  ];
}

function embeddingsResponse(json, options) {
  const inputs = Array.isArray(json.input) && json.input.length > 0 && typeof json.input[0] !== 'number'
    ? json.input
    : [json.input ?? ''];
  const dims = Number.isInteger(json.dimensions) && json.dimensions > 0 ? json.dimensions : options.embeddingDimensions ?? 64;
  let tokens = 0;
  const data = inputs.map((input, index) => {
    const text = Array.isArray(input) ? input.join(' ') : String(input);
    tokens += Array.isArray(input) ? input.length : estimateTokens(text);
    const vector = embed(text, dims);
    const embedding = json.encoding_format === 'base64'
      ? Buffer.from(new Float32Array(vector).buffer).toString('base64')
      : vector;
    return { object: 'embedding', index, embedding };
  });
  return {
    object: 'list',
    data,
    model: json.model ?? 'text-embedding-3-small',
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

/** A deterministic unit vector derived from the text (FNV-1a seeded sine waves). */
function embed(text, dims) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  const v = Array.from({ length: dims }, (_, i) => Math.sin(h % 1000 + i * 1.618));
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => Math.round((x / norm) * 1e6) / 1e6);
}

// ---------------------------------------------------------------------------------------------
// Deterministic default replies
// ---------------------------------------------------------------------------------------------

/**
 * The default answer: a pure function of the prompt, so tests can assert it.
 *   - asks for Python / code / a script  → a short, runnable Python snippet in a fenced block
 *   - asks for JSON                       → a small JSON object
 *   - asks to summarize / for an abstract → one summary sentence
 *   - anything else                       → a short echo of the prompt
 */
export function defaultReply(prompt = '') {
  const p = prompt.toLowerCase();
  if (/\bpython\b|\bcode\b|\bscript\b|\bfunction\b/.test(p)) {
    return [
      '```python',
      'def solve(values):',
      '    return sum(values) / len(values)',
      '',
      'print(solve([1, 2, 3, 4]))',
      '```',
    ].join('\n');
  }
  if (/\bjson\b/.test(p)) return '{"answer": 42, "confidence": 0.9}';
  if (/summari[sz]e|\babstract\b|\bsummary\b/.test(p)) {
    return 'Summary: the problem is well posed, the model fits the data, and the result is stable.';
  }
  const firstLine = prompt.trim().split('\n')[0].slice(0, 80);
  return `Fake reply to: "${firstLine}". The answer is 42.`;
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function findRoute(method, path) {
  const routes = {
    'POST /v1/chat/completions': { provider: 'openai', endpoint: 'chat.completions' },
    'POST /v1/responses': { provider: 'openai', endpoint: 'responses' },
    'POST /v1/embeddings': { provider: 'openai', endpoint: 'embeddings' },
    'GET /v1/models': { provider: 'openai', endpoint: 'models' },
    'POST /v1/messages': { provider: 'anthropic', endpoint: 'messages' },
    'POST /v1/messages/count_tokens': { provider: 'anthropic', endpoint: 'count_tokens' },
  };
  if (method === 'POST' && GEMINI_INTERACTIONS_PATH.test(path)) return { provider: 'gemini', endpoint: 'interactions' };
  const gemini = method === 'POST' ? GEMINI_PATH.exec(path) : null;
  if (gemini) {
    const [, model, action] = gemini;
    const endpoint = { generateContent: 'generate_content', streamGenerateContent: 'generate_content', embedContent: 'gemini_embeddings', batchEmbedContents: 'gemini_embeddings', predict: 'gemini_embeddings', countTokens: 'count_tokens' }[action];
    return { provider: 'gemini', endpoint, model: decodeModelId(model), stream: action === 'streamGenerateContent' };
  }
  const bedrock = method === 'POST' ? /^\/model\/([^/]+)\/(converse|converse-stream|invoke|invoke-with-response-stream)$/.exec(path) : null;
  if (bedrock) {
    const [, id, action] = bedrock;
    return { provider: 'bedrock', endpoint: action.startsWith('converse') ? 'converse' : 'invoke', model: decodeModelId(id), stream: action.endsWith('stream') };
  }
  return routes[`${method} ${path}`];
}

/** Gemini's paths (`/v1beta/models/{model}:{action}`) and Vertex AI's (`/v1/projects/{p}/locations/{l}/publishers/{publisher}/models/{model}:{action}`, without the project with an API key). */
const GEMINI_PATH = /^\/v1(?:alpha|beta1?)?\/(?:projects\/[^/]+\/locations\/[^/]+\/)?(?:publishers\/[^/]+\/)?models\/([^/:]+):(generateContent|streamGenerateContent|embedContent|batchEmbedContents|predict|countTokens)$/;

/** The Interactions API's (`/v1beta/interactions`; Vertex AI's under its project and location). */
const GEMINI_INTERACTIONS_PATH = /^\/v1(?:alpha|beta1?)?\/(?:projects\/[^/]+\/locations\/[^/]+\/)?interactions$/;

function decodeModelId(id) {
  try {
    return decodeURIComponent(id);
  } catch {
    return id;
  }
}

/** An HTTP/2 request (the compatibility API's): no connection-specific headers in its answer. */
function req2(req) {
  return req.httpVersionMajor === 2;
}

/** `/v1/v1/messages?beta=true` → `/v1/messages`; `/chat/completions` → `/v1/chat/completions`. */
function normalizePath(rawUrl = '/') {
  let path = rawUrl.split('?')[0].replace(/\/{2,}/g, '/').replace(/\/$/, '') || '/';
  while (path.startsWith('/v1/v1/') || path === '/v1/v1') path = path.slice(3);
  // Bedrock's paths have no version prefix; Gemini's have their own (`/v1beta`).
  if (!path.startsWith('/v1/') && path !== '/v1' && !path.startsWith('/model/') && !/^\/v1(?:alpha|beta1?)\//.test(path)) path = `/v1${path}`;
  return path;
}

function providerFromHeaders(headers) {
  return headers['anthropic-version'] || headers['x-api-key'] ? 'anthropic' : 'openai';
}

function presentedKey(headers) {
  const bearer = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '');
  return headers['x-api-key'] ?? bearer?.[1] ?? headers['api-key'] ?? headers['x-goog-api-key'];
}

function redactHeaders(headers) {
  const out = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name] = SECRET_HEADERS.has(name.toLowerCase()) ? '[REDACTED]' : value;
  }
  return out;
}

/** All the prompt text of a request, for token estimates and default replies. */
function extractPrompt(endpoint, json) {
  const parts = [];
  const addContent = (content) => {
    if (typeof content === 'string') parts.push(content);
    else if (Array.isArray(content)) {
      for (const block of content) {
        if (typeof block === 'string') parts.push(block);
        else if (block && typeof block.text === 'string') parts.push(block.text);
        else if (block && block.content !== undefined) addContent(block.content);
      }
    }
  };
  if (endpoint === 'chat.completions' && Array.isArray(json.messages)) {
    for (const m of json.messages) addContent(m?.content);
  } else if (endpoint === 'responses') {
    if (json.instructions) parts.push(String(json.instructions));
    if (typeof json.input === 'string') parts.push(json.input);
    else if (Array.isArray(json.input)) for (const m of json.input) addContent(m?.content ?? m);
  } else if (endpoint === 'messages' || endpoint === 'count_tokens' || endpoint === 'converse' || endpoint === 'invoke') {
    addContent(json.system);
    if (Array.isArray(json.messages)) for (const m of json.messages) addContent(m?.content);
  } else if (endpoint === 'embeddings') {
    addContent(Array.isArray(json.input) ? json.input.filter((x) => typeof x === 'string') : json.input);
  } else if (endpoint === 'interactions') {
    if (typeof json.input === 'string') parts.push(json.input);
    else if (Array.isArray(json.input)) addContent(json.input.map((turn) => (typeof turn === 'string' ? turn : turn?.text ?? turn?.content)).flat());
  } else if (endpoint === 'generate_content' || endpoint === 'gemini_embeddings' || (endpoint === 'count_tokens' && Array.isArray(json.contents))) {
    addContent(json.systemInstruction?.parts);
    for (const content of [...(Array.isArray(json.contents) ? json.contents : []), json.content, ...(Array.isArray(json.requests) ? json.requests.map((item) => item?.content) : [])]) addContent(content?.parts);
    if (Array.isArray(json.instances)) addContent(json.instances.map((instance) => instance?.content).filter((text) => typeof text === 'string'));
  }
  return parts.join('\n');
}

/** About four characters per token, never zero. */
export function estimateTokens(text = '') {
  return Math.max(1, Math.ceil(String(text).length / 4));
}

/** Split text into word-sized pieces (each keeps its trailing whitespace) for streaming. */
function splitText(text) {
  const pieces = text.match(/\s*\S+\s*/g) ?? [];
  return pieces.length > 0 ? pieces : [text];
}

function makeId(endpoint, index) {
  const prefix = { 'chat.completions': 'chatcmpl-fake', responses: 'resp_fake', messages: 'msg_fake' }[endpoint] ?? 'fake';
  return `${prefix}${pad(index)}`;
}

function pad(n) {
  return String(n).padStart(6, '0');
}

function formatSse({ event, data }) {
  const payload = typeof data === 'string' ? data : JSON.stringify(data);
  return `${event ? `event: ${event}\n` : ''}data: ${payload}\n\n`;
}

function sendJson(res, status, body, headers = {}) {
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sleep(ms, state) {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      state.timers.delete(t);
      resolve();
    }, ms);
    state.timers.add(t);
  });
}

// ---------------------------------------------------------------------------------------------
// Standalone: node examples/fake-llm-server.mjs [--port N]
// ---------------------------------------------------------------------------------------------

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : Number(process.env.PORT ?? 0);
  const fake = await startFakeLlmServer({
    port,
    log: (line) => process.stderr.write(`[fake-llm] ${line}\n`),
  });
  console.log(`fake LLM server listening on ${fake.url}`);
  console.log(`  OpenAI:    new OpenAI({ baseURL: '${fake.baseURL}', apiKey: 'any' })`);
  console.log(`  Anthropic: new Anthropic({ baseURL: '${fake.anthropicBaseURL}', apiKey: 'any' })`);
  console.log(`  Gemini:    new GoogleGenAI({ apiKey: 'any', httpOptions: { baseUrl: '${fake.url}' } })`);
  console.log(`  Bedrock:   new BedrockRuntimeClient({ endpoint: '${fake.bedrockEndpoint}', region: 'us-east-1', credentials: { accessKeyId: 'any', secretAccessKey: 'any' } })`);
  console.log('Press Ctrl-C to stop.');
  const stop = () => fake.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
