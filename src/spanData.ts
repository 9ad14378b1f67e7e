import type { EventData } from './types';

/**
 * What a wrapper hands to the span processor for one span: its start data, parked for exactly the
 * `onStart` call that `startSpan` makes synchronously (span attributes cannot hold objects), and
 * the end data set while the span runs. The processor keeps the object with the open span, so the
 * API's own spans need no table keyed by span for their end data (bench/README.md item 25).
 */
export interface SpanHandover {
  data: EventData;
  /** `data` already passed through safeData and is owned by the taker: kept and changed without a copy. */
  clean: boolean;
  /** Usage, results and other data set while the span runs, merged into its end event. */
  endData: EventData | undefined;
  /**
   * `endData` is one object as AgentSpan cleaned it, not merged with another: the end event takes
   * it without cleaning it again. Two merged may hold more keys than one cleaning lets through.
   */
  endClean: boolean;
}

let pendingStart: SpanHandover | undefined;

export function startWithData<T>(data: EventData, start: () => T, clean = false): T {
  return startWithHandover({ data, clean, endData: undefined, endClean: false }, start);
}

export function startWithHandover<T>(handover: SpanHandover, start: () => T): T {
  pendingStart = handover;
  try {
    return start();
  } finally {
    pendingStart = undefined;
  }
}

/**
 * The same in two calls, for a caller that starts the span itself (no closure per span): park the
 * handover, start the span, and park undefined in a `finally`.
 */
export function parkHandover(handover: SpanHandover | undefined): void {
  pendingStart = handover;
}

/** The handover parked for the span starting now (once: a nested start during onStart gets none). */
export function takePendingStart(): SpanHandover | undefined {
  const handover = pendingStart;
  pendingStart = undefined;
  return handover;
}

/**
 * Merges `data` into the end data a span's handover carries. `data` is cleaned (safeData) and new,
 * made for this call: the first one is kept as it is, without a copy.
 */
export function addHandoverEndData(handover: SpanHandover, data: EventData): void {
  if (handover.endData) {
    Object.assign(handover.endData, data);
    handover.endClean = false;
  } else {
    handover.endData = data;
    handover.endClean = true;
  }
}

/** Data set on a span while it runs (usage, results) without a handover, merged into its end event. */
const endData = new WeakMap<object, EventData>();

export function addEndData(span: object, data: EventData): void {
  const existing = endData.get(span);
  if (existing) Object.assign(existing, data);
  else endData.set(span, Object.assign({}, data));
}

export function takeEndData(span: object): EventData | undefined {
  const data = endData.get(span);
  if (data) endData.delete(span);
  return data;
}
