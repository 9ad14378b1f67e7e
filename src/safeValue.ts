import type { Attributes } from '@opentelemetry/api';
import { stackOf } from './errorStack';
import { isSecretKey, REDACTED, redactString } from './redact';

/**
 * Turns anything a user may pass as event data into plain, JSON-safe data: secrets redacted,
 * long strings truncated with a marker, cycles and exotic values (BigInt, functions, symbols,
 * Buffers, Errors with causes, Maps, lone UTF-16 surrogates) rendered as text. Never throws.
 */

export interface SafeValueOptions {
  /** Strings longer than this keep their first `maxStringLength` characters and a marker. */
  maxStringLength: number;
  /** Arrays and objects keep this many entries and a marker. */
  maxEntries?: number;
  /** Nesting deeper than this is rendered as `[Object]` / `[Array]`. */
  maxDepth?: number;
}

export const DEFAULT_MAX_STRING_LENGTH = 16_384;
const DEFAULT_MAX_ENTRIES = 1_000;
const DEFAULT_MAX_DEPTH = 12;

export function truncateString(text: string, max: number): string {
  let out = text.length > max ? `${text.slice(0, max)}${truncationMarker(text.length - max)}` : text;
  if (!out.isWellFormed()) out = out.toWellFormed();
  return out;
}

/**
 * User text that is not event data (span names, stage and task ids, event types): cut at `max`
 * characters with the same marker as data strings, untouched (and not copied) otherwise.
 */
export function clipString(text: string, max: number): string {
  return text.length > max && !isClipped(text, max) ? truncateString(text, max) : text;
}

/** How much of a user's value a warning on stderr quotes. */
export const WARNING_QUOTE_LENGTH = 100;

const MARKER_HEAD = '…[truncated ';
const MARKER_TAIL = ' chars]';
/** The marker's length at most (a 16-digit count). */
const MAX_MARKER_LENGTH = MARKER_HEAD.length + 16 + MARKER_TAIL.length;

function truncationMarker(dropped: number): string {
  return `${MARKER_HEAD}${dropped}${MARKER_TAIL}`;
}

/**
 * Already cut at `max` (its first `max` characters and a marker): cutting again would replace the
 * count of dropped characters with the marker's own length. A name is cut once where it enters,
 * then passes through safeData and clipString again on its way to the files.
 */
function isClipped(text: string, max: number): boolean {
  return text.length <= max + MAX_MARKER_LENGTH && text.endsWith(MARKER_TAIL) && text.startsWith(MARKER_HEAD, max);
}

/** A secret this long or shorter is still redacted when the cut falls inside it. */
const REDACTION_MARGIN = 512;

const SHORT_STRING = 64;
const SHORT_CACHE_LIMIT = 2048;
const shortClean = new Map<string, string>();

/** A string within the limit: well-formed, then redacted. */
function cleanWhole(text: string): string {
  return redactString(text.isWellFormed() ? text : text.toWellFormed());
}

/**
 * Redacted, bounded, well-formed text. Redaction runs before the cut (on the kept part plus a
 * margin), so a credential that straddles the limit is not left half visible.
 */
export function safeString(text: string, max: number): string {
  if (text.length <= max) {
    if (text.length > SHORT_STRING) return cleanWhole(text);
    // Short values repeat from event to event (stage, task, model and provider names): cleaning
    // one is a map lookup after its first time. The result does not depend on `max` here.
    let clean = shortClean.get(text);
    if (clean === undefined) {
      clean = cleanWhole(text);
      if (shortClean.size >= SHORT_CACHE_LIMIT) shortClean.clear();
      shortClean.set(text, clean);
    }
    return clean;
  }
  if (isClipped(text, max)) return cleanWhole(text);
  const redacted = redactString(text.slice(0, max + REDACTION_MARGIN));
  let out = `${redacted.slice(0, max)}${truncationMarker(text.length - max)}`;
  if (!out.isWellFormed()) out = out.toWellFormed();
  return out;
}

/** Property names are bounded and well-formed too (a key can be a multi-megabyte string). */
const MAX_KEY_LENGTH = 256;

function safeKey(key: string): string {
  const out = key.length > MAX_KEY_LENGTH ? `${key.slice(0, MAX_KEY_LENGTH)}${truncationMarker(key.length - MAX_KEY_LENGTH)}` : key;
  return out.isWellFormed() ? out : out.toWellFormed();
}

class Walker {
  private readonly ancestors: object[] = [];
  private readonly maxString: number;
  private readonly maxEntries: number;
  private readonly maxDepth: number;

  constructor(options: SafeValueOptions) {
    this.maxString = options.maxStringLength;
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  }

  value(input: unknown): unknown {
    switch (typeof input) {
      case 'string':
        return safeString(input, this.maxString);
      case 'number':
        return Number.isFinite(input) ? input : String(input);
      case 'boolean':
        return input;
      case 'bigint':
        return input.toString();
      case 'undefined':
        return null;
      case 'symbol':
        return safeString(input.toString(), this.maxString);
      case 'function':
        return safeString(`[Function: ${String(readSafely(() => (input as { name?: unknown }).name) || 'anonymous')}]`, this.maxString);
      default:
        return input === null ? null : this.object(input as object);
    }
  }

  private object(input: object): unknown {
    if (this.ancestors.includes(input)) return '[Circular]';
    // Everything below may run user code (getters, proxies, toJSON): one failure spoils one value.
    try {
      const special = this.special(input);
      if (special !== undefined) return special;
      if (this.ancestors.length >= this.maxDepth) return Array.isArray(input) ? '[Array]' : '[Object]';
      this.ancestors.push(input);
      try {
        return this.container(input);
      } finally {
        this.ancestors.pop();
      }
    } catch (error) {
      return `[Unserializable: ${describeThrown(error)}]`;
    }
  }

  /** Values rendered as one string (or a date). */
  private special(input: object): string | undefined {
    if (input instanceof Date) return Number.isNaN(input.getTime()) ? 'Invalid Date' : input.toISOString();
    if (Buffer.isBuffer(input)) return `[Buffer: ${input.length} bytes]`;
    if (ArrayBuffer.isView(input)) return `[${input.constructor?.name ?? 'TypedArray'}: ${input.byteLength} bytes]`;
    if (input instanceof ArrayBuffer) return `[ArrayBuffer: ${input.byteLength} bytes]`;
    if (input instanceof RegExp) return safeString(input.toString(), this.maxString);
    if (input instanceof WeakMap || input instanceof WeakSet) return `[${input.constructor.name}]`;
    if (typeof (input as { then?: unknown }).then === 'function') return '[Promise]';
    return undefined;
  }

  private container(input: object): unknown {
    if (input instanceof Error) return this.error(input);
    if (Array.isArray(input)) return this.array(input);
    if (input instanceof Set) return this.array([...input].slice(0, this.maxEntries + 1), input.size);
    if (input instanceof Map) {
      const pairs: Array<[string, unknown]> = [];
      for (const [key, value] of input) {
        if (pairs.length >= this.maxEntries) break;
        pairs.push([typeof key === 'string' ? key : String(this.value(key)), value]);
      }
      return this.entries(pairs, input.size);
    }
    const toJSON = (input as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return this.value(toJSON.call(input));
    return this.properties(input);
  }

  private array(input: unknown[], total = input.length): unknown[] {
    const length = Math.min(input.length, this.maxEntries);
    const out = new Array<unknown>(length);
    // A name and its value, as fetch and Node take headers (`[['x-api-key', key], …]`, a Map's entries).
    if (total === 2 && length === 2 && typeof input[0] === 'string' && isSecretKey(input[0]) && input[1] != null && input[1] !== '') {
      out[0] = this.value(input[0]);
      out[1] = REDACTED;
      return out;
    }
    for (let i = 0; i < length; i++) out[i] = this.value(input[i]);
    if (total > length) out.push(`[… ${total - length} more items]`);
    return out;
  }

  private entries(pairs: Array<[string, unknown]>, total = pairs.length): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [rawKey, raw] of pairs) {
      if (raw === undefined) continue;
      const key = safeKey(rawKey);
      out[key] = isSecretKey(key) && raw !== null && raw !== '' ? REDACTED : this.value(raw);
    }
    if (total > pairs.length) out['…'] = `[${total - pairs.length} more keys]`;
    return out;
  }

  /** Own enumerable properties, each read on its own: a getter that throws spoils only its key. */
  private properties(input: object): Record<string, unknown> | string {
    const keys = Object.keys(input);
    // fetch's Headers and URLSearchParams keep their entries out of sight: shown as their entries
    // and their query string, secrets redacted, rather than as an empty {}.
    if (keys.length === 0) {
      if (typeof Headers === 'function' && input instanceof Headers) {
        const pairs: Array<[string, unknown]> = [];
        let total = 0;
        for (const pair of input) if (total++ < this.maxEntries) pairs.push(pair);
        return this.entries(pairs, total);
      }
      if (input instanceof URLSearchParams) return safeString(input.toString(), this.maxString);
    }
    const length = Math.min(keys.length, this.maxEntries);
    const pairs: Array<[string, unknown]> = [];
    for (let i = 0; i < length; i++) {
      const key = keys[i];
      let value: unknown;
      try {
        value = (input as Record<string, unknown>)[key];
      } catch (error) {
        value = `[Unreadable: ${describeThrown(error)}]`;
      }
      pairs.push([key, value]);
    }
    return this.entries(pairs, keys.length);
  }

  private error(error: Error): Record<string, unknown> {
    const out: Record<string, unknown> = {
      name: this.value(readSafely(() => error.name)),
      message: this.value(readSafely(() => error.message)),
    };
    for (const extra of ['code', 'status', 'type'] as const) {
      const value = readSafely(() => (error as unknown as Record<string, unknown>)[extra]);
      if (value !== undefined) out[extra] = this.value(value);
    }
    const stack = stackOf(error);
    if (stack !== undefined) out.stack = this.value(stack);
    const cause = readSafely(() => error.cause);
    if (cause !== undefined) out.cause = this.value(cause);
    const errors = readSafely(() => (error as { errors?: unknown }).errors);
    if (Array.isArray(errors)) out.errors = this.value(errors);
    return out;
  }
}

function readSafely(read: () => unknown): unknown {
  try {
    return read();
  } catch (error) {
    return `[Unreadable: ${describeThrown(error)}]`;
  }
}

function describeThrown(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'unknown';
  }
}

/** Plain JSON-safe copy of `input` (see module comment). */
export function safeValue(input: unknown, options: SafeValueOptions): unknown {
  try {
    return new Walker(options).value(input);
  } catch (error) {
    return `[Unserializable: ${describeThrown(error)}]`;
  }
}

/** `safeValue` for event data: always returns a plain object (non-objects go under `value`). */
export function safeData(input: unknown, options: SafeValueOptions): Record<string, unknown> {
  if (input === undefined || input === null) return {};
  const flat = typeof input === 'object' ? flatData(input, options) : undefined;
  if (flat !== undefined) return flat;
  const clean = safeValue(input, options);
  if (clean !== null && typeof clean === 'object' && !Array.isArray(clean)) return clean as Record<string, unknown>;
  return { value: clean };
}

/** A data key as safeKey() makes it, and whether it names a secret. */
interface CleanKey {
  key: string;
  secret: boolean;
}

/** Keys repeat from event to event: cleaned and checked once (a bounded number of them). */
const cleanKeys = new Map<string, CleanKey>();
const CLEAN_KEYS_LIMIT = 4096;

function flatKey(raw: string): CleanKey {
  let clean = cleanKeys.get(raw);
  if (clean === undefined) {
    const key = safeKey(raw);
    clean = { key, secret: isSecretKey(key) };
    if (cleanKeys.size < CLEAN_KEYS_LIMIT && raw.length <= MAX_KEY_LENGTH) cleanKeys.set(raw, clean);
  }
  return clean;
}

/**
 * The common case of event data, a plain object of strings, numbers, booleans and nulls, cleaned
 * exactly as the Walker cleans it, without the Walker (on the hot path of track() and every span:
 * bench/README.md). Undefined when anything else is in it: then the Walker does the work.
 */
function flatData(input: object, options: SafeValueOptions): Record<string, unknown> | undefined {
  try {
    if (Object.getPrototypeOf(input) !== Object.prototype || (options.maxDepth ?? DEFAULT_MAX_DEPTH) < 1) return undefined;
    const record = input as Record<string, unknown>;
    if (typeof record.then === 'function' || typeof record.toJSON === 'function') return undefined;
    const keys = Object.keys(record);
    if (keys.length > (options.maxEntries ?? DEFAULT_MAX_ENTRIES)) return undefined;
    const out: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i++) {
      const raw = record[keys[i]];
      if (raw === undefined) continue;
      const type = typeof raw;
      if (type !== 'string' && type !== 'number' && type !== 'boolean' && raw !== null) return undefined;
      const name = flatKey(keys[i]);
      const key = name.key;
      if (name.secret && raw !== null && raw !== '') out[key] = REDACTED;
      else if (type === 'string') out[key] = safeString(raw as string, options.maxStringLength);
      else if (type === 'number') out[key] = Number.isFinite(raw) ? raw : String(raw);
      else out[key] = raw;
    }
    return out;
  } catch {
    return undefined; // a getter or proxy that throws: the Walker reports it in place
  }
}

/** Message of anything thrown, redacted and bounded. */
export function errorMessage(error: unknown, max = DEFAULT_MAX_STRING_LENGTH): string {
  let message: string;
  try {
    if (error instanceof Error) message = String(error.message);
    else if (error !== null && typeof error === 'object') message = JSON.stringify(safeValue(error, { maxStringLength: max }));
    else message = String(error);
  } catch {
    message = 'unknown error';
  }
  return safeString(message || (error instanceof Error ? readName(error) : 'Error'), max);
}

/**
 * The class an error was thrown as, for `error.type` and `error_type` (`RateLimitError`): its
 * constructor's name, else its `name` (a DOMException says what it is in its name, AbortError or
 * TimeoutError, as Node prints it). Anything else thrown is named by its type (`string`, `null`).
 * Undefined when the error does not say (no name, or a getter or Proxy trap that throws).
 */
export function errorClassName(error: unknown, max = DEFAULT_MAX_STRING_LENGTH): string | undefined {
  try {
    if (!(error instanceof Error)) return error === null ? 'null' : typeof error;
    const constructorName: unknown = error.constructor?.name;
    const name: unknown = typeof constructorName === 'string' && constructorName !== '' && constructorName !== 'Object' && constructorName !== 'DOMException' ? constructorName : error.name;
    // A name can be any value the app set (`error.name = …`): a bounded string, like the message.
    return name === undefined || name === null || name === '' ? undefined : safeString(String(name), max);
  } catch {
    return undefined;
  }
}

/**
 * The HTTP status an error carries: `status` (the openai and Anthropic SDKs' APIError), or
 * `statusCode` (the Vercel AI SDK's APICallError, as Mastra surfaces it, and most HTTP clients);
 * else that of the error it wraps: the AI SDK's RetryError keeps the last attempt's as `lastError`,
 * other wrappers as `cause`. Undefined when none says; never throws (a getter may).
 */
export function httpStatusOf(error: unknown): number | undefined {
  try {
    return ownHttpStatus(error) ?? ownHttpStatus((error as { lastError?: unknown } | null)?.lastError) ?? ownHttpStatus((error as { cause?: unknown } | null)?.cause);
  } catch {
    return undefined;
  }
}

function ownHttpStatus(error: unknown): number | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const { status, statusCode, $metadata } = error as { status?: unknown; statusCode?: unknown; $metadata?: { httpStatusCode?: unknown } };
  // The AWS SDK's (v3) errors have it in their metadata.
  const value = typeof status === 'number' ? status : typeof statusCode === 'number' ? statusCode : $metadata?.httpStatusCode;
  return typeof value === 'number' && Number.isInteger(value) && value >= 100 && value < 600 ? value : undefined;
}

function readName(error: Error): string {
  try {
    return String(error.name || 'Error');
  } catch {
    return 'Error';
  }
}

/** Stack trace of anything thrown, redacted and bounded; undefined when there is none. */
export function errorStack(error: unknown, max = DEFAULT_MAX_STRING_LENGTH): string | undefined {
  try {
    if (!(error instanceof Error)) return undefined;
    const stack = stackOf(error);
    return stack === undefined ? undefined : safeString(stack, max);
  } catch {
    return undefined; // a Proxy whose traps throw has no stack we can read
  }
}

/** Span attributes: secret-named keys redacted, string values (and strings in arrays) redacted and bounded. */
export function cleanAttributes(attributes: Attributes | undefined, maxStringLength: number): Attributes {
  const out: Attributes = {};
  if (!attributes) return out;
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined) continue;
    if (isSecretKey(key)) out[key] = REDACTED;
    else if (typeof value === 'string') out[key] = safeString(value, maxStringLength);
    else if (Array.isArray(value)) out[key] = value.map((item) => (typeof item === 'string' ? safeString(item, maxStringLength) : item)) as typeof value;
    else out[key] = value;
  }
  return out;
}
