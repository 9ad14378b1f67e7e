/**
 * Everything the published entry points expose, built as ONE CommonJS file (dist/core.cjs). Each
 * entry point (`agent-autopsy`, `/register`, `/exporters`, `/analyzers`) is a thin wrapper around
 * it, so `import` and `require` of any of them share a single instance of the library's
 * process-wide state. The bin has a bundle of its own (dist/cli-main.cjs, from src/cli.ts): the
 * library does not load the CLI's dependencies (commander, cli-progress: ~11 ms of every start).
 */
export * as api from './index';
export * as exporters from '../exporters/index';
export * as analyzers from '../analyzers/index';
export { registerZeroCode } from './register';
