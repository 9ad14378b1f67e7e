import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diagnoseEvents } from '../analyzers/diagnoses';
import { analyzeRunSync } from '../analyzers/readRun';
import type { DiagnosisContext } from '../analyzers/diagnosisTypes';
import { messagesFor } from '../analyzers/messages';
import type { AutopsyReport, Diagnosis, StageTimeline, UnfinishedSpan } from '../analyzers/reportTypes';
import { ToolLoopDetector } from '../analyzers/ToolLoopDetector';
import { init, shutdown, stage, task } from '../src/index';
import type { TruthEvent } from '../src/types';
import { runNode, writeScript } from './helpers/childProcess';
import { cliReport } from './helpers/cli';
import { memorySpans } from './helpers/memorySpans';
import { writeOtlpFile } from './helpers/otlpFile';
import { diagnosisContext } from './helpers/diagnosisContext';
import { readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

// How an agent behaved, beyond the errors it saw: a tool loop (the same tool call again and
// again), what a slow stage waited on, and code errors that a later run repaired.

const T0 = Date.parse('2025-01-24T10:30:00.000Z');

function ev(at: number, type: string, data: Record<string, unknown> = {}, extra: Partial<TruthEvent> = {}): TruthEvent {
  const level = type.endsWith('_error') ? 'ERROR' : 'INFO';
  return { timestamp: new Date(T0 + at * 1000).toISOString().replace('Z', '000Z'), elapsed_seconds: at, type, level, data, ...extra };
}

const context = (overrides: Partial<DiagnosisContext> = {}) => diagnosisContext(T0, overrides);
const ids = (diagnoses: Diagnosis[]) => diagnoses.map((d) => d.id);
const row = (stage: string, duration: number, extra: Partial<StageTimeline> = {}): StageTimeline => ({
  stage,
  started: new Date(T0).toISOString(),
  ended: null,
  duration_seconds: duration,
  outcome: 'ok',
  failures: 0,
  ...extra,
});

/** `n` turns of a ReAct loop in `stage`: an LLM call, then a tool call with `args(i)` as its data. */
function toolTurns(n: number, stage: string, tool: string, args: (i: number) => Record<string, unknown>, from = 0): TruthEvent[] {
  const events: TruthEvent[] = [];
  for (let i = 0; i < n; i++) {
    const at = from + i;
    events.push(ev(at, 'llm_call_end', { stage, model: 'gpt-4o', duration: 0.2 }, { span_id: `L${at}` }));
    events.push(ev(at + 0.5, 'task_start', { task: tool, tool: true, toolCallId: `call_${at}`, ...args(i), stage }, { span_id: `T${at}` }));
    events.push(ev(at + 0.6, 'task_end', { task: tool, tool: true, toolCallId: `call_${at}`, ...args(i), stage, duration: 0.1 }, { span_id: `T${at}` }));
  }
  return events;
}

const PARIS = '{"city":"Paris","date":"2025-06-01"}';
const SUGGESTION =
  'Give the tool a result the model can act on: a final answer, or an error or status it can read and that tells it what to do next ("forecast not available yet: answer without it"), not the same "pending" again. Detect repeated identical calls in the agent loop (same tool, same arguments) and stop or change strategy after the second one, cap the steps per run, and make the step limit end with an answer or a clear error.';

describe('tool_loop', () => {
  it('names the tool, the stage, the count and the arguments of the same call made again and again', () => {
    const events = toolTurns(4, 'answer', 'get_weather', () => ({ arguments: PARIS }));
    const [loop] = diagnoseEvents(events, context());
    expect(loop).toEqual({
      id: 'tool_loop',
      severity: 'medium',
      confidence: 0.65,
      title: 'Tool loop: the agent called get_weather 4 times in a row with the same arguments in stage answer',
      evidence: {
        count: 4,
        first: '2025-01-24T10:30:00.500000Z',
        last: '2025-01-24T10:30:03.500000Z',
        examples: [`4 calls in a row to get_weather in stage answer within 3 s, each with the arguments ${PARIS}`],
        span_ids: ['T0', 'T1', 'T2', 'T3'],
      },
      suggestion: SUGGESTION,
    });
  });

  it('is high from 5 calls, and the loop is what the failed exit follows from', () => {
    const events = [
      ev(0, 'stage_start', { stage: 'answer' }, { span_id: 'S' }),
      // The step counter changes every turn; it is the loop's own, not an argument.
      ...toolTurns(8, 'answer', 'get_weather', (i) => ({ step: i + 1, arguments: PARIS }), 1),
      ev(10, 'stage_error', { stage: 'answer', error: 'Agent stopped: max_steps (8) reached without a final answer', error_type: 'Error' }, { span_id: 'S' }),
    ];
    const stages = [row('answer', 10, { outcome: 'error', failures: 1 })];
    const diagnoses = diagnoseEvents(events, context({ stages, exit: { reason: 'normal', exit_code: 1, signal: null, at: null } }));
    expect(ids(diagnoses)).toEqual(['tool_loop', 'crash']);
    expect([diagnoses[0].severity, diagnoses[0].confidence, diagnoses[0].evidence.count]).toEqual(['high', 0.85, 8]);
    expect(diagnoses[0].title).toBe('Tool loop: the agent called get_weather 8 times in a row with the same arguments in stage answer');
    expect(diagnoses[1].suggestion.startsWith('Most likely a consequence of tool_loop: fix that first. ')).toBe(true);
  });

  it('a stage stopped by a signal while it looped: the loop comes first, the hang and the signal follow from it', () => {
    const events = [ev(0, 'stage_start', { stage: 'answer' }, { span_id: 'S' }), ...toolTurns(8, 'answer', 'get_weather', () => ({ arguments: PARIS }), 1), ev(9, 'signal_received', { signal: 'SIGTERM', handled_by_app: false })];
    const unfinished = [{ kind: 'stage', name: 'stage answer', stage: 'answer', started: new Date(T0).toISOString(), span_id: 'S', age_seconds: 9 }] as UnfinishedSpan[];
    const at = new Date(T0 + 9_000).toISOString();
    const diagnoses = diagnoseEvents(events, context({ unfinished, exit: { reason: 'signal', exit_code: null, signal: 'SIGTERM', at } }));
    expect(ids(diagnoses)).toEqual(['tool_loop', 'stage_hang', 'crash']);
    expect(diagnoses[0].severity).toBe('critical');
    expect(diagnoses[1].suggestion.startsWith('Most likely a consequence of tool_loop: fix that first. ')).toBe(true);
  });

  it('does not blame a loop in a stage that finished well for a later failure elsewhere', () => {
    const events = [...toolTurns(3, 'lookup', 'get_weather', () => ({ arguments: PARIS })), ev(5, 'stage_error', { stage: 'publish', error: 'disk full' })];
    const stages = [row('lookup', 3), row('publish', 1, { outcome: 'error', failures: 1 })];
    const diagnoses = diagnoseEvents(events, context({ stages, exit: { reason: 'normal', exit_code: 1, signal: null, at: null } }));
    expect(ids(diagnoses)).toEqual(['crash', 'tool_loop']);
    expect(diagnoses[0].suggestion.startsWith('Most likely')).toBe(false);
  });

  it.each([
    ['twice only', toolTurns(2, 'answer', 'get_weather', () => ({ arguments: PARIS }))],
    ['other arguments each time', toolTurns(6, 'answer', 'search', (i) => ({ arguments: `{"q":"page ${i}"}` }))],
    ['arguments in the data itself, other each time', toolTurns(6, 'answer', 'read_file', (i) => ({ path: `src/${i}.ts` }))],
    ['no arguments recorded (names alone say nothing)', toolTurns(8, 'answer', 'get_weather', () => ({}))],
    [
      'another tool call in between',
      [...toolTurns(2, 'answer', 'get_weather', () => ({ arguments: PARIS })), ...toolTurns(1, 'answer', 'geocode', () => ({ arguments: '{"q":"Paris"}' }), 2), ...toolTurns(2, 'answer', 'get_weather', () => ({ arguments: PARIS }), 3)],
    ],
    [
      // The flag's MCP tool calls name their server: not an argument.
      'an MCP tool called without arguments, again and again',
      toolTurns(6, 'answer', 'list_files', () => ({ mcp_server: 'filesystem' })),
    ],
    [
      'the same task, not a tool call',
      toolTurns(6, 'answer', 'summarise', () => ({ arguments: PARIS })).map((event) => ({ ...event, data: { ...event.data, tool: undefined } })),
    ],
  ])('is not reported: %s', (_, events) => {
    expect(ids(diagnoseEvents(events as TruthEvent[], context()))).not.toContain('tool_loop');
  });

  it('follows each stage on its own: calls of another stage in between do not break a loop', () => {
    const events = [0, 1, 2].flatMap((i) => [...toolTurns(1, 'a', 'get_weather', () => ({ arguments: PARIS }), 2 * i), ...toolTurns(1, 'b', 'get_weather', () => ({ arguments: `{"city":"Rome","n":${i}}` }), 2 * i + 1)]);
    const [loop] = diagnoseEvents(events, context());
    expect([loop.id, loop.title, loop.evidence.span_ids]).toEqual(['tool_loop', 'Tool loop: the agent called get_weather 3 times in a row with the same arguments in stage a', ['T0', 'T2', 'T4']]);
  });

  it("quotes an MCP tool call's arguments without its server", () => {
    const [loop] = diagnoseEvents(toolTurns(3, 'research', 'get_weather', () => ({ mcp_server: 'weather', arguments_sha256: 'sha256:703dc6ccf71cce7d' })), context());
    expect([loop.id, loop.evidence.examples[0]]).toEqual(['tool_loop', expect.stringMatching(/each with the arguments sha256:703dc6ccf71cce7d$/)]);
  });

  it('takes a seed-style track() tool call (tool names the tool) and argument objects', () => {
    const events = [0, 1, 2].map((i) => ev(i, 'task_start', { task: 'tool_call', tool: 'sql_query', input: { sql: 'SELECT 1', db: 'main' }, stage: 'report' }));
    const [loop] = diagnoseEvents(events, context({ messages: messagesFor('zh-CN'), locale: 'zh-CN' }));
    expect(loop.title).toBe('工具循环：智能体在 report 中以相同参数连续调用 sql_query 3 次');
    expect(loop.evidence.examples).toEqual(['report 中在 2 秒内连续 3 次调用 sql_query，每次参数都是 {"input":{"sql":"SELECT 1","db":"main"}}']);
  });

  it('tells long arguments apart past what it keeps of them, and redacts the quoted ones', () => {
    const long = (tail: string) => ({ arguments: `{"api_key":"sk-proj-abcdefghijklmnopqrstuvwxyz0123456789","text":"${'x'.repeat(400)}${tail}"}` });
    const differ = [...toolTurns(2, 's', 'summarise', () => long('a')), ...toolTurns(1, 's', 'summarise', () => long('b'), 2)];
    expect(ids(diagnoseEvents(differ, context()))).toEqual([]);
    const [loop] = diagnoseEvents(toolTurns(3, 's', 'summarise', () => long('a')), context());
    expect(loop.evidence.examples[0]).not.toContain('abcdefghijklmnopqrstuvwxyz');
    expect(loop.evidence.examples[0]).toContain('"text":"xxx');
  });

  /** Tool calls in `stage` one after another, each `[tool, arguments]`, from second `from`. */
  const calls = (stage: string, list: Array<[string, string]>, from = 0) => list.flatMap(([tool, args], i) => toolTurns(1, stage, tool, () => ({ arguments: args }), from + i));
  const SEARCH: [string, string] = ['search_docs', '{"q":"refund policy"}'];
  const READ: [string, string] = ['read_page', '{"url":"https://docs.example.com/refunds"}'];
  const SUMMARISE: [string, string] = ['summarise', '{"max_words":50}'];

  it('finds a round of 2 or 3 calls made again and again with the same arguments', () => {
    const events = calls('research', [['plan', '{"goal":"refunds"}'], SEARCH, READ, SEARCH, READ, SEARCH, READ]);
    const [loop] = diagnoseEvents(events, context());
    expect(loop).toEqual({
      id: 'tool_loop',
      severity: 'medium',
      confidence: 0.6,
      title: 'Tool loop: the agent went round search_docs → read_page 3 times with the same arguments in stage research',
      evidence: {
        count: 6,
        first: '2025-01-24T10:30:01.500000Z',
        last: '2025-01-24T10:30:06.500000Z',
        examples: [
          '6 calls in stage research within 5 s, going round search_docs → read_page, each time with the same arguments: search_docs {"q":"refund policy"}; read_page {"url":"https://docs.example.com/refunds"}',
        ],
        span_ids: ['T1', 'T2', 'T3', 'T4', 'T5', 'T6'],
      },
      suggestion: SUGGESTION,
    });
    // A round of three, and one more call of the next round: still named from its first call.
    const three = diagnoseEvents(calls('research', [SEARCH, READ, SUMMARISE, SEARCH, READ, SUMMARISE, SEARCH, READ, SUMMARISE, SEARCH]), context())[0];
    expect([three.title, three.evidence.count]).toEqual(['Tool loop: the agent went round search_docs → read_page → summarise 3 times with the same arguments in stage research', 10]);
    // From 5 rounds it is high, as from 5 calls of one.
    const five = diagnoseEvents(calls('research', Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? SEARCH : READ))), context())[0];
    expect([five.severity, five.confidence, five.title]).toEqual(['high', 0.7, 'Tool loop: the agent went round search_docs → read_page 5 times with the same arguments in stage research']);
    const zh = diagnoseEvents(events, context({ messages: messagesFor('zh-CN'), locale: 'zh-CN' }))[0];
    expect(zh.title).toBe('工具循环：智能体在 research 中以相同参数反复调用 search_docs → read_page，共 3 轮');
  });

  it.each([
    ['two rounds only', [SEARCH, READ, SEARCH, READ]],
    ['other arguments in one round', [SEARCH, READ, SEARCH, READ, SEARCH, ['read_page', '{"url":"https://docs.example.com/returns"}']]],
    ['another call in between', [SEARCH, READ, SEARCH, READ, SUMMARISE, SEARCH, READ]],
    ['a round of four (not looked for)', [SEARCH, READ, SUMMARISE, ['plan', '{}'], SEARCH, READ, SUMMARISE, ['plan', '{}'], SEARCH, READ, SUMMARISE, ['plan', '{}']]],
  ] as Array<[string, Array<[string, string]>]>)('no round is reported: %s', (_, list) => {
    expect(ids(diagnoseEvents(calls('research', list), context()))).not.toContain('tool_loop');
  });

  it('counts every loop, and keeps memory to a capped number of stages whatever the number of calls', () => {
    const detector = new ToolLoopDetector();
    for (let i = 0; i < 5_000; i++) for (const event of toolTurns(3, `req-${i}`, 'lookup', () => ({ arguments: '{"id":1}' }), i * 3)) if (event.type === 'task_start') detector.taskStart(event);
    expect(detector.retained).toBeLessThanOrEqual(1_024);
    expect(detector.loops.loops).toBe(5_000);
    expect(detector.loops.evidence.count).toBe(15_000);
  });
});

const TOOL_ERRORS_SUGGESTION =
  "Read the tool's error in the examples and fix it where it comes from: the tool's code, the service it calls, or the arguments the model gave it (check them against the tool's schema before using them). Make the tool catch its failures and return a result the model can act on (what went wrong and what to do next) rather than throw, give its calls to outside services a timeout and a bounded retry, and check in a test that the agent still answers when the tool fails.";

/** A tool call in `stage` that failed with `error`, as task(name, { tool: true }, fn) logs it. */
function failedTool(at: number, stage: string, tool: string, error: string, span: string, extra: Record<string, unknown> = {}): TruthEvent[] {
  const data = { task: tool, tool: true, toolCallId: `call_${span}`, stage, ...extra };
  return [ev(at, 'task_start', data, { span_id: span }), ev(at + 0.1, 'task_error', { ...data, error, error_type: 'Error', duration: 0.1 }, { span_id: span })];
}

describe('tool_errors', () => {
  it('names a tool that threw what no rule explains, though the agent went on and the run ended well', () => {
    // A framework hands the tool's error to the model, which answers "Sorry…": nothing else failed.
    const events = [
      ev(0, 'stage_start', { stage: 'answer' }, { span_id: 'S' }),
      ...failedTool(1, 'answer', 'get_weather', 'weather API returned 503 for Paris', 'T1', { parent: 'S' }),
      ev(2, 'llm_call_end', { stage: 'answer', model: 'gpt-4o', duration: 0.2 }, { span_id: 'L2' }),
      ev(3, 'stage_end', { stage: 'answer', duration: 3 }, { span_id: 'S' }),
    ];
    expect(diagnoseEvents(events, context())).toEqual([
      {
        id: 'tool_errors',
        severity: 'medium',
        confidence: 0.8,
        title: 'A tool call failed: get_weather failed once in stage answer',
        evidence: {
          count: 1,
          first: '2025-01-24T10:30:01.100000Z',
          last: '2025-01-24T10:30:01.100000Z',
          examples: ['task_error (answer) get_weather: weather API returned 503 for Paris'],
          span_ids: ['T1'],
        },
        suggestion: TOOL_ERRORS_SUGGESTION,
      },
    ]);
  });

  it('is high from 3 failures, names the tool that failed most and counts the others; a seed-style tool: "name" counts too', () => {
    const events = [
      ...failedTool(1, 'answer', 'search_docs', 'index "docs-v2" does not exist', 'T1'),
      ...failedTool(2, 'answer', 'read_page', 'page 17 is out of range', 'T2'),
      ...failedTool(3, 'answer', 'read_page', 'page 18 is out of range', 'T3'),
      ev(4, 'task_error', { task: 'fetch', tool: 'read_page', stage: 'answer', error: 'page 19 is out of range' }, { span_id: 'T4' }),
    ];
    const [diagnosis] = diagnoseEvents(events, context());
    expect(diagnosis).toMatchObject({ id: 'tool_errors', severity: 'high', confidence: 0.85, title: 'A tool call failed: read_page failed 3 times in stage answer, and 1 other tool failed too' });
    expect(diagnosis.evidence.count).toBe(4);
    expect(diagnosis.evidence.examples).toEqual([
      'task_error (answer) search_docs: index "docs-v2" does not exist',
      'task_error (answer) read_page: page 17 is out of range',
      'task_error (answer) read_page: page 18 is out of range',
    ]);
    expect(diagnoseEvents(events, context({ messages: messagesFor('zh-CN'), locale: 'zh-CN' }))[0].title).toBe('工具调用失败：read_page 在阶段 answer 中失败 3 次，另有 1 个工具也失败了');
  });

  it('leaves a tool error another rule explains to that rule, and a task that is no tool call alone', () => {
    const events = [
      ...failedTool(1, 'answer', 'qdrant_search', 'connect ECONNREFUSED 127.0.0.1:6333', 'T1'),
      ev(2, 'task_error', { task: 'summarise', stage: 'answer', error: 'summary was empty', error_type: 'Error' }, { span_id: 'T2' }),
    ];
    expect(ids(diagnoseEvents(events, context()))).toEqual(['dependency_unreachable']);
  });

  it("takes a tool's timeout or 5xx, which are no more than weak signs of an LLM's, from llm_timeout and llm_server_error", () => {
    const timeout = { error: 'The operation was aborted due to timeout', error_type: 'TimeoutError' };
    const events = [
      ev(1, 'task_error', { task: 'web_search', tool: true, stage: 'research', ...timeout }, { span_id: 'T1' }),
      ev(2, 'task_error', { task: 'web_search', tool: true, stage: 'research', error: 'search API responded with status code 503' }, { span_id: 'T2' }),
    ];
    const [diagnosis, ...others] = diagnoseEvents(events, context());
    expect(others).toEqual([]);
    expect([diagnosis.id, diagnosis.title, diagnosis.evidence.examples]).toEqual([
      'tool_errors',
      'A tool call failed: web_search failed twice in stage research',
      ['task_error (research) web_search: TimeoutError: The operation was aborted due to timeout', 'task_error (research) web_search: search API responded with status code 503'],
    ]);
    // A task that is no tool call keeps the weak sign, as before.
    const task = diagnoseEvents([ev(1, 'task_error', { task: 'summarise', stage: 'research', ...timeout }, { span_id: 'T1' })], context());
    expect(task.map((d) => [d.id, d.severity, d.confidence])).toEqual([['llm_timeout', 'medium', 0.45]]);
    // An LLM SDK's own class still names the provider, wherever it was caught.
    const sdk = diagnoseEvents([ev(1, 'task_error', { task: 'web_search', tool: true, stage: 'research', error: 'Request timed out.', error_type: 'APIConnectionTimeoutError' }, { span_id: 'T1' })], context());
    expect(ids(sdk)).toEqual(['llm_timeout']);
  });

  it("counts an error once, at its origin: a tool's failure passed on from an LLM call inside it is the call's", () => {
    const events = [
      ev(1, 'task_start', { task: 'ask_expert', tool: true, stage: 'answer' }, { span_id: 'T1' }),
      ev(1.5, 'llm_call_error', { stage: 'answer', model: 'gpt-4o', error: 'Connection error.', error_type: 'APIConnectionError' }, { span_id: 'L1', parent_span_id: 'T1' }),
      ev(2, 'task_error', { task: 'ask_expert', tool: true, stage: 'answer', error: 'Connection error.', error_type: 'APIConnectionError' }, { span_id: 'T1' }),
    ];
    expect(ids(diagnoseEvents(events, context()))).toEqual(['llm_server_error']);
  });

  it('is what a crash or a failed exit follows from when the tool\'s error went up to the process', () => {
    const thrown = [
      ev(0, 'stage_start', { stage: 'answer' }, { span_id: 'S' }),
      ...failedTool(1, 'answer', 'get_weather', 'weather API returned 503 for Paris', 'T1'),
      ev(1.2, 'stage_error', { stage: 'answer', error: 'weather API returned 503 for Paris', error_type: 'Error' }, { span_id: 'S' }),
    ];
    const crashed = [...thrown, ev(1.3, 'uncaught_exception', { stage: 'answer', error: 'weather API returned 503 for Paris', error_type: 'Error' }, { level: 'ERROR' })];
    const crash = diagnoseEvents(crashed, context({ exit: { reason: 'uncaught_exception', exit_code: 1, signal: null, at: null } }));
    expect(ids(crash)).toEqual(['tool_errors', 'crash']);
    // A cause is as severe as what it led to.
    expect(crash[0].severity).toBe('critical');
    expect(crash[1].suggestion.startsWith('Most likely a consequence of tool_errors: fix that first. ')).toBe(true);
    const exited = diagnoseEvents(thrown, context({ exit: { reason: 'normal', exit_code: 1, signal: null, at: null } }));
    expect(ids(exited)).toEqual(['tool_errors', 'crash']);
    expect(exited[1].suggestion.startsWith('Most likely a consequence of tool_errors: fix that first. ')).toBe(true);
  });

  it('keeps memory to a capped number of tools and messages whatever the number of failures', () => {
    const events: TruthEvent[] = [];
    for (let i = 0; i < 2_000; i++) events.push(...failedTool(i, 'answer', `tool_${i}`, `failure number ${i}`, `T${i}`));
    const [diagnosis] = diagnoseEvents(events, context());
    expect(diagnosis.evidence.count).toBe(2_000);
    expect(diagnosis.title).toBe('A tool call failed: tool_0 failed once in stage answer, and 99 other tools failed too');
  });
});

describe('a real agent whose tool throws', () => {
  it("has the tool's failure as its diagnosis though the agent went on, in the JSON report and autopsy.md", async () => {
    const dir = tempRunDir('autopsy-tool-errors-');
    init({ outputDir: dir, handleExit: false, reportFormats: ['md'] });
    const answer = await stage('answer', async () => {
      // As agent frameworks do: the tool's error goes back to the model, which answers without it.
      const result = await task('get_weather', { tool: true, toolCallId: 'call_1', arguments: PARIS }, async () => {
        throw new Error('weather API returned 503 for Paris');
      }).catch((error: Error) => ({ error: error.message }));
      return 'error' in result ? 'Sorry, I could not get the weather.' : 'It is sunny.';
    });
    expect(answer).toBe('Sorry, I could not get the weather.');
    const report = (await shutdown())!;
    expect(report.diagnoses.map((d) => [d.id, d.severity, d.title])).toEqual([['tool_errors', 'medium', 'A tool call failed: get_weather failed once in stage answer']]);
    expect(report.diagnoses[0].evidence.examples).toEqual(['task_error (answer) get_weather: weather API returned 503 for Paris']);
    expect(readFileSync(join(dir, 'Memory', 'logs', 'autopsy.md'), 'utf8')).toContain('### 1. A tool call failed: get\\_weather failed once in stage answer\n');
  });
});

describe('slow_stage says what the stage waited on', () => {
  const stages = [row('gather', 0.68), row('outline', 0.06), row('synthesis', 2.52), row('format', 0.05)];

  it('one LLM call that took most of it: low, nothing failed or was retried', () => {
    const events = [ev(1, 'llm_call_end', { stage: 'synthesis', model: 'claude-opus-4-1', duration: 2.5 })];
    const slow = diagnoseEvents(events, context({ stages })).find((d) => d.id === 'slow_stage')!;
    expect(slow.severity).toBe('low');
    expect(slow.evidence.examples).toEqual(['synthesis took 2.52 s, 42.0× the median of the other stages (0.06 s); its LLM call (claude-opus-4-1) took 2.5 s of it']);
  });

  it('calls the client retried: medium from 20×, and which model the longest was when there were several', () => {
    const events = [
      ...[0, 1, 2, 3, 4].map((i) => ev(i, 'llm_call_end', { stage: 'synthesis', model: 'gpt-4o', duration: 0.3, ...(i < 2 ? { failed_attempts: i + 1 } : {}) })),
      ev(5, 'llm_call_end', { stage: 'synthesis', model: 'claude-opus-4-1', duration: 1.1 }),
      ev(6, 'code_exec_end', { stage: 'synthesis', duration: 0.25 }),
    ];
    const slow = diagnoseEvents(events, context({ stages })).find((d) => d.id === 'slow_stage')!;
    expect(slow.severity).toBe('medium');
    expect(slow.evidence.examples).toEqual([
      'synthesis took 2.52 s, 42.0× the median of the other stages (0.06 s); its 6 LLM calls took 2.6 s in all, the longest 1.1 s (claude-opus-4-1); 2 of them were retried by the client (3 failed attempts); its code run took 0.25 s',
    ]);
    const zh = diagnoseEvents(events, context({ stages, messages: messagesFor('zh-CN'), locale: 'zh-CN' })).find((d) => d.id === 'slow_stage')!;
    expect(zh.evidence.examples).toEqual([
      'synthesis 耗时 2.52 秒，是其他阶段中位数（0.06 秒）的 42.0 倍；其中 6 次 LLM 调用共耗时 2.6 秒，最长一次 1.1 秒（claude-opus-4-1）；其中 2 次调用曾被客户端重试（失败尝试 3 次）；其中代码运行耗时 0.25 秒',
    ]);
  });

  it('quotes no ratio beside stages that took almost no time', () => {
    const events = [...[0, 1].map((i) => ev(i, 'llm_call_end', { stage: 'translate', model: 'gpt-4o', duration: 1.5 }))];
    const slow = diagnoseEvents(events, context({ stages: [row('translate', 3.47), row('publish', 0.0002)] })).find((d) => d.id === 'slow_stage')!;
    expect([slow.severity, slow.confidence]).toEqual(['low', 0.6]);
    expect(slow.evidence.examples).toEqual(['translate took 3.47 s, while the other stages took almost no time (median 0 s); its 2 LLM calls (gpt-4o) took 3 s in all, the longest 1.5 s']);
  });

  it('counts only the latest run of a stage run again, as its timeline row does', () => {
    const events = [
      ev(0, 'stage_start', { stage: 'synthesis' }),
      ev(1, 'llm_call_end', { stage: 'synthesis', model: 'gpt-4o', duration: 9 }),
      ev(2, 'stage_end', { stage: 'synthesis' }),
      ev(3, 'stage_start', { stage: 'synthesis' }),
      ev(4, 'llm_call_end', { stage: 'synthesis', model: 'o3', duration: 2.4 }),
      ev(5, 'stage_end', { stage: 'synthesis' }),
    ];
    const slow = diagnoseEvents(events, context({ stages })).find((d) => d.id === 'slow_stage')!;
    expect(slow.evidence.examples[0]).toMatch(/; its LLM call \(o3\) took 2\.4 s of it$/);
  });
});

describe('code errors a later run repaired', () => {
  const syntax = (at: number, stage: string, message: string) => ev(at, 'code_exec_error', { stage, exit_code: 1, error: `exit code 1: ${message}`, error_type: 'NonZeroExitCode' });
  const ok = (at: number, stage: string) => ev(at, 'code_exec_end', { stage, exit_code: 0, duration: 0.3 });

  it('says so, and is one step less severe when every failing run was repaired', () => {
    const events = [syntax(0, 'coding', "SyntaxError: expected ':'"), syntax(1, 'coding', 'IndentationError: expected an indented block'), ok(2, 'coding')];
    const [code] = diagnoseEvents(events, context());
    expect([code.id, code.severity]).toEqual(['code_syntax_errors', 'low']);
    expect(code.evidence.examples).toEqual([
      'Repaired: each of the 2 failing runs was followed by a successful run of the code in the same stage (coding)',
      "code_exec_error (coding): exit code 1: SyntaxError: expected ':'",
      'code_exec_error (coding): exit code 1: IndentationError: expected an indented block',
    ]);
    const [zh] = diagnoseEvents(events, context({ messages: messagesFor('zh-CN'), locale: 'zh-CN' }));
    expect(zh.evidence.examples[0]).toBe('已修复：这 2 次失败的运行之后，同一阶段（coding）中的代码都再次运行成功');
  });

  it('keeps its severity when some failing runs were not repaired, and says how many were', () => {
    const events = [syntax(0, 'coding', 'NameError: name "np" is not defined'), ok(1, 'coding'), syntax(2, 'coding', 'KeyError: "mean"'), syntax(3, 'coding', 'KeyError: "mean"')];
    const [code] = diagnoseEvents(events, context());
    expect([code.id, code.severity]).toEqual(['code_runtime_errors', 'high']);
    expect(code.evidence.examples[0]).toBe('1 of the 3 failing runs was followed by a successful run of the code in the same stage (coding); the other 2 were not');
  });

  it('a successful run in another stage repairs nothing', () => {
    const [code] = diagnoseEvents([syntax(0, 'coding', "SyntaxError: expected ':'"), ok(1, 'plots')], context());
    expect(code.severity).toBe('medium');
    expect(code.evidence.examples).toEqual(["code_exec_error (coding): exit code 1: SyntaxError: expected ':'"]);
  });
});

describe('a real agent stuck in a tool loop', () => {
  it('is diagnosed at exit and from its log alike, the failed exit linked to the loop', async () => {
    const dir = tempRunDir('autopsy-tool-loop-');
    // The model keeps asking for the weather while the tool keeps answering "pending", until the step limit.
    const script = writeScript(`
import { init, stage, task, llmCall } from 'agent-autopsy';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer({ handler: () => ({ content: '{"tool":"get_weather","arguments":{"city":"Paris","date":"2025-06-01"}}' }) });
init({ outputDir: process.argv[2] });
try {
  await stage('answer', async () => {
    for (let step = 1; step <= 6; step++) {
      const reply = await llmCall({ model: 'gpt-4o', step }, async () => {
        const response = await fetch(server.baseURL + '/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o', messages: [] }) });
        return JSON.parse((await response.json()).choices[0].message.content);
      });
      await task(reply.tool, { tool: true, toolCallId: 'call_' + step, arguments: JSON.stringify(reply.arguments) }, () => ({ status: 'pending' }));
    }
    throw new Error('Agent stopped: max_steps (6) reached without a final answer');
  });
} catch (error) {
  process.exitCode = 1;
} finally {
  await server.close();
}
`);
    const result = await runNode(script, { args: [dir] });
    expect(result.code).toBe(1);
    const atExit: AutopsyReport = JSON.parse(readFileSync(join(dir, 'Memory', 'logs', 'latent_analysis_report.json'), 'utf8'));
    expect(ids(atExit.diagnoses)).toEqual(['tool_loop', 'crash']);
    const [loop, crash] = atExit.diagnoses;
    expect(loop).toMatchObject({ severity: 'high', confidence: 0.75, title: 'Tool loop: the agent called get_weather 6 times in a row with the same arguments in stage answer' });
    expect(loop.evidence.count).toBe(6);
    expect(loop.evidence.span_ids).toHaveLength(6);
    expect(loop.evidence.examples[0]).toMatch(/^6 calls in a row to get_weather in stage answer within [\d.]+ s, each with the arguments \{"city":"Paris","date":"2025-06-01"\}$/);
    expect(crash.suggestion.startsWith('Most likely a consequence of tool_loop: fix that first. ')).toBe(true);
    expect(readFileSync(join(dir, 'Memory', 'logs', 'autopsy.md'), 'utf8')).toContain('### 1. Tool loop: the agent called get\\_weather 6 times in a row with the same arguments in stage answer\n');
    expect((await cliReport(dir)).diagnoses).toEqual(atExit.diagnoses);
  });
});

describe('an OTLP file of the spans', () => {
  const spans = memorySpans();

  it('reads back the tool calls and their arguments: the same tool_loop as the log', async () => {
    const events = await spans.record(() =>
      stage('answer', async () => {
        for (let step = 1; step <= 4; step++) await task('get_weather', { tool: true, toolCallId: `call_${step}`, arguments: PARIS }, () => ({ status: 'pending' }));
      }),
    );
    const fromLog = diagnoseEvents(events, context()).find((d) => d.id === 'tool_loop')!;
    const { report } = analyzeRunSync(writeOtlpFile(spans.memory.getFinishedSpans()));
    const fromOtlp = report.diagnoses.find((d) => d.id === 'tool_loop')!;
    expect(fromOtlp.title).toBe('Tool loop: the agent called get_weather 4 times in a row with the same arguments in stage answer');
    expect([fromOtlp.evidence.count, fromOtlp.evidence.span_ids]).toEqual([fromLog.evidence.count, fromLog.evidence.span_ids]);
    expect(fromOtlp.evidence.examples[0]).toMatch(/^4 calls in a row to get_weather in stage answer within [\d.]+ s, each with the arguments \{"city":"Paris","date":"2025-06-01"\}$/);
  });
});

describe("other instrumentations' tool spans", () => {
  const spans = memorySpans();
  const tracer = () => trace.getTracer('other-instrumentation');
  /** One tool call as each convention states it: the tool's name and its arguments (a JSON text). */
  const CONVENTIONS: ReadonlyArray<readonly [string, (tool: string, args: string) => { name: string; attributes: Record<string, string> }]> = [
    ['GenAI execute_tool', (tool, args) => ({ name: `execute_tool ${tool}`, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool, 'gen_ai.tool.call.arguments': args } })],
    ['Vercel AI SDK ai.toolCall', (tool, args) => ({ name: 'ai.toolCall', attributes: { 'ai.operationId': 'ai.toolCall', 'ai.toolCall.name': tool, 'ai.toolCall.id': 'call_1', 'ai.toolCall.args': args } })],
    ['OpenInference TOOL', (tool, args) => ({ name: tool, attributes: { 'openinference.span.kind': 'TOOL', 'tool.name': tool, 'input.value': args } })],
    ['OpenLLMetry tool', (tool, args) => ({ name: `${tool}.tool`, attributes: { 'traceloop.span.kind': 'tool', 'traceloop.entity.name': tool, 'traceloop.entity.input': args } })],
  ];
  const DIGEST = `sha256:${createHash('sha256').update(PARIS).digest('hex').slice(0, 16)}`;

  /** Four calls of get_weather in stage answer, each with `args(step)`, as spans of the convention. */
  const loop = (convention: (typeof CONVENTIONS)[number][1], args: (step: number) => string) =>
    stage('answer', () => {
      for (let step = 1; step <= 4; step++) {
        const { name, attributes } = convention('get_weather', args(step));
        tracer().startSpan(name, { attributes }).end();
      }
    });

  it.each(CONVENTIONS)('%s: the same call again and again is a tool_loop; the log keeps only a digest of the arguments', async (_label, convention) => {
    const events = await spans.record(() => loop(convention, () => PARIS));
    const starts = events.filter((event) => event.type === 'task_start');
    expect(starts.map((event) => [event.data.task, event.data.tool, event.data.arguments, event.data.arguments_sha256])).toEqual(Array(4).fill(['get_weather', 'get_weather', undefined, DIGEST]));
    const [toolLoop] = diagnoseEvents(events, context()).filter((d) => d.id === 'tool_loop');
    expect(toolLoop.title).toBe('Tool loop: the agent called get_weather 4 times in a row with the same arguments in stage answer');
    expect(toolLoop.evidence.examples[0]).toMatch(new RegExp(`^4 calls in a row to get_weather in stage answer within [\\d.]+ s, each with the arguments ${DIGEST}$`));
    // An OTLP file of the spans reads back the same calls (it holds the arguments; the report does
    // not). How long they took is not compared: the SDK times a span from a whole millisecond.
    const fromOtlp = analyzeRunSync(writeOtlpFile(spans.memory.getFinishedSpans())).report.diagnoses.find((d) => d.id === 'tool_loop')!;
    const untimed = (example: string) => example.replace(/ within [\d.]+ s,/, ' within N s,');
    expect([fromOtlp.title, untimed(fromOtlp.evidence.examples[0])]).toEqual([toolLoop.title, untimed(toolLoop.evidence.examples[0])]);
  });

  it.each(CONVENTIONS)('%s: a tool span that failed is a tool_errors diagnosis naming the tool, from an OTLP file too', async (_label, convention) => {
    const events = await spans.record(() =>
      stage('answer', () => {
        const { name, attributes } = convention('get_weather', PARIS);
        const span = tracer().startSpan(name, { attributes });
        span.recordException(new Error('weather API returned 503 for Paris'));
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'weather API returned 503 for Paris' });
        span.end();
      }),
    );
    const expected = ['tool_errors', 'A tool call failed: get_weather failed once in stage answer', ['task_error (answer) get_weather: weather API returned 503 for Paris']];
    const live = diagnoseEvents(events, context());
    expect(live.map((d) => [d.id, d.title, d.evidence.examples])).toEqual([expected]);
    const fromOtlp = analyzeRunSync(writeOtlpFile(spans.memory.getFinishedSpans())).report.diagnoses;
    expect(fromOtlp.map((d) => [d.id, d.title, d.evidence.examples])).toEqual([expected]);
  });

  it('with content capture on, the arguments are kept and quoted', async () => {
    const dir = tempRunDir();
    init({ outputDir: dir, handleExit: false, captureContent: true, reportFormats: [] });
    await loop(CONVENTIONS[1][1], () => PARIS);
    const report = (await shutdown())!;
    const events = readTrackerDocument(dir).events.filter((event) => event.type === 'task_start');
    expect(events.map((event) => [event.data.arguments, event.data.arguments_sha256])).toEqual(Array(4).fill([PARIS, undefined]));
    expect(report.diagnoses.find((d) => d.id === 'tool_loop')!.evidence.examples[0]).toMatch(/each with the arguments \{"city":"Paris","date":"2025-06-01"\}$/);
  });

  it('different arguments each time are no loop', async () => {
    const events = await spans.record(() => loop(CONVENTIONS[0][1], (step) => JSON.stringify({ city: 'Paris', page: step })));
    expect(new Set(events.filter((event) => event.type === 'task_start').map((event) => event.data.arguments_sha256)).size).toBe(4);
    expect(ids(diagnoseEvents(events, context()))).not.toContain('tool_loop');
  });
});
