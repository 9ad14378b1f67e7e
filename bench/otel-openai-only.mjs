// Preloaded by the zero-code scenario (`node --import ./bench/otel-openai-only.mjs app`) as its
// reference: OpenTelemetry's own openai instrumentation (@opentelemetry/instrumentation-openai)
// on a bare SDK — a BasicTracerProvider with a BatchSpanProcessor and a no-op exporter, no context
// manager (like the flag, it leaves AsyncLocalStorage off), nothing written anywhere. What tracing
// an openai call costs before anything is recorded or concluded (bench/README.md item 28).
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
// The loader hook of the import-in-the-middle copy that @opentelemetry/instrumentation uses (as src/register.ts).
const fromInstrumentation = createRequire(require.resolve('@opentelemetry/instrumentation'));
register(pathToFileURL(fromInstrumentation.resolve('import-in-the-middle/hook.mjs')).href, import.meta.url, { data: { include: ['openai'] } });

const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { registerInstrumentations } = require('@opentelemetry/instrumentation');
const { OpenAIInstrumentation } = require('@opentelemetry/instrumentation-openai');

const noopExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: () => Promise.resolve(),
  forceFlush: () => Promise.resolve(),
};
const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(noopExporter)] });
registerInstrumentations({ tracerProvider: provider, instrumentations: [new OpenAIInstrumentation()] });
