import type { TruthEvent } from '../src/types';
import type { DiagnosisEvidence } from './reportTypes';

const MAX_EXAMPLES = 3;
const MAX_SPAN_IDS = 10;
const MAX_EXAMPLE_LENGTH = 300;

/** Evidence for one diagnosis, bounded: a count, first/last time, a few examples and span ids. */
export class Evidence {
  count = 0;
  first: string | null = null;
  last: string | null = null;
  readonly examples: string[] = [];
  readonly spanIds: string[] = [];

  add(event: TruthEvent, example?: string): void {
    this.count++;
    if (this.first === null) this.first = event.timestamp;
    this.last = event.timestamp;
    if (example && this.examples.length < MAX_EXAMPLES) {
      const text = example.length > MAX_EXAMPLE_LENGTH ? `${example.slice(0, MAX_EXAMPLE_LENGTH)}…` : example;
      if (!this.examples.includes(text)) this.examples.push(text);
    }
    if (event.span_id && this.spanIds.length < MAX_SPAN_IDS && !this.spanIds.includes(event.span_id)) {
      this.spanIds.push(event.span_id);
    }
  }

  toJSON(): DiagnosisEvidence {
    return { count: this.count, first: this.first, last: this.last, examples: [...this.examples], span_ids: [...this.spanIds] };
  }
}

/** The text of an event's error, for matching and examples. */
export function eventErrorText(event: TruthEvent): string {
  const error = event.data?.error;
  if (error === undefined || error === null) return '';
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
    return (error as { message: string }).message;
  }
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}
