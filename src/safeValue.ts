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
  let out = text.length > max ? `${text.slice(0, max)}…[truncated ${text.length - max} chars]` : text;
  if (!out.isWellFormed()) out = out.toWellFormed();
  return out;
}

export function safeString(text: string, max: number): string {
  return redactString(truncateString(text, max));
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
        return input.toString();
      case 'function':
        return `[Function: ${(input as { name?: string }).name || 'anonymous'}]`;
      default:
        return input === null ? null : this.object(input as object);
    }
  }

  private object(input: object): unknown {
    if (this.ancestors.includes(input)) return '[Circular]';
    if (input instanceof Date) return Number.isNaN(input.getTime()) ? 'Invalid Date' : input.toISOString();
    if (Buffer.isBuffer(input)) return `[Buffer: ${input.length} bytes]`;
    if (ArrayBuffer.isView(input)) return `[${input.constructor?.name ?? 'TypedArray'}: ${input.byteLength} bytes]`;
    if (input instanceof ArrayBuffer) return `[ArrayBuffer: ${input.byteLength} bytes]`;
    if (input instanceof RegExp) return input.toString();
    if (input instanceof WeakMap || input instanceof WeakSet) return `[${input.constructor.name}]`;
    if (typeof (input as { then?: unknown }).then === 'function') return '[Promise]';
    if (this.ancestors.length >= this.maxDepth) return Array.isArray(input) ? '[Array]' : '[Object]';
    this.ancestors.push(input);
    try {
      if (input instanceof Error) return this.error(input);
      if (Array.isArray(input)) return this.array(input);
      if (input instanceof Set) return this.array([...input]);
      if (input instanceof Map) return this.entries([...input].map(([k, v]) => [String(k), v]));
      const toJSON = (input as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') return this.value(toJSON.call(input));
      return this.entries(Object.entries(input));
    } catch (error) {
      return `[Unserializable: ${describeThrown(error)}]`;
    } finally {
      this.ancestors.pop();
    }
  }

  private array(input: unknown[]): unknown[] {
    const length = Math.min(input.length, this.maxEntries);
    const out = new Array<unknown>(length);
    for (let i = 0; i < length; i++) out[i] = this.value(input[i]);
    if (input.length > length) out.push(`[… ${input.length - length} more items]`);
    return out;
  }

  private entries(pairs: Array<[string, unknown]>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const length = Math.min(pairs.length, this.maxEntries);
    for (let i = 0; i < length; i++) {
      const [key, raw] = pairs[i];
      if (raw === undefined) continue;
      out[key] = isSecretKey(key) && raw !== null && raw !== '' ? REDACTED : this.value(raw);
    }
    if (pairs.length > length) out['…'] = `[${pairs.length - length} more keys]`;
    return out;
  }

  private error(error: Error): Record<string, unknown> {
    const out: Record<string, unknown> = {
      name: this.value(error.name),
      message: this.value(error.message),
    };
    for (const extra of ['code', 'status', 'type'] as const) {
      const value = (error as unknown as Record<string, unknown>)[extra];
      if (value !== undefined) out[extra] = this.value(value);
    }
    if (error.stack) out.stack = this.value(error.stack);
    if (error.cause !== undefined) out.cause = this.value(error.cause);
    return out;
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
  const clean = safeValue(input, options);
  if (clean !== null && typeof clean === 'object' && !Array.isArray(clean)) return clean as Record<string, unknown>;
  return { value: clean };
}

/** Message of anything thrown, redacted and bounded. */
export function errorMessage(error: unknown, max = DEFAULT_MAX_STRING_LENGTH): string {
  let message: string;
  try {
    message = error instanceof Error ? error.message : typeof error === 'string' ? error : JSON.stringify(safeValue(error, { maxStringLength: max }));
  } catch {
    message = 'unknown error';
  }
  return safeString(message || (error instanceof Error ? error.name : 'Error'), max);
}
