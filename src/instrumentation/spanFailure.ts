import type { Span } from '@opentelemetry/api';
import { AgentSpan } from '../AgentSpan';
import { reportError } from '../errorHandler';
import type { SpanKindName } from '../eventTypes';
import * as sc from '../semconv';
import { errorMessage } from '../safeValue';

/**
 * Marks an instrumentation's span failed by `error`: an exception event, ERROR status with the
 * message, `error.type` (the error's class) and `http.response.status_code` when the error has one.
 *
 * It does what api.ts's recordFailure does, without importing api.ts: tsup's CommonJS chunking
 * (sucrase) would then put the `autofix` export in the chunk of AutopsyRun, whose class field of
 * the same name is compiled to `this.autofix = exports.autofix = …` and replaces the function.
 */
export function failSpan(span: Span, kind: SpanKindName, error: unknown): void {
  try {
    const message = errorMessage(error);
    span.recordException(error instanceof Error ? error : { name: 'NonErrorThrown', message });
    const type = error instanceof Error ? (error.constructor?.name && error.constructor.name !== 'Object' ? error.constructor.name : error.name) : typeof error;
    new AgentSpan(span, kind).fail(message, type);
    const status = (error as { status?: unknown } | null)?.status;
    if (typeof status === 'number' && status >= 100 && status < 600) span.setAttribute(sc.ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  } catch (failure) {
    reportError(failure, 'the error could not be recorded on its span');
  }
}
