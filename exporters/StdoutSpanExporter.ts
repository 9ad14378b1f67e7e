import { writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { inspect } from 'node:util';
import { ExportResultCode, hrTimeToMicroseconds, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { reportExportError } from '../src/errorHandler';

/** How long one write may wait for a full non-blocking pipe (macOS's stdout pipes) before it gives up. */
const FULL_PIPE_WAIT_MS = 1000;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * `OTEL_TRACES_EXPORTER=console`: each span printed on standard output as it ends, in the shape
 * and format of the SDK's ConsoleSpanExporter (`console.dir(info, { depth: 3 })`).
 *
 * Why not that exporter: it writes through `process.stdout`, and when the reader is gone
 * (`node agent.mjs | head`) the stream reports EPIPE as an 'error' event, which with no listener
 * crashes the app, although the app itself may never write to stdout. Here each span is written
 * to fd 1 synchronously (as `process.stdout` writes to files, terminals and, on Linux, pipes);
 * a write that fails stops the printing, says so once, and leaves `process.stdout` as it was, so
 * the app's own writes behave as they would without agent-autopsy.
 */
export class StdoutSpanExporter implements SpanExporter {
  private stopped = false;
  private readonly colors = colorsWanted();

  constructor(private readonly fd = 1) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    for (const span of spans) {
      if (this.stopped) break;
      this.write(`${inspect(exportInfo(span), { depth: 3, customInspect: false, colors: this.colors })}\n`);
    }
    resultCallback({ code: ExportResultCode.SUCCESS });
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  private write(text: string): void {
    const bytes = Buffer.from(text);
    let offset = 0;
    let waitedMs = 0;
    while (offset < bytes.length) {
      try {
        offset += writeSync(this.fd, bytes, offset, bytes.length - offset);
      } catch (error) {
        if ((error as { code?: unknown }).code === 'EAGAIN' && waitedMs < FULL_PIPE_WAIT_MS) {
          Atomics.wait(sleeper, 0, 0, 5);
          waitedMs += 5;
          continue;
        }
        this.stopped = true;
        reportExportError(error, 'spans can no longer be printed on stdout (OTEL_TRACES_EXPORTER=console), so their printing stopped');
        return;
      }
    }
  }
}

/** The SDK ConsoleSpanExporter's view of a span (its `_exportInfo`), field for field. */
function exportInfo(span: ReadableSpan): Record<string, unknown> {
  const context = span.spanContext();
  return {
    resource: { attributes: span.resource.attributes },
    instrumentationScope: span.instrumentationScope,
    traceId: context.traceId,
    parentSpanContext: span.parentSpanContext,
    traceState: context.traceState?.serialize(),
    name: span.name,
    id: context.spanId,
    kind: span.kind,
    timestamp: hrTimeToMicroseconds(span.startTime),
    duration: hrTimeToMicroseconds(span.duration),
    attributes: span.attributes,
    status: span.status,
    events: span.events,
    links: span.links,
  };
}

/** Colours as `console.dir` would use them on fd 1: FORCE_COLOR decides, else a terminal that is not dumb, unless NO_COLOR. */
function colorsWanted(): boolean {
  const force = process.env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  return isatty(1) && process.env.NO_COLOR === undefined && process.env.TERM !== 'dumb';
}
