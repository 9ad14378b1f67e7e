import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config';

describe('environment variables of init()', () => {
  it('an empty AGENT_AUTOPSY_DIR is unset: the default run directory, not the working directory', () => {
    const outputDir = resolveConfig({}, { AGENT_AUTOPSY_DIR: '' }).outputDir;
    expect(outputDir).not.toBe(resolve(''));
    expect(outputDir.startsWith(resolve('autopsy-runs'))).toBe(true);
  });

  it('a set AGENT_AUTOPSY_DIR is the run directory', () => {
    expect(resolveConfig({}, { AGENT_AUTOPSY_DIR: 'runs/today' }).outputDir).toBe(resolve('runs/today'));
  });
});

describe('OTLP headers from the environment', () => {
  it('OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_TRACES_HEADERS are merged, the traces one winning per name (any case); the option wins over both', () => {
    const env = { OTEL_EXPORTER_OTLP_HEADERS: 'x-team=autopsy,X-Token=generic', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-token=traces,x-extra=1' };
    expect(resolveConfig({}, env).otlpHeaders).toEqual({ 'x-team': 'autopsy', 'x-token': 'traces', 'x-extra': '1' });
    expect(resolveConfig({ otlpHeaders: { 'X-EXTRA': '2' } }, env).otlpHeaders).toEqual({ 'x-team': 'autopsy', 'x-token': 'traces', 'X-EXTRA': '2' });
  });
});

describe('OTEL_TRACES_EXPORTER', () => {
  it('is read as lower-case names, each once; a list without otlp means no OTLP endpoint', () => {
    const env = { OTEL_TRACES_EXPORTER: ' Console, zipkin ,console', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(resolveConfig({}, env)).toMatchObject({ tracesExporters: ['console', 'zipkin'], otlpEndpoint: undefined });
    expect(resolveConfig({}, { ...env, OTEL_TRACES_EXPORTER: 'otlp,console' })).toMatchObject({ tracesExporters: ['otlp', 'console'], otlpEndpoint: 'http://collector:4318/v1/traces' });
  });
});
