import { describe, expect, it } from 'vitest';
import { classifyError, connectionTarget, contextLimits, httpStatusOf, retryAfterSeconds } from '../analyzers/errorClassifier';
import { errorFactsOf, errorSummary, isErrorEvent } from '../analyzers/eventErrors';
import type { ErrorFacts } from '../analyzers/eventErrors';
import type { TruthEvent } from '../src/types';

type Row = [label: string, facts: ErrorFacts, expected: string | undefined];

// Messages as the SDKs and runtimes really produce them (openai-node 6, @anthropic-ai/sdk, the Python
// SDKs' "Error code: N - {...}" strings, CPython 3.11 and Node 20 error output).
const OPENAI_429 =
  '429 Rate limit reached for gpt-4o in organization org-abc on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s. Visit https://platform.openai.com/account/rate-limits to learn more.';
const OPENAI_CONTEXT =
  "400 This model's maximum context length is 8192 tokens. However, your messages resulted in 9021 tokens. Please reduce the length of the messages.";
const PY_OPENAI_CONTEXT =
  "Error code: 400 - {'error': {'message': \"This model's maximum context length is 8192 tokens. However, your messages resulted in 10012 tokens. Please reduce the length of the messages.\", 'type': 'invalid_request_error', 'param': 'messages', 'code': 'context_length_exceeded'}}";
const ANTHROPIC_529 = '529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CS"}';
const ANTHROPIC_429 =
  '429 {"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit (https://docs.anthropic.com/en/api/rate-limits); see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later."}}';
const ANTHROPIC_401 = '401 {"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"},"request_id":"req_fake"}';
const ANTHROPIC_TOO_LONG = '400 {"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210043 tokens > 200000 maximum"}}';
// @google/genai's ApiError: Google's error body as the message, the HTTP status as `status`.
const GEMINI_429 =
  '{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"17s"}]}}';
const GEMINI_BAD_KEY =
  '{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}';
const GEMINI_TOO_LONG = '{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}';
const PY_TRACEBACK = [
  'Traceback (most recent call last):',
  '  File "/tmp/solver.py", line 12, in <module>',
  '    growth = total / years',
  'ZeroDivisionError: division by zero',
].join('\n');
const PY_SYNTAX = ['  File "/tmp/solver.py", line 2', '    def simulate(p0, rate, capacity, years)', '                                          ^', "SyntaxError: expected ':'"].join('\n');
const NODE_SYNTAX = ['/tmp/solver.js:3', '  return population.map((p) => p * rate;', '                                        ^', '', "SyntaxError: missing ) after argument list", '    at internalCompileFunction (node:internal/vm:76:18)'].join('\n');

const rows: Row[] = [
  // rate limits
  ['openai-node RateLimitError', { eventType: 'llm_call_error', errorType: 'RateLimitError', status: 429, message: OPENAI_429 }, 'rate_limited'],
  ['anthropic RateLimitError', { eventType: 'llm_call_error', errorType: 'RateLimitError', status: 429, message: ANTHROPIC_429 }, 'rate_limited'],
  ['seed string "Rate limit exceeded"', { eventType: 'llm_call_error', message: 'Rate limit exceeded' }, 'rate_limited'],
  ['python SDK string "Error code: 429"', { eventType: 'llm_call_error', message: "Error code: 429 - {'error': {'message': 'Rate limit reached for gpt-4o', 'type': 'requests', 'code': 'rate_limit_exceeded'}}" }, 'rate_limited'],
  ['error.type "429" from an instrumentation', { eventType: 'llm_call_error', errorType: '429', message: 'request failed' }, 'rate_limited'],
  ['quota exhausted (also a 429)', { eventType: 'llm_call_error', message: '429 You exceeded your current quota, please check your plan and billing details.' }, 'rate_limited'],
  ['TPM limit "Request too large … tokens per min"', { eventType: 'llm_call_error', message: 'Request too large for gpt-4o in organization org-x on tokens per min (TPM): Limit 30000, Requested 50000.' }, 'rate_limited'],
  ['task_error carrying the propagated message', { eventType: 'task_error', message: 'Rate limit exceeded' }, 'rate_limited'],
  ['@google/genai RESOURCE_EXHAUSTED', { eventType: 'llm_call_error', errorType: 'RESOURCE_EXHAUSTED', status: 429, message: GEMINI_429 }, 'rate_limited'],
  // authentication
  ['openai AuthenticationError', { eventType: 'llm_call_error', errorType: 'AuthenticationError', status: 401, message: '401 Incorrect API key provided: sk-wrong. You can find your API key at https://platform.openai.com/account/api-keys.' }, 'auth_failure'],
  ['anthropic invalid x-api-key (no type)', { eventType: 'llm_call_error', message: ANTHROPIC_401 }, 'auth_failure'],
  ['PermissionDeniedError 403', { eventType: 'llm_call_error', errorType: 'PermissionDeniedError', status: 403, message: '403 Project does not have access to model gpt-4o' }, 'auth_failure'],
  ['missing key at client construction', { eventType: 'task_error', errorType: 'OpenAIError', message: 'The OPENAI_API_KEY environment variable is missing or empty; either provide it, or instantiate the OpenAI client with an apiKey option, like new OpenAI({ apiKey: \'My API Key\' }).' }, 'auth_failure'],
  ['openai 6 client made without a key', { eventType: 'unhandled_rejection', errorType: 'OpenAIError', message: 'Missing credentials. Please pass an `apiKey`, `workloadIdentity`, `adminAPIKey`, or set the `OPENAI_API_KEY` or `OPENAI_ADMIN_KEY` environment variable.' }, 'auth_failure'],
  // Gemini refuses a key with a 400, which names its reason
  ['@google/genai API_KEY_INVALID (a 400)', { eventType: 'llm_call_error', errorType: 'API_KEY_INVALID', status: 400, message: GEMINI_BAD_KEY }, 'auth_failure'],
  ['Vertex AI UNAUTHENTICATED', { eventType: 'llm_call_error', errorType: 'UNAUTHENTICATED', message: 'Request had invalid authentication credentials.' }, 'auth_failure'],
  // timeouts
  ['openai APIConnectionTimeoutError', { eventType: 'llm_call_error', errorType: 'APIConnectionTimeoutError', message: 'Request timed out.' }, 'llm_timeout'],
  ['python openai.APITimeoutError', { eventType: 'llm_call_error', errorType: 'openai.APITimeoutError', message: 'Request timed out.' }, 'llm_timeout'],
  ['ETIMEDOUT string', { eventType: 'llm_call_error', message: 'connect ETIMEDOUT 104.18.7.192:443' }, 'llm_timeout'],
  ['AbortSignal.timeout DOMException', { eventType: 'llm_call_error', errorType: 'TimeoutError', message: 'The operation was aborted due to timeout' }, 'llm_timeout'],
  ["anthropic SDK span error.type 'client_timeout_error'", { eventType: 'llm_call_error', errorType: 'client_timeout_error', message: 'client_timeout_error' }, 'llm_timeout'],
  ['504 gateway timeout', { eventType: 'llm_call_error', errorType: 'InternalServerError', status: 504, message: '504 Gateway Timeout' }, 'llm_timeout'],
  // context window
  ['openai 400 context length (BadRequestError)', { eventType: 'llm_call_error', errorType: 'BadRequestError', status: 400, message: OPENAI_CONTEXT }, 'context_length_exceeded'],
  ['python SDK context length string', { eventType: 'llm_call_error', message: PY_OPENAI_CONTEXT }, 'context_length_exceeded'],
  ['anthropic prompt is too long', { eventType: 'llm_call_error', errorType: 'BadRequestError', status: 400, message: ANTHROPIC_TOO_LONG }, 'context_length_exceeded'],
  ['anthropic 413 request_too_large', { eventType: 'llm_call_error', errorType: 'ContentTooLargeError', status: 413, message: '413 {"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}}' }, 'context_length_exceeded'],
  ['@google/genai input token count over the maximum (a 400)', { eventType: 'llm_call_error', errorType: 'INVALID_ARGUMENT', status: 400, message: GEMINI_TOO_LONG }, 'context_length_exceeded'],
  ['litellm ContextWindowExceededError', { eventType: 'llm_call_error', errorType: 'ContextWindowExceededError', message: 'litellm.ContextWindowExceededError: input too long' }, 'context_length_exceeded'],
  // provider failures
  ['anthropic OverloadedError 529', { eventType: 'llm_call_error', errorType: 'OverloadedError', status: 529, message: ANTHROPIC_529 }, 'llm_server_error'],
  ["seed string 'overloaded_error'", { eventType: 'llm_call_error', message: "{'type': 'error', 'error': {'type': 'overloaded_error', 'message': 'Overloaded'}}" }, 'llm_server_error'],
  // A proxy in front of the provider (Envoy) answers 502/503 with its own text; the AI SDK's error carries no status.
  [
    'AI SDK APICallError from a proxy 502, no status',
    { eventType: 'llm_call_error', errorType: 'AI_RetryError', message: 'Failed after 3 attempts. Last error: upstream connect error or disconnect/reset before headers. reset reason: connection failure' },
    'llm_server_error',
  ],
  ['a proxy 503 with no healthy upstream', { eventType: 'llm_call_error', errorType: 'AI_APICallError', message: 'no healthy upstream' }, 'llm_server_error'],
  ['openai InternalServerError 500', { eventType: 'llm_call_error', errorType: 'InternalServerError', status: 500, message: '500 The server had an error while processing your request. Sorry about that!' }, 'llm_server_error'],
  ["instrumentation error.type 'server_error'", { eventType: 'llm_call_error', errorType: 'server_error', message: 'server_error' }, 'llm_server_error'],
  ['openai APIError from an error event in a stream', { eventType: 'llm_call_error', errorType: 'APIError', message: 'The engine is currently overloaded, please try again later.' }, 'llm_server_error'],
  ['openai APIError without a telling message', { eventType: 'llm_call_error', errorType: 'APIError', message: 'An error occurred during streaming' }, 'llm_server_error'],
  ['openai APIError from a rate-limit event in a stream', { eventType: 'llm_call_error', errorType: 'APIError', message: 'Rate limit reached for gpt-4o-mini in organization org-fake on requests per min (RPM): Limit 3, Used 3, Requested 1.' }, 'rate_limited'],
  ['openai APIError with a 429 status', { eventType: 'llm_call_error', errorType: 'APIError', status: 429, message: 'request failed' }, 'rate_limited'],
  ['openai APIConnectionError (reset)', { eventType: 'llm_call_error', errorType: 'APIConnectionError', message: 'Connection error.' }, 'llm_server_error'],
  ["anthropic SDK span error.type 'connection_error'", { eventType: 'llm_call_error', errorType: 'connection_error', message: 'connection_error' }, 'llm_server_error'],
  ['ECONNRESET string', { eventType: 'llm_call_error', message: 'read ECONNRESET' }, 'llm_server_error'],
  ['socket hang up', { eventType: 'llm_call_error', errorType: 'Error', message: 'socket hang up' }, 'llm_server_error'],
  ['HTTP 503 in a message', { eventType: 'llm_call_error', message: 'HTTP 503 Service Unavailable' }, 'llm_server_error'],
  ['an LLM call to a host that does not resolve', { eventType: 'llm_call_error', errorType: 'Error', message: 'getaddrinfo ENOTFOUND api.openai.example' }, 'llm_server_error'],
  // a service the agent calls, outside every LLM span (a tool, a database, a vector store)
  ['fetch failed in a task (undici, cause ECONNREFUSED)', { eventType: 'task_error', errorType: 'TypeError', message: 'fetch failed (cause: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:42581)' }, 'dependency_unreachable'],
  ['a refused connection in a task', { eventType: 'task_error', message: 'connect ECONNREFUSED 127.0.0.1:6333' }, 'dependency_unreachable'],
  ['a host that does not resolve, in a task', { eventType: 'task_error', errorType: 'Error', message: 'getaddrinfo ENOTFOUND qdrant.internal' }, 'dependency_unreachable'],
  ['a DNS lookup that failed for now', { eventType: 'task_error', message: 'getaddrinfo EAI_AGAIN redis' }, 'dependency_unreachable'],
  ['a connect timeout in a task', { eventType: 'task_error', errorType: 'Error', message: 'connect ETIMEDOUT 10.0.0.5:5432' }, 'dependency_unreachable'],
  ['a reset connection in a task, told by its code', { eventType: 'task_error', errorType: 'ECONNRESET', message: 'read ECONNRESET' }, 'dependency_unreachable'],
  // An MCP server that went away (a stdio server that exited): 1.x's McpError, 2.x's SdkError.
  ['an MCP tool call whose server closed the connection (1.x)', { eventType: 'task_error', errorType: '-32000', message: 'MCP error -32000: Connection closed' }, 'dependency_unreachable'],
  ['an MCP tool call whose server closed the connection (2.x)', { eventType: 'task_error', errorType: 'CONNECTION_CLOSED', message: 'Connection closed' }, 'dependency_unreachable'],
  ['an MCP server whose command is not installed', { eventType: 'task_error', errorType: 'Error', message: 'spawn no-such-mcp-server ENOENT' }, 'dependency_unreachable'],
  ["python requests' ConnectionError in a tool", { eventType: 'task_error', errorType: 'requests.exceptions.ConnectionError', message: "HTTPConnectionPool(host='localhost', port=6333): Max retries exceeded with url: /collections (Caused by NewConnectionError('Failed to establish a new connection: [Errno 111] Connection refused'))" }, 'dependency_unreachable'],
  ['an uncaught fetch failed (no span at all)', { eventType: 'uncaught_exception', errorType: 'TypeError', message: 'fetch failed', detail: 'connect ECONNREFUSED 127.0.0.1:8080' }, 'dependency_unreachable'],
  // generated code
  ['python SyntaxError in stderr', { eventType: 'code_exec_error', message: 'python3 exited with code 1', detail: PY_SYNTAX }, 'code_syntax_errors'],
  ['seed "SyntaxError: invalid syntax"', { eventType: 'code_exec_error', message: 'SyntaxError: invalid syntax' }, 'code_syntax_errors'],
  ['IndentationError', { eventType: 'code_exec_error', message: 'IndentationError: unexpected indent (solver.py, line 7)' }, 'code_syntax_errors'],
  ['node SyntaxError: Unexpected token', { eventType: 'code_exec_error', message: "SyntaxError: Unexpected token ')'" }, 'code_syntax_errors'],
  ['node SyntaxError in stderr', { eventType: 'code_exec_error', message: 'node exited with code 1', detail: NODE_SYNTAX }, 'code_syntax_errors'],
  ['seed custom syntax_error event', { eventType: 'syntax_error', message: 'missing colon at line 2' }, 'code_syntax_errors'],
  ['python exec() in a task names <string>', { eventType: 'task_error', errorType: 'SyntaxError', message: "invalid syntax (<string>, line 3)" }, 'code_syntax_errors'],
  ['python traceback (runtime)', { eventType: 'code_exec_error', message: PY_TRACEBACK }, 'code_runtime_errors'],
  ['traceback in stderr, plain message', { eventType: 'code_exec_error', message: 'Command failed: python3 solver.py', detail: PY_TRACEBACK }, 'code_runtime_errors'],
  ['node ReferenceError', { eventType: 'code_exec_error', message: 'ReferenceError: rate is not defined' }, 'code_runtime_errors'],
  ['python ModuleNotFoundError', { eventType: 'code_exec_error', message: "ModuleNotFoundError: No module named 'scipy'" }, 'code_runtime_errors'],
  ['code timeout is a code failure, not an LLM timeout', { eventType: 'code_exec_error', message: "Command 'python3 solver.py' timed out after 30 seconds" }, 'code_runtime_errors'],
  ['non-zero exit without text', { eventType: 'code_exec_end', message: '' }, 'code_runtime_errors'],
  // not a known cause
  ['JSON.parse of an LLM reply is not a code error', { eventType: 'task_error', errorType: 'SyntaxError', message: 'Unexpected token \'T\', "The answer"... is not valid JSON' }, undefined],
  ['python json.loads of an LLM reply', { eventType: 'task_error', errorType: 'JSONDecodeError', message: 'Expecting value: line 1 column 1 (char 0)' }, undefined],
  ['openai NotFoundError', { eventType: 'llm_call_error', errorType: 'NotFoundError', status: 404, message: '404 The model `gpt-5-turbo` does not exist or you do not have access to it.' }, undefined],
  ['an agent TypeError', { eventType: 'task_error', errorType: 'TypeError', message: "Cannot read properties of undefined (reading 'content')" }, undefined],
  ['a generic BadRequestError', { eventType: 'llm_call_error', errorType: 'BadRequestError', status: 400, message: "400 Invalid value for 'temperature': expected a number" }, undefined],
];

describe('classifyError on real error messages', () => {
  it.each(rows)('%s', (_label, facts, expected) => {
    expect(classifyError(facts)?.id).toBe(expected);
  });

  it('is more certain from an error class than from a loose message', () => {
    expect(classifyError({ errorType: 'RateLimitError', message: 'x' })).toEqual({ id: 'rate_limited', strength: 0.95, via: 'type' });
    expect(classifyError({ status: 429, message: 'x' })).toEqual({ id: 'rate_limited', strength: 0.9, via: 'status' });
    expect(classifyError({ message: 'Rate limit exceeded' })).toEqual({ id: 'rate_limited', strength: 0.85, via: 'message' });
    expect(classifyError({ message: 'permission denied' })).toEqual({ id: 'auth_failure', strength: 0.7, via: 'message' });
  });
});

describe('connectionTarget', () => {
  it('reads where a connection went, as Node, undici and Python say it', () => {
    expect(connectionTarget('fetch failed (cause: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:42581)')).toBe('127.0.0.1:42581');
    expect(connectionTarget('getaddrinfo ENOTFOUND qdrant.internal')).toBe('qdrant.internal');
    expect(connectionTarget('connect ETIMEDOUT 10.0.0.5:5432')).toBe('10.0.0.5:5432');
    expect(connectionTarget('connect ECONNREFUSED ::1:6379')).toBe('::1:6379');
    expect(connectionTarget("HTTPConnectionPool(host='localhost', port=6333): Max retries exceeded")).toBe('localhost:6333');
    expect(connectionTarget('read ECONNRESET')).toBeUndefined();
    expect(connectionTarget('socket hang up')).toBeUndefined();
  });

  it('a connection error outside an LLM call is sure evidence that something could not be reached', () => {
    expect(classifyError({ eventType: 'task_error', errorType: 'TypeError', message: 'fetch failed' })).toEqual({ id: 'dependency_unreachable', strength: 0.85, via: 'message' });
    expect(classifyError({ eventType: 'task_error', errorType: 'ECONNREFUSED', message: 'x' })).toEqual({ id: 'dependency_unreachable', strength: 0.95, via: 'type' });
    // A timeout that is not a connect timeout stays weak evidence of an LLM timeout.
    expect(classifyError({ eventType: 'task_error', errorType: 'TimeoutError', message: 'The operation was aborted due to timeout' })).toEqual({ id: 'llm_timeout', strength: 0.5, via: 'type' });
    // The same refusal on an LLM call is the provider's; an LLM SDK's own class names the provider wherever it was caught.
    expect(classifyError({ eventType: 'llm_call_error', errorType: 'TypeError', message: 'fetch failed (cause: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:42581)' })?.id).toBe('llm_server_error');
    expect(classifyError({ eventType: 'task_error', errorType: 'APIConnectionError', message: 'Connection error.' })).toEqual({ id: 'llm_server_error', strength: 0.95, via: 'type' });
  });
});

describe('details read from error messages', () => {
  it.each([
    ['Error code: 429 - {...}', 429],
    ['429 Rate limit reached for gpt-4o', 429],
    ['529 {"type":"error"}', 529],
    ['status code 503', 503],
    ['HTTP/1.1 502 Bad Gateway', 502],
    ['see http://127.0.0.1:8787/v1', undefined],
    ['100 items processed', undefined],
  ])('HTTP status in %j', (message, status) => {
    expect(httpStatusOf({ message })).toBe(status);
  });

  it.each([
    [OPENAI_429, 20],
    ['Rate limit reached. Please try again in 6ms.', 0.006],
    ['Please try again in 1m30s', 90],
    ['retry-after: 7', 7],
    ['{"retry-after-ms": "250"}', 0.25],
    ['Please retry after 20 seconds', 20],
    [GEMINI_429, 17],
    ['Rate limit exceeded', undefined],
  ])('retry-after in %j', (text, expected) => {
    expect(retryAfterSeconds(text)).toBe(expected);
  });

  it('prefers retry-after data fields', () => {
    expect(retryAfterSeconds('Rate limit exceeded', { retry_after_ms: 1500 })).toBe(1.5);
    expect(retryAfterSeconds('Rate limit exceeded', { retry_after: '12' })).toBe(12);
  });

  it('reads the context window and the request size', () => {
    expect(contextLimits(OPENAI_CONTEXT)).toEqual({ limit: 8192, requested: 9021 });
    expect(contextLimits(ANTHROPIC_TOO_LONG)).toEqual({ limit: 200000, requested: 210043 });
    expect(contextLimits("This model's maximum context length is 128000 tokens.")).toEqual({ limit: 128000 });
    expect(contextLimits(GEMINI_TOO_LONG)).toEqual({ limit: 1048576, requested: 1200000 });
  });
});

describe('errors read from events', () => {
  const event = (type: string, data: Record<string, unknown>, level: TruthEvent['level'] = 'ERROR'): TruthEvent => ({ timestamp: '2025-01-24T10:30:00.000000Z', elapsed_seconds: 0, type, level, data });

  it('takes the span-derived fields', () => {
    expect(errorFactsOf(event('llm_call_error', { error: OPENAI_429, error_type: 'RateLimitError', http_status: 429, stage: 's' }))).toEqual({
      eventType: 'llm_call_error',
      errorType: 'RateLimitError',
      status: 429,
      message: OPENAI_429,
    });
    expect(errorFactsOf(event('code_exec_error', { error: 'exit 1', stderr_tail: PY_TRACEBACK, exit_code: 1 }))).toEqual({
      eventType: 'code_exec_error',
      message: 'exit 1',
      detail: PY_TRACEBACK,
    });
    expect(errorFactsOf(event('task_error', { error: { message: 'boom', name: 'TypeError', status: 500 } })).errorType).toBe('TypeError');
  });

  it('knows which events report errors', () => {
    expect(isErrorEvent(event('llm_call_error', {}))).toBe(true);
    expect(isErrorEvent(event('llm_retry', { error: 'Rate limit exceeded' }, 'WARNING'))).toBe(true);
    expect(isErrorEvent(event('code_exec_end', { exit_code: 1 }, 'INFO'))).toBe(true);
    expect(isErrorEvent(event('code_exec_end', { exit_code: 0 }, 'INFO'))).toBe(false);
    expect(isErrorEvent(event('stage_unfinished', { unfinished: true }, 'WARNING'))).toBe(false);
  });

  it('summarises a traceback by its last error line', () => {
    expect(errorSummary({ message: PY_TRACEBACK })).toBe('ZeroDivisionError: division by zero');
    expect(errorSummary({ message: 'python3 exited with code 1', detail: PY_SYNTAX })).toBe("python3 exited with code 1 | SyntaxError: expected ':'");
  });
});
