import type { EventData } from './types';

/**
 * Hands event data from the API wrappers to the span processor without squeezing it through
 * span attributes (which cannot hold objects). `startSpan` calls the processor's `onStart`
 * synchronously, so the start data is parked here for exactly that call.
 */
let pendingStart: EventData | undefined;

export function startWithData<T>(data: EventData, start: () => T): T {
  pendingStart = data;
  try {
    return start();
  } finally {
    pendingStart = undefined;
  }
}

/** Data objects already passed through safeData (the API wrappers clean before starting a span). */
const cleanData = new WeakSet<EventData>();

export function markClean(data: EventData): EventData {
  cleanData.add(data);
  return data;
}

export function isClean(data: EventData): boolean {
  return cleanData.has(data);
}

export function takePendingStartData(): EventData | undefined {
  const data = pendingStart;
  pendingStart = undefined;
  return data;
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
