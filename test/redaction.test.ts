import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { beforeAll, describe, expect, it } from 'vitest';
import { RedactingSpanExporter } from '../exporters/RedactingSpanExporter';
import { resolveConfig } from '../src/config';
import { codeExec, init, llmCall, shutdown, stage, task, track } from '../src/index';
import { redactString } from '../src/redact';
import { EXIT_FIXTURES } from './helpers/autopsyRun';
import { runCli } from './helpers/cli';
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

  it('redactString: a key glued to a name by an underscore is still a key; inside a word it is not', () => {
    expect(redactString(`key_${OPENAI_KEY}`)).toBe('key_sk-[REDACTED]');
    expect(redactString(`OPENAI_${ANTHROPIC_KEY}`)).toBe('OPENAI_sk-ant-[REDACTED]');
    expect(redactString('cache_ghp_abcdefghijklmnopqrstuvwxyz0123456789')).toBe('cache_[REDACTED]');
    expect(redactString('x_AKIAIOSFODNN7EXAMPLE_y')).toBe('x_[REDACTED]_y');
    expect(redactString('hf_abcdefghijklmnopqrstuvwxyz0123456789_tail')).toBe('[REDACTED]_tail');
    expect(redactString('id_sk_live_abcdefghijklmnop12')).toBe('id_sk_live_[REDACTED]');
    expect(redactString(`auth_failed_${BEARER}`)).toBe('auth_failed_[REDACTED]');
    // Letters or digits before the prefix make it part of a word: task-…, desk-…, a hash.
    expect(redactString('task-abcdefghijklmnopqrstuv and desk-abcdefghijklmnopqrstuv')).toBe('task-abcdefghijklmnopqrstuv and desk-abcdefghijklmnopqrstuv');
    expect(redactString('9AKIAIOSFODNN7EXAMPLE')).toBe('9AKIAIOSFODNN7EXAMPLE');
  });
});

describe('credential shapes beyond the original set', () => {
  // Realistic shapes; none of these was redacted before (each line is one way an agent leaks it).
  const GITHUB_PAT = 'github_pat_11ABCDEFG0123456789_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOp';
  const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
  const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

  it('redactString: .env lines, CLI options, PEM keys, JWTs, GitHub fine-grained tokens, echoed keys', () => {
    const cases: Array<[string, string]> = [
      [`OPENAI_API_KEY=${PASSWORD}`, 'OPENAI_API_KEY=[REDACTED]'],
      [`export ANTHROPIC_API_KEY="${PASSWORD}"`, 'export ANTHROPIC_API_KEY="[REDACTED]"'],
      [`DB_PASSWORD=${PASSWORD}\nGITHUB_TOKEN=${PASSWORD}\nHF_TOKEN=${PASSWORD}`, 'DB_PASSWORD=[REDACTED]\nGITHUB_TOKEN=[REDACTED]\nHF_TOKEN=[REDACTED]'],
      [`AWS_SECRET_ACCESS_KEY=${AWS_SECRET}`, 'AWS_SECRET_ACCESS_KEY=[REDACTED]'],
      // A command line an agent runs, with the password in its tool's own variable.
      [`PGPASSWORD=${PASSWORD} psql -h db -U app`, 'PGPASSWORD=[REDACTED] psql -h db -U app'],
      [`env MYSQLPASSWORD='${PASSWORD}' REDIS_PASSWD=${PASSWORD} ./migrate`, "env MYSQLPASSWORD='[REDACTED]' REDIS_PASSWD=[REDACTED] ./migrate"],
      [`aws_secret_access_key = ${AWS_SECRET}`, 'aws_secret_access_key = [REDACTED]'],
      [`webhook_secret=${PASSWORD}&secret_token=${PASSWORD}`, 'webhook_secret=[REDACTED]&secret_token=[REDACTED]'],
      [`AccountName=acct;AccountKey=${PASSWORD};EndpointSuffix=core.windows.net`, 'AccountName=acct;AccountKey=[REDACTED];EndpointSuffix=core.windows.net'],
      [`psql --password ${PASSWORD} --api-key ${HEADER_KEY} --github-token ${PASSWORD}`, 'psql --password [REDACTED] --api-key [REDACTED] --github-token [REDACTED]'],
      [`--token ${PASSWORD}`, '--token [REDACTED]'],
      [`redis://:${URL_PASSWORD}@cache:6379/0`, 'redis://[REDACTED]@cache:6379/0'],
      [`-----BEGIN RSA PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END RSA PRIVATE KEY-----`, '-----BEGIN RSA PRIVATE KEY-----[REDACTED]-----END RSA PRIVATE KEY-----'],
      ['key: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA', 'key: -----BEGIN OPENSSH PRIVATE KEY-----[REDACTED]'],
      [`jwt ${JWT} end`, 'jwt [REDACTED] end'],
      [`GITHUB_TOKEN=${GITHUB_PAT}`, 'GITHUB_TOKEN=[REDACTED]'],
      [`pat ${GITHUB_PAT}`, 'pat [REDACTED]'],
      // OpenAI's 401 quotes the key it got; a proxy's or Azure's key has no `sk-` prefix.
      ['401 Incorrect API key provided: MyProxyKey-0099887766. You can find your API key at https://platform.openai.com/account/api-keys.', '401 Incorrect API key provided: [REDACTED]. You can find your API key at https://platform.openai.com/account/api-keys.'],
      ['Incorrect API key provided: sk-proj-************************EFGH.', 'Incorrect API key provided: [REDACTED].'],
      ['stripe sk_live_51HqLyjAbCdEfGhIjKlMnOpQr and rk_test_51HqLyjAbCdEfGhIjKlMnOpQr', 'stripe sk_live_[REDACTED] and rk_test_[REDACTED]'],
      ['hub hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567 pulled', 'hub [REDACTED] pulled'],
      ['request headers\nCookie: session=9f8e7d6c5b4a; csrftoken=abc123\nAccept: */*', 'request headers\nCookie: [REDACTED]\nAccept: */*'],
      ['Set-Cookie: sid=31d4d96e407aad42; Path=/; Secure; HttpOnly', 'Set-Cookie: [REDACTED]'],
    ];
    for (const [input, expected] of cases) expect([input, redactString(input)]).toEqual([input, expected]);
    // Look-alikes that are not credentials stay as they are.
    for (const plain of ['max_tokens=4096 max_token=5 eos_token=</s>', 'python run.py --token-budget 500 --max-token 3', 'the api key was rotated; --password-file /run/pw', 'see https://example.com:8080/a@b', 'task_live_updates hf_model cookie policy accepted']) {
      expect(redactString(plain)).toBe(plain);
    }
  });

  it('safeData: headers as name/value pairs, a fetch Headers and URLSearchParams', async () => {
    const { safeData } = await import('../src/safeValue');
    const clean = (data: unknown) => safeData(data, { maxStringLength: 16_384 });
    expect(
      clean({
        pairs: [['x-api-key', HEADER_KEY], ['Authorization', `Bearer ${BEARER}`], ['accept', 'application/json']],
        headers: new Headers({ authorization: `Bearer ${BEARER}`, 'x-api-key': HEADER_KEY, accept: 'application/json' }),
        query: new URLSearchParams({ q: 'weather', api_key: HEADER_KEY, token: PASSWORD }),
        entries: [...new Map([['password', PASSWORD]])],
      }),
    ).toEqual({
      pairs: [['x-api-key', '[REDACTED]'], ['Authorization', '[REDACTED]'], ['accept', 'application/json']],
      headers: { accept: 'application/json', authorization: '[REDACTED]', 'x-api-key': '[REDACTED]' },
      query: 'q=weather&api_key=[REDACTED]&token=[REDACTED]',
      entries: [['password', '[REDACTED]']],
    });
    // Pairs whose name is no secret, and a secret name with nothing after it, stay as they are.
    expect(clean({ a: ['max_tokens', 4096], b: ['password', ''], c: ['password', 'x', 'y'], d: [] })).toEqual({ a: ['max_tokens', 4096], b: ['password', ''], c: ['password', 'x', 'y'], d: [] });
    expect(clean({ headers: new Headers(), query: new URLSearchParams() })).toEqual({ headers: {}, query: '' });
    // A longer list cut to two entries is no pair: its marker stays and nothing is taken for a value.
    expect(safeData({ list: ['password', 'x', 'y'] }, { maxStringLength: 100, maxEntries: 2 })).toEqual({ list: ['password', 'x', '[… 1 more items]'] });
  });

  it('isSecretKey: environment-variable names and service tokens', async () => {
    const { isSecretKey } = await import('../src/redact');
    for (const key of ['GITHUB_TOKEN', 'HF_TOKEN', 'SLACK_BOT_TOKEN', 'STRIPE_KEY', 'api_token', 'apiToken', 'bot_token', 'SecretAccessKey', 'jwt']) expect([key, isSecretKey(key)]).toEqual([key, true]);
    for (const key of ['max_tokens', 'eos_token', 'next_token', 'primaryKey', 'token_count', 'key']) expect([key, isSecretKey(key)]).toEqual([key, false]);
  });

  it('in track() event types and span event names, in every file and over OTLP, and in the service name', async () => {
    const dir = tempRunDir('autopsy-redact-');
    otlp.reset();
    init({ outputDir: dir, handleExit: false });
    track(`retry with ${OPENAI_KEY}`, { env: `OPENAI_API_KEY=${PASSWORD}` });
    await task('t', async (handle) => {
      handle.span.addEvent(`sent Bearer ${BEARER}`, { note: `jwt ${JWT}` });
    });
    await shutdown();
    for (const [path, text] of allFiles(dir)) {
      expectNoSecrets(path, text);
      expect(text).not.toContain(JWT);
    }
    const events = readTrackerDocument(dir).events;
    expect(events[0].type).toBe('retry with sk-[REDACTED]');
    expect(events[0].data).toEqual({ env: 'OPENAI_API_KEY=[REDACTED]' });
    // The service name goes into the report and the resource of the spans (tracing is set up once
    // per process, by the first init(): here the configuration that feeds both).
    expect(resolveConfig({ serviceName: `agent ${OPENAI_KEY}` }, {}).serviceName).toBe('agent sk-[REDACTED]');
    const span = otlp.getFinishedSpans().find((s) => s.name === 'task t')!;
    expect(span.events.map((event) => [event.name, event.attributes])).toContainEqual(['sent Bearer [REDACTED]', { note: 'jwt [REDACTED]' }]);
  });

  it('in a report made from an OTLP file written by another SDK, unredacted', async () => {
    const dir = tempRunDir('autopsy-redact-');
    const attr = (key: string, value: string) => ({ key, value: { stringValue: value } });
    const span = (spanId: string, name: string, attributes: unknown[], status: unknown, events: unknown[] = []) => ({
      traceId: '0af7651916cd43dd8448eb211c80319c', spanId, name, kind: 1, startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000001000000000', attributes, status, events,
    });
    const request = {
      resourceSpans: [
        {
          resource: { attributes: [attr('service.name', `svc ${ANTHROPIC_KEY}`)] },
          scopeSpans: [
            {
              scope: { name: 'other-sdk' },
              spans: [
                span('b7ad6b7169203331', `stage ${OPENAI_KEY}`, [attr('autopsy.kind', 'stage'), attr('autopsy.stage', `deploy ${OPENAI_KEY}`)], { code: 1 }),
                span('b7ad6b7169203332', 'chat gpt-4o', [attr('gen_ai.operation.name', 'chat'), attr('gen_ai.request.model', 'gpt-4o'), attr('http.request.header.authorization', `Bearer ${BEARER}`)], { code: 2, message: `401 Incorrect API key provided: ${OPENAI_KEY} password=${PASSWORD}` }, [
                  { timeUnixNano: '1700000000500000000', name: 'exception', attributes: [attr('exception.message', `401 Incorrect API key provided: ${OPENAI_KEY}`), attr('exception.stacktrace', `Error: DB url ${URL}`)] },
                ]),
              ],
            },
          ],
        },
      ],
    };
    const file = join(dir, 'traces.json');
    writeFileSync(file, `${JSON.stringify(request)}\n`);
    for (const format of ['json', 'md', 'html']) {
      const result = await runCli(['report', file, '--format', format, '--no-progress']);
      expect(result.code).toBe(0);
      expectNoSecrets(`report --format ${format}`, result.stdout + result.stderr);
    }
    const report = JSON.parse((await runCli(['report', file, '--no-progress'])).stdout);
    expect(report.run.service_name).toBe('svc sk-ant-[REDACTED]');
    expect(report.failure_analysis.critical_failures[0].error).toBe('401 Incorrect API key provided: sk-[REDACTED] password=[REDACTED]');
  });

  it("in a report made from the original Python tracker's logs (which redact nothing): its JSON document and its readable log", async () => {
    const events = [
      { timestamp: '2025-01-24T10:30:00.000001', elapsed_seconds: 0.0, type: 'stage_start', level: 'INFO', data: { stage: 'deploy', db: URL } },
      { timestamp: '2025-01-24T10:30:01.000001', elapsed_seconds: 1.0, type: 'llm_call_error', level: 'ERROR', data: { stage: 'deploy', error: `Error code: 401 - Incorrect API key provided: ${OPENAI_KEY}`, api_key: HEADER_KEY, attempts: [{ headers: { Authorization: `Bearer ${BEARER}` } }], loss: NaN } },
      { timestamp: '2025-01-24T10:30:02.000001', elapsed_seconds: 2.0, type: 'task_error', level: 'ERROR', data: { stage: 'deploy', error: `login failed: password=${PASSWORD}` } },
    ];
    // json.dump(…, indent=2) as the original tracker's save_json_log() writes it (NaN as Python writes it).
    const document = JSON.stringify({ start_time: '2025-01-24T10:30:00.000001', events, total_events: events.length }, null, 2).replace('"loss": null', '"loss": NaN');
    const pythonRun = tempRunDir('autopsy-redact-');
    mkdirSync(logPath(pythonRun, '.'), { recursive: true });
    writeFileSync(logPath(pythonRun, 'execution_tracker.json'), document);
    // Its readable log alone (a run that crashed before save_json_log()), lines as Python's repr writes them.
    const readableRun = tempRunDir('autopsy-redact-');
    mkdirSync(logPath(readableRun, '.'), { recursive: true });
    const line = (event: (typeof events)[number]) =>
      `[${event.timestamp}] (+${event.elapsed_seconds.toFixed(3)}s) [${event.level}] ${event.type}: {'stage': 'deploy', 'error': '${String(event.data.error ?? '').replace(/'/g, "\\'")}', 'api_key': '${HEADER_KEY}'}`;
    writeFileSync(logPath(readableRun, 'execution_tracker_readable.txt'), `${events.map(line).join('\n')}\n`);
    for (const dir of [pythonRun, readableRun]) {
      for (const format of ['json', 'md', 'html']) {
        const result = await runCli(['report', dir, '--format', format, '--no-progress']);
        expect(result.code).toBe(0);
        expectNoSecrets(`report --format ${format} of ${dir}`, result.stdout + result.stderr);
      }
      const report = JSON.parse((await runCli(['report', dir, '--no-progress'])).stdout);
      expect(report.failure_analysis.critical_failures.map((failure: { error: string }) => failure.error)).toEqual([
        'Error code: 401 - Incorrect API key provided: sk-[REDACTED]',
        'login failed: password=[REDACTED]',
      ]);
    }
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

  it('report --out into an existing world-readable file makes it private', async () => {
    const dir = tempRunDir('autopsy-modes-');
    init({ outputDir: dir, handleExit: false });
    await stage('s', () => track('x', {}));
    await shutdown();
    const out = join(dir, 'shared-report.json');
    writeFileSync(out, 'old\n');
    chmodSync(out, 0o644);
    const result = await runCli(['report', dir, '--out', out, '--no-progress']);
    expect(result.code).toBe(0);
    expect((statSync(out).mode & 0o777).toString(8)).toBe('600');
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
