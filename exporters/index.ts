export { TruthLogExporter, type TruthLogExporterOptions } from './TruthLogExporter';
export { FileSink, type FileSinkOptions } from './FileSink';
export { RedactingSpanExporter } from './RedactingSpanExporter';
export { formatEventJson, formatReadableLine } from './eventFormat';
export { pythonRepr } from './pythonRepr';
export { renderJsonReport, writeReportFiles } from './writeReportFiles';
export { renderMarkdownReport } from './markdownReport';
export { renderHtmlReport, escapeHtml } from './htmlReport';
export * from './paths';
