import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openFile, type Browser } from './helpers/chromium';
import { event, runCli, writeTruthLog } from './helpers/cli';
import { tempRunDir } from './helpers/tempDirs';

/**
 * The shares of the token counts (cached input, cache writes, reasoning) on the pages for people:
 * a figure and a model-table column for each share some call stated, a blank cell for a model that
 * stated none, and nothing at all for a run whose calls never did. And calls that stated no token
 * count at all, which the totals leave out.
 */

/** With `withoutTokens`, local-llama's call states no token count (a stream without include_usage). */
function run(withShares: boolean, withoutTokens = false): string {
  const dir = tempRunDir('autopsy-token-pages-');
  const shares = (read: number, reasoning: number) => (withShares ? { cache_read_input_tokens: read, reasoning_tokens: reasoning } : {});
  writeTruthLog(dir, [
    event('stage_start', { stage: 's1' }, 'INFO', 0),
    event('llm_call_start', { model: 'gpt-4o', stage: 's1' }, 'INFO', 0.1),
    event('llm_call_end', { model: 'gpt-4o', stage: 's1', input_tokens: 1200, output_tokens: 300, tokens_used: 1500, ...shares(1000, 120), duration: 0.5 }, 'INFO', 0.6),
    event('llm_call_start', { model: 'gpt-4o', stage: 's1' }, 'INFO', 0.7),
    event('llm_call_end', { model: 'gpt-4o', stage: 's1', input_tokens: 800, output_tokens: 100, tokens_used: 900, ...shares(600, 80), duration: 0.5 }, 'INFO', 1.2),
    event('llm_call_start', { model: 'local-llama', stage: 's1' }, 'INFO', 1.3),
    event('llm_call_end', { model: 'local-llama', stage: 's1', ...(withoutTokens ? {} : { input_tokens: 50, output_tokens: 10, tokens_used: 60 }), duration: 0.5 }, 'INFO', 1.8),
    event('stage_end', { stage: 's1', duration: 2 }, 'INFO', 2),
  ]);
  return dir;
}

/** The LLM usage section of the Markdown report, up to the next section. */
async function markdownUsage(dir: string, locale = 'en'): Promise<string[]> {
  const md = await runCli(['report', dir, '--format', 'md', '--locale', locale]);
  expect(md.stderr).toBe('');
  expect(md.code).toBe(0);
  const lines = md.stdout.split('\n');
  const start = lines.findIndex((line) => /^## (LLM usage|LLM 用量)/.test(line));
  const end = lines.findIndex((line, i) => i > start && line.startsWith('## '));
  return lines.slice(start + 1, end).filter((line) => line !== '');
}

describe('cached and reasoning tokens in autopsy.md', () => {
  it('a figure and a column for each share stated, blank for a model that stated none', async () => {
    expect(await markdownUsage(run(true))).toEqual([
      'Calls: 3 · Errors: 0 · Input tokens: 2050 · Output tokens: 410 · Cached input tokens: 1600 · Reasoning tokens: 200 · Latency p50 / p95 / max: 0.5 / 0.5 / 0.5 s',
      '| Model | Calls | Errors | Input tokens | Output tokens | Cached input tokens | Reasoning tokens |',
      '|---|---|---|---|---|---|---|',
      '| gpt-4o | 2 | 0 | 2000 | 400 | 1600 | 200 |',
      '| local-llama | 1 | 0 | 50 | 10 |  |  |',
    ]);
    expect((await markdownUsage(run(true), 'zh-CN')).slice(0, 2)).toEqual([
      '调用次数: 3 · 错误: 0 · 输入 token: 2050 · 输出 token: 410 · 缓存命中的输入 token: 1600 · 推理 token: 200 · 延迟 p50 / p95 / 最大: 0.5 / 0.5 / 0.5 s',
      '| 模型 | 调用次数 | 错误 | 输入 token | 输出 token | 缓存命中的输入 token | 推理 token |',
    ]);
  });

  it('nothing for a run whose calls stated no shares', async () => {
    expect(await markdownUsage(run(false))).toEqual([
      'Calls: 3 · Errors: 0 · Input tokens: 2050 · Output tokens: 410 · Latency p50 / p95 / max: 0.5 / 0.5 / 0.5 s',
      '| Model | Calls | Errors | Input tokens | Output tokens |',
      '|---|---|---|---|---|',
      '| gpt-4o | 2 | 0 | 2000 | 400 |',
      '| local-llama | 1 | 0 | 50 | 10 |',
    ]);
  });
});

describe('cached and reasoning tokens in autopsy.html', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function open(withShares: boolean, withoutTokens = false) {
    const dir = run(withShares, withoutTokens);
    const html = join(dir, 'autopsy.html');
    const made = await runCli(['report', dir, '--format', 'html', '--out', html]);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    return openFile(browser, html);
  }

  it('a card and a column for each share stated', async () => {
    const { page, problems } = await open(true);
    expect(problems).toEqual([]);
    expect(await page.locator('#llm [data-key="cache_read_input_tokens"] .v').textContent()).toBe('1,600');
    expect(await page.locator('#llm [data-key="reasoning_tokens"] .v').textContent()).toBe('200');
    expect(await page.locator('#llm [data-key="cache_creation_input_tokens"]').count()).toBe(0);
    expect(await page.locator('#llm table th').allTextContents()).toEqual(['Model', 'Calls', 'Errors', 'Input tokens', 'Output tokens', 'Cached input tokens', 'Reasoning tokens']);
    const rows = await page.locator('#llm table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows).toEqual([
      ['gpt-4o', '2', '0', '2,000', '400', '1,600', '200'],
      ['local-llama', '1', '0', '50', '10', '', ''],
    ]);
  });

  it('none for a run whose calls stated no shares', async () => {
    const { page } = await open(false);
    expect(await page.locator('#llm [data-key="cache_read_input_tokens"], #llm [data-key="reasoning_tokens"]').count()).toBe(0);
    expect(await page.locator('#llm table th').allTextContents()).toEqual(['Model', 'Calls', 'Errors', 'Input tokens', 'Output tokens']);
    expect(await page.locator('[data-key="calls_without_tokens"]').count()).toBe(0);
    expect(await page.locator('#summary [data-key="total_tokens"] .v').textContent()).toBe('2,460');
  });

  it('a call that stated no token count: the summary, a card, a visible note and a column say the totals leave it out', async () => {
    const { page, problems } = await open(false, true);
    expect(problems).toEqual([]);
    expect(await page.locator('#summary [data-key="total_tokens"] .v').textContent()).toBe('2,400 (1 of 3 calls not counted)');
    expect(await page.locator('#llm .card[data-key="calls_without_tokens"] .v').textContent()).toBe('1');
    const note = page.locator('#llm p.note[data-key="calls_without_tokens"]');
    expect(await note.isVisible()).toBe(true);
    expect(await note.textContent()).toBe('The token totals leave out 1 of 3 calls: it stated no token counts. An openai stream states its usage only with stream_options: { include_usage: true }, and OpenLLMetry\'s and OpenInference\'s instrumentations record none for a stream even then. A call recorded from its HTTP request alone (a client no instrumentation sees, such as an AI SDK provider without telemetry) has none either.');
    expect(await page.locator('#llm table th').allTextContents()).toEqual(['Model', 'Calls', 'Errors', 'Input tokens', 'Output tokens', 'Calls without token counts']);
    const rows = await page.locator('#llm table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows).toEqual([
      ['gpt-4o', '2', '0', '2,000', '400', '0'],
      ['local-llama', '1', '0', '0', '0', '1'],
    ]);
  });
});
