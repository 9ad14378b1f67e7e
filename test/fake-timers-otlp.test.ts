import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it, vi } from 'vitest';
import { init, llmCall, setErrorHandler, shutdown, stage } from '../src/index';
import { readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * An app's test suite with OTLP export configured (OTEL_EXPORTER_OTLP_ENDPOINT in the developer's
 * shell, the collector not running) that ends the run while the test runner's fake timers are
 * installed: the exporter's own timeout and retries run on the faked setTimeout and never fire.
 * shutdown() must still resolve, within the export bound. (A file of its own: tracing, and with it
 * the endpoint, is set up by the first init() of a process.)
 */

afterEach(() => {
  vi.useRealTimers();
  setErrorHandler(undefined);
});

/** A port on 127.0.0.1 where nothing listens (connections are refused). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as AddressInfo;
  await new Promise((closed) => server.close(closed));
  return port;
}

it('shutdown() resolves under fake timers when the collector refuses the connection', async () => {
  const dir = tempRunDir();
  const reported: string[] = [];
  setErrorHandler((error, context) => reported.push(`${context}: ${error instanceof Error ? error.message : String(error)}`));
  init({ outputDir: dir, handleExit: false, otlpEndpoint: `http://127.0.0.1:${await closedPort()}/v1/traces` });
  vi.useFakeTimers();
  await stage('s1', async () => {
    await llmCall({ model: 'gpt-4o' }, async () => 'ok');
  });
  const report = await shutdown();
  expect(report?.exit.reason).toBe('shutdown');
  expect(readTrackerDocument(dir).events.map((event) => event.type)).toEqual(['stage_start', 'llm_call_start', 'llm_call_end', 'stage_end']);
  expect(reported).toEqual(['span export could not be flushed: it did not finish within 3.5 s; the run ended without waiting for it']);
}, 15_000);
