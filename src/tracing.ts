import { diag, trace, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { RedactingSpanExporter } from '../exporters/RedactingSpanExporter';
import type { ResolvedConfig } from './config';
import { envFlag } from './config';
import { VERSION } from './version';

export interface TracingSetup {
  tracer: Tracer;
  /** True when we created and registered the provider; false when we joined the app's. */
  ownsProvider: boolean;
  flush(): Promise<void>;
}

/** Upper bound on one OTLP export, so an unreachable collector never holds the exit for long. */
export const OTLP_EXPORT_TIMEOUT_MS = 3000;

/** The provider behind the global API, or undefined when none was registered. */
function registeredProvider(): TracerProvider | undefined {
  const global = trace.getTracerProvider() as TracerProvider & { getDelegate?: () => TracerProvider };
  const delegate = typeof global.getDelegate === 'function' ? global.getDelegate() : global;
  return delegate && delegate.constructor?.name !== 'NoopTracerProvider' ? delegate : undefined;
}

/**
 * Adds our processor to a provider the app already registered (its own NodeSDK or
 * NodeTracerProvider). SDK 2.x providers take processors only in their constructor, so the
 * processor joins the provider's active MultiSpanProcessor; returns false when that is not possible.
 */
export function attachToProvider(provider: TracerProvider, processors: SpanProcessor[]): boolean {
  const active = (provider as unknown as { _activeSpanProcessor?: { _spanProcessors?: SpanProcessor[] } })._activeSpanProcessor;
  const list = active?._spanProcessors;
  if (!Array.isArray(list)) return false;
  for (const processor of processors) if (!list.includes(processor)) list.push(processor);
  return true;
}

export function otlpSpanProcessor(config: ResolvedConfig): SpanProcessor | undefined {
  if (!config.otlpEndpoint || envFlag(process.env.OTEL_SDK_DISABLED)) return undefined;
  const exporter = new OTLPTraceExporter({ url: config.otlpEndpoint, headers: config.otlpHeaders, timeoutMillis: OTLP_EXPORT_TIMEOUT_MS });
  return new BatchSpanProcessor(new RedactingSpanExporter(exporter, config.maxStringLength), {
    exportTimeoutMillis: OTLP_EXPORT_TIMEOUT_MS,
    scheduledDelayMillis: 1000,
  });
}

export function setupTracing(config: ResolvedConfig, processor: SpanProcessor): TracingSetup {
  const otlp = otlpSpanProcessor(config);
  const processors = [processor, ...config.spanProcessors, ...(otlp ? [otlp] : [])];
  const existing = registeredProvider();
  if (existing && attachToProvider(existing, processors)) {
    return {
      tracer: existing.getTracer('agent-autopsy', VERSION),
      ownsProvider: false,
      flush: async () => {
        await Promise.all(processors.map((p) => p.forceFlush().catch(() => undefined)));
      },
    };
  }
  if (existing) diag.warn('agent-autopsy: could not join the registered tracer provider; using a private one');
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName }),
    spanProcessors: processors,
  });
  // Registering sets the AsyncLocalStorage context manager; never replace an app's provider.
  if (!existing) provider.register();
  return {
    tracer: provider.getTracer('agent-autopsy', VERSION),
    ownsProvider: true,
    flush: () => provider.forceFlush(),
  };
}
