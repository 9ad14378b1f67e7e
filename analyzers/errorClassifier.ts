import type { ErrorClassId } from './diagnosisTypes';
import { lastErrorLine, type ErrorFacts } from './eventErrors';

/**
 * Names the cause of one error from what real SDKs and runtimes report: the error's class name
 * (`error.type` / `data.error_type`, e.g. OpenAI's RateLimitError, Anthropic's OverloadedError),
 * the HTTP status, and the message (seed-style `data.error` strings such as "Rate limit exceeded",
 * Python's "Error code: 429 - {...}", "This model's maximum context length is 8192 tokens",
 * a Python traceback or Node's "SyntaxError: Unexpected token").
 */

export interface ErrorClassification {
  id: ErrorClassId;
  /** How sure: 0.95 from an error class, 0.9 from an HTTP status, 0.85 from a telling message, 0.7 from a loose one. */
  strength: number;
  via: 'type' | 'status' | 'message' | 'event';
}

const BY_TYPE = 0.95;
const BY_STATUS = 0.9;
const BY_MESSAGE = 0.85;
const LOOSE = 0.7;

/** Error class names and codes, lower-case, without separators (`rate_limit_error` → `ratelimiterror`). */
const TYPE_CLASSES: ReadonlyArray<[ErrorClassId, readonly string[]]> = [
  ['rate_limited', ['ratelimiterror', 'ratelimitexceeded', 'ratelimit', 'toomanyrequests', 'toomanyrequestserror', 'throttlingexception', 'throttled', 'resourceexhausted', 'insufficientquota']],
  [
    'auth_failure',
    [
      'authenticationerror',
      'permissiondeniederror',
      'permissionerror',
      'permissiondenied',
      'invalidapikey',
      'unauthorized',
      'unauthorizederror',
      'forbidden',
      'autherror',
      'authenticationfailed',
      // Google's: the RPC status of a 401, and the reason Gemini gives a refused key (with a 400).
      'unauthenticated',
      'apikeyinvalid',
    ],
  ],
  [
    'llm_timeout',
    [
      'apiconnectiontimeouterror',
      'apitimeouterror',
      'timeouterror',
      'timeout',
      'requesttimeouterror',
      'gatewaytimeouterror',
      'readtimeout',
      'readtimeouterror',
      'connecttimeout',
      'connecttimeouterror',
      'deadlineexceeded',
      'etimedout',
      'esockettimedout',
      'underrheaderstimeout',
      'underrbodytimeout',
      'underrconnecttimeout',
      // @anthropic-ai/sdk's own spans: error.type of an APIConnectionTimeoutError.
      'clienttimeouterror',
    ],
  ],
  ['context_length_exceeded', ['contextlengthexceeded', 'contextwindowexceedederror', 'contenttoolargeerror', 'requesttoolarge', 'stringabovemaxlength']],
  [
    'llm_server_error',
    [
      'internalservererror',
      'serviceunavailableerror',
      'overloadederror',
      'overloaded',
      'apierror',
      'servererror',
      'apiconnectionerror',
      'badgatewayerror',
      'serviceunavailable',
      'internalerror',
      'econnreset',
      'econnrefused',
      'epipe',
      'underrsocket',
      // @anthropic-ai/sdk's own spans: error.type of an APIConnectionError.
      'connectionerror',
    ],
  ],
];

const TYPE_INDEX = new Map<string, ErrorClassId>(TYPE_CLASSES.flatMap(([id, names]) => names.map((name) => [name, id] as const)));

const CONTEXT_MESSAGE = /maximum context length|context[_ ]length[_ ]exceeded|prompt is too long|context window|input is too long|too many (?:input )?tokens|exceeds? (?:the )?(?:model'?s? )?(?:maximum|max)(?:imum)? (?:context|token|input|number of tokens)|reduce the length of the messages/i;

/** Messages that name their cause, most specific first. */
const MESSAGE_PATTERNS: ReadonlyArray<[ErrorClassId, RegExp, number]> = [
  ['auth_failure', /incorrect api key|invalid[ _-]?(?:x-)?api[ _-]?key|invalid x-api-key|api key (?:is )?(?:not valid|invalid|missing)|no api key provided|authentication[_ ]error|invalid authentication|api_key client option must be set|could not resolve authentication method|API_KEY environment variable is missing|missing credentials/i, BY_MESSAGE],
  ['context_length_exceeded', CONTEXT_MESSAGE, BY_MESSAGE],
  ['rate_limited', /rate[ _-]?limit|too many requests|exceeded your current quota|insufficient_quota|tokens per min|requests per min|throttl|resource[ _]exhausted/i, BY_MESSAGE],
  ['llm_timeout', /timed? ?out\b|\btimeout\b|ETIMEDOUT|ESOCKETTIMEDOUT|deadline exceeded|gateway time-?out/i, BY_MESSAGE],
  ['llm_server_error', /overloaded|internal server error|server[_ ]error|server had an error|service unavailable|bad gateway|upstream connect error|no healthy upstream|api_error|ECONNRESET|ECONNREFUSED|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|socket hang up|connection (?:error|reset|refused)|other side closed|UND_ERR_SOCKET|fetch failed/i, BY_MESSAGE],
  ['auth_failure', /\bunauthori[sz]ed\b|permission[_ ]denied|permission_error|\bforbidden\b/i, LOOSE],
  ['context_length_exceeded', /request[_ ]too[_ ]large/i, LOOSE],
];

/**
 * What no retry of a failed LLM call can fix, in the few facts llm_usage reads of it anyway (its
 * error class and HTTP status; the message only for a 400 or a call that states no status): a key
 * the provider refuses (401/403, an authentication error class) or a prompt longer than the
 * context window. Undefined for anything else, retryable or not known.
 */
export function nonRetryableLlmFailure(errorType: string | undefined, status: number | undefined, message: () => string): 'auth_failure' | 'context_length_exceeded' | undefined {
  const fromType = errorType ? TYPE_INDEX.get(typeKey(errorType)) : undefined;
  if (status === 401 || status === 403 || fromType === 'auth_failure') return 'auth_failure';
  if (status === 413 || fromType === 'context_length_exceeded') return 'context_length_exceeded';
  if ((status === undefined || status === 400) && CONTEXT_MESSAGE.test(message())) return 'context_length_exceeded';
  return undefined;
}

/** "Error code: 429 - {...}" (Python SDKs), "429 Rate limit reached" (Node SDKs), "status code 429", "HTTP 503". */
const STATUS_IN_MESSAGE = [/(?:error code|status(?: code)?|http(?:\/\d(?:\.\d)?)?)\s*[:=]?\s*([1-5]\d\d)\b/i, /^\s*([1-5]\d\d)\s+(?:[A-Z{"]|status code)/];

const SYNTAX_TYPES = new Set(['syntaxerror', 'indentationerror', 'taberror']);
const SYNTAX_MESSAGE = /\b(?:SyntaxError|IndentationError|TabError)\b|invalid syntax|unexpected (?:token|end of input|identifier|indent|EOF)|was never closed|unterminated string|unexpected character|missing \) after argument list|expected an indented block|unindent does not match/i;
/** Parse errors of data, not code: an LLM reply that is not the JSON the agent expected. */
const JSON_ERROR = /\bJSON\b|JSONDecodeError|Expecting value: line|Expecting property name/i;

/** True for the text of a data parse error: an LLM reply that is not valid JSON (JSON.parse, json.loads). */
export function isJsonParseError(text: string): boolean {
  return JSON_ERROR.test(text);
}
/** A syntax error of generated Python code run in-process (exec/compile): it names a line. */
const PYTHON_SYNTAX_IN_PROCESS = /\b(?:SyntaxError|IndentationError|TabError)\b[^\n]*(?:line \d+|<string>|<unknown>)|\(<string>, line \d+\)/;
const RUNTIME_MESSAGE = /Traceback \(most recent call last\)|\b[A-Z][A-Za-z]*(?:Error|Exception)\b|exit(?:ed)? (?:with )?(?:code|status) [1-9]|non-zero exit|killed|segmentation fault|timed? ?out/i;

const CODE_EVENT = /^(?:code_exec_|syntax_error$|runtime_error$|compile_error$|code_error$)/;

/** The lower-case class name without its module or separators: `openai.RateLimitError` → `ratelimiterror`. */
function typeKey(type: string): string {
  const last = type.trim().split(/[.:]/).pop() ?? '';
  return last.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** The HTTP status an error states: the given one, a numeric error type, or one in the message. */
export function httpStatusOf(facts: Pick<ErrorFacts, 'status' | 'errorType' | 'message'>): number | undefined {
  if (typeof facts.status === 'number' && facts.status >= 100 && facts.status < 600) return facts.status;
  if (facts.errorType && /^\s*[1-5]\d\d\s*$/.test(facts.errorType)) return Number(facts.errorType);
  for (const pattern of STATUS_IN_MESSAGE) {
    const found = pattern.exec(facts.message);
    if (found) return Number(found[1]);
  }
  return undefined;
}

function byStatus(status: number | undefined): ErrorClassId | undefined {
  if (status === undefined) return undefined;
  if (status === 401 || status === 403) return 'auth_failure';
  if (status === 408 || status === 504) return 'llm_timeout';
  if (status === 413) return 'context_length_exceeded';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'llm_server_error';
  return undefined;
}

function byMessage(text: string): ErrorClassification | undefined {
  for (const [id, pattern, strength] of MESSAGE_PATTERNS) {
    if (pattern.test(text)) return { id, strength, via: 'message' };
  }
  return undefined;
}

/** An error of generated code (run as a child process or compiled in-process). */
function classifyCode(facts: ErrorFacts, text: string): ErrorClassification {
  if (facts.eventType === 'syntax_error') return { id: 'code_syntax_errors', strength: BY_TYPE, via: 'event' };
  const type = facts.errorType ? typeKey(facts.errorType) : '';
  if (SYNTAX_TYPES.has(type) && !JSON_ERROR.test(facts.message)) return { id: 'code_syntax_errors', strength: BY_TYPE, via: 'type' };
  // A traceback ends with the exception that stopped the program: judge that line, not an earlier quote.
  const last = lastErrorLine(text) || text;
  if (SYNTAX_MESSAGE.test(last) && !JSON_ERROR.test(last)) return { id: 'code_syntax_errors', strength: BY_MESSAGE, via: 'message' };
  if (RUNTIME_MESSAGE.test(text)) return { id: 'code_runtime_errors', strength: BY_MESSAGE, via: 'message' };
  return { id: 'code_runtime_errors', strength: LOOSE, via: 'event' };
}

export function isCodeEvent(type: string | undefined): boolean {
  return type !== undefined && CODE_EVENT.test(type);
}

/**
 * Timeouts and dropped connections happen to databases, tools and vector stores as much as to LLM
 * providers. Outside an LLM event, only an LLM SDK's own error class (APIConnectionTimeoutError,
 * OverloadedError …) is sure; generic signs (TimeoutError, ECONNRESET, a 5xx) count as weak evidence.
 */
const GENERIC_TYPES = new Set([
  'timeouterror',
  'timeout',
  'etimedout',
  'esockettimedout',
  'readtimeout',
  'readtimeouterror',
  'connecttimeout',
  'connecttimeouterror',
  'deadlineexceeded',
  'underrheaderstimeout',
  'underrbodytimeout',
  'underrconnecttimeout',
  'econnreset',
  'econnrefused',
  'epipe',
  'underrsocket',
  'internalerror',
  'clienttimeouterror',
  'connectionerror',
]);
/** The strength of a timeout or 5xx outside every LLM call: only a weak sign of an LLM's. */
export const NOT_FROM_LLM = 0.5;

/**
 * A connection that could not be made or was dropped: refused, reset, a name that did not resolve,
 * no route, a connect timeout (not a slow answer). Error codes as Node, undici and Python name them.
 */
const CONNECTION_TYPES = new Set([
  'econnrefused',
  'econnreset',
  'econnaborted',
  'enotfound',
  'eaiagain',
  'ehostunreach',
  'enetunreach',
  'epipe',
  'underrsocket',
  'underrconnecttimeout',
  'connecttimeouterror',
  'connecttimeout',
  'connectionerror',
  'connectionrefusederror',
  'connectionreseterror',
  'connectionabortederror',
  // The MCP SDK 2.x's own error when its server went away (a stdio server that exited, a dropped HTTP stream).
  'connectionclosed',
]);
const CONNECTION_MESSAGE =
  /\b(?:ECONNREFUSED|ECONNRESET|ECONNABORTED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPIPE|UND_ERR_SOCKET|UND_ERR_CONNECT_TIMEOUT)\b|connect ETIMEDOUT|Connect Timeout Error|fetch failed|socket hang up|other side closed|connection (?:refused|reset|aborted)|getaddrinfo|Name or service not known|nodename nor servname|Temporary failure in name resolution|Failed to establish a new connection|No route to host|MCP error -32000: Connection closed/i;

/** Node's error for a program that could not be started: not found, or not executable. */
const SPAWN_FAILED = /\bspawn \S+ (?:ENOENT|EACCES)\b/;

/**
 * Where the connection went, as the error says it: `connect ECONNREFUSED 127.0.0.1:6333`,
 * `getaddrinfo ENOTFOUND qdrant.internal`, Python's `host='localhost', port=6333`.
 */
export function connectionTarget(text: string): string | undefined {
  const node = /\b(?:connect|getaddrinfo|read|write)\s+E[A-Z_]+\s+(\[?[A-Za-z0-9_.:-]*[A-Za-z0-9\]](?::\d+)?)/.exec(text);
  if (node) return node[1];
  const python = /host='([^']+)',\s*port=(\d+)/.exec(text);
  if (python) return `${python[1]}:${python[2]}`;
  return undefined;
}

/** The diagnosis one error is evidence of, or undefined when nothing names a known cause. */
export function classifyError(facts: ErrorFacts): ErrorClassification | undefined {
  const found = classify(facts);
  if (found && found.id !== 'llm_timeout' && found.id !== 'llm_server_error') return found;
  if (facts.eventType?.startsWith('llm_call')) return found;
  const type = typeKey(facts.errorType ?? '');
  // An LLM SDK's own class (APIConnectionError, OverloadedError …) names the provider, wherever it was caught.
  if (found?.via === 'type' && !GENERIC_TYPES.has(type)) return found;
  // A connection no LLM span made: a tool, a database, a vector store, or a provider called with
  // plain fetch. What the error says for sure is that something could not be reached, not what.
  if (CONNECTION_TYPES.has(type)) return { id: 'dependency_unreachable', strength: BY_TYPE, via: 'type' };
  const text = facts.detail ? `${facts.message}\n${facts.detail}` : facts.message;
  if (CONNECTION_MESSAGE.test(text)) return { id: 'dependency_unreachable', strength: BY_MESSAGE, via: 'message' };
  // A program a task needed that could not be started: a stdio MCP server (or a tool's CLI) not installed.
  if (facts.eventType?.startsWith('task_') && SPAWN_FAILED.test(text)) return { id: 'dependency_unreachable', strength: BY_MESSAGE, via: 'message' };
  return found && { ...found, strength: Math.min(found.strength, NOT_FROM_LLM) };
}

function classify(facts: ErrorFacts): ErrorClassification | undefined {
  const text = facts.detail ? `${facts.message}\n${facts.detail}` : facts.message;
  if (isCodeEvent(facts.eventType)) return classifyCode(facts, text);
  const type = facts.errorType ? typeKey(facts.errorType) : '';
  // Generated Python code compiled in-process by the agent (exec, compile) names a line; an
  // unparsable LLM reply (JSON.parse, json.loads) is not a code error.
  if (!JSON_ERROR.test(text)) {
    if (PYTHON_SYNTAX_IN_PROCESS.test(text)) return { id: 'code_syntax_errors', strength: BY_MESSAGE, via: 'message' };
    if (SYNTAX_TYPES.has(type)) return { id: 'code_syntax_errors', strength: LOOSE, via: 'type' };
  }
  // A 400 that is about the context window says so only in its message: look there first.
  const specific = byMessage(text);
  if (specific?.id === 'context_length_exceeded' && specific.strength === BY_MESSAGE) return specific;
  const fromType = TYPE_INDEX.get(type);
  const fromStatus = byStatus(httpStatusOf({ ...facts, message: text }));
  // The openai SDKs' base APIError names no cause: it is what an `error` event inside a stream (a
  // rate limit, an overload …) or a status without its own class is raised as. A status or a
  // telling message says more.
  if (type === 'apierror' && (fromStatus || specific)) return fromStatus ? { id: fromStatus, strength: BY_STATUS, via: 'status' } : specific;
  // openai-node raises every 5xx as InternalServerError: a 504 is still a timeout.
  if (fromType === 'llm_server_error' && fromStatus === 'llm_timeout') return { id: fromStatus, strength: BY_STATUS, via: 'status' };
  if (fromType) return { id: fromType, strength: BY_TYPE, via: 'type' };
  if (fromStatus) return { id: fromStatus, strength: BY_STATUS, via: 'status' };
  return specific;
}

/** Seconds the provider asked to wait: `retry-after`, `retry_after_ms`, "Please try again in 20s". */
export function retryAfterSeconds(text: string, data?: Record<string, unknown>): number | undefined {
  if (data) {
    for (const [key, scale] of [['retry_after_ms', 0.001], ['retry_after', 1], ['retry_after_seconds', 1], ['retryAfter', 1]] as const) {
      const value = Number(data[key]);
      if (data[key] !== undefined && data[key] !== null && data[key] !== '' && Number.isFinite(value) && value >= 0) return value * scale;
    }
  }
  const header = /retry[-_ ]after(-ms)?["'\s]*[:=]?\s*["']?(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?)?\b/i.exec(text);
  if (header) return toSeconds(Number(header[2]), header[1] ? 'ms' : header[3]);
  // Google's RetryInfo in an error body: "retryDelay": "17s".
  const delay = /"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"/.exec(text);
  if (delay) return Number(delay[1]);
  const again = /(?:try|retry) again in\s+(?:(\d+)m)?(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?)\b/i.exec(text);
  if (again) return (again[1] ? Number(again[1]) * 60 : 0) + toSeconds(Number(again[2]), again[3]);
  return undefined;
}

function toSeconds(value: number, unit: string | undefined): number {
  const u = (unit ?? 's').toLowerCase();
  if (u === 'ms' || u.startsWith('milli')) return value / 1000;
  if (u === 'm' || u.startsWith('min')) return value * 60;
  return value;
}

/** "maximum context length is 8192 tokens … resulted in 9000 tokens", "prompt is too long: 210000 tokens > 200000 maximum". */
export function contextLimits(text: string): { limit?: number; requested?: number } {
  const limits: { limit?: number; requested?: number } = {};
  const openai = /maximum context length is (\d+)[^\d]+?(?:resulted in|requested|you requested) (\d+)/i.exec(text);
  if (openai) return { limit: Number(openai[1]), requested: Number(openai[2]) };
  const anthropic = /(\d+) tokens? > (\d+)(?: tokens?)? maximum/i.exec(text);
  if (anthropic) return { limit: Number(anthropic[2]), requested: Number(anthropic[1]) };
  // Gemini's: "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."
  const gemini = /input token count \((\d+)\) exceeds the maximum number of tokens allowed \((\d+)\)/i.exec(text);
  if (gemini) return { limit: Number(gemini[2]), requested: Number(gemini[1]) };
  const limitOnly = /(?:maximum context length|context window|context length)(?: is| of)? (\d+)/i.exec(text);
  if (limitOnly) limits.limit = Number(limitOnly[1]);
  return limits;
}
