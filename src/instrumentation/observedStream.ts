import type { Span } from '@opentelemetry/api';
import { currentRun } from '../runtime';
import { StreamChunks } from '../StreamChunks';

/* eslint-disable @typescript-eslint/no-explicit-any */

/*
 * Reading a streamed call's answer through for the app, for the client instrumentations (the
 * Stainless clients' Streams, Bedrock's event streams): the span learns what each chunk says and
 * ends however the reading ends.
 */

/** What one streamed call's reader is told, chunk by chunk. Never called after the span ended. */
export interface StreamObserver {
  /** Whether `chunk` is part of the answer: the first one is the span's time to first chunk. */
  isAnswer(chunk: any): boolean;
  /** Gathers what the span needs from a chunk (guarded: what it throws is dropped). */
  chunk(chunk: any): void;
  /** The stream was read to its end, or the app stopped reading it: sets the last attributes (the span is ended after it). */
  end(): void;
  /** Reading failed: records it on the span and ends it. */
  fail(error: unknown): void;
}

/**
 * A reader of one call's stream: it yields each chunk of `iterator` to the app as it comes, and
 * ends the span when the reading ends (read to its end, or stopped by the app: `observer.end()`;
 * failed: `observer.fail()`). The time to first chunk is counted from `sentAtMs` (epoch ms, the
 * run's clock: when the request that answered was sent), else from the span's start. Streamed
 * calls only pay for that lookup, here, once.
 */
export function streamReader(span: Span, sentAtMs?: number): (iterator: AsyncIterator<unknown>, observer: StreamObserver) => AsyncGenerator<unknown> {
  let startMs = sentAtMs ?? NaN;
  if (Number.isNaN(startMs)) guard(() => (startMs = currentRun()?.spanStartMs(span) ?? NaN));
  const chunks = new StreamChunks(span, startMs);
  return (iterator, observer) => observeStream(iterator, span, chunks, observer);
}

async function* observeStream(iterator: AsyncIterator<unknown>, span: Span, chunks: StreamChunks, observer: StreamObserver): AsyncGenerator<unknown> {
  let failed = false;
  try {
    for await (const chunk of { [Symbol.asyncIterator]: () => iterator }) {
      // One clock read per chunk; the test below only until the answer's first chunk came.
      chunks.chunk();
      if (chunks.firstMs === 0 && observer.isAnswer(chunk)) chunks.answered();
      guard(() => observer.chunk(chunk));
      yield chunk;
    }
  } catch (error) {
    failed = true;
    guard(() => observer.fail(error));
    throw error;
  } finally {
    if (!failed && span.isRecording()) {
      guard(() => {
        observer.end();
        span.end();
      });
    }
  }
}

export function guard(fn: () => void): void {
  try {
    fn();
  } catch {
    /* telemetry never fails the call */
  }
}
