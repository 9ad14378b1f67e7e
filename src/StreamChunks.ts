import type { Attributes, Span } from '@opentelemetry/api';
import { nowMs, secondsBetween } from './clock';
import * as sc from './semconv';
import { isStreamedLlmSpan, timeToFirstChunk } from './spanMapping';

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

/** How far a streamed call's stream had got at a moment: seconds to its first chunk, and since its last. */
export interface StreamState {
  firstChunk?: number;
  sinceLastChunk?: number;
}

/**
 * What the stream of llm span `span`, still open, says at `atMs`; undefined when the call is not
 * streamed. `nested` are the llm spans folded into it (an instrumented client's request inside
 * the app's `llmCall()`, an AI SDK stream's doStream), in start order: when the span is not
 * streamed itself, the first streamed one among them speaks for it, and when it does not time
 * its own chunks, the first of them that got one gives `firstChunk`. `sinceLastChunk` is known
 * where a chunk of the answer had come and the stream was read through StreamChunks
 * (@anthropic-ai/sdk's own spans say only the first chunk). Reads the spans only.
 */
export function streamState(span: Span, nested: readonly Span[], atMs: number): StreamState | undefined {
  const own = attributesOf(span);
  if (own === undefined) return undefined;
  let source: Span | undefined;
  for (const candidate of [span, ...nested]) {
    const attributes = attributesOf(candidate);
    if ((attributes !== undefined && isStreamedLlmSpan(attributes)) || streamChunksOf(candidate) !== undefined) {
      source = candidate;
      break;
    }
  }
  if (source === undefined) return undefined;
  const state: StreamState = {};
  // A span that times its own chunks (StreamChunks) says itself whether its answer had started;
  // else the first of its folded spans that got a chunk does (an AI SDK stream's doStream span).
  let first = timeToFirstChunk(own);
  if (first === undefined && streamChunksOf(span) === undefined) {
    for (const candidate of nested) {
      const attributes = attributesOf(candidate);
      first = attributes === undefined ? undefined : timeToFirstChunk(attributes);
      if (first !== undefined) break;
    }
  }
  if (first !== undefined) state.firstChunk = first;
  const chunks = streamChunksOf(source);
  if (chunks !== undefined && chunks.firstMs > 0) state.sinceLastChunk = secondsBetween(chunks.lastMs, atMs);
  return state;
}

/**
 * The attributes a streamed llm span still open at the process's end (`endMs`) is ended with, for
 * its `llm_call_unfinished` event (unfinishedStreamData) and any OTLP file of the run alike:
 * `gen_ai.request.stream`, the time to first chunk (a nested span's, when it has none of its own)
 * and `autopsy.seconds_since_last_chunk` (see streamState).
 */
export function closeStream(span: Span, nested: readonly Span[], endMs: number): void {
  const state = streamState(span, nested, endMs);
  if (state === undefined) return;
  try {
    span.setAttribute(sc.ATTR_GEN_AI_REQUEST_STREAM, true);
    if (state.firstChunk !== undefined) span.setAttribute(sc.ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, state.firstChunk);
    if (state.sinceLastChunk !== undefined) span.setAttribute(sc.ATTR_AUTOPSY_SECONDS_SINCE_LAST_CHUNK, state.sinceLastChunk);
  } catch {
    /* the span may belong to a provider that is already shut down */
  }
}

/** The attributes of an SDK span (sdk-trace-base's Span has them; another implementation's may not). */
export function attributesOf(span: Span | undefined): Attributes | undefined {
  const attributes = (span as { attributes?: unknown } | undefined)?.attributes;
  return attributes !== null && typeof attributes === 'object' ? (attributes as Attributes) : undefined;
}
