import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { beforeAll, describe, expect, it } from 'vitest';
import { RedactingSpanExporter } from '../exporters/RedactingSpanExporter';
import { resolveConfig } from '../src/config';
import { codeExec, init, llmCall, shutdown, stage, task, track } from '../src/index';
import { redactString } from '../src/redact';
import { EXIT_FIXTURES } from './helpers/autopsyRun';
import { runNode } from './helpers/childProcess';
import { logPath, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * Secrets never reach the disk or OTLP (the RedactingSpanExporter that wraps the OTLP exporter,
 * here around an in-memory one), prompt content stays out unless asked for, and the files are
 * private to the user (logs 0600, run directories 0700).
 */

const OPENAI_KEY = 'sk-proj-Q7w8E9r0T1y2U3i4O5p6A7s8D9f0G1h2';
const ANTHROPIC_KEY = 'sk-ant-api03-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp';
const BEARER = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJl';
const PASSWORD = 'hunter2-correct-horse-battery';
const HEADER_KEY = 'azk-58d1e0c2b7a94f6e9c3d';
const URL_PASSWORD = 'pgP4ssw0rd-xyz';
const URL = `postgres://agent:${URL_PASSWORD}@db.internal:5432/runs`;
const SECRETS = [OPENAI_KEY, ANTHROPIC_KEY, BEARER, PASSWORD, HEADER_KEY, URL_PASSWORD];

const otlp = new InMemorySpanExporter();

beforeAll(async () => {
  // The first init() sets up tracing for the process: the redacting exporter sees every span from then on.
  const dir = tempRunDir('autopsy-redact-');
  init({ outputDir: dir, handleExit: false, spanProcessors: [new SimpleSpanProcessor(new RedactingSpanExporter(otlp, 16_384))] });
  await shutdown();
});

/** Every file under `dir`, read as text. */
function allFiles(dir: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath ?? entry.path, entry.name);
      out.push([path, readFileSync(path, 'utf8')]);
    }
  }
  return out;
}

function expectNoSecrets(where: string, text: string): void {
  for (const secret of SECRETS) {
    if (text.includes(secret)) throw new Error(`${where} contains the secret ${secret}`);
  }
}

describe('secrets never reach the disk or OTLP', () => {
  it('in event data, span attributes, exception messages and stack traces', async () => {
    const dir = tempRunDir('autopsy-redact-');
    otlp.reset();
    init({ outputDir: dir, handleExit: false });
    track('config_loaded', {
      api_key: OPENAI_KEY,
      anthropicApiKey: ANTHROPIC_KEY,
      headers: { Authorization: `Bearer ${BEARER}`, 'x-api-key': HEADER_KEY, 'api-key': HEADER_KEY },
      db: { user: 'agent', db_password: PASSWORD, url: URL },
      note: `fallback key ${ANTHROPIC_KEY} and ${OPENAI_KEY}`,
      query: `https://api.example.com/v1?api_key=${HEADER_KEY}&password=${PASSWORD}`,
      max_tokens: 4096,
    });
    await stage('stage_secrets', { endpoint: URL, token: BEARER }, async () => {
      await llmCall({ model: 'gpt-4o', provider: 'openai', api_key: OPENAI_KEY, note: `Authorization: Bearer ${BEARER}` }, async (call) => {
        call.set({ password: PASSWORD, request_url: URL });
        call.span.setAttribute('http.request.header.authorization', [`Bearer ${BEARER}`]);
        call.span.setAttribute('http.request.header.x-api-key', [HEADER_KEY]);
      });
      await task('call_tool', async () => {
        throw new Error(`401 Unauthorized: Incorrect API key provided: ${OPENAI_KEY} (Authorization: Bearer ${BEARER}, db ${URL}, password=${PASSWORD})`);
      }).catch(() => undefined);
      await codeExec({ language: 'python' }, async (exec) => {
        exec.setResult({ exitCode: 1, stderr: `Traceback: anthropic.AuthenticationError: invalid x-api-key ${ANTHROPIC_KEY}`, command: `OPENAI_API_KEY=${OPENAI_KEY} python run.py` });
        exec.fail('non-zero exit');
      });
    });
    await shutdown();

    // On disk: not in any file of the run.
    const files = allFiles(dir);
    expect(files.map(([path]) => path.slice(dir.length + 1)).sort()).toEqual(
      ['autofix_log.json', 'autopsy.html', 'autopsy.md', 'execution_tracker.json', 'execution_tracker_readable.txt', 'latent_analysis_report.json'].map((file) => join('Memory', 'logs', file)),
    );
    for (const [path, text] of files) expectNoSecrets(path, text);
    const events = readTrackerDocument(dir).events;
    const config = events.find((event) => event.type === 'config_loaded')!.data;
    expect(config).toEqual({
      api_key: '[REDACTED]',
      anthropicApiKey: '[REDACTED]',
      headers: { Authorization: '[REDACTED]', 'x-api-key': '[REDACTED]', 'api-key': '[REDACTED]' },
      db: { user: 'agent', db_password: '[REDACTED]', url: 'postgres://[REDACTED]@db.internal:5432/runs' },
      note: 'fallback key sk-ant-[REDACTED] and sk-[REDACTED]',
      query: 'https://api.example.com/v1?api_key=[REDACTED]&password=[REDACTED]',
      max_tokens: 4096,
    });
    const taskError = events.find((event) => event.type === 'task_error')!.data;
    expect(taskError.error).toBe(
      '401 Unauthorized: Incorrect API key provided: sk-[REDACTED] (Authorization: Bearer [REDACTED], db postgres://[REDACTED]@db.internal:5432/runs, password=[REDACTED])',
    );

    // Over OTLP: attributes, status messages, exception messages and stack traces.
    const spans = otlp.getFinishedSpans();
    expect(spans.map((span) => span.name).sort()).toEqual(['chat gpt-4o', 'code_exec python', 'stage stage_secrets', 'task call_tool']);
    for (const span of spans) {
      expectNoSecrets(`span ${span.name}`, JSON.stringify({ name: span.name, attributes: span.attributes, status: span.status, events: span.events }));
    }
    const llm = spans.find((span) => span.name === 'chat gpt-4o')!;
    expect(llm.attributes['http.request.header.authorization']).toBe('[REDACTED]');
    expect(llm.attributes['http.request.header.x-api-key']).toBe('[REDACTED]');
    expect(llm.attributes['autopsy.data.api_key']).toBe('[REDACTED]');
    const failed = spans.find((span) => span.name === 'task call_tool')!;
    const exception = failed.events.find((event) => event.name === 'exception')!;
    expect(String(exception.attributes!['exception.stacktrace'])).toMatch(/^Error: 401 Unauthorized: Incorrect API key provided: sk-\[REDACTED\] \(Authorization: Bearer \[REDACTED\], .*\n {4}at /);
    expect(failed.status.message).toContain('sk-[REDACTED]');
  });

  it('in the crash record of an agent killed by such an error (child process)', async () => {
    const dir = tempRunDir('autopsy-redact-');
    const result = await runNode(join(EXIT_FIXTURES, 'secret-crash.mjs'), { args: [dir, OPENAI_KEY, BEARER, URL] });
    expect(result.code).toBe(1);
    // Node's own crash output is the app's business and stays as it is; the autopsy files are ours.
    expect(result.stderr).toContain(OPENAI_KEY);
    for (const [path, text] of allFiles(dir)) expectNoSecrets(path, text);
    const report = JSON.parse(readFileSync(logPath(dir, 'latent_analysis_report.json'), 'utf8'));
    expect(report.exit.error.message).toBe(
      '401 Unauthorized: Incorrect API key provided: sk-[REDACTED]. Sent Authorization: Bearer [REDACTED] to postgres://[REDACTED]@db.internal:5432/runs',
    );
    expect(report.exit.error.stack).toMatch(/^Error: 401 Unauthorized: Incorrect API key provided: sk-\[REDACTED\]\. .*\n {4}at /);
  });

  it('in the names of stages, tasks and other spans, in every file', async () => {
    const dir = tempRunDir('autopsy-redact-');
    init({ outputDir: dir, handleExit: false });
    await stage(`deploy with ${OPENAI_KEY}`, async () => {
      await task(`call ${URL}`, async () => {
        throw new Error('failed');
      }).catch(() => undefined);
      // A span of another instrumentation, with a stage of its own, named after a credential.
      const foreign = trace.getTracer('redaction-test').startSpan(`GET ${URL}`, { attributes: { 'gen_ai.operation.name': 'chat', 'autopsy.stage': `stage ${ANTHROPIC_KEY}` } });
      foreign.end();
    });
    await shutdown();
    for (const [path, text] of allFiles(dir)) expectNoSecrets(path, text);
    const events = readTrackerDocument(dir).events;
    expect(events[0].data.stage).toBe('deploy with sk-[REDACTED]');
    expect(events.find((event) => event.type === 'task_error')!.data.task).toBe('call postgres://[REDACTED]@db.internal:5432/runs');
  });

  it('in span names and link attributes sent over OTLP', async () => {
    const dir = tempRunDir('autopsy-redact-');
    otlp.reset();
    init({ outputDir: dir, handleExit: false });
    const tracer = trace.getTracer('redaction-test');
    const linked = tracer.startSpan('linked');
    linked.end();
    const span = tracer.startSpan(`GET ${URL}`, { links: [{ context: linked.spanContext(), attributes: { note: `Bearer ${BEARER}` } }] });
    span.end();
    await shutdown();
    const exported = otlp.getFinishedSpans().find((s) => s.name.startsWith('GET '))!;
    expect(exported.name).toBe('GET postgres://[REDACTED]@db.internal:5432/runs');
    expect(exported.links[0].attributes).toEqual({ note: 'Bearer [REDACTED]' });
  });

  it('redactString: the credential shapes it knows, and words it leaves alone', () => {
    expect(redactString(`key=${OPENAI_KEY}`)).toBe('key=sk-[REDACTED]');
    expect(redactString(`x-api-key: ${HEADER_KEY}`)).toBe('x-api-key: [REDACTED]');
    expect(redactString(`{"password": "${PASSWORD}"}`)).toBe('{"password": "[REDACTED]"}');
    expect(redactString('Authorization: Basic YWdlbnQ6c2VjcmV0MTIz')).toBe('Authorization: Basic [REDACTED]');
    expect(redactString('authorization: plainsecretvalue')).toBe('authorization: [REDACTED]');
    expect(redactString('"Authorization": "Bearer abcdefghij"')).toBe('"Authorization": "Bearer [REDACTED]"');
    expect(redactString('token limit reached; basic retry policy; the token count was 9000')).toBe('token limit reached; basic retry policy; the token count was 9000');
  });
});

describe('prompt and response content', () => {
  it('captureContent is off unless asked for', () => {
    expect(resolveConfig({}, {}).captureContent).toBe(false);
    expect(resolveConfig({}, { AGENT_AUTOPSY_CAPTURE_CONTENT: 'true' }).captureContent).toBe(true);
    expect(resolveConfig({ captureContent: false }, { AGENT_AUTOPSY_CAPTURE_CONTENT: '1' }).captureContent).toBe(false);
  });

  async function recordInstrumentedCall(captureContent?: boolean): Promise<string> {
    const dir = tempRunDir('autopsy-redact-');
    init({ outputDir: dir, handleExit: false, captureContent });
    const span = trace.getTracer('some-instrumentation').startSpan('chat gpt-4o', {
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.input.messages': `PROMPT-TEXT: summarise the patient file (key ${OPENAI_KEY})`,
        'gen_ai.output.messages': 'COMPLETION-TEXT: the patient is fine',
        'gen_ai.prompt.0.content': 'PROMPT-TEXT again',
        'input.value': 'PROMPT-TEXT once more',
      },
    });
    span.setAttribute('gen_ai.usage.input_tokens', 12);
    span.end();
    await shutdown();
    return allFiles(dir)
      .map(([, content]) => content)
      .join('\n');
  }

  it('content of instrumented LLM spans stays out of the logs by default, and is redacted when captured', async () => {
    const off = await recordInstrumentedCall();
    expect(off).toContain('gpt-4o');
    expect(off).not.toContain('PROMPT-TEXT');
    expect(off).not.toContain('COMPLETION-TEXT');
    const on = await recordInstrumentedCall(true);
    expect(on).toContain('PROMPT-TEXT: summarise the patient file (key sk-[REDACTED])');
    expect(on).toContain('COMPLETION-TEXT');
    expectNoSecrets('captured content', on);
  });
});

describe('file modes', () => {
  it('log and report files are 0600, the run directory and its Memory and logs folders 0700', async () => {
    const parent = tempRunDir('autopsy-modes-');
    const dir = join(parent, 'run');
    init({ outputDir: dir, handleExit: false });
    await stage('s', () => track('x', {}));
    await shutdown();
    for (const folder of [dir, join(dir, 'Memory'), join(dir, 'Memory', 'logs')]) {
      expect([folder, (statSync(folder).mode & 0o777).toString(8)]).toEqual([folder, '700']);
    }
    const files = readdirSync(join(dir, 'Memory', 'logs'));
    expect(files.sort()).toEqual(['autofix_log.json', 'autopsy.html', 'autopsy.md', 'execution_tracker.json', 'execution_tracker_readable.txt', 'latent_analysis_report.json']);
    for (const file of files) expect([file, (statSync(logPath(dir, file)).mode & 0o777).toString(8)]).toEqual([file, '600']);
  });

  it('an existing world-readable log in a reused run directory is made private', async () => {
    const dir = tempRunDir('autopsy-modes-');
    mkdirSync(join(dir, 'Memory', 'logs'), { recursive: true });
    for (const file of ['execution_tracker.json', 'execution_tracker_readable.txt']) writeFileSync(logPath(dir, file), 'old run\n', { mode: 0o644 });
    expect(statSync(logPath(dir, 'execution_tracker.json')).mode & 0o777).toBe(0o644);
    init({ outputDir: dir, handleExit: false });
    await shutdown();
    for (const file of ['execution_tracker.json', 'execution_tracker_readable.txt']) {
      expect(existsSync(logPath(dir, file))).toBe(true);
      expect((statSync(logPath(dir, file)).mode & 0o777).toString(8)).toBe('600');
    }
  });
});
