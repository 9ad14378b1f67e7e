import type { TracerProvider } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { reportError } from '../errorHandler';
import { ChildProcessInstrumentation } from './ChildProcessInstrumentation';

let instance: ChildProcessInstrumentation | undefined;

/** child_process → code_exec spans, once per process (`instrumentChildProcesses`). */
export function enableChildProcessInstrumentation(provider: TracerProvider): ChildProcessInstrumentation | undefined {
  if (instance) return instance;
  try {
    const created = new ChildProcessInstrumentation({ enabled: false });
    registerInstrumentations({ instrumentations: [created], tracerProvider: provider });
    instance = created;
  } catch (error) {
    reportError(error, 'child processes cannot be recorded');
  }
  return instance;
}
