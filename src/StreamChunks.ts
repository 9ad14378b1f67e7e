import type { Span } from '@opentelemetry/api';
import { nowMs, secondsBetween } from './clock';
import * as sc from './semconv';

/**
 * When the chunks of one streamed LLM call came, by the run's clock (the zero-code openai spans'
 * streams, an `llmCall()` whose callback returns a generator). The first chunk of the answer gives
 * the span `gen_ai.response.time_to_first_chunk`.
 *
 * Made once per streamed call; a non-streamed call never meets it. Per chunk the reader calls
 * `chunk()` (one clock read, one store) and tests `firstMs === 0` until the answer's first chunk
 * came: no allocation, nothing else.
 */
export class StreamChunks {
  /** When the answer's first chunk came, epoch ms; 0 until then. */
  firstMs = 0;
  /** When the last chunk of any kind came, epoch ms; 0 until then. */
  lastMs = 0;

  /**
   * `startMs`: when the call's request was issued, by the run's clock (its span's start,
   * AutopsyRun.spanStartMs); NaN when the run does not know the span, which then gets no time.
   */
  constructor(
    private readonly span: Span,
    readonly startMs: number,
  ) {}

  /** A chunk came. */
  chunk(): void {
    this.lastMs = nowMs();
  }

  /** The chunk just noted (chunk()) is the answer's first: its time goes on the span. */
  answered(): void {
    const at = this.lastMs;
    this.firstMs = at;
    if (Number.isNaN(this.startMs)) return;
    try {
      if (this.span.isRecording()) this.span.setAttribute(sc.ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, secondsBetween(this.startMs, at));
    } catch {
      /* telemetry never fails the app's read */
    }
  }
}
