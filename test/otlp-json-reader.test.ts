import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOtlpJsonFile, readOtlpJsonSync } from '../analyzers/OtlpJsonReader';
import { decodeAttributes, decodeSpan, OtlpSpanConverter } from '../analyzers/OtlpSpanConverter';
import { analyzeRun, analyzeRunSync } from '../analyzers/readRun';
import { TruthLogError } from '../analyzers/TruthLogParser';
import type { TruthEvent } from '../src/types';
import { runNode, writeScript } from './helpers/childProcess';
import { CLI, runCli } from './helpers/cli';
import { collectorExportLines } from './helpers/otlpFile';
import { decodeOtlpJson } from './helpers/otlpReceiver';
import { tempRunDir } from './helpers/tempDirs';

const FIXTURES = join(__dirname, 'fixtures', 'otlp');
const MIXED = join(FIXTURES, 'collector-mixed.jsonl');
const SINGLE = join(FIXTURES, 'single-document.json');

const tempDir = () => tempRunDir('autopsy-otlp-');

function eventsOf(path: string): TruthEvent[] {
  const events: TruthEvent[] = [];
  readOtlpJsonSync(path, (event) => events.push(event));
  return events;
}

// What the Collector's file exporter wrote for a Python agent instrumented with OpenLLMetry,
// the OpenAI GenAI instrumentation and OpenInference (see test/fixtures/otlp/).
const EXPECTED_MIXED: Array<[number, string, string, Record<string, unknown>]> = [
  [0, 'stage_start', 'INFO', { stage: 'research', span: 'research_workflow' }],
  [0.2, 'llm_call_start', 'INFO', { model: 'gpt-4o', provider: 'openai', operation: 'chat', span: 'openai.chat', stage: 'research' }],
  [1, 'llm_call_end', 'INFO', { model: 'gpt-4o', provider: 'openai', operation: 'chat', span: 'openai.chat', stage: 'research', input_tokens: 100, output_tokens: 20, tokens_used: 120, duration: 0.8 }],
  [1.5, 'llm_call_start', 'INFO', { model: 'gpt-4o', provider: 'openai', operation: 'chat', span: 'openai.chat', stage: 'research' }],
  [
    1.7,
    'llm_call_error',
    'ERROR',
    { model: 'gpt-4o', provider: 'openai', operation: 'chat', span: 'openai.chat', stage: 'research', error: '429 Too Many Requests', error_type: 'RateLimitError', http_status: 429, duration: 0.2 },
  ],
  [2, 'task_start', 'INFO', { task: 'summarize', span: 'summarize_task', stage: 'research' }],
  [4.5, 'task_end', 'INFO', { task: 'summarize', span: 'summarize_task', stage: 'research', duration: 2.5 }],
  [5, 'stage_end', 'INFO', { stage: 'research', span: 'research_workflow', duration: 5 }],
  [6, 'stage_start', 'INFO', { stage: 'planner', span: 'planner' }],
  [6.1, 'llm_call_start', 'INFO', { model: 'claude-3-5-sonnet', provider: 'anthropic', span: 'ChatAnthropic', stage: 'planner' }],
  [6.9, 'llm_call_end', 'INFO', { model: 'claude-3-5-sonnet', provider: 'anthropic', span: 'ChatAnthropic', stage: 'planner', input_tokens: 50, output_tokens: 10, tokens_used: 60, duration: 0.8 }],
  [7, 'task_start', 'INFO', { task: 'search', tool: 'search', span: 'search', stage: 'planner' }],
  [7.5, 'task_error', 'ERROR', { task: 'search', tool: 'search', span: 'search', stage: 'planner', error: 'timeout after 30s', duration: 0.5 }],
  [8, 'stage_end', 'INFO', { stage: 'planner', span: 'planner', duration: 2 }],
];

/** One span of an ExportTraceServiceRequest in trace 0af7…, its times in milliseconds after 2026-01-01T00:00:00Z. */
function otlpSpan(spanId: string, parentSpanId: string, name: string, startMs: number, endMs: number, attributes: unknown[], status: { code: number; message?: string } = { code: 0 }) {
  const at = (ms: number) => String(1767225600n * 1000000000n + BigInt(ms) * 1000000n);
  return { traceId: '0af7651916cd43dd8448eb211c80319c', spanId, parentSpanId, name, startTimeUnixNano: at(startMs), endTimeUnixNano: at(endMs), attributes, status };
}

describe('OTLP JSON (Collector file exporter) → Truth-Mode events', () => {
  it('recognises OTLP JSON files and nothing else', () => {
    expect(isOtlpJsonFile(MIXED)).toBe(true);
    expect(isOtlpJsonFile(SINGLE)).toBe(true);
    const dir = tempDir();
    writeFileSync(join(dir, 'tracker.json'), '{"start_time": "2026-01-01T00:00:00Z", "events": [\n');
    expect(isOtlpJsonFile(join(dir, 'tracker.json'))).toBe(false);
    expect(isOtlpJsonFile(dir)).toBe(false);
    expect(isOtlpJsonFile(join(dir, 'missing.json'))).toBe(false);
  });

  it('maps GenAI, OpenLLMetry and OpenInference spans as the live processor does, in time order, stage inherited through parents', () => {
    const events = eventsOf(MIXED);
    expect(events.map((e) => [e.elapsed_seconds, e.type, e.level, e.data])).toEqual(EXPECTED_MIXED);
    expect(events[0].timestamp).toBe('2026-01-01T00:00:00.000000Z');
    expect(events[4].timestamp).toBe('2026-01-01T00:00:01.700000Z');
    // Span ids travel with the events; the duplicate span (an exporter retry) counts once.
    expect(events[1]).toMatchObject({ trace_id: '5b8efff798038103d269b633813fc60c', span_id: 'b7ad6b7169203331', parent_span_id: 'aaa0000000000001' });
    expect(events.filter((e) => e.span_id === 'b7ad6b7169203331')).toHaveLength(2);
  });

  it('reads a single pretty-printed request document the same way', () => {
    const events = eventsOf(SINGLE);
    expect(events.map((e) => [e.elapsed_seconds, e.type, e.level, e.data])).toEqual(EXPECTED_MIXED);
  });

  it('builds the report from the converted events (failures, LLM usage, service, time span)', async () => {
    const { report, read } = await analyzeRun(MIXED);
    expect(read).toMatchObject({ format: 'otlp-json', events: 14, spans: 9, complete: true, tornTail: false, skipped: [] });
    expect(report.failure_analysis.failures_by_type).toEqual({ llm_call_error: 1, task_error: 1 });
    expect(report.failure_analysis.failures_by_stage).toEqual({ research: 1, planner: 1 });
    expect(report.failure_analysis.critical_failures).toEqual([
      { timestamp: '2026-01-01T00:00:01.700000Z', type: 'llm_call_error', stage: 'research', error: '429 Too Many Requests' },
      { timestamp: '2026-01-01T00:00:07.500000Z', type: 'task_error', stage: 'planner', error: 'timeout after 30s' },
    ]);
    expect(report.llm_usage).toMatchObject({
      calls: 3,
      errors: 1,
      input_tokens: 150,
      output_tokens: 30,
      total_tokens: 180,
      by_model: { 'gpt-4o': { calls: 2, errors: 1, input_tokens: 100, output_tokens: 20 }, 'claude-3-5-sonnet': { calls: 1, errors: 0, input_tokens: 50, output_tokens: 10 } },
      errors_by_type: { RateLimitError: 1 },
      errors_by_status: { '429': 1 },
    });
    expect(report.stages.map((s) => [s.stage, s.outcome, s.duration_seconds, s.failures])).toEqual([
      ['research', 'ok', 5, 1],
      ['planner', 'ok', 2, 1],
    ]);
    expect(report.run).toMatchObject({ start_time: '2026-01-01T00:00:00.000000Z', total_events: 14, duration_seconds: 8, service_name: 'research-bot', source: 'otlp-json' });
    expect(report.exit.reason).toBe('unknown');
    expect(report.unfinished).toEqual([]);
  });

  it('keeps every complete line of a file whose writer was killed mid-line, and names unreadable lines', () => {
    const dir = tempDir();
    const [line1, line2] = readFileSync(MIXED, 'utf8').split('\n');
    const torn = join(dir, 'torn.jsonl');
    writeFileSync(torn, `${line1}\n${line2.slice(0, 700)}`);
    const events: TruthEvent[] = [];
    const result = readOtlpJsonSync(torn, (e) => events.push(e));
    expect(result).toMatchObject({ tornTail: true, complete: false, skipped: [], spans: 4 });
    expect(events.map((e) => e.type)).toEqual(['stage_start', 'llm_call_start', 'llm_call_end', 'task_start', 'task_error', 'stage_end']);

    const corrupt = join(dir, 'corrupt.jsonl');
    writeFileSync(corrupt, `${line1}\n{"resourceSpans": [oops\n{"something": "else"}\n${line2}\n`);
    const again = readOtlpJsonSync(corrupt, () => undefined);
    expect(again.skipped).toEqual([
      { line: 2, reason: 'not a JSON object' },
      { line: 3, reason: 'not an ExportTraceServiceRequest (no "resourceSpans")' },
    ]);
    expect(again).toMatchObject({ tornTail: false, events: 14 });
  });

  it('says where a corrupt document breaks, and rejects what is not OTLP', () => {
    const dir = tempDir();
    const broken = join(dir, 'broken.json');
    const lines = readFileSync(SINGLE, 'utf8').split('\n');
    lines[9] = `${lines[9]} ,,`;
    writeFileSync(broken, lines.join('\n'));
    expect(() => readOtlpJsonSync(broken, () => undefined)).toThrowError(TruthLogError);
    expect(() => readOtlpJsonSync(broken, () => undefined)).toThrowError(`${broken}:10)`);

    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'hello\n');
    expect(() => readOtlpJsonSync(text, () => undefined)).toThrowError(`not an OTLP JSON trace export: expected {"resourceSpans": …} (${text}:1)`);
    const empty = join(dir, 'empty.json');
    writeFileSync(empty, '\n\n');
    expect(() => readOtlpJsonSync(empty, () => undefined)).toThrowError('empty file');
  });

  it('decodes every OTLP value kind, base64 ids and status names', () => {
    expect(
      decodeAttributes([
        { key: 's', value: { stringValue: 'x' } },
        { key: 'i', value: { intValue: '9007199254740993' } },
        { key: 'd', value: { doubleValue: 0.5 } },
        { key: 'b', value: { boolValue: true } },
        { key: 'a', value: { arrayValue: { values: [{ stringValue: 'p' }, { intValue: 2 }] } } },
        { key: 'kv', value: { kvlistValue: { values: [{ key: 'k', value: { stringValue: 'v' } }] } } },
        { key: 'empty', value: {} },
        { nokey: true },
      ]),
    ).toEqual({ s: 'x', i: 9007199254740992, d: 0.5, b: true, a: ['p', 2], kv: '{"k":"v"}' });
    const span = decodeSpan({
      traceId: Buffer.from('5b8efff798038103d269b633813fc60c', 'hex').toString('base64'),
      spanId: Buffer.from('eee19b7ec3c1b174', 'hex').toString('base64'),
      name: 'x',
      startTimeUnixNano: '1767225600000001500',
      endTimeUnixNano: '1767225600000000000',
      status: { code: 'STATUS_CODE_ERROR', message: 'boom' },
    });
    expect(span).toMatchObject({ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', status: { code: 2, message: 'boom' }, startMs: 1767225600000.0015 });
    // An end before the start (clock skew) is clamped to the start.
    expect(span?.endMs).toBe(span?.startMs);
    expect(decodeSpan({ name: 'no id', startTimeUnixNano: '1' })).toBeUndefined();
  });

  it("writes no events for another instrumentation's llm span that a span of agent-autopsy's openai instrumentation ran in (the same request, as live)", () => {
    const converter = new OtlpSpanConverter();
    const span = (spanId: string, parentSpanId: string, name: string, start: number, end: number, attributes: Record<string, string>, status = { code: 0 }) =>
      otlpSpan(spanId, parentSpanId, name, start, end, Object.entries(attributes).map(([key, value]) => ({ key, value: { stringValue: value } })), status);
    const openinference = { 'openinference.span.kind': 'LLM', 'llm.model_name': 'gpt-4o', 'llm.system': 'openai' };
    const flag = { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.provider.name': 'openai' };
    converter.addRequest({
      resourceSpans: [
        {
          scopeSpans: [
            // Theirs ended 2 ms before the flag's span inside it (as live), and a second one never ended.
            { scope: { name: '@arizeai/openinference-instrumentation-openai' }, spans: [span('00000000000000a1', '', 'OpenAI Chat Completions', 0, 10, openinference)] },
            { scope: { name: 'agent-autopsy/openai' }, spans: [span('00000000000000b1', '00000000000000a1', 'chat gpt-4o', 1, 12, flag), span('00000000000000b2', '00000000000000a2', 'chat gpt-4o', 21, 30, { ...flag, 'error.type': 'RateLimitError' }, { code: 2 })] },
            { scope: { name: '@arizeai/openinference-instrumentation-openai' }, spans: [span('00000000000000a2', '', 'OpenAI Chat Completions', 20, 31, openinference)] },
          ],
        },
      ],
    });
    expect(converter.convert().events.map((event) => [event.type, event.span_id, event.data.error_type])).toEqual([
      ['llm_call_start', '00000000000000b1', undefined],
      ['llm_call_end', '00000000000000b1', undefined],
      ['llm_call_start', '00000000000000b2', undefined],
      ['llm_call_error', '00000000000000b2', 'RateLimitError'],
    ]);
  });

  it('turns our own spans back into their events: data attributes, code results, autofix outcome, unfinished spans', () => {
    const converter = new OtlpSpanConverter();
    const attr = (key: string, value: string | number | boolean) => ({
      key,
      value: typeof value === 'string' ? { stringValue: value } : typeof value === 'boolean' ? { boolValue: value } : { intValue: String(value) },
    });
    const span = (spanId: string, parentSpanId: string, name: string, start: number, end: number, attributes: ReturnType<typeof attr>[], status = { code: 0 }) =>
      otlpSpan(spanId, parentSpanId, name, start * 1000, end * 1000, attributes, status);
    converter.addRequest({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                span('0000000000000001', '', 'stage stage3', 0, 10, [attr('autopsy.kind', 'stage'), attr('autopsy.stage', 'stage3'), attr('autopsy.data.name', 'Coding')]),
                span('0000000000000002', '0000000000000001', 'run solver', 1, 2, [attr('autopsy.kind', 'code_exec'), attr('autopsy.code.language', 'python'), attr('autopsy.data.name', 'run solver'), attr('autopsy.code.exit_code', 1), attr('autopsy.code.stderr_tail', 'SyntaxError: invalid syntax')], {
                  code: 2,
                  message: 'SyntaxError: invalid syntax',
                } as never),
                span('0000000000000003', '0000000000000001', 'autofix syntax', 3, 4, [attr('autopsy.kind', 'autofix'), attr('autopsy.autofix.layer', '2'), attr('autopsy.autofix.type', 'syntax'), attr('autopsy.autofix.success', false)]),
                span('0000000000000004', '0000000000000001', 'task compile', 5, 10, [attr('autopsy.kind', 'task'), attr('autopsy.task', 'compile'), attr('autopsy.unfinished', true)]),
              ],
            },
          ],
        },
      ],
    });
    const { events, autofix, unfinished } = converter.convert();
    expect(events.map((e) => [e.elapsed_seconds, e.type, e.level, e.data])).toEqual([
      [0, 'stage_start', 'INFO', { stage: 'stage3', name: 'Coding' }],
      [1, 'code_exec_start', 'INFO', { name: 'run solver', language: 'python', stage: 'stage3' }],
      [2, 'code_exec_error', 'ERROR', { name: 'run solver', language: 'python', stage: 'stage3', exit_code: 1, stderr_tail: 'SyntaxError: invalid syntax', error: 'SyntaxError: invalid syntax', duration: 1 }],
      [3, 'autofix_start', 'INFO', { layer: 2, type: 'syntax', stage: 'stage3' }],
      [4, 'autofix_end', 'WARNING', { layer: 2, type: 'syntax', stage: 'stage3', duration: 1, success: false }],
      [5, 'task_start', 'INFO', { task: 'compile', stage: 'stage3' }],
      [10, 'task_unfinished', 'WARNING', { task: 'compile', stage: 'stage3', unfinished: true, age_seconds: 5 }],
      [10, 'stage_end', 'INFO', { stage: 'stage3', name: 'Coding', duration: 10 }],
    ]);
    expect(autofix).toEqual({ total_attempts: 1, successful_fixes: 0, failed_fixes: 1, fixes_by_type: { syntax: 1 }, fixes_by_layer: { layer1: 0, layer2: 1, layer3: 0 } });
    expect(unfinished).toEqual([{ name: 'task compile', kind: 'task', stage: 'stage3', started: '2026-01-01T00:00:05.000000Z', age_seconds: 5, span_id: '0000000000000004', parent_span_id: '0000000000000001' }]);
  });
});

/**
 * A stand-in for the Collector's file exporter on 127.0.0.1: each OTLP/HTTP request becomes one
 * JSON line of `otlpFile`; `runDir` is a run directory beside it. Started and closed around the
 * tests of the `describe` it is called in.
 */
function collectorFile(): { url: string; otlpFile: string; runDir: string } {
  const collector = { url: '', otlpFile: '', runDir: '' };
  let server: Server;
  beforeAll(async () => {
    const dir = tempDir();
    collector.otlpFile = join(dir, 'traces.jsonl');
    collector.runDir = join(dir, 'run');
    writeFileSync(collector.otlpFile, '');
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        appendFileSync(collector.otlpFile, `${JSON.stringify(JSON.parse(body.toString('utf8')))}\n`);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    collector.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((done) => server.close(done));
  });
  return collector;
}

describe('OTLP export of a live run reads back to the same autopsy', () => {
  const collector = collectorFile();

  it('matches the Truth-Mode log of the same run: failures, LLM usage, autofix, stages and every event', async () => {
    const script = writeScript(`
import { init, shutdown, stage, task, llmCall, codeExec, autofix } from 'agent-autopsy';
class RateLimitError extends Error { constructor(m) { super(m); this.status = 429; } }
init({ outputDir: process.argv[2], serviceName: 'otlp-equivalence' });
await stage('stage1', { name: 'Analysis' }, async () => {
  await task('load', async () => {
    await llmCall({ model: 'gpt-4o', provider: 'openai' }, async (call) => { call.setUsage({ inputTokens: 12, outputTokens: 3 }); });
  });
  for (let i = 0; i < 2; i++) {
    await llmCall('retry', { model: 'gpt-4o', provider: 'openai', attempt: i }, async () => { throw new RateLimitError('429 Rate limit reached'); }).catch(() => {});
  }
});
await stage('stage2', async () => {
  await codeExec({ language: 'python' }, async (exec) => {
    exec.setResult({ exitCode: 1, stderr: 'SyntaxError: invalid syntax' });
    exec.fail('SyntaxError: invalid syntax', 'SyntaxError');
  });
  await autofix({ layer: 1, type: 'syntax' }, () => false);
  await autofix({ layer: 2, type: 'syntax' }, () => true);
  try { task('report', () => { throw new TypeError('bad field'); }); } catch {}
});
await shutdown();
`);
    const child = await runNode(script, { args: [collector.runDir], env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_COMPRESSION: 'none' } });
    expect(child.stderr).toBe('');
    expect(child.code).toBe(0);

    const live: TruthEvent[] = [];
    const fromOtlp: TruthEvent[] = [];
    const a = analyzeRunSync(collector.runDir, { onEvent: (e) => live.push(e) });
    const b = analyzeRunSync(collector.otlpFile, { onEvent: (e) => fromOtlp.push(e) });
    expect(b.read.format).toBe('otlp-json');
    const withoutTimes = (r: typeof a.report) => ({
      ...r.failure_analysis,
      critical_failures: r.failure_analysis.critical_failures.map(({ timestamp: _t, ...rest }) => rest),
    });
    expect(withoutTimes(b.report)).toEqual(withoutTimes(a.report));
    expect(b.report.failure_analysis.failures_by_type).toEqual({ llm_call_error: 2, code_exec_error: 1, task_error: 1 });
    expect(b.report.autofix_statistics).toEqual(a.report.autofix_statistics);
    expect(b.report.summary).toEqual(a.report.summary);
    const usage = (r: typeof a.report) => ({ ...r.llm_usage, latency_seconds: null });
    expect(usage(b.report)).toEqual(usage(a.report));
    expect(b.report.stages.map((s) => [s.stage, s.name, s.outcome, s.failures])).toEqual(a.report.stages.map((s) => [s.stage, s.name, s.outcome, s.failures]));
    expect(b.report.diagnoses.map((d) => d.id)).toEqual(a.report.diagnoses.map((d) => d.id));
    expect(b.report.run.service_name).toBe('otlp-equivalence');

    // Event by event (by span and phase: the SDK's span times are coarser than the live clock).
    const key = (e: TruthEvent) => `${e.span_id}/${e.type}`;
    const strip = (e: TruthEvent) => {
      const { duration: _d, ...data } = e.data;
      return { type: e.type, level: e.level, data, span_id: e.span_id, parent_span_id: e.parent_span_id };
    };
    const sortBy = (list: TruthEvent[]) => [...list].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0)).map(strip);
    expect(fromOtlp).toHaveLength(live.length);
    expect(sortBy(fromOtlp)).toEqual(sortBy(live));
  });
});

describe('a span the app failed and the process left open (span.fail(), then process.exit())', () => {
  const collector = collectorFile();

  it('keeps the failure: in its unfinished event, the report, the crash, the span exported and its read-back', async () => {
    const error = 'validation failed: statement contains DROP TABLE';
    const script = writeScript(`
import { init, stage, task } from 'agent-autopsy';
init({ outputDir: process.argv[2], serviceName: 'exit-validation' });
await stage('validate', async () => {
  await task('check_sql', async (t) => {
    t.fail('${error}', 'ValidationError');
    process.exit(1);
  });
});
`);
    const child = await runNode(script, { args: [collector.runDir], env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_COMPRESSION: 'none' } });
    expect(child.stderr).toBe('');
    expect(child.code).toBe(1);

    // The log: the task's unfinished event carries what fail() said; the stage had not failed.
    const live: TruthEvent[] = [];
    const fromLog = analyzeRunSync(collector.runDir, { onEvent: (e) => live.push(e) });
    const unfinishedData = (events: TruthEvent[]) => events.filter((e) => e.type.endsWith('_unfinished')).map((e) => ({ type: e.type, data: { ...e.data, age_seconds: 0 } }));
    expect(unfinishedData(live)).toEqual([
      { type: 'stage_unfinished', data: { stage: 'validate', unfinished: true, age_seconds: 0 } },
      { type: 'task_unfinished', data: { task: 'check_sql', stage: 'validate', unfinished: true, age_seconds: 0, error, error_type: 'ValidationError' } },
    ]);

    // The report written at exit: the unfinished task says it failed, and the crash quotes it.
    const report = JSON.parse(readFileSync(join(collector.runDir, 'Memory', 'logs', 'latent_analysis_report.json'), 'utf8'));
    const noTimes = (spans: Array<Record<string, unknown>>) => spans.map(({ started: _s, age_seconds: _a, ...rest }) => rest);
    const taskSpanId = live.find((e) => e.type === 'task_unfinished')!.span_id;
    const stageSpanId = live.find((e) => e.type === 'stage_unfinished')!.span_id;
    expect(noTimes(report.unfinished)).toEqual([
      { name: 'stage validate', kind: 'stage', stage: 'validate', span_id: stageSpanId },
      { name: 'task check_sql', kind: 'task', stage: 'validate', span_id: taskSpanId, parent_span_id: stageSpanId, error, error_type: 'ValidationError' },
    ]);
    // Seed contract: total_failures counts events of level ERROR; an unfinished event is a WARNING.
    expect(report.summary.total_failures).toBe(0);
    const calledAt = `${pathToFileURL(script).href}:7:13`;
    expect(report.exit).toMatchObject({ reason: 'exit', exit_code: 1, called_at: calledAt });
    expect(report.diagnoses.map((d: { id: string; title: string }) => [d.id, d.title])).toEqual([['crash', 'The process exited with code 1']]);
    expect(report.diagnoses[0].evidence.examples).toEqual([
      'The process ended by process.exit(), exit code 1',
      `Last failure before the exit: task_unfinished (validate): ValidationError: ${error}`,
      `process.exit() was called at ${calledAt}; task check_sql was still running in stage validate`,
    ]);
    expect(report.diagnoses[0].evidence.span_ids).toEqual([taskSpanId]);
    const markdown = readFileSync(join(collector.runDir, 'Memory', 'logs', 'autopsy.md'), 'utf8');
    expect(markdown).toContain('| Name | Kind | Stage | Started | Age (s) | Error |');
    expect(markdown).toMatch(new RegExp(`^\\| task check\\\\_sql \\| task \\| validate \\| [^|]+ \\| [0-9.]+ \\| ValidationError: ${error} \\|$`, 'm'));
    const html = readFileSync(join(collector.runDir, 'Memory', 'logs', 'autopsy.html'), 'utf8');
    expect(html).toContain('<th class="num">Age (s)</th><th>Error</th></tr>');
    expect(html).toContain(`<td class="wrap">ValidationError: ${error}</td></tr>`);
    expect(html).toContain(`<td class="wrap">called_at</td><td class="wrap">${calledAt}</td>`);
    // agent-autopsy report over the log gives the same diagnoses and unfinished spans.
    expect(fromLog.report.diagnoses).toEqual(report.diagnoses);
    expect(noTimes(fromLog.report.unfinished as unknown as Array<Record<string, unknown>>)).toEqual(noTimes(report.unfinished));

    // The exported span keeps the app's status and error.type; the stage's says it was left open.
    const spans = readFileSync(collector.otlpFile, 'utf8').trim().split('\n').flatMap((line) => decodeOtlpJson(JSON.parse(line)));
    const exported = (name: string) => spans.find((span) => span.name === name)!;
    expect([exported('task check_sql').status, exported('task check_sql').attributes['error.type'], exported('task check_sql').attributes['autopsy.unfinished']]).toEqual([
      { code: 2, message: error },
      'ValidationError',
      true,
    ]);
    expect([exported('stage validate').status, exported('stage validate').attributes['error.type']]).toEqual([{ code: 2, message: 'span still open when the process ended' }, 'unfinished']);

    // Read back from the OTLP file: the same unfinished events and spans as the log.
    const fromOtlp: TruthEvent[] = [];
    const otlp = analyzeRunSync(collector.otlpFile, { onEvent: (e) => fromOtlp.push(e) });
    expect(unfinishedData(fromOtlp)).toEqual(unfinishedData(live));
    expect(noTimes(otlp.report.unfinished as unknown as Array<Record<string, unknown>>)).toEqual(noTimes(report.unfinished));
  });
});

/** `value` with every object's keys sorted, as `jq -S` writes it. */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortedKeys((value as Record<string, unknown>)[key])]));
}

// The Collector writes "resourceSpans" first; a hand-made or re-serialised export may not.
it('agent-autopsy report reads an OTLP JSON file whose first key is not resourceSpans: JSON lines, a document, a pipe', async () => {
  const dir = tempDir();
  const lines = readFileSync(MIXED, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  const schemaUrl = 'https://opentelemetry.io/schemas/1.26.0';
  const files: Record<string, string> = {
    'collector.jsonl': readFileSync(MIXED, 'utf8'),
    // A key before it on every line.
    'schema-first.jsonl': lines.map((request) => JSON.stringify({ schemaUrl, ...request })).join('\n') + '\n',
    // `jq -cS`: "partialSuccess" sorts before it.
    'sorted.jsonl': lines.map((request) => JSON.stringify(sortedKeys({ partialSuccess: {}, ...request }))).join('\n') + '\n',
    // `jq -S .` of one request, with Windows line ends; the same after a UTF-8 BOM.
    'sorted.json': JSON.stringify(sortedKeys({ partialSuccess: {}, schemaUrl, ...(JSON.parse(readFileSync(SINGLE, 'utf8')) as object) }), null, 2).replace(/\n/g, '\r\n') + '\r\n',
  };
  files['bom-sorted.json'] = `\uFEFF${files['sorted.json']}`;
  // A BOM before a Collector's own lines, and before its document, was let by the sniffer but broke the first line's JSON.
  files['bom-collector.jsonl'] = `\uFEFF${files['collector.jsonl']}`;
  files['bom-single.json'] = `\uFEFF${readFileSync(SINGLE, 'utf8')}`;
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const withoutTime = <T extends { stdout: string }>(result: T): T => ({ ...result, stdout: result.stdout.replace(/^\{\n {2}"timestamp": "[^"]+",/, '') });
  const collector = await runCli(['report', join(dir, 'collector.jsonl')]);
  expect(collector).toMatchObject({ code: 0, stderr: '' });
  const expected = withoutTime(collector);
  expect(JSON.parse(collector.stdout).run).toMatchObject({ source: 'otlp-json', total_events: 14, service_name: 'research-bot' });
  for (const name of Object.keys(files)) {
    expect(isOtlpJsonFile(join(dir, name)), name).toBe(true);
    expect(withoutTime(await runCli(['report', join(dir, name)])), name).toEqual(expected);
  }
  // Told apart by the first 64 KiB a pipe gives, as from a file.
  const piped = spawnSync(process.execPath, [CLI, 'report', '-'], { input: files['schema-first.jsonl'], encoding: 'utf8', cwd: dir });
  expect(withoutTime({ code: piped.status, signal: piped.signal, stdout: piped.stdout, stderr: piped.stderr })).toEqual({ ...expected, stdout: expected.stdout.replace(`"output_dir": ${JSON.stringify(dir)}`, '"output_dir": "/dev"') });

  // JSON with neither "resourceSpans" nor a log's or a report's keys is still none of them, named as before.
  const other = join(dir, 'other.json');
  writeFileSync(other, `{"schemaUrl": "${schemaUrl}", "spans": []}\n`);
  expect(isOtlpJsonFile(other)).toBe(false);
  expect(await runCli(['report', other])).toEqual({
    code: 2,
    signal: null,
    stdout: '',
    stderr: `agent-autopsy: not a Truth-Mode log: the JSON document has no "events" array; agent-autopsy report also reads OTLP JSON ({"resourceSpans": …}) and saved reports ("failure_analysis" and "summary") (${other})\n`,
  });
});

// A directory means a run directory: an OTLP file inside it is read only when named.
it('a run directory is still read as Truth-Mode even when an OTLP file sits beside it', async () => {
  const dir = tempDir();
  copyFileSync(MIXED, join(dir, 'traces.jsonl'));
  await expect(analyzeRun(dir)).rejects.toThrowError(/no Memory[/\\]logs[/\\]execution_tracker\.json in this directory/);
  const { report } = await analyzeRun(join(dir, 'traces.jsonl'));
  expect(report.run.total_events).toBe(14);
});

/** A Collector export of `requests` traces, each a stage span with 99 LLM calls below it (every 20th failing). */
function writeLargeExport(path: string, requests: number): void {
  writeFileSync(path, collectorExportLines(requests, 99));
}

describe('a large OTLP export', () => {
  // Events are built as the analysis reads them: only the decoded spans stay for the whole file.
  // Building every event first needed more than 192 MB of heap for this file; this needs under 100.
  it('is read within 144 MB of heap (100,000 spans), every event in time order', async () => {
    const dir = tempDir();
    const file = join(dir, 'traces.jsonl');
    writeLargeExport(file, 1000);
    const script = writeScript(`
import { analyzeRunSync } from 'agent-autopsy/analyzers';
let last = '';
let outOfOrder = 0;
const { report, read } = analyzeRunSync(process.argv[2], { onEvent: (event) => { if (event.timestamp < last) outOfOrder++; last = event.timestamp; } });
console.log(JSON.stringify({ events: read.events, spans: read.spans, outOfOrder, calls: report.llm_usage.calls, failures: report.failure_analysis.total_failures, top: report.diagnoses[0].id }));
`);
    const result = await runNode(script, { args: [file], nodeArgs: ['--max-old-space-size=144'] });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ events: 200_000, spans: 100_000, outOfOrder: 0, calls: 99_000, failures: 5_000, top: 'rate_limited' });
  });
});
