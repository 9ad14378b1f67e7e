import {
  context,
  type Attributes,
  type AttributeValue,
  type Context,
  type Exception,
  type Link,
  type Span,
  type SpanContext,
  type SpanOptions,
  type SpanStatus,
  type TimeInput,
  type Tracer,
  type TracerOptions,
  type TracerProvider,
} from '@opentelemetry/api';
import { reportError } from './errorHandler';
import { startActiveSpanWith } from './startActiveSpanWith';

/** Marks a TwinSpan of any copy of agent-autopsy. */
const TWIN_SPAN = Symbol.for('agent-autopsy.twin-span');

/** The halves of `span` when it is a TwinSpan. */
export function twinHalves(span: unknown): { apps: Span; own: Span } | undefined {
  return span !== null && typeof span === 'object' && (span as { [TWIN_SPAN]?: true })[TWIN_SPAN] === true ? (span as TwinSpan) : undefined;
}

/**
 * One operation recorded by two providers: the app's, which agent-autopsy cannot join (see
 * separateSpans.ts), and agent-autopsy's. An LLM client that traces itself through the global
 * OpenTelemetry API (@anthropic-ai/sdk) would otherwise give its spans to the app's provider only,
 * and its calls would be missing from the autopsy; taken from the app, they would be missing from
 * its traces. The library gets this object as its span: every change goes to both halves, and
 * `trace.setSpan()` puts each half in its own slot (the app's where the app's tracing reads).
 */
export class TwinSpan implements Span {
  readonly [TWIN_SPAN] = true;

  constructor(
    /** The app's half: its identity is the one propagated and the one the app's spans nest under. */
    readonly apps: Span,
    /** agent-autopsy's half, recorded in the autopsy. */
    readonly own: Span,
  ) {}

  spanContext(): SpanContext {
    return this.apps.spanContext();
  }

  setAttribute(key: string, value: AttributeValue): this {
    this.apps.setAttribute(key, value);
    this.own.setAttribute(key, value);
    return this;
  }

  setAttributes(attributes: Attributes): this {
    this.apps.setAttributes(attributes);
    this.own.setAttributes(attributes);
    return this;
  }

  addEvent(name: string, attributesOrStartTime?: Attributes | TimeInput, startTime?: TimeInput): this {
    this.apps.addEvent(name, attributesOrStartTime, startTime);
    this.own.addEvent(name, attributesOrStartTime, startTime);
    return this;
  }

  addLink(link: Link): this {
    this.apps.addLink(link);
    this.own.addLink(link);
    return this;
  }

  addLinks(links: Link[]): this {
    this.apps.addLinks(links);
    this.own.addLinks(links);
    return this;
  }

  setStatus(status: SpanStatus): this {
    this.apps.setStatus(status);
    this.own.setStatus(status);
    return this;
  }

  updateName(name: string): this {
    this.apps.updateName(name);
    this.own.updateName(name);
    return this;
  }

  end(endTime?: TimeInput): void {
    this.apps.end(endTime);
    this.own.end(endTime);
  }

  isRecording(): boolean {
    return this.apps.isRecording() || this.own.isRecording();
  }

  recordException(exception: Exception, time?: TimeInput): void {
    this.apps.recordException(exception, time);
    this.own.recordException(exception, time);
  }
}

/** A tracer whose spans are TwinSpans: the app's tracer's and agent-autopsy's. */
class TwinTracer implements Tracer {
  constructor(
    private readonly apps: Tracer,
    private readonly own: Tracer,
  ) {}

  startSpan(name: string, options?: SpanOptions, ctx?: Context): Span {
    const parent = ctx ?? context.active();
    const apps = this.apps.startSpan(name, options, parent);
    let own: Span;
    try {
      own = this.own.startSpan(name, options, parent);
    } catch (error) {
      // The app's tracing goes on as it would without agent-autopsy.
      reportError(error, 'span could not be started');
      return apps;
    }
    return new TwinSpan(apps, own);
  }

  startActiveSpan(...args: unknown[]): never {
    return startActiveSpanWith(args, (name, options, parent) => this.startSpan(name, options, parent)) as never;
  }
}

/**
 * Scopes of LLM clients that trace themselves through the global API, and of the GenAI
 * instrumentations agent-autopsy reads: @anthropic-ai/sdk (`com.anthropic.sdk.typescript`, with
 * a platform suffix for Bedrock and Vertex), the Vercel AI SDK (`ai` up to 6 and ai 7's
 * `LegacyOpenTelemetry`; `gen_ai` for @ai-sdk/otel's `OpenTelemetry`), OpenInference and OpenLLMetry.
 */
const TWINNED_SCOPE = /^(?:com\.anthropic\.sdk\.typescript(?:\.|$)|ai$|gen_ai$|@arizeai\/openinference-instrumentation-|@traceloop\/instrumentation-)/;

/** Marks a provider whose getTracer is already wrapped (by this copy of agent-autopsy or another). */
const TWINNING = Symbol.for('agent-autopsy.twinning-provider');

/**
 * From now on the LLM tracers the app's provider hands out (TWINNED_SCOPE) make TwinSpans, whose
 * second half comes from `own`. Only the instance is changed, and only its getTracer. Tracers it
 * handed out before stay as they were: a client made earlier keeps the app's tracer alone.
 */
export function twinLlmTracers(provider: TracerProvider, own: TracerProvider): void {
  const target = provider as TracerProvider & { [TWINNING]?: true };
  if (target[TWINNING] || typeof target.getTracer !== 'function') return;
  const getTracer = target.getTracer;
  target.getTracer = function getTwinnedTracer(this: TracerProvider, name: string, version?: string, options?: TracerOptions): Tracer {
    const tracer = getTracer.call(this, name, version, options);
    return typeof name === 'string' && TWINNED_SCOPE.test(name) ? new TwinTracer(tracer, own.getTracer(name, version, options)) : tracer;
  };
  target[TWINNING] = true;
}
