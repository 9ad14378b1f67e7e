import { redactString } from '../src/redact';
import type { TruthEvent } from '../src/types';
import type { DiagnosisEvidence } from './reportTypes';

const MAX_EXAMPLES = 3;
const MAX_SPAN_IDS = 10;
const MAX_EXAMPLE_LENGTH = 300;
/** Examples remembered as given, before redaction (see addExample). */
const MAX_CONSIDERED = 8;

/**
 * Evidence for one diagnosis, bounded whatever the run's length: a count, first/last time, a few
 * distinct examples (secrets redacted) and span ids.
 */
export class Evidence {
  count = 0;
  first: string | null = null;
  last: string | null = null;
  readonly examples: string[] = [];
  readonly spanIds: string[] = [];
  /**
   * Examples already taken or turned down, as given: an error repeated in a loop (a retry storm, a
   * failing step per request) brings the same text every time, and redacting it again cost more
   * than the rest of the event's analysis (bench/README.md, item 19).
   */
  private readonly considered: string[] = [];

  add(event: TruthEvent, example?: string): void {
    this.note(event.timestamp, example, event.span_id);
  }

  /** Counts `times` occurrences at `timestamp` (the first of them, when several). */
  note(timestamp: string | null | undefined, example?: string, spanId?: string, times = 1): void {
    this.count += times;
    if (timestamp) {
      if (this.first === null || timestamp < this.first) this.first = timestamp;
      if (this.last === null || timestamp > this.last) this.last = timestamp;
    }
    if (example) this.addExample(example);
    if (spanId) this.addSpanId(spanId);
  }

  /** False once the examples are full: a caller can skip building one. */
  get wantsExamples(): boolean {
    return this.examples.length < MAX_EXAMPLES;
  }

  addExample(example: string): void {
    if (this.examples.length >= MAX_EXAMPLES || this.considered.includes(example)) return;
    if (this.considered.length < MAX_CONSIDERED) this.considered.push(example);
    const clean = redactString(example);
    const text = clean.length > MAX_EXAMPLE_LENGTH ? `${clean.slice(0, MAX_EXAMPLE_LENGTH)}…` : clean;
    if (!this.examples.includes(text)) this.examples.push(text);
  }

  addSpanId(spanId: string): void {
    if (this.spanIds.length < MAX_SPAN_IDS && !this.spanIds.includes(spanId)) this.spanIds.push(spanId);
  }

  toJSON(): DiagnosisEvidence {
    return { count: this.count, first: this.first, last: this.last, examples: [...this.examples], span_ids: [...this.spanIds] };
  }
}
