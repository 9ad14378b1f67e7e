import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { analyzeRunSync } from '../analyzers/readRun';
import { RunAnalyzer } from '../analyzers/RunAnalyzer';
import type { AutopsyReport } from '../analyzers/reportTypes';
import { init, llmCall, shutdown, stage, task } from '../src/index';
import type { TruthEvent } from '../src/types';
import { tempRunDir } from './helpers/tempDirs';

/**
 * dependency_unreachable: a connection the agent's own code made (a tool, a database, a vector
 * store, a provider called with plain fetch) was refused, dropped or never resolved. It names what
 * could not be reached, and does not blame the LLM provider the report shows was fine.
 */

const SUGGESTION =
  'A service the agent calls (a tool, an MCP server, a database, vector store or API) refused or dropped the connection, its host name did not resolve, or its program could not be started (spawn … ENOENT: not installed, or not on the PATH the agent runs with). Check that it is up and listening, that the URL, host and port the agent uses are the ones it serves on (environment variables, container or service names, DNS), and that the network lets the agent reach it (firewall, network policy, proxy); run the command of a stdio MCP server by hand: one that exits at start-up or crashes closes the connection (MCP error -32000: Connection closed). If the agent cannot work without it, check it once at start-up and stop with a clear message; otherwise give calls to it a connect timeout and a fallback.';

/** A port on 127.0.0.1 where nothing listens (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

afterEach(async () => {
  await shutdown();
});

describe('dependency_unreachable in a real run', () => {
  it("names the host and port a tool's fetch could not reach, and the task and tool, while the LLM calls are fine", async () => {
    const port = await closedPort();
    const dir = tempRunDir();
    init({ outputDir: dir, handleExit: false });
    for (const question of ['reset password', 'refund policy', 'shipping']) {
      await stage('answer', async () => {
        await task('retrieve', { tool: 'qdrant_search' }, () => fetch(`http://127.0.0.1:${port}/collections/docs/points/search`, { method: 'POST', body: question })).catch(() => undefined);
        await llmCall('answer', { model: 'gpt-4o-mini' }, async (call) => call.setUsage({ inputTokens: 90, outputTokens: 15 }));
      });
    }
    const live = (await shutdown())!;
    expect(live.llm_usage).toMatchObject({ calls: 3, errors: 0 });
    expect(live.diagnoses.map((d) => [d.id, d.severity, d.confidence, d.evidence.count, d.title, d.suggestion])).toEqual([
      ['dependency_unreachable', 'high', 0.85, 3, `A service the agent calls could not be reached (127.0.0.1:${port}, task retrieve, tool qdrant_search)`, SUGGESTION],
    ]);
    expect(live.diagnoses[0].evidence.examples).toEqual([`task_error (answer): fetch failed (cause: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:${port})`]);
    // The report rebuilt from the log says the same, in Chinese as asked.
    const offline = analyzeRunSync(dir).report;
    expect(offline.diagnoses).toEqual(live.diagnoses);
    const zh = analyzeRunSync(dir, { locale: 'zh-CN' }).report.diagnoses[0];
    expect([zh.id, zh.title]).toEqual(['dependency_unreachable', `智能体调用的服务无法连接（127.0.0.1:${port}, task retrieve, tool qdrant_search）`]);
    expect(zh.suggestion.startsWith('智能体调用的某个服务（工具、MCP 服务器、数据库、向量库或 API）拒绝或中断了连接')).toBe(true);
  });
});

describe('dependency_unreachable from events', () => {
  const T0 = Date.parse('2025-01-24T10:30:00.000Z');
  const taskError = (at: number, task: string, error: string, data: Record<string, unknown> = {}): TruthEvent => ({
    timestamp: new Date(T0 + at * 1000).toISOString(),
    elapsed_seconds: at,
    type: 'task_error',
    level: 'ERROR',
    data: { stage: 'work', task, error, ...data },
    span_id: `T${at}`,
    parent_span_id: 'S',
  });
  function report(events: TruthEvent[]): AutopsyReport {
    const analyzer = new RunAnalyzer();
    for (const event of events) analyzer.observe(event);
    return analyzer.buildReport({ now: T0 + 60_000, exit: { reason: 'normal', exit_code: 0, signal: null, at: null } });
  }

  it('says when more than one service could not be reached', () => {
    const result = report([taskError(1, 'search', 'connect ECONNREFUSED 127.0.0.1:6333'), taskError(2, 'save', 'getaddrinfo ENOTFOUND postgres.internal')]);
    expect(result.diagnoses.map((d) => [d.id, d.severity, d.confidence, d.title])).toEqual([
      ['dependency_unreachable', 'medium', 0.85, 'A service the agent calls could not be reached (127.0.0.1:6333, task search, and others)'],
    ]);
  });

  it('keeps the general title when the errors name no host and come from no task', () => {
    const result = report([{ ...taskError(1, '', 'socket hang up'), type: 'uncaught_exception', data: { error: 'socket hang up', error_type: 'Error' } }]);
    expect(result.diagnoses.map((d) => [d.id, d.title])).toEqual([['dependency_unreachable', 'A service the agent calls could not be reached (connection refused or dropped, host not found)']]);
  });

  it('one service refusing in several tasks is one service', () => {
    const result = report([1, 2, 3].map((at) => taskError(at, `search_${at}`, 'connect ECONNREFUSED 127.0.0.1:6333')));
    expect(result.diagnoses[0].title).toBe('A service the agent calls could not be reached (127.0.0.1:6333, task search_1)');
  });
});
