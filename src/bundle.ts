/**
 * Everything the published entry points expose, built as ONE CommonJS file (dist/core.cjs). Each
 * entry point (`agent-autopsy`, `/register`, `/exporters`, `/analyzers`, the bin) is a thin
 * wrapper around it, so `import` and `require` of any of them share a single instance of the
 * library's process-wide state.
 */
export * as api from './index';
export * as exporters from '../exporters/index';
export * as analyzers from '../analyzers/index';
export { registerZeroCode } from './register';
export { runCli } from './cli';
