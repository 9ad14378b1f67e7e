import type { TruthEvent } from '../src/types';
import { Evidence } from './Evidence';
import { stageKey } from './FailureAggregate';
import { timestampMs } from './timestampMs';
import { isToolCall, toolName } from './toolCalls';

/**
 * A tool loop: the agent making the same tool calls with the same arguments again and again, each
 * answer sending the model back to the same call (a tool that keeps answering "pending", an error
 * the model cannot read) until a step limit, a timeout or the budget stops it.
 *
 * A tool call is a `task_start` whose data has `tool` (`task(name, { tool: true }, fn)`, or
 * `tool: '<name>'`, or a seed-style `track('task_start', { task, tool, … })`). Its arguments are the
 * rest of its start data: what the app put there besides the bookkeeping keys and the loop's own
 * counters (BOOKKEEPING), usually `arguments`. Calls are "the same" when tool and arguments are.
 * Followed per stage: a loop is one call made TOOL_LOOP_MIN_CALLS times in a row (no other tool
 * call of that stage in between), or a round of 2 or 3 calls (search, then read the same page, then
 * search again …) made TOOL_LOOP_MIN_ROUNDS times in a row. Calls without arguments are left out
 * (they break a loop and start none): the same tool called with arguments the log does not show
 * is, most of the time, a different call (a search for another term, another file read), and a
 * rule that fired on names alone would cry wolf on healthy agents.
 *
 * Memory: per stage its last MAX_PERIOD calls (arguments longer than KEY_TEXT_LENGTH are kept as a
 * prefix, their length and a hash), where the last few were (to note a loop's first rounds once it
 * is one), and the round length they repeat with its count, at most MAX_STAGES stages (the one left
 * alone longest goes first), whatever the number of calls.
 */
export const TOOL_LOOP_MIN_CALLS = 3;
/** Rounds of the same 2 or 3 calls that make a loop (as TOOL_LOOP_MIN_CALLS calls of one). */
export const TOOL_LOOP_MIN_ROUNDS = TOOL_LOOP_MIN_CALLS;
/** The longest round of different calls looked for. */
const MAX_PERIOD = 3;
const MAX_STAGES = 1024;
const KEY_TEXT_LENGTH = 256;
/** Arguments quoted in the evidence (Evidence redacts and clips the whole example again). */
const QUOTED_ARGUMENTS_LENGTH = 160;
/** Where a loop's calls were, kept until it is one: every call of its first rounds but the latest. */
const RECENT_CALLS = MAX_PERIOD * TOOL_LOOP_MIN_ROUNDS - 1;

/** Start data that says which call it is, not what it was called with; step counters change every turn of the loop itself. */
// `mcp_server`: the MCP server the flag's MCP tool call went to, not an argument (a call without
// arguments would otherwise look like one with, the same each time).
const BOOKKEEPING = new Set(['task', 'stage', 'tool', 'toolCallId', 'tool_call_id', 'span', 'mcp_server', 'step', 'attempt', 'iteration', 'turn']);

interface Call {
  tool: string;
  key: string;
  /** The arguments as the evidence quotes them. */
  args: string;
}

interface Seen {
  timestamp: string;
  ms: number;
  spanId?: string;
}

interface StageCalls {
  /** The last calls, oldest first (at most MAX_PERIOD). */
  last: Call[];
  /** Where the last calls were, oldest first (at most RECENT_CALLS). */
  recent: Seen[];
  /** The round length the latest calls repeat (1: one call again; 0: none). */
  period: number;
  /** Calls in a row that repeat the one `period` calls before (a loop of n calls has n - period). */
  repeats: number;
  /** When the first call of the repetition was. */
  firstMs: number;
}

export interface ToolLoop {
  /** The round's calls, in the order the agent made them (one for a call made again and again). */
  round: Array<{ tool: string; args: string }>;
  stage: string;
  /** Calls in the loop. */
  calls: number;
  /** Times the round was made: `calls` for a loop of one call. */
  rounds: number;
  seconds: number;
}

export interface ToolLoops {
  evidence: Evidence;
  /** Loops counted (each that reached its threshold). */
  loops: number;
  /** Stages with a loop. */
  stages: Set<string>;
  longest: ToolLoop | undefined;
}

export class ToolLoopDetector {
  private readonly stages = new Map<string, StageCalls>();
  private readonly result: ToolLoops = { evidence: new Evidence(), loops: 0, stages: new Set(), longest: undefined };

  /** A `task_start` event: counts it when it is a tool call. */
  taskStart(event: TruthEvent): void {
    const data = event.data;
    if (!isToolCall(data)) return;
    const stage = stageKey(data);
    const args = callArguments(data);
    let calls = this.stages.get(stage);
    // Delete first: a stage that is called again goes to the end of the map's order (the oldest go first when it is full).
    this.stages.delete(stage);
    if (args === undefined) return;
    const name = toolName(data);
    const call: Call = { tool: name, key: `${name}\u0000${args.key}`, args: args.quoted };
    const ms = timestampMs(event.timestamp);
    if (this.stages.size >= MAX_STAGES) this.stages.delete(this.stages.keys().next().value as string);
    calls ??= { last: [], recent: [], period: 0, repeats: 0, firstMs: ms };
    this.stages.set(stage, calls);
    // The shortest round the call repeats: one call again, else the one 2 (then 3) calls back.
    let period = 0;
    for (let p = 1; p <= calls.last.length; p++) {
      if (calls.last[calls.last.length - p].key === call.key) {
        period = p;
        break;
      }
    }
    if (period === 0 || period !== calls.period) {
      calls.period = period;
      calls.repeats = 0;
    }
    if (period > 0) {
      if (calls.repeats === 0) calls.firstMs = calls.recent[calls.recent.length - period]?.ms ?? ms;
      calls.repeats++;
    }
    const seen: Seen = { timestamp: event.timestamp, ms, spanId: event.span_id };
    this.countLoop(stage, calls, call, seen);
    calls.last.push(call);
    if (calls.last.length > MAX_PERIOD) calls.last.shift();
    calls.recent.push(seen);
    if (calls.recent.length > RECENT_CALLS) calls.recent.shift();
  }

  /** Notes the call when it is part of a loop, and the loop's earlier calls when it has just become one. */
  private countLoop(stage: string, calls: StageCalls, call: Call, seen: Seen): void {
    const period = calls.period;
    if (period === 0) return;
    const inLoop = calls.repeats + period;
    const threshold = period === 1 ? TOOL_LOOP_MIN_CALLS : period * TOOL_LOOP_MIN_ROUNDS;
    if (inLoop < threshold) return;
    const evidence = this.result.evidence;
    if (inLoop === threshold) {
      this.result.loops++;
      this.result.stages.add(stage);
      for (const earlier of calls.recent.slice(calls.recent.length - (threshold - 1))) evidence.note(earlier.timestamp, undefined, earlier.spanId);
    }
    evidence.note(seen.timestamp, undefined, seen.spanId);
    if (this.result.longest && inLoop <= this.result.longest.calls) return;
    // The round in the order the agent first made it: the last `period` calls hold it, turned so
    // that the loop's first call comes first (call i of the loop is the round's call i mod period).
    const window = [...calls.last.slice(calls.last.length - (period - 1)), call];
    const round = Array.from({ length: period }, (_, k) => window[(((k - inLoop) % period) + period) % period]);
    const seconds = Number.isFinite(seen.ms - calls.firstMs) ? (seen.ms - calls.firstMs) / 1000 : 0;
    this.result.longest = { round: round.map(({ tool, args }) => ({ tool, args })), stage, calls: inLoop, rounds: Math.floor(inLoop / period), seconds };
  }

  get loops(): ToolLoops {
    return this.result;
  }

  get retained(): number {
    return this.stages.size;
  }
}

/**
 * The call's arguments: its start data without the bookkeeping keys, as a key to compare and a
 * text to quote; undefined when there are none (or they cannot be written as JSON).
 */
function callArguments(data: Record<string, unknown>): { key: string; quoted: string } | undefined {
  let rest: Record<string, unknown> | undefined;
  let only: unknown;
  let count = 0;
  for (const name of Object.keys(data)) {
    if (BOOKKEEPING.has(name) || data[name] === undefined) continue;
    (rest ??= {})[name] = data[name];
    only = data[name];
    count++;
  }
  if (!rest) return undefined;
  let text: string;
  try {
    text = JSON.stringify(rest);
  } catch {
    return undefined; // a value JSON cannot write (a BigInt, a cycle): not comparable
  }
  // One value that is text already (`arguments: '{"city":"Paris"}'`) is quoted as it is.
  const shown = count === 1 && typeof only === 'string' ? only : text;
  const quoted = shown.length > QUOTED_ARGUMENTS_LENGTH ? `${shown.slice(0, QUOTED_ARGUMENTS_LENGTH)}…` : shown;
  const key = text.length <= KEY_TEXT_LENGTH ? text : `${text.slice(0, KEY_TEXT_LENGTH)}\u0000${text.length}\u0000${fnv1a(text)}`;
  return { key, quoted };
}

/** FNV-1a, 32 bits: tells long argument texts with the same prefix and length apart without keeping them. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
