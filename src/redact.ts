/**
 * Secret redaction, applied to everything this library writes: event data, span attributes,
 * exception messages and stack traces, on disk and over OTLP.
 */

export const REDACTED = '[REDACTED]';

/** Keys whose values are secrets whatever they contain (compared lower-case, `-` and `_` ignored). */
const SECRET_KEYS = new Set([
  'authorization',
  'proxyauthorization',
  'xapikey',
  'apikey',
  'apikeys',
  'openaiapikey',
  'anthropicapikey',
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'secret',
  'clientsecret',
  'secretkey',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'token',
  'authtoken',
  'sessiontoken',
  'bearer',
  'cookie',
  'setcookie',
  'privatekey',
  'awssecretaccesskey',
  'xgoogapikey',
  'ocpapimsubscriptionkey',
]);

/** Name endings that mark a secret too: `db_password`, `webhookSecret`, `OPENAI_API_KEY`, `githubAccessToken`. */
const SECRET_SUFFIXES = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'apikey',
  'accesstoken',
  'refreshtoken',
  'authtoken',
  'sessiontoken',
  'bearertoken',
  'idtoken',
  'privatekey',
  'credentials',
];

const keyCache = new Map<string, boolean>();

/** True when a property / attribute / header name holds a secret. */
export function isSecretKey(key: string): boolean {
  let secret = keyCache.get(key);
  if (secret === undefined) {
    const normalized = key.toLowerCase().replace(/[-_.\s]/g, '');
    // Attribute names such as `http.request.header.authorization` end with the secret key.
    const lastSegment = key.toLowerCase().split('.').pop()!.replace(/[-_\s]/g, '');
    secret = SECRET_KEYS.has(normalized) || SECRET_KEYS.has(lastSegment) || SECRET_SUFFIXES.some((suffix) => normalized.endsWith(suffix));
    if (keyCache.size < 10_000) keyCache.set(key, secret);
  }
  return secret;
}

// Each pattern keeps a recognisable prefix so a reader can still tell which credential leaked.
const SECRET_PATTERNS: Array<[RegExp, string | ((match: string, ...groups: string[]) => string)]> = [
  // Anthropic before OpenAI: both start with `sk-`.
  [/\bsk-ant-[A-Za-z0-9_-]{8,}/g, `sk-ant-${REDACTED}`],
  [/\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}/g, `sk-${REDACTED}`],
  [/\b(Bearer)\s+[A-Za-z0-9._~+/=-]{6,}/gi, `$1 ${REDACTED}`],
  // `Basic`/`Token` are also plain words ("token limit"): only a long credential with a digit counts.
  [/\b(Basic|Token)\s+(?=[A-Za-z0-9._~+/=-]*\d)[A-Za-z0-9._~+/=-]{12,}/gi, `$1 ${REDACTED}`],
  // Credentials inside URLs: scheme://user:password@host
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+:[^/\s@]+@/gi, `$1${REDACTED}@`],
  // An authorization header dumped into text: the credential after an optional scheme word.
  [
    /\b((?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?:(Bearer|Basic|Token|Digest|Negotiate)\s+)?(?!(?:Bearer|Basic|Token|Digest|Negotiate)\s)(?!\[REDACTED)[^\s"'&,;})]+/gi,
    (_match: string, prefix: string, scheme: string | undefined) => `${prefix}${scheme ? `${scheme} ` : ''}${REDACTED}`,
  ],
  // key=value / "key": "value" pairs in free text (query strings, headers dumped into messages).
  [
    /\b(api[_-]?key|x-api-key|password|passwd|secret|access[_-]?token|refresh[_-]?token|client[_-]?secret|token)(["']?\s*[:=]\s*["']?)(?!\[REDACTED)[^\s"'&,;})]+/gi,
    `$1$2${REDACTED}`,
  ],
  [/\bAKIA[0-9A-Z]{16}\b/g, REDACTED],
  [/\bgh[pousr]_[A-Za-z0-9]{30,}\b/g, REDACTED],
  [/\bxox[abposr]-[A-Za-z0-9-]{10,}/g, REDACTED],
  [/\bAIza[0-9A-Za-z_-]{35}\b/g, REDACTED],
];

// One cheap test before running the individual replacements: most strings contain no secret.
const MAYBE_SECRET =
  /sk-|bearer|basic |token|:\/\/[^/\s]*@|api[_-]?key|authorization|passw|secret|AKIA|gh[pousr]_|xox|AIza/i;

/** Replaces credentials found inside free text. */
export function redactString(text: string): string {
  if (!MAYBE_SECRET.test(text)) return text;
  let out = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) {
    pattern.lastIndex = 0;
    out = typeof replacement === 'string' ? out.replace(pattern, replacement) : out.replace(pattern, replacement);
  }
  return out;
}
