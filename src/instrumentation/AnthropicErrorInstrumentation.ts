import type { Span } from '@opentelemetry/api';
import { InstrumentationNodeModuleDefinition, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { redactString } from '../redact';
import { activeOwnSpan } from '../separateSpans';
import { errorClassName, errorMessage } from '../safeValue';
import { VERSION } from '../version';
import { SafeInstrumentationBase } from './SafeInstrumentationBase';

/** Instrumentation scope of this class (it makes no spans of its own). */
export const ANTHROPIC_ERROR_SCOPE = 'agent-autopsy/anthropic-errors';
/** The instrumentation scope of the spans @anthropic-ai/sdk (0.134 on, 1.x) makes for its own calls. */
export const ANTHROPIC_SDK_SCOPE = 'com.anthropic.sdk.typescript';

/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyFunction = (...args: any[]) => any;

/**
 * The error message of a failed @anthropic-ai/sdk call, on the SDK's own span.
 *
 * @anthropic-ai/sdk traces its calls itself from 0.134 on (see llm.ts), but a call that fails with an error
 * response only gets `error.type` (the error envelope's type) and the HTTP status on its span: a
 * 400 is `invalid_request_error` whether the prompt was too long ("prompt is too long: 210043
 * tokens > 200000 maximum") or a parameter was wrong, so a zero-code run could not tell a
 * context-window overflow from any other bad request. This wraps the client's `makeStatusError`
 * (which makes the error of every error response, before the SDK ends the call span with it) and
 * adds an `exception` event with the error's class and its message, redacted, to that span.
 *
 * Nothing else changes: the call, its error and the SDK's own span attributes stay as they are,
 * and a span that is not the SDK's call span (tracing off in the SDK, or the app's own span
 * current) gets nothing.
 */
export class AnthropicErrorInstrumentation extends SafeInstrumentationBase {
  constructor(config: InstrumentationConfig = {}) {
    super(ANTHROPIC_ERROR_SCOPE, VERSION, config);
  }

  protected moduleDefinitions(): InstrumentationNodeModuleDefinition[] {
    return [
      new InstrumentationNodeModuleDefinition(
        '@anthropic-ai/sdk',
        ['>=0.134.0 <2'],
        (module: any) => {
          const target = clientPrototype(module);
          if (target) this._wrap(target, 'makeStatusError', this.patch());
          else this._diag.warn('@anthropic-ai/sdk: no makeStatusError found, error messages are not added to its spans');
          return module;
        },
        (module: any) => {
          const target = clientPrototype(module);
          if (target) this._unwrap(target, 'makeStatusError');
        },
      ),
    ];
  }

  private patch() {
    const self = this;
    return (original: AnyFunction): AnyFunction =>
      function makeStatusError(this: unknown, ...args: unknown[]) {
        const error = original.apply(this, args);
        if (self.isEnabled()) noteError(activeOwnSpan(), error);
        return error;
      };
  }
}

/** The prototype that owns `makeStatusError` (BaseAnthropic's), from the CommonJS exports or the ES module namespace. */
function clientPrototype(module: any): any {
  for (const candidate of [module?.BaseAnthropic, module?.default?.BaseAnthropic, module?.Anthropic, module?.default]) {
    let proto = typeof candidate === 'function' ? candidate.prototype : undefined;
    while (proto && proto !== Object.prototype) {
      if (Object.prototype.hasOwnProperty.call(proto, 'makeStatusError') && typeof proto.makeStatusError === 'function') return proto;
      proto = Object.getPrototypeOf(proto);
    }
  }
  return undefined;
}

function noteError(span: Span | undefined, error: unknown): void {
  try {
    if (!span || !span.isRecording()) return;
    const scope = (span as any).instrumentationScope ?? (span as any).instrumentationLibrary;
    if (scope?.name !== ANTHROPIC_SDK_SCOPE) return;
    // Redacted here, not only by our exporters: with the app's own provider, its exporters send the
    // span as it is (a gateway's 401 may quote the key).
    const attributes: Record<string, string> = { 'exception.message': redactString(errorMessage(error)) };
    const type = errorClassName(error);
    if (type) attributes['exception.type'] = type;
    span.addEvent('exception', attributes);
  } catch {
    /* telemetry never fails the call */
  }
}
