import {
  context,
  createContextKey,
  diag,
  ROOT_CONTEXT,
  propagation,
  trace,
  type Context,
  type Span,
  type SpanOptions,
  type Tracer,
  type TracerOptions,
  type TracerProvider,
} from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { otlpJsonRequests, postSynchronously } from '../exporters/otlpAtExit';
import { exportFailureContext, RedactingSpanExporter } from '../exporters/RedactingSpanExporter';
import { StdoutSpanExporter } from '../exporters/StdoutSpanExporter';
import { blindAppApiCopy, sightedAppApiCopy } from './apiCopies';
import { AutopsyContextManager, noteForeignTracer, registerContextManager, runUntraced } from './AutopsyContextManager';
import type { ResolvedConfig } from './config';
import { reportError, reportExportError, writeStderr } from './errorHandler';
import {
  batchOptionsFromEnvironment,
  compressionFromEnvironment,
  DEFAULT_EXPORT_TIMEOUT_MS,
  exportTimeoutFromEnvironment,
  tlsFilesFromEnvironment,
  warnAboutExporters,
  warnAboutProtocol,
} from './exportSettings';
import { enableChildProcessInstrumentation } from './instrumentation/childProcesses';
import { enableLlmRequestInstrumentation } from './instrumentation/llmRequests';
import { RecordingSampler, samplerFromEnvironment } from './recordingSampler';
import { separateOwnSpans, spansSeparated, startActiveOwnSpan, startOwnSpan } from './separateSpans';
import { twinLlmTracers } from './TwinSpan';
import { VERSION } from './version';

/**
 * How agent-autopsy's tracing lives in a process (documented in the README, "Zero code"):
 *
 * 1. The app already registered a tracer provider (its own NodeSDK or NodeTracerProvider): our
 *    processor joins that provider's processors. The app keeps its exporters, sampler and
 *    instrumentations; our spans go out through its pipeline, so we add no OTLP exporter of our
 *    own (with NodeSDK, `OTEL_EXPORTER_OTLP_ENDPOINT` already configures its exporter).
 * 2. No provider yet: a private NodeTracerProvider (our processor, `spanProcessors`, the OTLP
 *    exporter when an endpoint is set, the console exporter when OTEL_TRACES_EXPORTER lists
 *    `console`) is registered globally behind a hand-over provider. When
 *    the app registers its own provider *later*, the app's wins as if we had not been there: our
 *    processor joins it, every tracer handed out so far (instrumentations, the Anthropic client,
 *    our API) follows it, and its context manager and propagator replace ours. Spans that began
 *    before the hand-over end where they started.
 * 3. `OTEL_SDK_DISABLED=true`: OpenTelemetry is off for the app, so nothing is exported and no
 *    tracer provider is registered globally; the local autopsy is still written, from our API
 *    and the instrumentations we enable (they get the private provider). Libraries that trace
 *    through the global API on their own (the Anthropic SDK) are then not recorded. A context
 *    manager is still registered when none is, since stage/task nesting depends on it. Tracing
 *    that ignores the variable (Sentry's) is kept apart from, as in 4.
 * 4. A provider our processor cannot join (Sentry 10's SentryTracerProvider, dd-trace's), there
 *    before init() or registered after: it is the global one, our spans stay out of its sight
 *    (separateSpans.ts), and the LLM spans it makes are recorded by both (TwinSpan.ts).
 */
export interface TracingSetup {
  tracer: Tracer;
  /** True when we created the provider; false when we joined the app's. */
  ownsProvider: boolean;
  /** The provider the instrumentations we enable should use. */
  provider: TracerProvider;
  flush(): Promise<void>;
  /**
   * The process exits synchronously (a crash, `process.exit()`, a signal, or the spans left open at
   * a normal exit): the OTLP export's queue is posted now, within exportTimeoutMs. Does nothing
   * without an export of ours. Never throws.
   */
  exportAtExit(): void;
  /**
   * The process is about to exit synchronously: what is exported from now on (the spans the exit
   * ends as unfinished) is kept for exportAtExit() instead of being sent asynchronously. Never throws.
   */
  holdExports(): void;
  /**
   * The bound on one OTLP export, retries included (OTEL_EXPORTER_OTLP_TIMEOUT, 3 s by default):
   * also of the post at exit, and of the wait for span export when a run ends (see runtime.ts).
   */
  exportTimeoutMs: number;
}

let active: TracingSetup | undefined;

/** The tracing setup of this process, once `init()` made it. */
export function activeTracing(): TracingSetup | undefined {
  return active;
}

/** The provider behind the global API, or undefined when none was registered. */
function registeredProvider(): TracerProvider | undefined {
  const global = trace.getTracerProvider() as TracerProvider & { getDelegate?: () => TracerProvider };
  const delegate = typeof global.getDelegate === 'function' ? global.getDelegate() : global;
  return delegate && delegate.constructor?.name !== 'NoopTracerProvider' ? delegate : undefined;
}

/**
 * Adds our processors to a provider the app already registered (its own NodeSDK or
 * NodeTracerProvider). SDK 2.x providers take processors only in their constructor, so they join
 * the provider's active MultiSpanProcessor (`_activeSpanProcessor._spanProcessors`, the list every
 * span of that provider reports to); returns false when the provider has no such list.
 */
export function attachToProvider(provider: TracerProvider, processors: SpanProcessor[]): boolean {
  const target = provider instanceof HandOverTracerProvider ? provider.current : provider;
  const active = (target as unknown as { _activeSpanProcessor?: { _spanProcessors?: SpanProcessor[] } })._activeSpanProcessor;
  const list = active?._spanProcessors;
  if (!Array.isArray(list)) return false;
  for (const processor of processors) if (!list.includes(processor)) list.push(processor);
  return true;
}

/** The exporter's enum of the same two strings ('gzip', 'none'), from a package that is not ours to import. */
type ExporterCompression = NonNullable<NonNullable<ConstructorParameters<typeof import('@opentelemetry/exporter-trace-otlp-http').OTLPTraceExporter>[0]>['compression']>;

interface OtlpExport {
  processor: SpanProcessor;
  holdExports(): void;
  exportAtExit(): void;
}

function otlpExport(config: ResolvedConfig, timeoutMs: number): OtlpExport | undefined {
  const endpoint = config.otlpEndpoint;
  if (!endpoint || config.otelSdkDisabled) return undefined;
  warnAboutProtocol(endpoint);
  const batch = batchOptionsFromEnvironment();
  // Loaded only when an endpoint is set: the exporter and its transports are ~45 ms of every start.
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  // Every setting is passed, checked (see exportSettings.ts): the exporter and the processor read
  // what they are not given from the environment on their own, unchecked.
  const compression = compressionFromEnvironment();
  const exporter = new OTLPTraceExporter({ url: endpoint, headers: config.otlpHeaders, timeoutMillis: timeoutMs, compression: compression as ExporterCompression });
  const redacting = new RedactingSpanExporter(exporter, config.maxStringLength, endpoint);
  const processor = new BatchSpanProcessor(redacting, batch);
  const exportAtExit = () => {
    // A collector that just failed was reported once; the exit does not wait on it again.
    if (redacting.lastExportFailed) return;
    const spans = redacting.takeSpans(() => void processor.forceFlush().catch(() => undefined));
    if (spans.length === 0) return;
    const bodies = otlpJsonRequests(spans, batch.maxExportBatchSize);
    if (bodies.length === 0) return;
    const result = postSynchronously(bodies, { url: endpoint, headers: config.otlpHeaders, timeoutMs, tls: tlsFilesFromEnvironment(), gzip: compression === 'gzip' });
    if (!result.ok) reportExportError(result.error, exportFailureContext(endpoint));
  };
  return { processor, holdExports: () => redacting.hold(), exportAtExit };
}

/**
 * `OTEL_TRACES_EXPORTER=console`: every sampled span printed on stdout as it ends, as the SDK's
 * ConsoleSpanExporter prints it (see StdoutSpanExporter for why not by it), redacted like the
 * OTLP export; beside otlp when both are listed.
 */
function consoleExport(config: ResolvedConfig): SpanProcessor | undefined {
  if (config.otelSdkDisabled || !config.tracesExporters.includes('console')) return undefined;
  return new SimpleSpanProcessor(new RedactingSpanExporter(new StdoutSpanExporter(), config.maxStringLength));
}

/**
 * A tracer that asks its provider for the real tracer on every span, so tracers handed out before
 * a hand-over (kept by instrumentations and clients for their lifetime) follow it.
 */
class ForwardingTracer implements Tracer {
  private cached?: { provider: TracerProvider; tracer: Tracer };

  constructor(
    private readonly owner: HandOverTracerProvider,
    private readonly name: string,
    private readonly version?: string,
    private readonly options?: TracerOptions,
  ) {}

  private target(): Tracer {
    const provider = this.owner.current;
    if (this.cached?.provider !== provider) this.cached = { provider, tracer: provider.getTracer(this.name, this.version, this.options) };
    return this.cached.tracer;
  }

  startSpan(name: string, options?: SpanOptions, ctx?: Context): Span {
    if (spansSeparated()) return startOwnSpan(this.target(), name, options, ctx);
    return this.target().startSpan(name, options, ctx);
  }

  startActiveSpan(...args: unknown[]): never {
    const tracer = this.target();
    if (spansSeparated()) return startActiveOwnSpan(tracer, args) as never;
    return Reflect.apply(tracer.startActiveSpan, tracer, args) as never;
  }
}

/** Marks a HandOverTracerProvider of any copy of agent-autopsy (a nested install has its own class). */
const HAND_OVER_PROVIDER = Symbol.for('agent-autopsy.hand-over-provider');

/** The provider we register globally: ours until the app registers its own, then the app's. */
export class HandOverTracerProvider implements TracerProvider {
  readonly [HAND_OVER_PROVIDER] = true;
  private target: TracerProvider;

  constructor(readonly own: NodeTracerProvider) {
    this.target = own;
  }

  get current(): TracerProvider {
    return this.target;
  }

  get handedOver(): boolean {
    return this.target !== this.own;
  }

  handOver(provider: TracerProvider): void {
    this.target = provider;
  }

  getTracer(name: string, version?: string, options?: TracerOptions): Tracer {
    // agent-autopsy's own scopes: `agent-autopsy`, `agent-autopsy/openai`, `agent-autopsy/anthropic`, `agent-autopsy/anthropic-errors`, `agent-autopsy/bedrock`, `agent-autopsy/google-genai`, `agent-autopsy/google-generative-ai`, `agent-autopsy/llm-requests`, `agent-autopsy-child-process`.
    if (!name.startsWith('agent-autopsy')) noteForeignTracer();
    return new ForwardingTracer(this, name, version, options);
  }
}

interface Registrar<T> {
  set: (value: T) => boolean;
  disable: () => void;
}

/** The registering parts of one copy of @opentelemetry/api. */
interface ApiSingletons {
  trace: unknown;
  context: unknown;
  propagation: unknown;
}

/**
 * Makes a later registration by the app win over ours: `trace.setGlobalTracerProvider(appProvider)`
 * hands over (our processors join the app's provider), and the app's context manager and
 * propagator replace the ones we registered. Patches the API singletons of one copy of
 * @opentelemetry/api: ours, and the app's own when it has another copy (see otherApiCopy).
 */
function yieldToLaterRegistrations(api: ApiSingletons, handOver: HandOverTracerProvider, processors: SpanProcessor[], ours: { contextManager: unknown; propagator: unknown }): void {
  const tracerApi = api.trace as Registrar<TracerProvider> & { setGlobalTracerProvider: Registrar<TracerProvider>['set'] };
  const setProvider = tracerApi.setGlobalTracerProvider;
  tracerApi.setGlobalTracerProvider = function setGlobalTracerProvider(provider: TracerProvider): boolean {
    if (provider === handOver || handOver.handedOver) return setProvider.call(tracerApi, provider);
    try {
      if (attachToProvider(provider, processors)) {
        handOver.handOver(provider);
        diag.debug('agent-autopsy: the app registered its tracer provider; agent-autopsy joined it');
        return true;
      }
    } catch (error) {
      reportError(error, 'could not join the tracer provider the app registered');
    }
    // A provider our processor cannot join (Sentry's SentryTracerProvider, dd-trace's) becomes the
    // global one all the same, as it would without us: refused as a duplicate, the app's tracing
    // would be off. agent-autopsy's own tracers and instrumentations keep its provider (no hand-over),
    // and their spans are kept apart from the app's (keepApartFrom).
    // Another copy of agent-autopsy's provider is refused, as it always was (it records its own run).
    if ((provider as { [HAND_OVER_PROVIDER]?: unknown })[HAND_OVER_PROVIDER] === true) return setProvider.call(tracerApi, provider);
    warnCannotJoin(provider);
    keepApartFrom(provider, [trace, tracerApi], handOver);
    if (!isProxyOf(tracerApi, handOver)) return setProvider.call(tracerApi, provider);
    tracerApi.disable();
    return setProvider.call(tracerApi, provider);
  };
  yieldOnce(api.context as { setGlobalContextManager: (value: unknown) => boolean; disable: () => void }, 'setGlobalContextManager', ours.contextManager);
  yieldOnce(api.propagation as { setGlobalPropagator: (value: unknown) => boolean; disable: () => void }, 'setGlobalPropagator', ours.propagator);
}

function yieldOnce<K extends string>(api: { [key in K]: (value: unknown) => boolean } & { disable: () => void }, method: K, ours: unknown): void {
  const original = api[method];
  let yielded = false;
  (api as Record<string, unknown>)[method] = function registerGlobal(value: unknown): boolean {
    if (!yielded && value !== ours) {
      yielded = true;
      api.disable();
    }
    return original.call(api, value);
  };
}

/** The app's own copy of @opentelemetry/api, loaded, when it is another copy that sees our registration. */
function otherApiCopy(): ApiSingletons | undefined {
  const entry = sightedAppApiCopy();
  if (entry === undefined) return undefined;
  try {
    const api = require(entry) as Partial<ApiSingletons>;
    return api.trace && api.context && api.propagation ? (api as ApiSingletons) : undefined;
  } catch (error) {
    reportError(error, `the app's @opentelemetry/api (${entry}) could not be loaded; a tracer provider it registers after agent-autopsy is refused as a duplicate`);
    return undefined;
  }
}

const CONTEXT_PROBE = createContextKey('agent-autopsy.context-probe');

/** Whether a context manager is registered: the API's no-op one never makes a context active. */
function contextManagerRegistered(): boolean {
  return context.with(ROOT_CONTEXT.setValue(CONTEXT_PROBE, true), () => context.active().getValue(CONTEXT_PROBE) === true);
}

/** Whether `api`'s global tracer provider is still ours (nothing else has replaced it). */
function isProxyOf(api: unknown, handOver: HandOverTracerProvider): boolean {
  const global = (api as { getTracerProvider?: () => { getDelegate?: () => unknown } }).getTracerProvider?.();
  return global?.getDelegate?.() === handOver;
}

/**
 * Beside `appProvider`, which we cannot join: our spans stay out of the context slot its tracers
 * read (separateSpans.ts), and the LLM spans it makes are recorded by `ownProvider` too
 * (TwinSpan.ts). Never throws: this runs inside the app's own setGlobalTracerProvider().
 */
function keepApartFrom(appProvider: TracerProvider, traceApis: readonly unknown[], ownProvider: TracerProvider): void {
  try {
    separateOwnSpans(traceApis);
    twinLlmTracers(appProvider, ownProvider);
  } catch (error) {
    reportError(error, "could not keep agent-autopsy's spans apart from the app's tracer provider");
  }
}

let cannotJoinWarned = false;

/**
 * Says once that the app's tracer provider cannot take agent-autopsy's span processor: both
 * providers then trace side by side, and the app's tracing never sees agent-autopsy's spans
 * (separateSpans.ts keeps them from being the parents of the app's).
 */
function warnCannotJoin(provider: TracerProvider): void {
  // Another copy of agent-autopsy (a nested install): each records its own run, as it always did.
  if (cannotJoinWarned || (provider as { [HAND_OVER_PROVIDER]?: unknown })[HAND_OVER_PROVIDER] === true) return;
  cannotJoinWarned = true;
  const name = (provider as { constructor?: { name?: unknown } }).constructor?.name;
  const which = typeof name === 'string' && name !== '' && name !== 'Object' ? ` (${name})` : '';
  const line =
    `agent-autopsy: the app's OpenTelemetry tracer provider${which} is not one agent-autopsy can add its span processor to, so it records its spans with a provider of its own beside it: ` +
    `they are in the autopsy but not in the app's traces, and the spans the app starts inside agent-autopsy's stage(), task() or llmCall() keep the app's own spans as their parents. ` +
    `A provider built on @opentelemetry/sdk-trace-base (NodeSDK, NodeTracerProvider, BasicTracerProvider) is joined instead`;
  writeStderr(`${line}\n`);
  diag.warn(line);
}

/**
 * Says so once when the app's own @opentelemetry/api is a newer copy that cannot see the tracing
 * registered here (see apiCopies.ts): what it traces would otherwise be missing without a word.
 */
function warnOfBlindApiCopy(): void {
  const copies = blindAppApiCopy();
  if (!copies) return;
  const { app, ours } = copies;
  const line =
    `agent-autopsy: this app loads @opentelemetry/api ${app.version} (${app.dir}), which does not see the tracing agent-autopsy registered with its @opentelemetry/api ${ours.version}; ` +
    `spans made through ${app.version} (the app's own tracers, @anthropic-ai/sdk, an OpenTelemetry SDK started after agent-autopsy) are not recorded. ` +
    `Use one copy (npm install @opentelemetry/api@~${ours.version.split('.').slice(0, 2).join('.')}.0), or start the app's OpenTelemetry SDK before agent-autopsy`;
  writeStderr(`${line}\n`);
  diag.warn(line);
}

export function setupTracing(config: ResolvedConfig, processor: SpanProcessor): TracingSetup {
  active = createTracing(config, processor);
  if (config.instrumentChildProcesses) enableChildProcessInstrumentation(active.provider);
  if (config.recordLlmRequests) enableLlmRequestInstrumentation(active.provider);
  return active;
}

function createTracing(config: ResolvedConfig, processor: SpanProcessor): TracingSetup {
  const joined = [processor, ...config.spanProcessors];
  // Also the bound on the app's processors when a run ends, so read with the app's provider too.
  const exportTimeoutMs = config.otelSdkDisabled ? DEFAULT_EXPORT_TIMEOUT_MS : exportTimeoutFromEnvironment();
  const existing = config.otelSdkDisabled ? undefined : registeredProvider();
  if (existing && attachToProvider(existing, joined)) {
    return {
      tracer: existing.getTracer('agent-autopsy', VERSION),
      ownsProvider: false,
      provider: trace.getTracerProvider(),
      flush: async () => {
        await Promise.all(joined.map((p) => p.forceFlush().catch(() => undefined)));
      },
      // The app's provider exports our spans; what its processors do at exit is theirs.
      exportAtExit: () => undefined,
      holdExports: () => undefined,
      exportTimeoutMs,
    };
  }
  if (existing) {
    warnCannotJoin(existing);
    // Our spans nest through the context: an app that registered a provider but no context
    // manager gets ours (the API's no-op one would lose every parent).
    if (!contextManagerRegistered()) registerContextManager(new AutopsyContextManager());
  }
  // OTEL_TRACES_EXPORTER is ours to honour only with our own provider (the app's SDK reads it for its own).
  if (!config.otelSdkDisabled) warnAboutExporters(config.tracesExporters);
  const otlp = otlpExport(config, exportTimeoutMs);
  const printing = consoleExport(config);
  const holdExports = () => otlp?.holdExports();
  const exportAtExit = () => {
    try {
      // Untraced: the post's child process is no code_exec of the app's (instrumentChildProcesses).
      if (otlp) runUntraced(() => otlp.exportAtExit());
    } catch (error) {
      reportError(error, 'span export at exit failed');
    }
  };
  const provider = new NodeTracerProvider({
    // The SDK's default resource (telemetry.sdk.*, which the resource conventions require; a
    // provider given a resource does not add it), then OTEL_RESOURCE_ATTRIBUTES (deployment.environment …)
    // as the spec asks; our service.name wins over both.
    resource: defaultResource()
      .merge(detectResources({ detectors: [envDetector] }))
      .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName })),
    // OTEL_TRACES_SAMPLER decides what is exported; the autopsy records every span (see recordingSampler.ts).
    sampler: new RecordingSampler(samplerFromEnvironment()),
    spanProcessors: [...joined, ...(otlp ? [otlp.processor] : []), ...(printing ? [printing] : [])],
  });
  const flush = async () => {
    await provider.forceFlush();
    // After a hand-over our processor also sits in the app's provider; flush it there too.
    await Promise.all(joined.map((p) => p.forceFlush().catch(() => undefined)));
  };
  if (!config.otelSdkDisabled && !existing) {
    const handOver = new HandOverTracerProvider(provider);
    const contextManager = new AutopsyContextManager();
    const propagator = new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] });
    trace.setGlobalTracerProvider(handOver);
    registerContextManager(contextManager);
    propagation.setGlobalPropagator(propagator);
    yieldToLaterRegistrations({ trace, context, propagation }, handOver, joined, { contextManager, propagator });
    // The app's own copy of the API, where it has one that sees our registration (a linked or
    // folder install): its SDK's register() would otherwise fail as a duplicate, and its exporters get nothing.
    const appApi = otherApiCopy();
    if (appApi) yieldToLaterRegistrations(appApi, handOver, joined, { contextManager, propagator });
    warnOfBlindApiCopy();
    return { tracer: handOver.getTracer('agent-autopsy', VERSION), ownsProvider: true, provider: handOver, flush, exportAtExit, holdExports, exportTimeoutMs };
  }
  // Beside a provider we cannot join (or, with OpenTelemetry off, do not join), our tracers keep our
  // spans out of its sight (separateSpans.ts): the hand-over provider's tracers do that, and this
  // one is never handed over.
  const tracers = new HandOverTracerProvider(provider);
  const apis = [trace, otherApiCopy()?.trace];
  if (existing) keepApartFrom(existing, apis, tracers);
  if (config.otelSdkDisabled) besideAppTracingWhileDisabled(apis, tracers);
  return { tracer: tracers.getTracer('agent-autopsy', VERSION), ownsProvider: true, provider: tracers, flush, exportAtExit, holdExports, exportTimeoutMs };
}

/**
 * OTEL_SDK_DISABLED=true: agent-autopsy registers no tracer provider and joins none. An app's
 * tracing that does not read that variable (Sentry's, dd-trace's, a NodeTracerProvider registered
 * by hand) may still be there or come later: our spans are then kept apart from it, and its
 * context manager replaces the one we register for our own nesting, as without the variable.
 */
function besideAppTracingWhileDisabled(apis: readonly unknown[], tracers: TracerProvider): void {
  const present = registeredProvider();
  if (present) keepApartFrom(present, apis, tracers);
  const contextManager = new AutopsyContextManager();
  if (registerContextManager(contextManager)) yieldOnce(context as unknown as { setGlobalContextManager: (value: unknown) => boolean; disable: () => void }, 'setGlobalContextManager', contextManager);
  for (const api of apis) {
    const tracerApi = api as (Registrar<TracerProvider> & { setGlobalTracerProvider?: Registrar<TracerProvider>['set'] }) | undefined;
    const setProvider = tracerApi?.setGlobalTracerProvider;
    if (!tracerApi || typeof setProvider !== 'function') continue;
    tracerApi.setGlobalTracerProvider = function setGlobalTracerProvider(provider: TracerProvider): boolean {
      const registered = setProvider.call(tracerApi, provider);
      // Another copy of agent-autopsy records its own run, as it always did.
      if (registered && (provider as { [HAND_OVER_PROVIDER]?: unknown })[HAND_OVER_PROVIDER] !== true) keepApartFrom(provider, apis, tracers);
      return registered;
    };
  }
}
