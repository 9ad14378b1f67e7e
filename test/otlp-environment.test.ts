import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runNode, writeScript, type RunOptions } from './helpers/childProcess';
import { decodeOtlpJson, startOtlpReceiver, startSilentCollector, type OtlpReceiver, type SilentCollector } from './helpers/otlpReceiver';
import { readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * The standard OTEL_* variables an SRE sets for span export, honoured by agent-autopsy's own
 * export (a real child process, a real OTLP/HTTP receiver on 127.0.0.1): the batch processor's
 * OTEL_BSP_*, the export timeout, merged headers, the protocol (grpc named on stderr), and
 * OTEL_TRACES_EXPORTER=console. No wall times are asserted: where a setting is about time, the
 * child compares it with a timer of its own, which Node runs in the order the timers expire.
 */

/** Six spans: stage → two tasks → an LLM call (with an API key in its data) and a code run, and a failed call. */
const AGENT = `import { init, stage, task, llmCall, codeExec } from 'agent-autopsy';
init();
await stage('stage1', async () => {
  await task('data_processing', async () => {
    await llmCall({ model: 'gpt-4o', api_key: 'sk-live-0123456789abcdefghijkl' }, async () => undefined);
    await codeExec({ language: 'python' }, async () => undefined);
  });
  await task('validation', async () => {
    await llmCall({ model: 'gpt-4o' }, async () => { throw new Error('429 Too Many Requests'); }).catch(() => undefined);
  });
});
`;
const AGENT_SPANS = ['chat gpt-4o', 'chat gpt-4o', 'code_exec python', 'stage stage1', 'task data_processing', 'task validation'];

/** Ends with process.exit(3) inside a stage whose LLM call never returns, right after a task ended: every span goes in the post at exit. */
const EXITING_AGENT = `import { init, stage, task, llmCall } from 'agent-autopsy';
init();
stage('stage1', async () => {
  await task('prepare', async () => undefined);
  setTimeout(() => process.exit(3), 50);
  await llmCall({ model: 'gpt-4o', api_key: 'sk-live-0123456789abcdefghijkl' }, () => new Promise(() => {}));
});
`;
const EXITING_SPANS = ['chat gpt-4o', 'stage stage1', 'task prepare'];

let receiver: OtlpReceiver;

beforeEach(async () => {
  receiver = await startOtlpReceiver();
});
afterEach(async () => {
  await receiver.close();
});

/** Every OTEL_* variable of export unset but those given. */
const CLEAN = {
  OTEL_EXPORTER_OTLP_ENDPOINT: undefined,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined,
  OTEL_EXPORTER_OTLP_HEADERS: undefined,
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: undefined,
  OTEL_EXPORTER_OTLP_TIMEOUT: undefined,
  OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: undefined,
  OTEL_EXPORTER_OTLP_PROTOCOL: undefined,
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: undefined,
  OTEL_EXPORTER_OTLP_COMPRESSION: undefined,
  OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: undefined,
  OTEL_BSP_SCHEDULE_DELAY: undefined,
  OTEL_BSP_EXPORT_TIMEOUT: undefined,
  OTEL_BSP_MAX_QUEUE_SIZE: undefined,
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: undefined,
  OTEL_TRACES_EXPORTER: undefined,
  OTEL_SDK_DISABLED: undefined,
};

/**
 * Runs `source` with `env` over a clean environment. Where a test sets neither export timeout,
 * the export gets 20 s: the default 3 s also covers the fresh `node` that posts the spans at exit,
 * which a loaded machine can take seconds to start, and that bound is not what such a test is about.
 */
function run(source: string, env: Record<string, string | undefined>, onStdoutLine?: RunOptions['onStdoutLine']) {
  const dir = tempRunDir('autopsy-otlp-env-');
  const bound = 'OTEL_EXPORTER_OTLP_TIMEOUT' in env || 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT' in env ? {} : { OTEL_EXPORTER_OTLP_TIMEOUT: '20000' };
  return runNode(writeScript(source), { env: { ...CLEAN, AGENT_AUTOPSY_DIR: dir, ...bound, ...env }, onStdoutLine }).then((result) => ({ ...result, dir }));
}

const ourLines = (stderr: string) => stderr.match(/^agent-autopsy: .*$/gm) ?? [];
const names = () => receiver.spans.map((span) => span.name).sort();

describe('OTEL_BSP_* (the batch span processor)', () => {
  it('OTEL_BSP_SCHEDULE_DELAY=100: the batch goes out while the process runs, before a 500 ms timer of the app', async () => {
    // The child's timer starts right after the span ends, when the batch's timer does: Node runs
    // the shorter one first, so the export has started when it fires (with the old fixed 1 s
    // delay it had not). The child then runs on until the test has the span.
    const source = `import { subscribe } from 'node:diagnostics_channel';
import { init, task } from 'agent-autopsy';
let exporting = false;
subscribe('http.client.request.start', ({ request }) => { if (request.path.endsWith('/v1/traces')) exporting = true; });
init();
await task('early', async () => undefined);
setTimeout(() => process.stdout.write(exporting ? 'export started\\n' : 'no export yet\\n'), 500);
process.on('SIGUSR2', () => process.exit(0));
setInterval(() => undefined, 1000);
`;
    const lines: string[] = [];
    const result = await run(source, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100' }, (line, child) => {
      lines.push(line);
      void receiver.waitForSpans(1).then(() => child.kill('SIGUSR2'));
    });
    expect(lines).toEqual(['export started']);
    expect(result.code).toBe(0);
    expect(ourLines(result.stderr)).toEqual([]);
    expect(names()).toEqual(['task early']);
    expect(receiver.requests).toHaveLength(1);
  });

  it('OTEL_BSP_MAX_EXPORT_BATCH_SIZE=2: requests of at most 2 spans while the app runs', async () => {
    const result = await run(AGENT, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2' });
    expect(result.code).toBe(0);
    expect(ourLines(result.stderr)).toEqual([]);
    expect(names()).toEqual(AGENT_SPANS);
    // How the six spans fall into batches depends on when each export returns; none holds more than 2.
    const counts = receiver.requests.map((request) => request.spanCount);
    expect(counts.length).toBeGreaterThanOrEqual(3);
    expect(counts.every((count) => count >= 1 && count <= 2)).toBe(true);
  });

  it('OTEL_BSP_MAX_EXPORT_BATCH_SIZE=2: the post at process.exit() is split the same way', async () => {
    const result = await run(EXITING_AGENT, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2' });
    expect(result.code).toBe(3);
    expect(ourLines(result.stderr)).toEqual([]);
    expect(names()).toEqual(EXITING_SPANS);
    expect(receiver.requests.map((request) => request.spanCount)).toEqual([2, 1]);
  });

  it('values that are not valid are each named once on stderr, and the defaults export every span', async () => {
    const result = await run(AGENT, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_TIMEOUT: 'NaN',
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '-100',
      OTEL_BSP_SCHEDULE_DELAY: 'soon',
      OTEL_BSP_EXPORT_TIMEOUT: '0',
      // Taken as they were, -1 dropped every span and 0 never let a flush return.
      OTEL_BSP_MAX_QUEUE_SIZE: '-1',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '0',
    });
    expect(result.code).toBe(0);
    expect(ourLines(result.stderr)).toEqual([
      'agent-autopsy: OTEL_EXPORTER_OTLP_TIMEOUT should be a number of milliseconds above 0 and at most 2147483647, got "NaN"; the default (3000 ms) is used',
      'agent-autopsy: OTEL_EXPORTER_OTLP_TRACES_TIMEOUT should be a number of milliseconds above 0 and at most 2147483647, got "-100"; the default (3000 ms) is used',
      'agent-autopsy: OTEL_BSP_SCHEDULE_DELAY should be a number of milliseconds from 0 to 2147483647, got "soon"; the default (1000 ms) is used',
      'agent-autopsy: OTEL_BSP_EXPORT_TIMEOUT should be a number of milliseconds above 0 and at most 2147483647, got "0"; the default (3000 ms) is used',
      'agent-autopsy: OTEL_BSP_MAX_QUEUE_SIZE should be a whole number above 0, got "-1"; the default (2048) is used',
      'agent-autopsy: OTEL_BSP_MAX_EXPORT_BATCH_SIZE should be a whole number above 0, got "0"; the default (512) is used',
    ]);
    expect(names()).toEqual(AGENT_SPANS);
    expect(readTrackerDocument(result.dir).events).toHaveLength(12);
  });

  it('a batch size above the queue size is named, and batches of the queue size are sent', async () => {
    const result = await run(EXITING_AGENT, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_MAX_QUEUE_SIZE: '2', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '10', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '2.5e4' });
    expect(result.code).toBe(3);
    expect(ourLines(result.stderr)).toEqual(['agent-autopsy: OTEL_BSP_MAX_EXPORT_BATCH_SIZE (10) is above the queue size (2); batches of 2 spans are sent']);
    expect(names()).toEqual(EXITING_SPANS);
    expect(receiver.requests.map((request) => request.spanCount)).toEqual([2, 1]);
  });
});

describe('OTEL_EXPORTER_OTLP_TIMEOUT / OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', () => {
  let silent: SilentCollector;
  let silentUrl: string;
  beforeEach(async () => {
    silent = await startSilentCollector();
    silentUrl = silent.url;
  });
  afterEach(() => silent.close());

  it.each(['OTEL_EXPORTER_OTLP_TIMEOUT', 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT'])('%s=200: a silent collector is given up on before a 1500 ms timer of the app', async (name) => {
    // The export starts at once (delay 0) and times out after 200 ms, before the child's timer
    // (the old fixed 3 s did not). The failure goes to the app's error handler.
    const source = `import { init, task, setErrorHandler } from 'agent-autopsy';
let failure = 'no failure yet';
setErrorHandler((error, context) => { if (failure === 'no failure yet') failure = context + ': ' + error.message; });
init();
await task('early', async () => undefined);
setTimeout(() => { process.stdout.write(failure + '\\n'); process.exit(0); }, 1500);
`;
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: silentUrl, OTEL_BSP_SCHEDULE_DELAY: '0', [name]: '200' };
    if (name === 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT') env.OTEL_EXPORTER_OTLP_TIMEOUT = '60000';
    const result = await run(source, env);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`OTLP span export to ${silentUrl}/v1/traces failed: Request timed out\n`);
  });

  it('a collector slower than the old 3 s bound, within OTEL_EXPORTER_OTLP_TIMEOUT=10000, gets the spans of process.exit()', async () => {
    // Answers each request 3.5 s after it came (the child that posts at exit is killed at the bound).
    const slowSpans: string[] = [];
    const slow = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        setTimeout(() => {
          slowSpans.push(...decodeOtlpJson(JSON.parse(Buffer.concat(chunks).toString('utf8'))).map((span) => span.name));
          response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        }, 3500);
      });
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      const result = await run(EXITING_AGENT, { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(slow.address() as AddressInfo).port}`, OTEL_EXPORTER_OTLP_TIMEOUT: '10000' });
      expect(result.code).toBe(3);
      expect(ourLines(result.stderr)).toEqual([]);
      expect(slowSpans.sort()).toEqual(EXITING_SPANS);
    } finally {
      slow.closeAllConnections();
      await new Promise((resolve) => slow.close(resolve));
    }
  }, 30_000);
});

describe('OTEL_EXPORTER_OTLP_HEADERS with OTEL_EXPORTER_OTLP_TRACES_HEADERS', () => {
  const env = () => ({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_HEADERS: 'x-team=autopsy,x-token=generic',
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'X-Token=traces%20only',
  });

  it.each([
    ['a normal exit', AGENT, 0, AGENT_SPANS],
    ['process.exit() (the post at exit)', EXITING_AGENT, 3, EXITING_SPANS],
  ])('are merged, the traces one winning per name: %s', async (_name, source, code, spans) => {
    const result = await run(source, env());
    expect(result.code).toBe(code);
    expect(names()).toEqual(spans);
    expect(receiver.requests.length).toBeGreaterThan(0);
    for (const request of receiver.requests) {
      expect([request.headers['x-team'], request.headers['x-token']]).toEqual(['autopsy', 'traces only']);
    }
  });
});

describe('OTEL_EXPORTER_OTLP_PROTOCOL / OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', () => {
  it.each([
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'http/protobuf'],
    ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'http/json'],
  ])('%s=%s: sent as OTLP/HTTP JSON, which collectors and Jaeger take on the same port, without a word', async (name, protocol) => {
    const result = await run(AGENT, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, [name]: protocol });
    expect(result.code).toBe(0);
    expect(ourLines(result.stderr)).toEqual([]);
    expect(names()).toEqual(AGENT_SPANS);
    expect(receiver.requests.every((request) => request.contentType.startsWith('application/json'))).toBe(true);
  });

  it('grpc cannot be honoured: one line says what is sent instead, and to which port', async () => {
    const result = await run(AGENT, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' });
    expect(result.code).toBe(0);
    expect(ourLines(result.stderr)).toEqual([
      `agent-autopsy: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL is grpc, which agent-autopsy cannot send (it has no gRPC exporter); spans are sent as OTLP/HTTP with JSON to ${receiver.url}/v1/traces, so the endpoint must be the collector's OTLP/HTTP one (port 4318, not 4317)`,
    ]);
    expect(names()).toEqual(AGENT_SPANS);
  });

  it('a protocol OTLP does not have is named', async () => {
    const result = await run(AGENT, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http' });
    expect(ourLines(result.stderr)).toEqual([
      `agent-autopsy: OTEL_EXPORTER_OTLP_PROTOCOL should be http/json, http/protobuf or grpc, got "http"; spans are sent as OTLP/HTTP with JSON to ${receiver.url}/v1/traces`,
    ]);
    expect(names()).toEqual(AGENT_SPANS);
  });

  it.each([
    ['a normal exit', AGENT, 0],
    ['process.exit() (the post at exit)', EXITING_AGENT, 3],
  ])('an export to port 4317 that fails says 4317 is gRPC, once: %s', async (_name, source, code) => {
    // Nothing that speaks OTLP/HTTP listens on 4317 here: refused, or answered in HTTP/2 by a gRPC server.
    const result = await run(source, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317' });
    expect(result.code).toBe(code);
    const lines = ourLines(result.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^agent-autopsy: OTLP span export to http:\/\/127\.0\.0\.1:4317\/v1\/traces failed \(port 4317 is OTLP\/gRPC; agent-autopsy sends OTLP\/HTTP, which a collector takes on port 4318\): .+ \(the agent keeps running; the local autopsy is complete, these spans are not sent\)$/,
    );
  });
});

describe('OTEL_EXPORTER_OTLP_COMPRESSION / OTEL_EXPORTER_OTLP_TRACES_COMPRESSION', () => {
  it.each([
    ['a normal exit', AGENT, 0, AGENT_SPANS],
    ['process.exit() (the post at exit)', EXITING_AGENT, 3, EXITING_SPANS],
  ])('gzip: every request is gzipped, the post at exit too, and the traces one wins: %s', async (_name, source, code, spans) => {
    for (const env of [{ OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' }, { OTEL_EXPORTER_OTLP_COMPRESSION: 'none', OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'gzip' }]) {
      receiver.spans.length = 0;
      receiver.requests.length = 0;
      const result = await run(source, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...env });
      expect(result.code).toBe(code);
      expect(ourLines(result.stderr)).toEqual([]);
      expect(names()).toEqual(spans);
      expect(receiver.requests.map((request) => request.headers['content-encoding'])).toEqual(receiver.requests.map(() => 'gzip'));
    }
  });

  it.each([
    [{ OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip', OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'none' }, [], undefined],
    [{ OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd' }, ['OTEL_EXPORTER_OTLP_COMPRESSION should be gzip or none, got "zstd"; the spans are sent uncompressed'], undefined],
    // As the exporter reads them: a traces value that is not valid falls back to the other one.
    [{ OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip', OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'br' }, ['OTEL_EXPORTER_OTLP_TRACES_COMPRESSION should be gzip or none, got "br"; OTEL_EXPORTER_OTLP_COMPRESSION (gzip) is used'], 'gzip'],
  ])('%o: a value OTLP does not have is named once; the post at exit follows the run', async (env, lines, encoding) => {
    const result = await run(EXITING_AGENT, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...env });
    expect(result.code).toBe(3);
    expect(ourLines(result.stderr)).toEqual(lines.map((line) => `agent-autopsy: ${line}`));
    expect(names()).toEqual(EXITING_SPANS);
    expect(receiver.requests.length).toBeGreaterThan(0);
    expect(receiver.requests.map((request) => request.headers['content-encoding'])).toEqual(receiver.requests.map(() => encoding));
  });
});

describe('OTEL_TRACES_EXPORTER', () => {
  it('console: each span is printed on stdout, redacted; nothing goes to the OTLP endpoint', async () => {
    const result = await run(AGENT, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_EXPORTER: 'console' });
    expect(result.code).toBe(0);
    expect(ourLines(result.stderr)).toEqual([]);
    const printed = result.stdout.match(/^ {2}name: '.*',$/gm)?.map((line) => line.slice(9, -2)).sort();
    expect(printed).toEqual(AGENT_SPANS);
    expect(result.stdout).toContain("'autopsy.data.api_key': '[REDACTED]'");
    expect(result.stdout).not.toContain('0123456789abcdefghijkl');
    expect(receiver.requests).toEqual([]);
  });

  it('console at process.exit(): the spans the exit ends as unfinished are printed too', async () => {
    const result = await run(EXITING_AGENT, { OTEL_TRACES_EXPORTER: 'console' });
    expect(result.code).toBe(3);
    expect(result.stdout.match(/^ {2}name: '.*',$/gm)?.map((line) => line.slice(9, -2)).sort()).toEqual(EXITING_SPANS);
    expect(result.stdout).toContain("message: 'span still open when the process ended'");
  });

  /** An agent that never writes to stdout: its spans printed, and the reader gone after the first line (`| head -1`). */
  const QUIET_AGENT = `import { init, stage, task } from 'agent-autopsy';
init();
if (process.argv[2] === 'writes') { process.stdout.write('ready\\n'); await new Promise((resolve) => setTimeout(resolve, 300)); }
for (let i = 0; i < 40; i++) await stage('stage' + i, () => task('step', () => new Promise((resolve) => setTimeout(resolve, 2))));
if (process.argv[2] === 'writes') process.stdout.write('done\\n');
`;
  const closeAtFirstLine: RunOptions['onStdoutLine'] = (_line, child) => child.stdout?.destroy();

  it('console, stdout closed by its reader: the printing stops with one line on stderr; the app runs to its end and the autopsy is whole', async () => {
    const dir = tempRunDir('autopsy-console-closed-');
    const result = await runNode(writeScript(QUIET_AGENT), { env: { ...CLEAN, AGENT_AUTOPSY_DIR: dir, OTEL_TRACES_EXPORTER: 'console' }, onStdoutLine: closeAtFirstLine });
    expect([result.code, result.signal]).toEqual([0, null]);
    expect(result.stderr).toBe(
      'agent-autopsy: spans can no longer be printed on stdout (OTEL_TRACES_EXPORTER=console), so their printing stopped: EPIPE: broken pipe, write (the agent keeps running; the local autopsy is complete, these spans are not sent)\n',
    );
    expect(readTrackerDocument(dir).events.filter((event) => event.type === 'stage_end')).toHaveLength(40);
  });

  it('console, stdout closed by its reader: an app that writes to it after that ends as it would without agent-autopsy (EPIPE)', async () => {
    const endings = [];
    for (const exporters of ['none', 'console']) {
      const dir = tempRunDir('autopsy-console-closed-');
      const result = await runNode(writeScript(QUIET_AGENT), { args: ['writes'], env: { ...CLEAN, AGENT_AUTOPSY_DIR: dir, OTEL_TRACES_EXPORTER: exporters }, onStdoutLine: closeAtFirstLine });
      endings.push([result.code, result.signal, /Error: write EPIPE/.test(result.stderr), ourLines(result.stderr)]);
    }
    expect(endings).toEqual([
      [1, null, true, []],
      [1, null, true, ['agent-autopsy: spans can no longer be printed on stdout (OTEL_TRACES_EXPORTER=console), so their printing stopped: EPIPE: broken pipe, write (the agent keeps running; the local autopsy is complete, these spans are not sent)']],
    ]);
  });

  it('otlp,console: both', async () => {
    const result = await run(AGENT, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_EXPORTER: 'otlp, console' });
    expect(result.code).toBe(0);
    expect(result.stdout.match(/^ {2}name: '.*',$/gm)).toHaveLength(6);
    expect(names()).toEqual(AGENT_SPANS);
  });

  it('an exporter agent-autopsy does not have is named once; the others still work', async () => {
    const result = await run(AGENT, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_EXPORTER: 'zipkin,otlp,Zipkin' });
    expect(result.code).toBe(0);
    expect(ourLines(result.stderr)).toEqual(['agent-autopsy: OTEL_TRACES_EXPORTER: "zipkin" is not an exporter agent-autopsy has (otlp, console, none); it is ignored']);
    expect(names()).toEqual(AGENT_SPANS);
  });
});

describe('OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG', () => {
  it('traceidratio with 0 exports nothing; a sampler or ratio it does not have is named once and every trace is exported', async () => {
    const none = await run(AGENT, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' });
    expect(ourLines(none.stderr)).toEqual([]);
    expect(receiver.spans).toEqual([]);
    // The flight recorder sees every span whatever is sampled.
    expect(readTrackerDocument(none.dir).events).toHaveLength(12);

    const remote = await run(AGENT, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER: 'jaeger_remote' });
    expect(ourLines(remote.stderr)).toEqual([
      'agent-autopsy: OTEL_TRACES_SAMPLER should be one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio, got "jaeger_remote"; parentbased_always_on is used (every trace is exported)',
    ]);
    expect(names()).toEqual(AGENT_SPANS);

    const ratio = await run(AGENT, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '10%' });
    expect(ourLines(ratio.stderr)).toEqual(['agent-autopsy: OTEL_TRACES_SAMPLER_ARG should be a ratio from 0 to 1, got "10%"; 1 is used (every trace is exported)']);
    expect(names()).toEqual([...AGENT_SPANS, ...AGENT_SPANS].sort());
  });
});
