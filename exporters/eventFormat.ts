import type { TruthEvent } from '../src/types';
import { fixed3Text, numberText } from './numberText';
import { pythonRepr, reprString, smallFloatText } from './pythonRepr';

/*
 * The two lines every event becomes, built on the hot path of every span: compact JSON for
 * execution_tracker.json and `[ts] (+1.234s) [LEVEL] type: {data}` for the readable log.
 *
 * Both come out exactly as `JSON.stringify(event)` (with non-ASCII characters escaped, see
 * asciiJson) and `pythonRepr(event.data)` write them, but
 * event data is walked once for both lines: most values are short plain strings and numbers,
 * which are the same text in both (a number is converted to text once). On the benchmark machine
 * this halves the cost of an event (bench/README.md). Anything else takes the general path.
 */

/** Printable ASCII without `"` and `\`: the string is its own JSON body. */
const JSON_PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
/** …and without `'`: its own Python body too. */
const BOTH_PLAIN = /^[\x20\x21\x23-\x26\x28-\x5b\x5d-\x7e]*$/;

/**
 * True while every string of the event being formatted passed one of the tests above, so both of
 * its lines are 7-bit ASCII: the file sink can then copy them without UTF-8 encoding.
 */
let ascii = true;

/**
 * JSON text with every character outside ASCII written as `\uXXXX`, as Python's `json.dump`
 * writes it by default (`ensure_ascii`). The original tracker's file was ASCII, and its reporter
 * opens it in the platform's encoding (`open(path, 'r')`): on a Windows machine with a Chinese
 * locale that is GBK, and raw UTF-8 there fails to decode. The readable log stays UTF-8.
 */
export function asciiJson(json: string): string {
  return HAS_NON_ASCII.test(json) ? json.replace(NON_ASCII, escapeUnit) : json;
}

const HAS_NON_ASCII = /[\u0080-\uffff]/;
const NON_ASCII = /[\u0080-\uffff]/g;

function escapeUnit(unit: string): string {
  return `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

function jsonString(text: string): string {
  if (JSON_PLAIN.test(text)) return `"${text}"`;
  ascii = false;
  return JSON.stringify(text);
}

/** A new flat copy of plain text (not a tree of pieces): cached pieces are copied once, not at every write. */
function flatCopy(text: string): string {
  return JSON.parse(JSON.stringify(text)) as string;
}

/**
 * `{"key":` and `{'key': ` for each key seen (bounded), first in the object (with its brace) and
 * after a separator (`,"key":`, `, 'key': `): fewer pieces to join per value.
 */
interface KeyPrefixes {
  json: string;
  python: string;
  jsonAfter: string;
  pythonAfter: string;
  /** The key passed BOTH_PLAIN (ASCII). */
  plain: boolean;
  /**
   * The last short string value of this key that passed BOTH_PLAIN: stage, task and model names
   * repeat from event to event and then skip the character check.
   */
  lastPlainValue: string | undefined;
  /**
   * The whole pieces for that value, first in the object (`{"key":"value"`, `{'key': 'value'`)
   * and after a separator (`,"key":"value"`, `, 'key': 'value'`), made the first time it
   * repeats: one piece to join, not two.
   */
  lastJson: string | undefined;
  lastJsonAfter: string | undefined;
  lastPython: string | undefined;
  lastPythonAfter: string | undefined;
}

const keyCache = new Map<string, KeyPrefixes>();
const KEY_CACHE_LIMIT = 4096;
/** Values remembered as a key's last plain value are at most this long (at most 4096 × 64 characters). */
const LAST_VALUE_MAX_LENGTH = 64;

function keyPrefixes(key: string): KeyPrefixes {
  let prefixes = keyCache.get(key);
  if (prefixes === undefined) {
    const json = `${jsonString(key)}:`;
    const python = `${reprString(key)}: `;
    // Kept pieces are copied flat once; a key past the bound is used for one event only.
    const kept = keyCache.size < KEY_CACHE_LIMIT;
    prefixes = {
      json: kept ? flatCopy(`{${json}`) : `{${json}`,
      python: kept ? flatCopy(`{${python}`) : `{${python}`,
      jsonAfter: kept ? flatCopy(`,${json}`) : `,${json}`,
      pythonAfter: kept ? flatCopy(`, ${python}`) : `, ${python}`,
      plain: BOTH_PLAIN.test(key),
      lastPlainValue: undefined,
      lastJson: undefined,
      lastJsonAfter: undefined,
      lastPython: undefined,
      lastPythonAfter: undefined,
    };
    if (kept) keyCache.set(key, prefixes);
  }
  return prefixes;
}

export interface EventLines {
  json: string;
  readable: string | undefined;
  ascii: boolean;
}

/** A list written on the fast path holds at most this many strings (finish reasons, a few names). */
const PLAIN_LIST_MAX = 8;
/** Reused result of plainStringList(). */
const listText: [json: string, python: string] = ['', ''];

/**
 * A short array of plain strings as JSON and Python text, into `listText`; false for anything
 * else, which takes the general path. Every openai call's end event has one (`finish_reasons:
 * ['stop']`): on the general path it made both of the event's lines, and the batch of lines
 * written with them, go through the non-ASCII checks and UTF-8 encoding (bench/README.md item 27).
 */
function plainStringList(list: unknown[]): boolean {
  const length = list.length;
  if (length > PLAIN_LIST_MAX || typeof (list as { toJSON?: unknown }).toJSON === 'function') return false;
  let json = '[';
  let python = '[';
  for (let i = 0; i < length; i++) {
    const item = list[i];
    if (typeof item !== 'string' || !BOTH_PLAIN.test(item)) return false;
    if (i > 0) {
      json += ',';
      python += ', ';
    }
    json += `"${item}"`;
    python += `'${item}'`;
  }
  listText[0] = `${json}]`;
  listText[1] = `${python}]`;
  return true;
}

/** Reused result of dataLines() (never handed out). */
const pair: [json: string | undefined, python: string] = ['', ''];

/**
 * JSON text (undefined where JSON.stringify leaves the value out) and Python repr of event data
 * (with the readable line's newline), in one walk. Writes into `pair`; throws where JSON.stringify
 * throws.
 */
function dataLines(data: unknown): void {
  if (typeof data !== 'object' || data === null || Array.isArray(data) || typeof (data as { toJSON?: unknown }).toJSON === 'function') {
    ascii = false;
    pair[0] = JSON.stringify(data);
    pair[1] = `${pythonRepr(data)}\n`;
    return;
  }
  let json = '';
  let python = '';
  let jsonFirst = true;
  let pythonFirst = true;
  const record = data as Record<string, unknown>;
  for (const key in record) {
    const value = record[key];
    const prefixes = keyPrefixes(key);
    if (!prefixes.plain) ascii = false;
    let jsonValue: string | undefined;
    let pythonValue: string;
    switch (typeof value) {
      case 'string':
        if (value === prefixes.lastPlainValue) {
          if (jsonFirst) json += prefixes.lastJson ??= [prefixes.json, '"', value, '"'].join('');
          else json += prefixes.lastJsonAfter ??= [prefixes.jsonAfter, '"', value, '"'].join('');
          if (pythonFirst) python += prefixes.lastPython ??= [prefixes.python, "'", value, "'"].join('');
          else python += prefixes.lastPythonAfter ??= [prefixes.pythonAfter, "'", value, "'"].join('');
          jsonFirst = false;
          pythonFirst = false;
          continue;
        }
        if (BOTH_PLAIN.test(value)) {
          // Names, not payloads: a long value is not kept alive for the next event.
          if (value.length <= LAST_VALUE_MAX_LENGTH) {
            prefixes.lastPlainValue = value;
            prefixes.lastJson = prefixes.lastJsonAfter = prefixes.lastPython = prefixes.lastPythonAfter = undefined;
          }
          jsonValue = `"${value}"`;
          pythonValue = `'${value}'`;
        } else {
          ascii = false;
          jsonValue = jsonString(value);
          pythonValue = reprString(value);
        }
        break;
      case 'number':
        if (Number.isFinite(value)) {
          jsonValue = pythonValue = numberText(value);
          if (value < 1e-4 && value > -1e-4 && value !== 0) pythonValue = smallFloatText(value);
        } else {
          jsonValue = 'null';
          pythonValue = pythonRepr(value);
        }
        break;
      case 'boolean':
        jsonValue = value ? 'true' : 'false';
        pythonValue = value ? 'True' : 'False';
        break;
      case 'undefined':
        jsonValue = undefined;
        pythonValue = 'None';
        break;
      case 'object':
        if (value === null) {
          jsonValue = 'null';
          pythonValue = 'None';
        } else if (Array.isArray(value) && plainStringList(value)) {
          jsonValue = listText[0];
          pythonValue = listText[1];
        } else {
          ascii = false;
          jsonValue = JSON.stringify(value);
          pythonValue = pythonRepr(value);
        }
        break;
      default:
        // bigint (JSON.stringify throws), functions and symbols (it leaves the key out): the general path.
        ascii = false;
        pair[0] = JSON.stringify(data);
        pair[1] = `${pythonRepr(data)}\n`;
        return;
    }
    if (jsonValue !== undefined) {
      json += jsonFirst ? prefixes.json : prefixes.jsonAfter;
      json += jsonValue;
      jsonFirst = false;
    }
    python += pythonFirst ? prefixes.python : prefixes.pythonAfter;
    python += pythonValue;
    pythonFirst = false;
  }
  pair[0] = jsonFirst ? '{}' : `${json}}`;
  // The readable line ends here: its newline comes with the data's last piece.
  pair[1] = pythonFirst ? '{}\n' : `${python}}\n`;
}

/**
 * The seed's five fields of a well-formed event plus string span ids, and nothing else. A recorded
 * event has only those keys, in that order (see formatEventLines): only its values are checked.
 */
function isPlainEvent(event: TruthEvent, recorded: boolean): boolean {
  const { trace_id: traceId, span_id: spanId, parent_span_id: parentId } = event;
  let keys = 5;
  if (traceId !== undefined) {
    if (typeof traceId !== 'string') return false;
    keys++;
  }
  if (spanId !== undefined) {
    if (typeof spanId !== 'string') return false;
    keys++;
  }
  if (parentId !== undefined) {
    if (typeof parentId !== 'string') return false;
    keys++;
  }
  return (
    typeof event.timestamp === 'string' &&
    typeof event.elapsed_seconds === 'number' &&
    typeof event.type === 'string' &&
    typeof event.level === 'string' &&
    typeof event.data === 'object' &&
    event.data !== null &&
    (recorded || inSeedOrder(Object.keys(event), keys))
  );
}

const SEED_ORDER = ['timestamp', 'elapsed_seconds', 'type', 'level', 'data'];

/** JSON.stringify writes keys in their own order: the fast path writes the seed's. */
function inSeedOrder(keys: string[], expected: number): boolean {
  if (keys.length !== expected) return false;
  for (let i = 0; i < SEED_ORDER.length; i++) if (keys[i] !== SEED_ORDER[i]) return false;
  let next = SEED_ORDER.length;
  if (keys[next] === 'trace_id') next++;
  if (keys[next] === 'span_id') next++;
  if (keys[next] === 'parent_span_id') next++;
  return next === expected;
}

/**
 * What both lines hold between the elapsed time and the data, for one type and level, as one flat
 * piece each: `,"type":"task_end","level":"INFO","data":` and `s) [INFO] task_end: `. Types and
 * levels are few and repeat; a line is joined from four pieces fewer, and written from four
 * leaves fewer (bench/README.md item 24). Other levels of the same type follow in `next`.
 */
interface TypePieces {
  level: string;
  json: string;
  readable: string;
  next: TypePieces | undefined;
}

const typePieces = new Map<string, TypePieces>();
const TYPE_CACHE_LIMIT = 1024;
/** Levels kept per type (INFO, WARNING, ERROR and one more). */
const LEVELS_PER_TYPE = 4;
/** Types and levels longer than this are not kept (at most 1,024 types × 4 levels × 2 pieces of ≤ 160 characters). */
const KEPT_NAME_LENGTH = 64;

/** The pieces for `type` and `level`; undefined when either needs escaping (the caller escapes). */
function piecesOf(type: string, level: string): TypePieces | undefined {
  const first = typePieces.get(type);
  let levels = 0;
  for (let pieces = first; pieces !== undefined; pieces = pieces.next) {
    if (pieces.level === level) return pieces;
    levels++;
  }
  if (!JSON_PLAIN.test(type) || !JSON_PLAIN.test(level)) return undefined;
  const json = `,"type":"${type}","level":"${level}","data":`;
  const readable = readableMiddle(type, level);
  if (type.length > KEPT_NAME_LENGTH || level.length > KEPT_NAME_LENGTH || (first === undefined && typePieces.size >= TYPE_CACHE_LIMIT)) {
    return { level, json, readable, next: undefined };
  }
  const made: TypePieces = { level, json: flatCopy(json), readable: flatCopy(readable), next: levels < LEVELS_PER_TYPE ? first : undefined };
  typePieces.set(type, made);
  return made;
}

/** `"type":` and `"level":` written with their values escaped where needed (not cached). */
function escapedPieces(type: string, level: string): TypePieces {
  ascii = false;
  return { level, json: `,"type":${jsonString(type)},"level":${jsonString(level)},"data":`, readable: readableMiddle(type, level), next: undefined };
}

/**
 * The last span id field written in each slot (trace, span, parent) and its whole piece
 * (`,"trace_id":"…"`): consecutive events mostly repeat them (one trace; a span's end after its
 * start; the same parent), and then add the piece as it is.
 */
const ID_KEYS = [',"trace_id":', ',"span_id":', ',"parent_span_id":'];
const lastId: string[] = ['', '', ''];
const lastIdPiece: string[] = ['', '', ''];

function idPiece(id: string, slot: number): string {
  if (id === lastId[slot]) return lastIdPiece[slot];
  if (!JSON_PLAIN.test(id)) {
    ascii = false;
    return `${ID_KEYS[slot]}${JSON.stringify(id)}`;
  }
  const piece = [ID_KEYS[slot], '"', id, '"'].join('');
  lastId[slot] = id;
  lastIdPiece[slot] = piece;
  return piece;
}

/** The start of a JSON line, with the separator the exporter asks for, up to the timestamp's text. */
function lineHead(prefix: string): string {
  if (prefix === ',\n') return ',\n{"timestamp":';
  if (prefix === '') return '{"timestamp":';
  return `${prefix}{"timestamp":`;
}

/** …and with the timestamp's opening quote, for a recorded event (whose timestamp is its own JSON body). */
function quotedLineHead(prefix: string): string {
  if (prefix === ',\n') return ',\n{"timestamp":"';
  if (prefix === '') return '{"timestamp":"';
  return `${prefix}{"timestamp":"`;
}

function jsonLine(event: TruthEvent, pieces: TypePieces, dataJson: string, recorded: boolean, prefix: string): string {
  const elapsed = event.elapsed_seconds;
  let line = recorded ? `${quotedLineHead(prefix)}${event.timestamp}","elapsed_seconds":` : `${lineHead(prefix)}${jsonString(event.timestamp)},"elapsed_seconds":`;
  line += `${Number.isFinite(elapsed) ? numberText(elapsed) : 'null'}${pieces.json}${dataJson}`;
  if (event.trace_id !== undefined) line += idPiece(event.trace_id, 0);
  if (event.span_id !== undefined) line += idPiece(event.span_id, 1);
  if (event.parent_span_id !== undefined) line += idPiece(event.parent_span_id, 2);
  return `${line}}`;
}

/** What a readable line holds between its elapsed time and its data: `s) [INFO] task_end: `. */
function readableMiddle(type: string, level: string): string {
  return `s) [${level}] ${type}: `;
}

/** `[ts] (+1.234s) [LEVEL] type: {data}` from its middle and `dataLine`, the data's repr with the line's newline. */
function readableLine(event: TruthEvent, middle: string, dataLine: string): string {
  return `[${event.timestamp}] (+${fixed3Text(event.elapsed_seconds)}${middle}${dataLine}`;
}

/**
 * Both lines of one event: `json` for execution_tracker.json (`jsonPrefix`, the separator the
 * exporter puts before the event, then the event, without newline) and `readable` for
 * execution_tracker_readable.txt (with its newline; undefined if the data cannot be shown). The
 * separator is part of the line's first piece: one string less to join per event. `ascii` is true
 * only when both lines are known to be 7-bit ASCII (`jsonPrefix` must be ASCII). Throws where
 * JSON.stringify(event) throws (a BigInt deep in the data).
 *
 * `recorded` says the event was built by AutopsyRun.record(): its keys are the seed's five and the
 * span ids, in that order, and its timestamp is isoMicros' text (digits, `-`, `:`, `.`, `T`, `Z`,
 * and a sign before a year of more than four digits), its own JSON body by construction. The key
 * order and the timestamp's characters are not checked then: the check of the timestamp alone cost
 * ~8 % of a track() call (bench/README.md item 23).
 */
export function formatEventLines(event: TruthEvent, recorded = false, jsonPrefix = ''): EventLines {
  if (isPlainEvent(event, recorded)) {
    try {
      ascii = true;
      dataLines(event.data);
      const dataJson = pair[0];
      // `ascii` is read last: building both lines sets it.
      if (dataJson !== undefined) {
        const pieces = piecesOf(event.type, event.level) ?? escapedPieces(event.type, event.level);
        const json = jsonLine(event, pieces, dataJson, recorded, jsonPrefix);
        return { json: ascii ? json : asciiJson(json), readable: readableLine(event, pieces.readable, pair[1]), ascii };
      }
    } catch {
      /* the general path below says what fails */
    }
  }
  const json = jsonPrefix + asciiJson(JSON.stringify(event));
  let readable: string | undefined;
  try {
    readable = formatReadableLine(event);
  } catch {
    /* the JSON line is the record; a formatting failure here must not lose it */
  }
  return { json, readable, ascii: false };
}

/**
 * One event as a line of execution_tracker.json: compact JSON, the seed's keys first
 * (timestamp, elapsed_seconds, type, level, data), then the span ids — the text of
 * `JSON.stringify(event)`, non-ASCII characters escaped.
 */
export function formatEventJson(event: TruthEvent): string {
  return formatEventLines(event).json;
}

/** One event as a line of execution_tracker_readable.txt: `[ts] (+1.234s) [LEVEL] type: {data}`. */
export function formatReadableLine(event: TruthEvent): string {
  return readableLine(event, readableMiddle(event.type, event.level), `${pythonRepr(event.data)}\n`);
}
