import type { Attributes } from '@opentelemetry/api';
import { spanEventType, type SpanKindName } from './eventTypes';
import * as sc from './semconv';
import type { EventData } from './types';

/**
 * A span's attributes, made as one object: its kind and start event type, then `key: value` where
 * given (the kind's own name attribute), then the primitive user data, which also goes on the span
 * for OTLP backends (keys in `skip` have attributes of their own).
 */
export function ownSpanAttributes(kind: SpanKindName, data: EventData, skip: readonly string[], key?: string, value?: string): Attributes {
  const attributes: Attributes = { [sc.ATTR_AUTOPSY_KIND]: kind, [sc.ATTR_AUTOPSY_EVENT_TYPE]: spanEventType(kind, 'start') };
  if (key !== undefined) attributes[key] = value;
  const keys = Object.keys(data);
  for (let i = 0; i < keys.length; i++) {
    const item = data[keys[i]];
    if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') continue;
    if (!skip.includes(keys[i])) attributes[`${sc.ATTR_AUTOPSY_DATA_PREFIX}${keys[i]}`] = item;
  }
  return attributes;
}
