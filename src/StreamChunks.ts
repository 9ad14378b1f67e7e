import type { Attributes, Span } from '@opentelemetry/api';
import { nowMs, secondsBetween } from './clock';
import * as sc from './semconv';

/** Where a streamed call's StreamChunks is kept: a symbol-keyed field on its span, as the stage is (spanStage.ts). */
const CHUNKS = Symbol('agent-autopsy.streamChunks');

/**
 * When the chunks of one streamed LLM call came, by the run's clock (the zero-code openai spans'
 * streams, an `llmCall()` whose callback returns a generator). The first chunk of the answer
 * gives the span `gen_ai.response.time_to_first_chunk`; the last chunk of any kind says, of a call
 * still open when the process ends, how long its stream had been silent (closeStream).
 *
 * Made once per streamed call and kept on its span; a non-streamed call never meets it. Per chunk
 * the reader calls `chunk()` (one clock read, one store) and tests `firstMs === 0` until the
 * answer's first chunk came: no allocation, nothing else.
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
  ) {
    try {
      (span as Span & { [CHUNKS]?: StreamChunks })[CHUNKS] = this;
    } catch {
      /* a span object that takes no new field (frozen): its call is not closed with its chunks' times */
    }
  }

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

/** The StreamChunks of a streamed call's span, if it has one. */
export function streamChunksOf(span: Span | undefined): StreamChunks | undefined {
  return span === undefined ? undefined : (span as Span & { [CHUNKS]?: StreamChunks })[CHUNKS];
}

/**
 * Before a streamed llm span still open at the process's end is ended as unfinished (`endMs`):
 * sets on it what its stream says, for its `llm_call_unfinished` event (unfinishedStreamData) and
 * any OTLP file of the run alike. `nested` are the llm spans folded into it (an instrumented
 * client's request inside the app's `llmCall()`), in start order: when the span is not streamed
 * itself, the first streamed one among them speaks for it. Sets `gen_ai.request.stream`, the
 * nested span's time to first chunk (when the span has none of its own), and
 * `autopsy.seconds_since_last_chunk` when a chunk of the answer had come and its time is known
 * (a stream read through StreamChunks; @anthropic-ai/sdk's own spans say only the first chunk).
 */
export function closeStream(span: Span, nested: readonly Span[], endMs: number): void {
  const own = attributesOf(span);
  if (own === undefined) return;
  let source: Span | undefined;
  for (const candidate of [span, ...nested]) {
    if (attributesOf(candidate)?.[sc.ATTR_GEN_AI_REQUEST_STREAM] === true || streamChunksOf(candidate) !== undefined) {
      source = candidate;
      break;
    }
  }
  if (source === undefined) return;
  try {
    span.setAttribute(sc.ATTR_GEN_AI_REQUEST_STREAM, true);
    const first = source === span ? undefined : attributesOf(source)?.[sc.ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK];
    if (typeof first === 'number' && own[sc.ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] === undefined) span.setAttribute(sc.ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, first);
    const chunks = streamChunksOf(source);
    if (chunks !== undefined && chunks.firstMs > 0) span.setAttribute(sc.ATTR_AUTOPSY_SECONDS_SINCE_LAST_CHUNK, secondsBetween(chunks.lastMs, endMs));
  } catch {
    /* the span may belong to a provider that is already shut down */
  }
}

/** The attributes of an SDK span (sdk-trace-base's Span has them; another implementation's may not). */
export function attributesOf(span: Span | undefined): Attributes | undefined {
  const attributes = (span as { attributes?: unknown } | undefined)?.attributes;
  return attributes !== null && typeof attributes === 'object' ? (attributes as Attributes) : undefined;
}
