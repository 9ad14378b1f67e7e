import type { EventData } from './types';

/**
 * Hands event data from the API wrappers to the span processor without squeezing it through
 * span attributes (which cannot hold objects). `startSpan` calls the processor's `onStart`
 * synchronously, so the start data is parked here for exactly that call.
 */
let pendingStart: EventData | undefined;
/** The parked data already passed through safeData and is handed over (the API wrappers' case). */
let pendingIsClean = false;

export function startWithData<T>(data: EventData, start: () => T, clean = false): T {
  pendingStart = data;
  pendingIsClean = clean;
  try {
    return start();
  } finally {
    pendingStart = undefined;
    pendingIsClean = false;
  }
}

export interface PendingStart {
  data: EventData;
  /** Clean and owned by the taker: it may be kept and changed without a copy. */
  clean: boolean;
}

/** The data parked for the span starting now (once: a nested start during onStart gets none). */
export function takePendingStart(): PendingStart | undefined {
  const data = pendingStart;
  if (data === undefined) return undefined;
  const clean = pendingIsClean;
  pendingStart = undefined;
  pendingIsClean = false;
  return { data, clean };
}

/** Data set on a span while it runs (usage, results), merged into its end event. */
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
