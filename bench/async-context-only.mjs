// Preloaded by the zero-code scenario (`node --import ./bench/async-context-only.mjs app`): turns on
// an AsyncLocalStorage and nothing else, which is what any OpenTelemetry context manager does on
// Node 20. Its promise hooks then run for every promise the app creates: the floor under any
// tracing that keeps spans in async context.
import { AsyncLocalStorage } from 'node:async_hooks';

new AsyncLocalStorage().enterWith({ bench: 'async-context-only' });
