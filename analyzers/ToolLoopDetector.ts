import type { TruthEvent } from '../src/types';
import { Evidence } from './Evidence';
import { stageKey } from './FailureAggregate';
import { timestampMs } from './timestampMs';

/**
 * A tool loop: the agent calling the same tool with the same arguments again and again, each
 * answer sending the model back to the same call (a tool that keeps answering "pending", an error
 * the model cannot read) until a step limit, a timeout or the budget stops it.
 *
 * A tool call is a `task_start` whose data has `tool` (`task(name, { tool: true }, fn)`, or
 * `tool: '<name>'`, or a seed-style `track('task_start', { task, tool, … })`). Its arguments are the
 * rest of its start data: what the app put there besides the bookkeeping keys and the loop's own
 * counters (BOOKKEEPING), usually `arguments`. Calls are "the same" when tool and arguments are;
 * TOOL_LOOP_MIN_CALLS of them in a row in one stage (no other tool call of that stage in between)
 * make a loop. Calls without arguments are left out (they break a streak and start none): the same
 * tool called with arguments the log does not show is, most of the time, a different call (a search
 * for another term, another file read), and a rule that fired on names alone would cry wolf on
 * healthy agents.
 *
 * Memory: per stage the last call's key (arguments longer than KEY_TEXT_LENGTH are kept as a
 * prefix, their length and a hash) and its count, at most MAX_STREAKS stages (the oldest streak
 * goes first), whatever the number of calls.
 */
export const TOOL_LOOP_MIN_CALLS = 3;
const MAX_STREAKS = 1024;
const KEY_TEXT_LENGTH = 256;
/** Arguments quoted in the evidence (Evidence redacts and clips the whole example again). */
const QUOTED_ARGUMENTS_LENGTH = 160;

/** Start data that says which call it is, not what it was called with; step counters change every turn of the loop itself. */
const BOOKKEEPING = new Set(['task', 'stage', 'tool', 'toolCallId', 'tool_call_id', 'span', 'step', 'attempt', 'iteration', 'turn']);

interface Pending {
  timestamp: string;
  spanId?: string;
}

interface Streak {
  tool: string;
  key: string;
  /** The arguments as the evidence quotes them. */
  args: string;
  calls: number;
  firstMs: number;
  /** The first calls, until the streak is a loop. */
  pending: Pending[];
}

export interface ToolLoop {
  tool: string;
  stage: string;
  calls: number;
  args: string;
  seconds: number;
}

export interface ToolLoops {
  evidence: Evidence;
  /** Loops counted (each streak that reached the threshold). */
  loops: number;
  /** Stages with a loop. */
  stages: Set<string>;
  longest: ToolLoop | undefined;
}

export class ToolLoopDetector {
  private readonly streaks = new Map<string, Streak>();
  private readonly result: ToolLoops = { evidence: new Evidence(), loops: 0, stages: new Set(), longest: undefined };

  /** A `task_start` event: counts it when it is a tool call. */
  taskStart(event: TruthEvent): void {
    const data = event.data;
    const tool = data?.tool;
    if (tool !== true && (typeof tool !== 'string' || tool === '')) return;
    const stage = stageKey(data);
    const call = callArguments(data);
    let streak = this.streaks.get(stage);
    if (call === undefined) {
      if (streak) this.streaks.delete(stage);
      return;
    }
    const name = typeof tool === 'string' ? tool : String(data.task ?? '');
    const key = `${name}\u0000${call.key}`;
    const ms = timestampMs(event.timestamp);
    if (!streak || streak.key !== key) {
      // Delete first: a stage whose streak changes goes to the end of the map's order (the oldest go first when it is full).
      this.streaks.delete(stage);
      if (this.streaks.size >= MAX_STREAKS) this.streaks.delete(this.streaks.keys().next().value as string);
      streak = { tool: name, key, args: call.quoted, calls: 0, firstMs: ms, pending: [] };
      this.streaks.set(stage, streak);
    }
    streak.calls++;
    if (streak.calls < TOOL_LOOP_MIN_CALLS) {
      streak.pending.push({ timestamp: event.timestamp, spanId: event.span_id });
      return;
    }
    const evidence = this.result.evidence;
    if (streak.calls === TOOL_LOOP_MIN_CALLS) {
      this.result.loops++;
      this.result.stages.add(stage);
      for (const earlier of streak.pending) evidence.note(earlier.timestamp, undefined, earlier.spanId);
      streak.pending = [];
    }
    evidence.note(event.timestamp, undefined, event.span_id);
    if (!this.result.longest || streak.calls > this.result.longest.calls) {
      const seconds = Number.isFinite(ms - streak.firstMs) ? (ms - streak.firstMs) / 1000 : 0;
      this.result.longest = { tool: name, stage, calls: streak.calls, args: streak.args, seconds };
    }
  }

  get loops(): ToolLoops {
    return this.result;
  }

  get retained(): number {
    return this.streaks.size;
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
