import type { EventData } from '../src/types';

/**
 * Whether a task event is a tool call: its data has `tool`, true (`task(name, { tool: true }, fn)`,
 * a tool span of another instrumentation) or the tool's name (`tool: 'get_weather'`, a seed-style
 * `track('task_start', { task, tool, … })`).
 */
export function isToolCall(data: EventData | undefined): boolean {
  const tool = data?.tool;
  return tool === true || (typeof tool === 'string' && tool !== '');
}

/** The tool a tool call's data names: `tool` when it is a name, else the task's. */
export function toolName(data: EventData): string {
  return typeof data.tool === 'string' ? data.tool : String(data.task ?? '');
}
