import type { TruthEvent } from '../src/types';
import { errorSummary, type ErrorFacts } from './eventErrors';
import { Evidence } from './Evidence';
import { stageKey } from './FailureAggregate';
import { isToolCall, toolName } from './toolCalls';

/** Distinct tools counted by name; past this, further tools count in the total only. */
const MAX_TOOLS = 100;
/** Distinct error messages remembered, to tell a crash that one of them caused (the oldest go first). */
const MAX_MESSAGES = 64;

/** One tool's failures: how many, and the stage of the first. */
export interface ToolFailures {
  tool: string;
  failures: number;
  stage: string;
}

/**
 * Tool calls that failed with an error no other rule explains (`tool_errors`): a tool call is a
 * `task_error` whose data has `tool` (`task(name, { tool: true }, fn)`, or a tool span of another
 * instrumentation), counted at the error's origin only (an error it passed on, from an LLM call
 * inside it, is that call's). The agent may have gone on (a framework hands the error to the
 * model), so nothing else in the report would say a tool broke. Memory: per distinct tool (up to
 * MAX_TOOLS) a count, and the last MAX_MESSAGES messages' keys.
 */
export class ToolErrors {
  readonly evidence = new Evidence();
  private readonly tools = new Map<string, ToolFailures>();
  private readonly messages = new Set<string>();

  /** Whether an origin error event is a failed tool call (then `add` it, unless a rule classified it). */
  static isToolFailure(event: TruthEvent): boolean {
    return event.type === 'task_error' && isToolCall(event.data);
  }

  /** A failed tool call; `key` is its message's key (rootCause.ts messageKey), as a crash's origin has it. */
  add(event: TruthEvent, facts: ErrorFacts, key: string): void {
    const data = event.data;
    const name = toolName(data);
    let tool = this.tools.get(name);
    if (tool === undefined && this.tools.size < MAX_TOOLS) {
      tool = { tool: name, failures: 0, stage: stageKey(data) };
      this.tools.set(name, tool);
    }
    if (tool) tool.failures++;
    this.evidence.add(event, this.evidence.wantsExamples ? toolExample(event, name, facts) : undefined);
    this.messages.delete(key);
    this.messages.add(key);
    if (this.messages.size > MAX_MESSAGES) this.messages.delete(this.messages.values().next().value as string);
  }

  get failures(): number {
    return this.evidence.count;
  }

  /** The tool that failed most (the first to, on a tie), and how many other tools failed. */
  get worst(): { tool: ToolFailures; others: number } | undefined {
    let worst: ToolFailures | undefined;
    for (const tool of this.tools.values()) if (!worst || tool.failures > worst.failures) worst = tool;
    return worst && { tool: worst, others: this.tools.size - 1 };
  }

  /** Whether an error with this message key was a failed tool call's (a crash's origin). */
  failedWith(key: string): boolean {
    return this.messages.has(key);
  }

  get retained(): number {
    return this.tools.size + this.messages.size;
  }
}

/**
 * `task_error (answer) get_weather: weather API returned 503 for Paris`, with the error's class
 * when it says more than `Error` (`web_search: TimeoutError: The operation was aborted due to timeout`).
 */
function toolExample(event: TruthEvent, tool: string, facts: ErrorFacts): string {
  let summary = errorSummary(facts);
  const type = facts.errorType;
  if (type && type !== 'Error' && summary && !summary.includes(type)) summary = `${type}: ${summary}`;
  return `${event.type} (${stageKey(event.data)}) ${tool}${summary ? `: ${summary}` : ''}`;
}
