import type { TruthEvent } from '../src/types';
import { pythonRepr } from './pythonRepr';

/** One event as a line of execution_tracker.json (compact JSON, seed key order first). */
export function formatEventJson(event: TruthEvent): string {
  return JSON.stringify(event);
}

/** One event as a line of execution_tracker_readable.txt: `[ts] (+1.234s) [LEVEL] type: {data}`. */
export function formatReadableLine(event: TruthEvent): string {
  return `[${event.timestamp}] (+${event.elapsed_seconds.toFixed(3)}s) [${event.level}] ${event.type}: ${pythonRepr(event.data)}\n`;
}
