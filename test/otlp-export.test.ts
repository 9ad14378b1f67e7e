import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPO_ROOT, runNode, writeScript } from './helpers/childProcess';
import { startOtlpReceiver, startSilentCollector, type OtlpReceiver, type ReceivedSpan, type SilentCollector } from './helpers/otlpReceiver';
import { logPath, readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * OTLP/HTTP export to a receiver started here on 127.0.0.1 that decodes what it gets: span names,
 * parent/child links, attributes, status, service.name, the seed vocabulary; delivered at a
 * normal exit (no shutdown() call); never at the cost of the local autopsy or of a prompt exit.
 */

const AGENT = `import { init, stage, task, llmCall, codeExec } from 'agent-autopsy';
init();
await stage('stage1', { name: 'Problem Analysis' }, async () => {
  await task('data_processing', async () => {
    await llmCall({ model: 'gpt-4o', provider: 'openai', api_key: 'sk-live-0123456789abcdefghijkl' }, async (call) => {
      call.setUsage({ inputTokens: 12, outputTokens: 7 });
    });
    await codeExec({ language: 'python' }, async (exec) => {
      exec.setResult({ exitCode: 0, command: 'python3 solve.py' });
    });
  });
  await task('validation', async () => {
    await llmCall({ model: 'gpt-4o' }, async () => {
      const error = new Error('429 Too Many Requests');
      error.status = 429;
      throw error;
    }).catch(() => undefined);
    throw new Error('validation failed with Bearer abcdefghijklmnopqrstuvwxyz');
  }).catch(() => undefined);
});
process.exitCode = Number(process.env.EXIT_CODE ?? 0);
`;

let receiver: OtlpReceiver;

beforeEach(async () => {
  receiver = await startOtlpReceiver();
});
afterEach(async () => {
  await receiver.close();
});

function agentScript(): string {
  return writeScript(AGENT);
}

function runDir(): string {
  return tempRunDir('autopsy-otlp-');
}

function byName(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((span) => span.name === name);
  expect(found, name).toHaveLength(1);
  return found[0];
}

describe('a run with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  it('sends every span at a normal exit, nested stage → task → llm/code_exec, and writes the local files', async () => {
    const dir = runDir();
    const result = await runNode(agentScript(), {
      env: { AGENT_AUTOPSY_DIR: dir, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'otlp-agent', OTEL_EXPORTER_OTLP_HEADERS: 'x-team=autopsy,x-token=abc%20def' },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // The child has exited: whatever it exported has arrived.
    const spans = receiver.spans;
    expect(spans.map((span) => span.name).sort()).toEqual(['chat gpt-4o', 'chat gpt-4o', 'code_exec python', 'stage stage1', 'task data_processing', 'task validation']);
    expect(receiver.requests.every((request) => request.path === '/v1/traces' && request.contentType.startsWith('application/json'))).toBe(true);
    expect(receiver.requests[0].headers['x-team']).toBe('autopsy');
    expect(receiver.requests[0].headers['x-token']).toBe('abc def');

    const stage = byName(spans, 'stage stage1');
    const processing = byName(spans, 'task data_processing');
    const validation = byName(spans, 'task validation');
    const [okCall, failedCall] = spans.filter((span) => span.name === 'chat gpt-4o').sort((a, b) => a.status.code - b.status.code);
    const exec = byName(spans, 'code_exec python');

    expect(new Set(spans.map((span) => span.traceId)).size).toBe(1);
    expect(stage.parentSpanId).toBeUndefined();
    expect(processing.parentSpanId).toBe(stage.spanId);
    expect(validation.parentSpanId).toBe(stage.spanId);
    expect(okCall.parentSpanId).toBe(processing.spanId);
    expect(exec.parentSpanId).toBe(processing.spanId);
    expect(failedCall.parentSpanId).toBe(validation.spanId);

    for (const span of spans) {
      expect(span.resource['service.name']).toBe('otlp-agent');
      expect(span.resource).toMatchObject({ 'telemetry.sdk.language': 'nodejs', 'telemetry.sdk.name': 'opentelemetry' });
      expect(span.scope.name).toBe('agent-autopsy');
    }
    expect(stage.attributes).toMatchObject({
      'autopsy.kind': 'stage',
      'autopsy.stage': 'stage1',
      'autopsy.event.type': 'stage_start',
      'autopsy.event.end_type': 'stage_end',
      'autopsy.data.name': 'Problem Analysis',
    });
    expect(stage.status).toEqual({ code: 0 });
    // OTLP's SpanKind: 1 INTERNAL, 3 CLIENT. LLM calls are CLIENT spans, as the GenAI conventions ask.
    expect(spans.map((span) => [span.name, span.kind]).sort()).toEqual([
      ['chat gpt-4o', 3], ['chat gpt-4o', 3], ['code_exec python', 1], ['stage stage1', 1], ['task data_processing', 1], ['task validation', 1],
    ]);
    expect(okCall.attributes).toMatchObject({
      'autopsy.kind': 'llm',
      'autopsy.event.type': 'llm_call_start',
      'autopsy.event.end_type': 'llm_call_end',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.provider.name': 'openai',
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 7,
      // A secret passed as data never leaves the process.
      'autopsy.data.api_key': '[REDACTED]',
    });
    expect(okCall.events.map((event) => event.name)).toEqual(['llm_call_start', 'llm_call_end']);
    expect(exec.attributes).toMatchObject({ 'autopsy.kind': 'code_exec', 'autopsy.code.language': 'python', 'autopsy.code.exit_code': 0, 'autopsy.code.command': 'python3 solve.py' });

    expect(failedCall.status).toEqual({ code: 2, message: '429 Too Many Requests' });
    expect(failedCall.attributes).toMatchObject({ 'error.type': 'Error', 'http.response.status_code': 429, 'autopsy.event.end_type': 'llm_call_error' });
    expect(failedCall.events.map((event) => event.name)).toEqual(['llm_call_start', 'exception', 'llm_call_error']);
    expect(validation.status).toEqual({ code: 2, message: 'validation failed with Bearer [REDACTED]' });
    expect(validation.attributes['autopsy.event.end_type']).toBe('task_error');
    expect(validation.events[1].attributes['exception.message']).toBe('validation failed with Bearer [REDACTED]');

    // The local autopsy is written as usual.
    const types = readTrackerDocument(dir).events.map((event) => event.type);
    expect(types).toEqual([
      'stage_start', 'task_start', 'llm_call_start', 'llm_call_end', 'code_exec_start', 'code_exec_end', 'task_end',
      'task_start', 'llm_call_start', 'llm_call_error', 'task_error', 'stage_end',
    ]);
    expect(readReport(dir).run.service_name).toBe('otlp-agent');
  });

  it('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as the full URL', async () => {
    const result = await runNode(agentScript(), { env: { AGENT_AUTOPSY_DIR: runDir(), OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces/custom` } });
    expect(result.code).toBe(0);
    expect(receiver.spans).toHaveLength(6);
    expect(new Set(receiver.requests.map((request) => request.path))).toEqual(new Set(['/v1/traces/custom']));
  });

  it('OTEL_RESOURCE_ATTRIBUTES reaches the resource; its service.name is used when OTEL_SERVICE_NAME is not set', async () => {
    const dir = runDir();
    const env = { AGENT_AUTOPSY_DIR: dir, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: undefined, OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod,service.name=math%20agent,service.version=1.2.3' };
    const result = await runNode(agentScript(), { env });
    expect(result.code).toBe(0);
    expect(receiver.spans).toHaveLength(6);
    for (const span of receiver.spans) {
      expect(span.resource).toMatchObject({ 'service.name': 'math agent', 'deployment.environment': 'prod', 'service.version': '1.2.3' });
    }
    expect(readReport(dir).run.service_name).toBe('math agent');
    // OTEL_SERVICE_NAME wins over the service.name in OTEL_RESOURCE_ATTRIBUTES (as the spec says).
    await runNode(agentScript(), { env: { ...env, AGENT_AUTOPSY_DIR: runDir(), OTEL_SERVICE_NAME: 'named' } });
    await receiver.waitForSpans(12);
    expect(receiver.spans.slice(6).map((span) => [span.resource['service.name'], span.resource['deployment.environment']])).toEqual(Array(6).fill(['named', 'prod']));
  });

  it('OTEL_TRACES_EXPORTER=none: nothing is exported, the local autopsy is complete; otlp exports', async () => {
    const dir = runDir();
    const result = await runNode(agentScript(), { env: { AGENT_AUTOPSY_DIR: dir, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_EXPORTER: 'none' } });
    expect(result.code).toBe(0);
    expect(receiver.requests).toEqual([]);
    expect(readTrackerDocument(dir).events).toHaveLength(12);
    await runNode(agentScript(), { env: { AGENT_AUTOPSY_DIR: runDir(), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_EXPORTER: ' otlp ' } });
    expect(receiver.spans).toHaveLength(6);
  });

  it('OTEL_SDK_DISABLED=true: nothing is exported, the local autopsy is complete', async () => {
    const dir = runDir();
    const result = await runNode(agentScript(), { env: { AGENT_AUTOPSY_DIR: dir, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SDK_DISABLED: 'true' } });
    expect(result.code).toBe(0);
    expect(receiver.requests).toEqual([]);
    const events = readTrackerDocument(dir).events;
    expect(events).toHaveLength(12);
    // Nesting still works without a global provider: the failed call belongs to stage1.
    expect(events.find((event) => event.type === 'llm_call_error')?.data).toMatchObject({ stage: 'stage1', http_status: 429 });
  });

  it('zero code: the plain agent sends its openai and python spans', async () => {
    const result = await runNode(join(REPO_ROOT, 'examples', 'plain-agent.mjs'), {
      nodeArgs: ['--import', 'agent-autopsy/register'],
      env: { AGENT_AUTOPSY_DIR: runDir(), AGENT_AUTOPSY_CHILD_PROCESSES: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'plain-agent' },
      timeoutMs: 60_000,
    });
    expect(result.code).toBe(0);
    // Batches may arrive in any order: put the spans back in the order they started.
    const spans = [...receiver.spans].sort((a, b) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : a.startTimeUnixNano > b.startTimeUnixNano ? 1 : 0));
    expect(spans.map((span) => span.name)).toEqual([
      'chat gpt-4o-mini', 'chat gpt-4o-mini', 'chat gpt-4o-mini', 'code_exec python3', 'code_exec python3', 'embeddings text-embedding-3-small', 'chat gpt-4o-mini',
    ]);
    expect(spans.map((span) => span.attributes['autopsy.event.end_type'])).toEqual([
      'llm_call_error', 'llm_call_end', 'llm_call_end', 'code_exec_error', 'code_exec_end', 'llm_call_end', 'llm_call_end',
    ]);
    expect(spans[0].attributes).toMatchObject({ 'gen_ai.request.model': 'gpt-4o-mini', 'error.type': 'RateLimitError', 'http.response.status_code': 429, 'autopsy.kind': 'llm' });
    expect(spans[0].scope.name).toBe('agent-autopsy/openai');
    expect(spans[3].attributes).toMatchObject({ 'autopsy.code.exit_code': 1, 'autopsy.code.language': 'python' });
    expect(spans.every((span) => span.resource['service.name'] === 'plain-agent')).toBe(true);
  });
});

/**
 * An agent that ends without the event loop draining, as `how` says, inside a stage whose LLM call
 * never returns, right after a task that ended (still in the export's queue: batches go every second).
 */
const ENDING_AGENT = `import { init, stage, task, llmCall } from 'agent-autopsy';
const how = process.argv[2];
init({ instrumentChildProcesses: process.argv[3] === 'child processes' });
stage('stage1', async () => {
  await task('prepare', async () => undefined);
  setTimeout(() => {
    if (how === 'crash') throw new Error('tool output was not JSON');
    if (how === 'exit') process.exit(3);
    if (how === 'signal') process.stdout.write('ready\\n');
    // 'open': nothing keeps the loop alive, and the process ends normally with the call still open.
  }, 50);
  if (how === 'signal') setInterval(() => {}, 1000);
  await llmCall({ model: 'gpt-4o', api_key: 'sk-live-0123456789abcdefghijkl' }, () => new Promise(() => {}));
});
`;

/** A task that ends, then an LLM call that never returns in a process kept alive until a signal. */
const IN_FLIGHT_AGENT = `import { init, stage, task, llmCall } from 'agent-autopsy';
init();
setInterval(() => {}, 1000);
process.stdout.write('ready\\n');
await stage('stage1', async () => {
  await task('prepare', async () => undefined);
  await llmCall({ model: 'gpt-4o' }, () => new Promise(() => {}));
});
`;

/**
 * The post at exit gets 20 s where the bound is not what a test is about: the default 3 s covers a
 * fresh `node` that sends the spans, which a loaded machine can take seconds to start.
 */
const ROOMY_EXPORT = { OTEL_EXPORTER_OTLP_TIMEOUT: '20000' };

describe('a process that ends synchronously (a crash, process.exit(), a signal)', () => {
  const NAMES = ['chat gpt-4o', 'stage stage1', 'task prepare'];

  async function runEnding(how: string, endpoint: string, recording = '', bound: Record<string, string> = ROOMY_EXPORT) {
    const dir = runDir();
    const result = await runNode(writeScript(ENDING_AGENT), {
      args: [how, recording],
      env: { AGENT_AUTOPSY_DIR: dir, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, ...bound },
      onStdoutLine: (line, child) => {
        if (line === 'ready') child.kill('SIGTERM');
      },
    });
    return { dir, result };
  }

  it.each([
    ['crash', { code: 1, signal: null }, 'uncaught_exception'],
    ['exit', { code: 3, signal: null }, 'exit'],
    ['signal', { code: null, signal: 'SIGTERM' }, 'signal'],
    ['open', { code: 0, signal: null }, 'normal'],
  ])('%s: the spans still queued and those left open reach the collector before the process is gone', async (how, ending, reason) => {
    const { dir, result } = await runEnding(how, receiver.url);
    expect({ code: result.code, signal: result.signal }).toEqual(ending);
    expect(result.stderr.match(/^agent-autopsy: .*$/gm)).toBeNull();
    if (how === 'crash') expect(result.stderr).toContain('Error: tool output was not JSON');
    expect(readReport(dir).exit.reason).toBe(reason);
    // The child has exited: what it sent has arrived.
    const spans = receiver.spans;
    expect(spans.map((span) => span.name).sort()).toEqual(NAMES);
    const stage = byName(spans, 'stage stage1');
    const call = byName(spans, 'chat gpt-4o');
    expect(byName(spans, 'task prepare')).toMatchObject({ parentSpanId: stage.spanId, status: { code: 0 } });
    expect(call.parentSpanId).toBe(stage.spanId);
    for (const span of [stage, call]) {
      expect(span.status).toEqual({ code: 2, message: 'span still open when the process ended' });
      expect(span.attributes['autopsy.unfinished']).toBe(true);
      expect(span.attributes['error.type']).toBe('unfinished');
    }
    // The seed vocabulary on the exported spans says what the log says of them: unfinished, not failed.
    expect(stage.attributes['autopsy.event.end_type']).toBe('stage_unfinished');
    expect(call.attributes['autopsy.event.end_type']).toBe('llm_call_unfinished');
    expect(stage.events.map((event) => event.name)).toEqual(['stage_start', 'stage_unfinished']);
    expect(call.events.map((event) => event.name)).toEqual(['llm_call_start', 'llm_call_unfinished']);
    expect(byName(spans, 'task prepare').events.map((event) => event.name)).toEqual(['task_start', 'task_end']);
    expect(call.attributes['autopsy.data.api_key']).toBe('[REDACTED]');
    expect(receiver.requests.every((request) => request.path === '/v1/traces' && request.contentType.startsWith('application/json'))).toBe(true);
  });

  it('the post is no code_exec of the app, also with instrumentChildProcesses', async () => {
    const { dir, result } = await runEnding('exit', receiver.url, 'child processes');
    expect(result.code).toBe(3);
    expect(receiver.spans.map((span) => span.name).sort()).toEqual(NAMES);
    expect(readTrackerDocument(dir).events.map((event) => event.type)).toEqual([
      'stage_start', 'task_start', 'task_end', 'llm_call_start', 'stage_unfinished', 'llm_call_unfinished',
    ]);
  });

  it('an HTTPS collector with a private CA: the post at exit trusts what the exporter trusts (NODE_EXTRA_CA_CERTS, OTEL_EXPORTER_OTLP_CERTIFICATE)', async () => {
    const dir = runDir();
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    await receiver.close();
    receiver = await startOtlpReceiver({ tls: { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') } });
    expect(receiver.url.startsWith('https://')).toBe(true);
    for (const trust of [{ NODE_EXTRA_CA_CERTS: cert }, { OTEL_EXPORTER_OTLP_CERTIFICATE: cert }, { OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: cert }]) {
      const before = receiver.spans.length;
      const result = await runNode(writeScript(ENDING_AGENT), { args: ['crash'], env: { AGENT_AUTOPSY_DIR: runDir(), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...ROOMY_EXPORT, ...trust } });
      expect(result.code).toBe(1);
      expect(result.stderr.match(/^agent-autopsy: .*$/gm), JSON.stringify(trust)).toBeNull();
      expect(receiver.spans.slice(before).map((span) => span.name).sort()).toEqual(NAMES);
    }
    // Trusting nothing, the collector's certificate is refused, in one line.
    const result = await runNode(writeScript(ENDING_AGENT), { args: ['crash'], env: { AGENT_AUTOPSY_DIR: runDir(), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...ROOMY_EXPORT } });
    expect(result.code).toBe(1);
    expect(result.stderr.match(/^agent-autopsy: .*$/gm)).toEqual([
      `agent-autopsy: OTLP span export to ${receiver.url}/v1/traces failed: self-signed certificate (the agent keeps running; the local autopsy is complete, these spans are not sent)`,
    ]);
  });

  it('a batch the collector had not answered when a signal came is sent again by the post at exit', async () => {
    // The task's span goes out in a batch 50 ms after it ends; the collector stalls it, and the
    // signal comes while it is in flight. The stage and the LLM call are still open.
    await receiver.close();
    let child: import('node:child_process').ChildProcess | undefined;
    let stalled = false;
    const kill = () => child && stalled && child.kill('SIGTERM');
    receiver = await startOtlpReceiver({ stall: 1, onStall: () => ((stalled = true), kill()) });
    const dir = runDir();
    const result = await runNode(writeScript(IN_FLIGHT_AGENT), {
      env: { AGENT_AUTOPSY_DIR: dir, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' },
      onStdoutLine: (line, started) => line === 'ready' && ((child = started), kill()),
    });
    expect(result.signal).toBe('SIGTERM');
    expect(result.stderr.match(/^agent-autopsy: .*$/gm)).toBeNull();
    expect(receiver.requests.map((request) => request.spanCount)).toEqual([0, 3]);
    expect(receiver.spans.map((span) => span.name).sort()).toEqual(NAMES);
    expect(byName(receiver.spans, 'task prepare').events.map((event) => event.name)).toEqual(['task_start', 'task_end']);
    expect(byName(receiver.spans, 'chat gpt-4o').attributes['autopsy.event.end_type']).toBe('llm_call_unfinished');
  });

  it.each([
    ['a closed port', (target: string) => `connect ECONNREFUSED ${new URL(target).host}`],
    ['a collector that never answers', () => 'Request timed out'],
  ])('%s: the crash exits as it would, with one line on stderr', async (name, reason) => {
    let url = receiver.url;
    let silent: SilentCollector | undefined;
    if (name === 'a closed port') await receiver.close();
    else {
      silent = await startSilentCollector();
      url = silent.url;
    }
    try {
      // The default bound (3 s): a collector that never answers is given up on after it.
      const { dir, result } = await runEnding('crash', url, '', {});
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('Error: tool output was not JSON');
      expect(readReport(dir).exit.reason).toBe('uncaught_exception');
      expect(result.stderr.match(/^agent-autopsy: .*$/gm)).toEqual([
        `agent-autopsy: OTLP span export to ${url}/v1/traces failed: ${reason(url)} (the agent keeps running; the local autopsy is complete, these spans are not sent)`,
      ]);
    } finally {
      await silent?.close();
    }
  });
});

describe("the app's own provider exporting OTLP", () => {
  it('our spans go out once through its exporter, with secrets in error messages and stacks redacted', async () => {
    const script = writeScript(`import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { init, stage, llmCall } from 'agent-autopsy';
const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: process.env.APP_OTLP_URL }))] });
provider.register();
init();
await stage('stage1', async () => {
  await llmCall({ model: 'gpt-4o' }, async () => {
    const error = new Error('401 Incorrect API key provided: sk-proj-abcdefghijklmnopqrstuvwx0123');
    error.status = 401;
    throw error;
  }).catch(() => undefined);
});
await provider.shutdown();
`);
    const dir = runDir();
    const result = await runNode(script, { env: { AGENT_AUTOPSY_DIR: dir, APP_OTLP_URL: `${receiver.url}/v1/traces`, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
    expect(result.code).toBe(0);
    expect(receiver.spans.map((span) => span.name).sort()).toEqual(['chat gpt-4o', 'stage stage1']);
    const llm = byName(receiver.spans, 'chat gpt-4o');
    const redacted = '401 Incorrect API key provided: sk-[REDACTED]';
    expect(llm.status).toEqual({ code: 2, message: redacted });
    const exception = llm.events.find((event) => event.name === 'exception');
    expect(exception?.attributes).toMatchObject({ 'exception.type': 'Error', 'exception.message': redacted });
    expect(String(exception?.attributes['exception.stacktrace'])).toMatch(/^Error: 401 Incorrect API key provided: sk-\[REDACTED\]\n {4}at /);
    expect(JSON.stringify(receiver.spans, (_key, value) => (typeof value === 'bigint' ? String(value) : value))).not.toContain('abcdefghijklmnopqrstuvwx0123');
  });
});

describe('an unreachable collector', () => {
  let hanging: SilentCollector;
  let hangingUrl: string;
  beforeEach(async () => {
    hanging = await startSilentCollector();
    hangingUrl = hanging.url;
  });
  afterEach(() => hanging.close());

  it.each([
    ['a closed port', () => receiver.url, (target: string) => `connect ECONNREFUSED ${new URL(target).host}`],
    ['a collector that never answers', () => hangingUrl, () => 'Request timed out'],
  ])('%s: the app exits with its own code and the autopsy is complete', async (_name, url, reason) => {
    if (url() === receiver.url) await receiver.close();
    const dir = runDir();
    const result = await runNode(agentScript(), { env: { AGENT_AUTOPSY_DIR: dir, OTEL_EXPORTER_OTLP_ENDPOINT: url(), EXIT_CODE: '7' } });
    expect(result.code).toBe(7);
    expect(result.signal).toBeNull();
    expect(readTrackerDocument(dir).events).toHaveLength(12);
    expect(readReport(dir).exit).toMatchObject({ reason: 'normal', exit_code: 7 });
    expect(existsSync(logPath(dir, 'autopsy.md'))).toBe(true);
    // The user hears about it, once.
    expect(result.stderr.match(/^agent-autopsy: .*$/gm)).toEqual([
      `agent-autopsy: OTLP span export to ${url()}/v1/traces failed: ${reason(url())} (the agent keeps running; the local autopsy is complete, these spans are not sent)`,
    ]);
  });
});
