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
  'jwt',
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
  'secretaccesskey',
  // `<service>_token` names that are credentials (a bare `*_token` suffix would also take
  // tokenizer fields such as `eos_token` and paging cursors such as `next_token`).
  'apitoken',
  'bottoken',
  'githubtoken',
  'gitlabtoken',
  'hftoken',
  'npmtoken',
  'slacktoken',
  'vaulttoken',
];

/** Environment-variable names ending in `_TOKEN` or `_KEY` (`GITHUB_TOKEN`, `HF_TOKEN`, `STRIPE_KEY`). */
const ENV_SECRET_NAME = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_(?:TOKEN|KEY)$/;

const keyCache = new Map<string, boolean>();

/** True when a property / attribute / header name holds a secret. */
export function isSecretKey(key: string): boolean {
  let secret = keyCache.get(key);
  if (secret === undefined) {
    const normalized = key.toLowerCase().replace(/[-_.\s]/g, '');
    // Attribute names such as `http.request.header.authorization` end with the secret key.
    const lastSegment = key.toLowerCase().split('.').pop()!.replace(/[-_\s]/g, '');
    secret =
      SECRET_KEYS.has(normalized) || SECRET_KEYS.has(lastSegment) || SECRET_SUFFIXES.some((suffix) => normalized.endsWith(suffix)) || ENV_SECRET_NAME.test(key);
    if (keyCache.size < 10_000) keyCache.set(key, secret);
  }
  return secret;
}

// Each pattern keeps a recognisable prefix so a reader can still tell which credential leaked.
const SECRET_PATTERNS: Array<[RegExp, string | ((match: string, ...groups: string[]) => string)]> = [
  // A PEM private key: everything between its armour lines (or to the end, when the text was cut).
  [/(-----BEGIN [A-Z ]*PRIVATE KEY-----)[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, `$1${REDACTED}$2`],
  // Anthropic before OpenAI: both start with `sk-`.
  [/(?<![A-Za-z0-9])sk-ant-[A-Za-z0-9_-]{8,}/g, `sk-ant-${REDACTED}`],
  [/(?<![A-Za-z0-9])sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}/g, `sk-${REDACTED}`],
  // OpenAI's 401 echoes the key it was given, whatever its shape (a proxy's or Azure's key has no `sk-`).
  [/\b(Incorrect API key provided:\s*)(?!\[REDACTED|sk-\[REDACTED)\S*[^\s.]/g, `$1${REDACTED}`],
  [/\b(Bearer)\s+[A-Za-z0-9._~+/=-]{6,}/gi, `$1 ${REDACTED}`],
  // `Basic`/`Token` are also plain words ("token limit"): only a long credential with a digit counts.
  [/\b(Basic|Token)\s+(?=[A-Za-z0-9._~+/=-]*\d)[A-Za-z0-9._~+/=-]{12,}/gi, `$1 ${REDACTED}`],
  // Credentials inside URLs: scheme://user:password@host (the user may be empty: redis://:password@host)
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s:@]*:[^/\s@]+@/gi, `$1${REDACTED}@`],
  // An authorization header dumped into text: the credential after an optional scheme word.
  [
    /\b((?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?:(Bearer|Basic|Token|Digest|Negotiate)\s+)?(?!(?:Bearer|Basic|Token|Digest|Negotiate)\s)(?!\[REDACTED)[^\s"'&,;})]+/gi,
    (_match: string, prefix: string, scheme: string | undefined) => `${prefix}${scheme ? `${scheme} ` : ''}${REDACTED}`,
  ],
  // key=value / "key": "value" pairs in free text (query strings, headers dumped into messages,
  // `.env` lines): also at the end of a longer name (`OPENAI_API_KEY=`, `aws_secret_access_key =`),
  // except a bare `token` (`max_token=`, `eos_token=` are not credentials).
  [
    /(?<![A-Za-z0-9])(api[_-]?key|x-api-key|password|passwd|secret(?:[_-]?access)?[_-]?key|secret|access[_-]?token|refresh[_-]?token|auth[_-]?token|session[_-]?token|secret[_-]?token|client[_-]?secret|private[_-]?key|account[_-]?key|(?<!_)token)(["']?\s*[:=]\s*["']?)(?!\[REDACTED)[^\s"'&,;})]+/gi,
    `$1$2${REDACTED}`,
  ],
  // The same names as environment variables: `GITHUB_TOKEN=…`, `STRIPE_KEY=…`, `DB_PASS=…`, and
  // a password glued to its tool's name (`PGPASSWORD=… psql`, `MYSQLPASSWORD=…`).
  [/\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*(?:_(?:TOKEN|KEY|PASS|PWD)|PASSWORD|PASSWD))(\s*=\s*["']?)(?!\[REDACTED)[^\s"'&,;})]+/g, `$1$2${REDACTED}`],
  // Command-line options: `--password hunter2`, `--api-key KEY`, `--github-token TOKEN`.
  [/((?<!\S)--(?:[a-z0-9]+-)*(?:password|passwd|api-?key|secret|(?:auth|access|api|bearer|bot|github|hf|npm|refresh|session|slack)-token)|(?<!\S)--token)(\s+)(?![-[])[^\s"']+/gi, `$1$2${REDACTED}`],
  [/(?<![A-Za-z0-9])AKIA[0-9A-Z]{16}(?![A-Za-z0-9])/g, REDACTED],
  [/(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{30,}(?![A-Za-z0-9])/g, REDACTED],
  [/(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{20,}/g, REDACTED],
  // Stripe secret and restricted keys, Hugging Face tokens: prefixes no ordinary word has.
  [/(?<![A-Za-z0-9])([sr]k_(?:live|test)_)[A-Za-z0-9]{16,}/g, `$1${REDACTED}`],
  [/(?<![A-Za-z0-9])hf_[A-Za-z0-9]{30,}(?![A-Za-z0-9])/g, REDACTED],
  // A cookie header dumped into text: every cookie after it, to the end of the line.
  [/\b((?:set-)?cookie["']?\s*:\s*["']?)(?!\[REDACTED)[^\n"']+/gi, `$1${REDACTED}`],
  [/(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}/g, REDACTED],
  [/(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9])/g, REDACTED],
  // A JSON Web Token: header and payload are base64url JSON objects (`eyJ` is `{"`).
  [/(?<![A-Za-z0-9])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, REDACTED],
];

// One cheap test before running the individual replacements: most strings contain no secret.
const MAYBE_SECRET =
  /sk-|bearer|basic |token|:\/\/[^/\s]*@|api[_ -]?key|authorization|passw|secret|AKIA|gh[pousr]_|github_pat_|xox|AIza|eyJ|PRIVATE KEY|_key|_pass|_pwd|accountkey|k_live_|k_test_|hf_|cookie/i;

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
