import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeRun } from '../analyzers/readRun';
import type { AutopsyReport } from '../analyzers/reportTypes';
import { HtmlEventCollector } from '../exporters/HtmlEventCollector';
import { renderHtmlReport } from '../exporters/htmlReport';
import type { TruthEvent } from '../src/types';
import { runNode, writeScript } from './helpers/childProcess';
import { launchChromium, openFile, type Browser, type OpenedPage } from './helpers/chromium';
import { event, runCli, writeTruthLog } from './helpers/cli';
import { tempRunDir } from './helpers/tempDirs';

// Strings that would run code, load something or add elements if any of them reached the page unescaped.
const PAYLOAD_STAGE = 'x"><svg onload=window.__pwned=4>';
const PAYLOAD_TYPE = `bad'"><img src=x onerror=window.__pwned=6>`;
const PAYLOADS = {
  script: '429 Too Many Requests <script>window.__pwned=1</script>',
  attribute: '"><img src=x onerror="window.__pwned=2">',
  closeScript: '</script><script>window.__pwned=3</script>',
  img: 'SyntaxError: <img src=x onerror=window.__pwned=5>',
  iframe: 'never ends <iframe src="https://example.com/"></iframe>',
  comment: '<!-- <script>window.__pwned=7</script> -->',
};

function craftedRun(): TruthEvent[] {
  const events: TruthEvent[] = [
    event('stage_start', { stage: 's1', name: 'Load <b>data</b>' }, 'INFO', 0),
    event('task_start', { task: 'fetch', stage: 's1' }, 'INFO', 0.1),
    event('llm_call_start', { model: 'gpt-4o', stage: 's1' }, 'INFO', 0.2),
    event('llm_call_error', { model: 'gpt-4o', stage: 's1', error: PAYLOADS.script, error_type: 'RateLimitError', http_status: 429, duration: 0.3 }, 'ERROR', 0.5),
    event('llm_call_start', { model: 'gpt-4o', stage: 's1' }, 'INFO', 0.6),
    event('llm_call_end', { model: 'gpt-4o', stage: 's1', input_tokens: 10, output_tokens: 5, tokens_used: 15, duration: 0.3 }, 'INFO', 0.9),
    event('task_end', { task: 'fetch', stage: 's1', duration: 0.9 }, 'INFO', 1.0),
    event('note', { stage: 's1', text: PAYLOADS.attribute, comment: PAYLOADS.comment }, 'INFO', 1.1),
    event('syntax_error', { stage: 's1', error: PAYLOADS.closeScript }, 'ERROR', 1.2),
  ];
  // Enough ordinary events that the list scrolls (and only part of it is drawn).
  for (let i = 0; i < 500; i++) {
    events.push(event('progress', { stage: i % 2 === 0 ? 's1' : 's2', step: i }, i % 5 === 0 ? 'WARNING' : 'INFO', 1.2 + i * 0.001));
  }
  events.push(
    event('stage_end', { stage: 's1', name: 'Load <b>data</b>', duration: 1.8 }, 'INFO', 1.8),
    event('stage_start', { stage: PAYLOAD_STAGE }, 'INFO', 2.0),
    event('code_exec_start', { language: 'python', stage: PAYLOAD_STAGE }, 'INFO', 2.1),
    event('code_exec_error', { language: 'python', stage: PAYLOAD_STAGE, error: PAYLOADS.img, duration: 0.4 }, 'ERROR', 2.5),
    event(PAYLOAD_TYPE, { stage: PAYLOAD_STAGE, error: PAYLOADS.attribute }, 'ERROR', 2.6),
    event('task_start', { task: PAYLOADS.iframe, stage: PAYLOAD_STAGE }, 'INFO', 2.7),
  );
  return events;
}

const tempDir = () => tempRunDir('autopsy-html-');

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

/** Nothing ran, loaded or appeared that the report did not put there itself. */
async function expectInert(opened: OpenedPage): Promise<void> {
  const { page } = opened;
  expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
  expect(await page.evaluate('window.__pwned')).toBeUndefined();
  expect(await page.locator('img, iframe, object, embed, svg [onload], [onerror]').count()).toBe(0);
  // Our two script elements: the JSON data block and the page's script.
  expect(await page.locator('script').count()).toBeLessThanOrEqual(2);
  expect(opened.dialogs).toEqual([]);
  expect(opened.problems).toEqual([]);
  expect(opened.requests.filter((url) => !url.startsWith('file://') && !url.startsWith('data:'))).toEqual([]);
}

async function selectByLabel(page: OpenedPage['page'], name: string, label: string): Promise<void> {
  const value = await page.locator(`select[name=${name}] option`).filter({ hasText: label }).first().getAttribute('value');
  expect(value).not.toBeNull();
  await page.locator(`select[name=${name}]`).selectOption(value as string);
}

async function shownCount(page: OpenedPage['page']): Promise<string> {
  return (await page.locator('.ev-count').textContent()) ?? '';
}

describe('autopsy.html from `agent-autopsy report --format html`', () => {
  let report: AutopsyReport;
  let opened: OpenedPage;
  const events = craftedRun();

  beforeAll(async () => {
    const dir = tempDir();
    writeTruthLog(dir, events, { closed: false });
    writeFileSync(join(dir, 'Memory', 'logs', 'autofix_log.json'), JSON.stringify({ type: 'autofix_log', total_attempts: 4, successful_fixes: 1, failed_fixes: 3, fixes_by_type: { syntax: 4 }, fixes_by_layer: { layer1: 2, layer2: 1, layer3: 1 } }));
    const html = join(dir, 'autopsy.html');
    const json = await runCli(['report', dir, '--format', 'json']);
    expect(json.code).toBe(0);
    report = JSON.parse(json.stdout);
    const made = await runCli(['report', dir, '--format', 'html', '--out', html]);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    opened = await openFile(browser, html);
  });

  it('renders without console errors, loads nothing and keeps every injection payload inert', async () => {
    await expectInert(opened);
    const { page } = opened;
    // The payloads are shown as the text they are.
    const failures = (await page.locator('#failures').textContent()) ?? '';
    expect(failures).toContain(PAYLOADS.script);
    expect(failures).toContain(PAYLOADS.img);
    expect(failures).toContain(PAYLOAD_TYPE.slice(0, 27));
    expect(await page.locator('#unfinished').textContent()).toContain(PAYLOADS.iframe);
    expect(await page.locator('select[name=stage] option').allTextContents()).toContain(`${PAYLOAD_STAGE} (5)`);
    expect(await page.locator('select[name=type] option').allTextContents()).toContain(`${PAYLOAD_TYPE} (1)`);
    expect(await page.title()).toContain('Agent autopsy');
  });

  it('shows the same key numbers as the JSON report, summary and diagnoses first', async () => {
    const { page } = opened;
    const card = async (key: string) => (await page.locator(`[data-key="${key}"] .v`).textContent()) ?? '';
    expect(await card('total_failures')).toBe(String(report.summary.total_failures));
    expect(report.summary.total_failures).toBe(4);
    expect(await card('most_common_failure')).toBe(report.summary.most_common_failure);
    expect(await card('most_problematic_stage')).toBe(report.summary.most_problematic_stage);
    expect(await card('autofix_success_rate')).toBe(`${report.summary.autofix_success_rate} (4)`);
    expect(await card('llm_calls')).toBe(`${report.llm_usage.calls} (${report.llm_usage.errors} errors)`);
    expect(await card('total_events')).toBe(report.run.total_events.toLocaleString('en-US'));
    expect(await card('exit')).toBe(report.exit.description);
    expect(await card('autofix_failed')).toBe('3');
    expect(await page.locator('main > section').first().getAttribute('id')).toBe('summary');
    expect(await page.locator('main > section').nth(1).getAttribute('id')).toBe('diagnoses');
    expect(await page.locator('#diagnoses [data-diagnosis]').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-diagnosis')))).toEqual(report.diagnoses.map((d) => d.id));
    // Failure charts: one bar per type and stage, with the counts of the report.
    const bars = async (id: string) =>
      page.locator(`#${id} .chart-row`).evaluateAll((rows) => rows.map((row) => [row.querySelector('title')?.textContent ?? '']));
    expect((await bars('failures-by-type')).flat().sort()).toEqual(Object.entries(report.failure_analysis.failures_by_type).map(([k, v]) => `${k}: ${v}`).sort());
    expect((await bars('failures-by-stage')).flat().sort()).toEqual(Object.entries(report.failure_analysis.failures_by_stage).map(([k, v]) => `${k}: ${v}`).sort());
    // Timeline: a group per stage, failed spans marked, the spans left open drawn as unfinished.
    expect(await page.locator('#timeline .tl-group').evaluateAll((groups) => groups.map((g) => g.getAttribute('data-stage')))).toEqual(['s1', PAYLOAD_STAGE]);
    expect(await page.locator('#timeline rect.bar.outcome-error').count()).toBe(2);
    expect(await page.locator('#timeline rect.bar.outcome-unfinished').count()).toBe(report.unfinished.length);
    expect(report.unfinished.length).toBe(2);
    expect(await page.locator('#timeline .tl-mark').count()).toBe(2);
    expect(await page.locator('#unfinished tbody tr').count()).toBe(2);
    expect(await page.locator('#llm tbody tr').count()).toBe(Object.keys(report.llm_usage.by_model).length);
  });

  it('lists every event, draws only the rows in view, and filters by level, type, stage and text', async () => {
    const { page } = opened;
    const total = events.length;
    expect(await shownCount(page)).toBe(`${total} / ${total}`);
    const drawn = await page.locator('.ev-row').count();
    expect(drawn).toBeGreaterThan(10);
    expect(drawn).toBeLessThan(100);

    const errors = events.filter((e) => e.level === 'ERROR').length;
    await selectByLabel(page, 'level', 'ERROR');
    expect(await shownCount(page)).toBe(`${errors} / ${total}`);
    expect(await page.locator('.ev-row').count()).toBe(errors);
    expect(await page.locator('.ev-row.lvl-ERROR').count()).toBe(errors);

    await page.locator('select[name=level]').selectOption('');
    await selectByLabel(page, 'type', 'progress');
    await selectByLabel(page, 'stage', 's2');
    expect(await shownCount(page)).toBe(`250 / ${total}`);
    await selectByLabel(page, 'level', 'WARNING');
    expect(await shownCount(page)).toBe(`${events.filter((e) => e.type === 'progress' && e.data.stage === 's2' && e.level === 'WARNING').length} / ${total}`);

    for (const name of ['type', 'stage', 'level']) await page.locator(`select[name=${name}]`).selectOption('');
    await page.locator('input[name=q]').fill('__pwned=3');
    await expect.poll(() => shownCount(page), { timeout: 10_000 }).toBe(`1 / ${total}`);
    await page.locator('.ev-row').first().click();
    const detail = JSON.parse((await page.locator('.ev-detail').textContent()) ?? '{}');
    expect(detail).toMatchObject({ type: 'syntax_error', level: 'ERROR', stage: 's1', data: { stage: 's1', error: PAYLOADS.closeScript } });
    await page.locator('input[name=q]').fill('');
    await expect.poll(() => shownCount(page), { timeout: 10_000 }).toBe(`${total} / ${total}`);

    // A bar of the failures chart filters the list to its type.
    await page.locator('#failures-by-type [data-filter-type="llm_call_error"]').click();
    expect(await shownCount(page)).toBe(`1 / ${total}`);
    expect(await page.locator('select[name=type]').evaluate((s) => (s as unknown as { selectedOptions: Array<{ textContent: string }> }).selectedOptions[0].textContent)).toBe('llm_call_error (1)');
    await expectInert(opened);
  });
});

describe('autopsy.html rendered in-process', () => {
  it('escapes user rule titles and suggestions too', async () => {
    const dir = tempDir();
    writeTruthLog(dir, craftedRun());
    const collector = new HtmlEventCollector();
    const { report } = await analyzeRun(dir, {
      onEvent: (e) => collector.observe(e),
      rules: [{ id: 'user_rule', title: '<script>window.__pwned=9</script>', suggestion: '<a href="javascript:window.__pwned=10">fix</a>', match: /progress/, severity: 'critical' }],
    });
    // Whatever a diagnosis engine puts in a report is escaped, ids and evidence included.
    report.diagnoses.unshift({
      id: 'evil"><img src=x onerror=window.__pwned=8>',
      severity: 'critical',
      confidence: 1,
      title: PAYLOADS.closeScript,
      evidence: { count: 1, first: PAYLOADS.attribute, last: null, examples: [PAYLOADS.img, PAYLOADS.comment], span_ids: [PAYLOADS.script] },
      suggestion: PAYLOADS.iframe,
    });
    const path = join(dir, 'autopsy.html');
    writeFileSync(path, renderHtmlReport(report, { events: collector }));
    const opened = await openFile(browser, path);
    await expectInert(opened);
    const cards = opened.page.locator('#diagnoses [data-diagnosis]');
    expect(await cards.first().getAttribute('data-diagnosis')).toBe('evil"><img src=x onerror=window.__pwned=8>');
    expect(await cards.first().locator('.title').textContent()).toBe(PAYLOADS.closeScript);
    expect(await cards.first().locator('.fix').textContent()).toBe(PAYLOADS.iframe);
    expect(await cards.first().locator('li').allTextContents()).toEqual([PAYLOADS.img, PAYLOADS.comment]);
    const rule = opened.page.locator('#diagnoses [data-diagnosis="user_rule"]');
    expect(await rule.locator('.title').textContent()).toBe('<script>window.__pwned=9</script>');
    expect(await rule.locator('.fix').textContent()).toBe('<a href="javascript:window.__pwned=10">fix</a>');
    expect(await opened.page.locator('a[href^="javascript"]').count()).toBe(0);
    await opened.page.close();
  });

  it('in zh-CN translates the failure-pattern headers, as autopsy.md does', async () => {
    const dir = tempDir();
    const events = [event('stage_start', { stage: 's1' }, 'INFO', 0)];
    for (let i = 0; i < 4; i++) events.push(event('llm_call_error', { stage: 's1', model: 'm', error: 'boom' }, 'ERROR', 0.1 + i / 10));
    writeTruthLog(dir, events);
    const { report } = await analyzeRun(dir, { locale: 'zh-CN' });
    const path = join(dir, 'autopsy.html');
    writeFileSync(path, renderHtmlReport(report));
    const opened = await openFile(browser, path);
    expect(await opened.page.locator('#suggestions th').allTextContents()).toEqual(['模式', '严重程度', '描述', '建议']);
    await expectInert(opened);
    await opened.page.close();
  });

  it('keeps a row of a very long error message a few lines tall, with the whole message in it', async () => {
    const dir = tempDir();
    const long = `RuntimeError: ${'W'.repeat(10_000)}`;
    const events = [event('stage_start', { stage: 's1' }, 'INFO', 0)];
    for (let i = 0; i < 3; i++) events.push(event('task_error', { stage: 's1', task: 't', error: `${long}${i}` }, 'ERROR', 0.1 + i / 10));
    writeTruthLog(dir, events);
    const { report } = await analyzeRun(dir);
    const path = join(dir, 'autopsy.html');
    writeFileSync(path, renderHtmlReport(report));
    const opened = await openFile(browser, path);
    const rows = opened.page.locator('#failures tbody tr');
    expect(await rows.count()).toBe(3);
    for (let i = 0; i < 3; i++) {
      expect(await rows.nth(i).locator('td').nth(3).textContent()).toBe(`${long}${i}`);
      expect((await rows.nth(i).boundingBox())?.height).toBeLessThan(300);
    }
    await expectInert(opened);
    await opened.page.close();
  });

  it('filters by a bar whose type or stage holds a character HTML attributes cannot keep (NUL, CR)', async () => {
    const dir = tempDir();
    const type = 'bad\u0000type';
    const stage = 'line1\r\nline2\rline3';
    const events = [event('stage_start', { stage }, 'INFO', 0)];
    for (let i = 0; i < 3; i++) events.push(event(type, { stage, error: `e${i}` }, 'ERROR', 0.1 + i / 10));
    events.push(event('stage_end', { stage }, 'INFO', 1), event('task_error', { stage: 'other', error: 'x' }, 'ERROR', 1.1));
    writeTruthLog(dir, events);
    const collector = new HtmlEventCollector();
    const { report } = await analyzeRun(dir, { onEvent: (e) => collector.observe(e) });
    const path = join(dir, 'autopsy.html');
    writeFileSync(path, renderHtmlReport(report, { events: collector }));
    const opened = await openFile(browser, path);
    const { page } = opened;
    await page.locator('#failures-by-type .chart-row.linked').first().dispatchEvent('click');
    expect(await shownCount(page)).toBe('3 / 6');
    await page.locator('#failures-by-stage .chart-row.linked').first().dispatchEvent('click');
    expect(await shownCount(page)).toBe('5 / 6');
    await expectInert(opened);
    await page.close();
  });
});

describe('autopsy.html of a 100,000-event run', () => {
  it('opens, counts and filters every event while drawing only a screenful', async () => {
    const dir = tempDir();
    const logDir = join(dir, 'Memory', 'logs');
    const lines = ['{"start_time": "2026-01-01T00:00:00.000000Z", "events": ['];
    const base = Date.UTC(2026, 0, 1);
    let errors = 0;
    let errorsInStage1 = 0;
    for (let i = 0; i < 100_000; i++) {
      const level = i % 101 === 7 ? 'ERROR' : 'INFO';
      if (level === 'ERROR') errors++;
      if (level === 'ERROR' && i % 4 === 1) errorsInStage1++;
      const at = new Date(base + i).toISOString().replace('Z', '000Z');
      const type = level === 'ERROR' ? 'task_error' : i % 2 ? 'tick' : 'tock';
      lines.push(`${JSON.stringify({ timestamp: at, elapsed_seconds: i / 1000, type, level, data: { stage: `stage${i % 4}`, i, error: level === 'ERROR' ? `failure ${i}` : undefined } })},`);
    }
    lines[lines.length - 1] = lines[lines.length - 1].slice(0, -1);
    lines.push('], "total_events": 100000}');
    mkdirSync(logDir, { recursive: true });
    writeFileSync(join(logDir, 'execution_tracker.json'), `${lines.join('\n')}\n`);
    const html = join(dir, 'big.html');
    const made = await runCli(['report', dir, '--format', 'html', '--out', html], { timeoutMs: 60_000 });
    expect(made.code).toBe(0);
    expect(made.stderr).toBe('');

    const opened = await openFile(browser, html);
    const { page } = opened;
    expect(await shownCount(page)).toBe('100000 / 100000');
    expect(await page.locator('[data-key="total_events"] .v').textContent()).toBe('100,000');
    expect(await page.locator('.ev-row').count()).toBeLessThan(100);
    // Scrolled to the end, the last event is drawn.
    await page.locator('.ev-viewport').evaluate((v) => {
      v.scrollTop = v.scrollHeight;
    });
    await expect.poll(() => page.locator('.ev-rows .ev-row').last().getAttribute('data-index'), { timeout: 10_000 }).toBe('99999');
    expect(await page.locator('.ev-row').last().locator('.c-data').textContent()).toBe('{"stage":"stage3","i":99999}');
    await selectByLabel(page, 'level', 'ERROR');
    expect(await shownCount(page)).toBe(`${errors} / 100000`);
    await selectByLabel(page, 'stage', 'stage1');
    expect(await shownCount(page)).toBe(`${errorsInStage1} / 100000`);
    expect(opened.problems).toEqual([]);
    await page.close();
  });
});

describe('autopsy.html written when the process ends', () => {
  it('has the report sections without the event list, and says how to get it', async () => {
    const dir = tempDir();
    const script = writeScript(`
import { init, shutdown, stage, task, llmCall } from 'agent-autopsy';
init({ outputDir: process.argv[2] });
await stage('stage1', { name: 'Plan <i>it</i>' }, async () => {
  await llmCall({ model: 'gpt-4o' }, async (call) => { call.setUsage({ inputTokens: 7, outputTokens: 2 }); });
  await task('t', async () => { throw Object.assign(new Error('boom </script><script>window.__pwned=1</script>'), { status: 500 }); }).catch(() => {});
});
await shutdown();
`);
    const child = await runNode(script, { args: [dir] });
    expect(child.code).toBe(0);
    const html = join(dir, 'Memory', 'logs', 'autopsy.html');
    expect(existsSync(html)).toBe(true);
    const report = JSON.parse(readFileSync(join(dir, 'Memory', 'logs', 'latent_analysis_report.json'), 'utf8')) as AutopsyReport;
    const opened = await openFile(browser, html);
    await expectInert(opened);
    const { page } = opened;
    expect(await page.locator('[data-key="total_failures"] .v').textContent()).toBe(String(report.summary.total_failures));
    expect(await page.locator('[data-key="llm_calls"] .v').textContent()).toBe('1 (0 errors)');
    expect(await page.locator('#event-list').count()).toBe(0);
    expect(await page.locator('#events pre').textContent()).toBe(`npx agent-autopsy report ${dir} --format html --out autopsy-full.html`);
    expect(await page.locator('#timeline .tl-group').count()).toBe(1);
    expect(await page.locator('#timeline .tl-label').textContent()).toBe('stage1 · Plan <i>it</i>');
    expect(await page.locator('#failures').textContent()).toContain('boom </script><script>window.__pwned=1</script>');
    // Ended by shutdown(), before the process had an exit code: not marked.
    expect(report.exit.exit_code).toBeNull();
    expect(await page.locator('[data-key="exit"] .v').textContent()).toBe('by shutdown()');
    expect(await page.locator('[data-key="exit"]').getAttribute('class')).toBe('card');
    await page.close();
  });

  it('shows a failing exit code in the summary, marked, as the Markdown header does (no failure was recorded)', async () => {
    const dir = tempDir();
    const script = writeScript(`
import { init, stage } from 'agent-autopsy';
init({ outputDir: process.argv[2] });
await stage('validate', async () => {});
process.exitCode = 1;
`);
    const child = await runNode(script, { args: [dir] });
    expect(child.code).toBe(1);
    const html = join(dir, 'Memory', 'logs', 'autopsy.html');
    const md = readFileSync(join(dir, 'Memory', 'logs', 'autopsy.md'), 'utf8');
    expect(md).toContain('Ended: **normally (event loop drained)** (exit code 1)');
    const opened = await openFile(browser, html);
    await expectInert(opened);
    const { page } = opened;
    expect(await page.locator('[data-key="total_failures"] .v').textContent()).toBe('0');
    expect(await page.locator('[data-key="exit"] .v').textContent()).toBe('normally (event loop drained) (exit code 1)');
    expect(await page.locator('[data-key="exit"]').getAttribute('class')).toBe('card bad');
    await page.close();
  });
});

describe('autopsy.html of a run with no events, from `agent-autopsy report --format html`', () => {
  it('has the (empty) event list instead of telling the reader to run the command that made it', async () => {
    const dir = tempDir();
    writeTruthLog(dir, []);
    const html = join(dir, 'autopsy-full.html');
    const made = await runCli(['report', dir, '--format', 'html', '--out', html]);
    expect(made.code).toBe(0);
    const opened = await openFile(browser, html);
    const { page } = opened;
    expect(await page.locator('#event-list').count()).toBe(1);
    expect(await shownCount(page)).toBe('0 / 0');
    expect(await page.locator('#events').textContent()).not.toContain('--format html --out');
    await expectInert(opened);
    await page.close();
  });
});

describe('autopsy.html of a saved report that lacks sections, from `agent-autopsy report --format html`', () => {
  // As the original Python reporter writes it: timestamp, failure_analysis, autofix_statistics, fix_suggestions, summary.
  const original = join(__dirname, 'fixtures', 'reports', 'original_reporter.json');
  const na = 'not recorded in this report (written by the original reporter)';
  const naSection = 'Not recorded in this report (written by the original reporter).';

  async function open(input: string, ...args: string[]): Promise<OpenedPage> {
    const html = join(tempDir(), 'autopsy.html');
    expect(await runCli(['report', input, '--format', 'html', '--out', html, ...args])).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const opened = await openFile(browser, html);
    await expectInert(opened);
    return opened;
  }

  it("of the original reporter: says each section it lacks is not recorded, rather than showing zeros", async () => {
    const { page } = await open(original);
    const card = async (key: string) => (await page.locator(`[data-key="${key}"] .v`).textContent()) ?? '';
    // What the report has, as it has it.
    expect(await card('total_failures')).toBe('3');
    expect(await card('autofix_success_rate')).toBe('0.0% (2)');
    expect(await card('autofix_failed')).toBe('2');
    expect(await page.locator('#failures tbody tr').count()).toBe(3);
    // What it lacks: not "0 (0 errors)", not "0" events, not an ending "in a way the log does not record".
    for (const key of ['llm_calls', 'total_tokens', 'total_events', 'duration', 'exit']) expect(await card(key), key).toBe(na);
    expect(await page.locator('header .meta span').allTextContents()).toEqual([`Run: ${na}`, 'Generated: 2026-01-02T09:30:00.123456']);
    for (const id of ['diagnoses', 'llm', 'unfinished', 'exit']) {
      expect(await page.locator(`#${id} > :not(h2)`).allTextContents(), id).toEqual([naSection]);
    }
    // The timeline still marks the failures the report lists; its stage table is what is not recorded.
    expect(await page.locator('#timeline .tl-mark').count()).toBeGreaterThan(0);
    expect(await page.locator('#timeline > p').allTextContents()).toEqual([naSection]);
    expect(await page.locator('#timeline table').count()).toBe(0);
    expect(await page.locator('nav a').allTextContents()).toEqual(['Summary', 'Diagnoses', 'Fix suggestions', 'Timeline', 'Failures by type / Failures by stage', 'LLM usage', 'Unfinished spans', 'Autofix statistics', 'How the process ended', 'Events']);
    // A saved report holds no events: the page says so, not that the process kept them out at exit.
    expect(await page.locator('#events > p').textContent()).toBe(
      "A saved report holds no events. For the full, filterable list, run this on the run's log (its directory or execution_tracker.json): npx agent-autopsy report '<run dir>' --format html --out autopsy-full.html",
    );
    await page.close();

    const zh = await open(original, '--locale', 'zh-CN');
    expect(await zh.page.locator('[data-key="llm_calls"] .v').textContent()).toBe('本报告未记录（由原始报告器生成）');
    expect(await zh.page.locator('#llm > p').textContent()).toBe('本报告未记录此部分（由原始报告器生成）。');
    await zh.page.close();
  });

  it('of this library: says only what it lacks is not recorded; a complete one has no such note', async () => {
    const dir = tempDir();
    writeTruthLog(dir, craftedRun());
    const ours = JSON.parse((await runCli(['report', dir])).stdout) as AutopsyReport;
    const complete = join(dir, 'complete.json');
    writeFileSync(complete, JSON.stringify(ours));
    const full = await open(complete);
    expect(await full.page.locator('.not-recorded').count()).toBe(0);
    expect(await full.page.locator('[data-key="llm_calls"] .v').textContent()).toBe(`${ours.llm_usage.calls} (${ours.llm_usage.errors} errors)`);
    await full.page.close();

    const partial = join(dir, 'partial.json');
    writeFileSync(partial, JSON.stringify({ ...ours, llm_usage: null }));
    const { page } = await open(partial);
    expect(await page.locator('[data-key="llm_calls"] .v').textContent()).toBe('not recorded in this report');
    expect(await page.locator('[data-key="total_tokens"] .v').textContent()).toBe('not recorded in this report');
    expect(await page.locator('#llm > :not(h2)').allTextContents()).toEqual(['Not recorded in this report.']);
    // Everything else is there.
    expect(await page.locator('.not-recorded').count()).toBe(3);
    expect(await page.locator('[data-key="total_events"] .v').textContent()).toBe(ours.run.total_events.toLocaleString('en-US'));
    expect(await page.locator('#diagnoses [data-diagnosis]').count()).toBe(ours.diagnoses.length);
    expect(await page.locator('#unfinished tbody tr').count()).toBe(ours.unfinished.length);
    await page.close();
  });
});

describe('autopsy.html with the keyboard and a screen reader, and on a phone', () => {
  let opened: OpenedPage;
  let html: string;
  const events = [
    event('stage_start', { stage: 's1' }, 'INFO', 0),
    event('llm_call_start', { model: 'gpt-4o', stage: 's1' }, 'INFO', 0.1),
    event('llm_call_error', { model: 'gpt-4o', stage: 's1', error: '429 Too Many Requests', http_status: 429 }, 'ERROR', 0.2),
    event('task_error', { task: 't', stage: 's1', error: 'boom' }, 'ERROR', 0.3),
    event('task_error', { task: 't', stage: 's1', error: 'boom again' }, 'ERROR', 0.4),
    event('stage_end', { stage: 's1', duration: 0.5 }, 'INFO', 0.5),
  ];

  beforeAll(async () => {
    const dir = tempDir();
    writeTruthLog(dir, events);
    html = join(dir, 'autopsy-full.html');
    expect((await runCli(['report', dir, '--format', 'html', '--out', html])).code).toBe(0);
    opened = await openFile(browser, html);
  });

  it('fits a 375 px wide screen: nothing but wide tables and the event list scrolls sideways, each in its own box', async () => {
    const phone = await openFile(browser, html);
    const { page } = phone;
    await page.setViewportSize({ width: 375, height: 800 });
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBe(375);
    // The event list's header and rows scroll together, so the columns stay under their names.
    const left = async (selector: string) => (await page.locator(selector).first().boundingBox())?.x;
    await page.locator('.ev-scroll').evaluate((box) => {
      box.scrollLeft = 200;
    });
    expect(await left('.ev-row .c-data')).toBe(await left('.ev-head span:last-child'));
    expect(phone.problems).toEqual([]);
    await page.close();
  });

  it('with JavaScript off, says the event list needs it instead of showing an empty list as "6 / 6 shown"', async () => {
    const page = await browser.context.newPage();
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send('Emulation.setScriptExecutionDisabled', { value: true });
    await page.goto(`file://${html}`);
    expect(await page.locator('.ev-row').count()).toBe(0);
    expect(await page.locator('#events .filters').isVisible()).toBe(false);
    expect(await page.locator('#events .ev-scroll').isVisible()).toBe(false);
    expect(await page.locator('#events').innerText()).toContain('The filterable event list needs JavaScript');
    // The rest of the report is there.
    expect(await page.locator('[data-key="total_failures"] .v').textContent()).toBe('3');
    await page.close();
  });

  it('names the failure-chart bars as buttons that Enter and Space press', async () => {
    const { page } = opened;
    const bar = page.getByRole('button', { name: 'task_error: 2' });
    expect(await bar.count()).toBe(1);
    await bar.focus();
    await page.keyboard.press('Space');
    expect(await shownCount(page)).toBe('2 / 6');
    await page.getByRole('button', { name: 'llm_call_error: 1' }).focus();
    await page.keyboard.press('Enter');
    expect(await shownCount(page)).toBe('1 / 6');
    // The charts that filter nothing are images with their numbers as their name.
    expect(await page.getByRole('img', { name: 'RateLimitError: 1' }).count() + (await page.getByRole('img', { name: '429: 1' }).count())).toBeGreaterThan(0);
  });

  it('opens an event of the list from the keyboard: Tab to the list, arrows to a row, Enter', async () => {
    const { page } = opened;
    await page.locator('select[name=type]').selectOption('');
    expect(await shownCount(page)).toBe('6 / 6');
    await page.locator('input[name=q]').focus();
    await page.keyboard.press('Tab');
    const list = page.getByRole('listbox', { name: 'Events' });
    expect(await list.count()).toBe(1);
    expect(await list.evaluate((element) => element.matches(':focus'))).toBe(true);
    expect(await list.getByRole('option').count()).toBe(6);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Enter');
    expect(JSON.parse((await page.locator('.ev-detail').textContent()) ?? '{}')).toMatchObject({ type: 'llm_call_start', data: { model: 'gpt-4o' } });
    expect(await list.getByRole('option', { selected: true }).textContent()).toContain('llm_call_start');
    await page.keyboard.press('End');
    await page.keyboard.press('Space');
    expect(JSON.parse((await page.locator('.ev-detail').textContent()) ?? '{}')).toMatchObject({ type: 'stage_end' });
    expect(opened.problems).toEqual([]);
  });
});

describe("autopsy.html: a diagnosis's span ids lead to the span's events and timeline bar", () => {
  // One span id is a payload: ids come from the app (or a log someone wrote) and may hold anything.
  const PAYLOAD_SPAN = `"><img src=x onerror=window.__pwned=11>`;
  const LLM_SPANS = ['llm-a', 'llm-b', PAYLOAD_SPAN, 'llm-d', 'llm-e'];
  const ids = (spanId: string, parent?: string) => ({ trace_id: 't1', span_id: spanId, ...(parent ? { parent_span_id: parent } : {}) });

  /** A stage with five rate-limited LLM calls (one records an event of its own), a task and a call that works, each a span. */
  function spannedRun(): TruthEvent[] {
    const events: TruthEvent[] = [{ ...event('stage_start', { stage: 's1' }, 'INFO', 0), ...ids('stage-1') }];
    LLM_SPANS.forEach((spanId, i) => {
      const at = 0.1 + i * 0.2;
      events.push({ ...event('llm_call_start', { model: 'gpt-4o', stage: 's1' }, 'INFO', at), ...ids(spanId, 'stage-1') });
      if (i === 0) events.push({ ...event('retry_wait', { stage: 's1', seconds: 0.05 }, 'WARNING', at + 0.05), ...ids(spanId, 'stage-1') });
      events.push({
        ...event('llm_call_error', { model: 'gpt-4o', stage: 's1', error: '429 Too Many Requests', error_type: 'RateLimitError', http_status: 429, duration: 0.1 }, 'ERROR', at + 0.1),
        ...ids(spanId, 'stage-1'),
      });
    });
    events.push(
      { ...event('task_start', { task: 'fetch', stage: 's1' }, 'INFO', 1.2), ...ids('task-1', 'stage-1') },
      { ...event('llm_call_start', { model: 'gpt-4o', stage: 's1' }, 'INFO', 1.3), ...ids('llm-ok', 'task-1') },
      { ...event('llm_call_end', { model: 'gpt-4o', stage: 's1', input_tokens: 3, output_tokens: 2, duration: 0.1 }, 'INFO', 1.4), ...ids('llm-ok', 'task-1') },
      { ...event('task_end', { task: 'fetch', stage: 's1', duration: 0.3 }, 'INFO', 1.5), ...ids('task-1', 'stage-1') },
      { ...event('stage_end', { stage: 's1', duration: 1.6 }, 'INFO', 1.6), ...ids('stage-1') },
    );
    return events;
  }

  /** The lines of the rate_limited card's span ids: [id, what the page holds of it]. */
  async function spanLines(page: OpenedPage['page']): Promise<string[][]> {
    return page
      .locator('[data-diagnosis="rate_limited"] .ev-span')
      .evaluateAll((lines) => lines.map((line) => [line.querySelector('.mono')?.textContent ?? '', line.querySelector('.where')?.textContent ?? '']));
  }

  /** The rows the list shows, as [time, type] (the list is short enough to be drawn whole). */
  async function shownRows(page: OpenedPage['page']): Promise<string[][]> {
    return page.locator('.ev-row').evaluateAll((rows) => rows.map((row) => [row.querySelector('.c-time')?.getAttribute('title') ?? '', row.querySelector('.c-type')?.textContent ?? '']));
  }

  const rowsOf = (events: TruthEvent[], spanId: string) => events.filter((e) => e.span_id === spanId).map((e) => [e.timestamp, e.type]);

  it('from `agent-autopsy report --format html`: a span id shows exactly that span\'s events and outlines its bar', async () => {
    const dir = tempDir();
    const events = spannedRun();
    writeTruthLog(dir, events);
    const report = JSON.parse((await runCli(['report', dir, '--format', 'json'])).stdout) as AutopsyReport;
    const evidence = report.diagnoses.find((d) => d.id === 'rate_limited')?.evidence;
    expect(evidence?.span_ids).toEqual(LLM_SPANS);
    const html = join(dir, 'autopsy-full.html');
    expect(await runCli(['report', dir, '--format', 'html', '--out', html])).toMatchObject({ code: 0, stderr: '' });
    const opened = await openFile(browser, html);
    const { page } = opened;
    const total = events.length;

    expect(await spanLines(page)).toEqual(LLM_SPANS.map((id) => [id, `— ${rowsOf(events, id).length} events in the list · its bar in the timeline`]));
    // The span with an event of its own between its start and its error: all three, and nothing of its parent or siblings.
    await page.locator('[data-diagnosis="rate_limited"] [data-span-events]').first().click();
    expect(rowsOf(events, 'llm-a').map(([, type]) => type)).toEqual(['llm_call_start', 'retry_wait', 'llm_call_error']);
    expect(await shownCount(page)).toBe(`3 / ${total}`);
    expect(await shownRows(page)).toEqual(rowsOf(events, 'llm-a'));
    expect(await page.locator('.ev-span-filter').isVisible()).toBe(true);
    expect(await page.locator('.ev-span-filter code').textContent()).toBe('llm-a');
    // Its bar (and only its) is outlined.
    expect(await page.locator('#timeline .bar.hl').count()).toBe(1);
    expect(await page.locator('#timeline .bar.hl').getAttribute('data-span')).toBe('0');
    expect(await page.locator('#timeline .bar.hl').getAttribute('class')).toContain('kind-llm');

    // The payload id: shown as text, in the card and in the filter, and its events are its own.
    const payloadLink = page.locator('[data-diagnosis="rate_limited"] [data-span-events="2"]');
    expect(await payloadLink.textContent()).toBe(PAYLOAD_SPAN);
    await payloadLink.click();
    expect(await shownCount(page)).toBe(`2 / ${total}`);
    expect(await shownRows(page)).toEqual(rowsOf(events, PAYLOAD_SPAN));
    expect(await page.locator('.ev-span-filter code').textContent()).toBe(PAYLOAD_SPAN);
    expect(await page.locator('#timeline .bar.hl').getAttribute('data-span')).toBe('2');

    // The other filters narrow the span's events further; "show every span" drops the span and keeps them.
    await selectByLabel(page, 'level', 'ERROR');
    expect(await shownCount(page)).toBe(`1 / ${total}`);
    await page.locator('.ev-span-filter button').click();
    expect(await shownCount(page)).toBe(`${events.filter((e) => e.level === 'ERROR').length} / ${total}`);
    expect(await page.locator('.ev-span-filter').isVisible()).toBe(false);
    expect(await page.locator('#timeline .bar.hl').count()).toBe(0);

    // A span link clears the other filters (as a chart bar does), and a chart bar clears the span.
    await page.locator('[data-diagnosis="rate_limited"] [data-span-events="4"]').click();
    expect(await page.locator('select[name=level]').inputValue()).toBe('');
    expect(await shownRows(page)).toEqual(rowsOf(events, 'llm-e'));
    await page.locator('#failures-by-type [data-filter-type="llm_call_error"]').click();
    expect(await shownCount(page)).toBe(`5 / ${total}`);
    expect(await page.locator('.ev-span-filter').isVisible()).toBe(false);

    // "its bar in the timeline" scrolls to the bar and outlines it.
    await page.locator('[data-diagnosis="rate_limited"] [data-span-bar="3"]').click();
    const bar = page.locator('#timeline .bar.hl');
    expect(await bar.getAttribute('data-span')).toBe('3');
    const height = page.viewportSize()?.height ?? 0;
    await expect
      .poll(async () => {
        const box = await bar.boundingBox();
        return box !== null && box.y >= 0 && box.y + box.height <= height;
      })
      .toBe(true);
    await expectInert(opened);
    await page.close();
  });

  it("says a span's events are not in the list when the list kept only the most recent ones, and links none of them", async () => {
    const dir = tempDir();
    const events = spannedRun();
    writeTruthLog(dir, events);
    const html = join(dir, 'autopsy-full.html');
    // The last 8 events: the error of llm-e (its start is older), the task, the call that works and the stage's end.
    expect(await runCli(['report', dir, '--format', 'html', '--out', html, '--max-events', '8'])).toMatchObject({ code: 0, stderr: '' });
    const opened = await openFile(browser, html);
    const { page } = opened;
    const older = '— not in the event list, which keeps only the last 8 events · its bar in the timeline';
    expect(await spanLines(page)).toEqual([
      ['llm-a', older],
      ['llm-b', older],
      [PAYLOAD_SPAN, older],
      ['llm-d', `— 1 event in the list · its bar in the timeline`],
      ['llm-e', `— 2 events in the list · its bar in the timeline`],
    ]);
    // Only the spans with events in the list are links to it: nothing leads to an empty list.
    expect(await page.locator('[data-diagnosis="rate_limited"] [data-span-events]').evaluateAll((links) => links.map((a) => a.textContent))).toEqual(['llm-d', 'llm-e']);
    await page.locator('[data-diagnosis="rate_limited"] .ev-span').first().locator('.mono').click();
    expect(await shownCount(page)).toBe('8 / 8');
    expect(await page.locator('.ev-span-filter').isVisible()).toBe(false);
    await page.locator('[data-diagnosis="rate_limited"] [data-span-events="3"]').click();
    expect(await shownRows(page)).toEqual(rowsOf(events, 'llm-d').slice(-1));
    await expectInert(opened);
    await page.close();
  });

  it('says a span has no bar when the timeline left it out, and its events still show', async () => {
    const dir = tempDir();
    const events = spannedRun();
    writeTruthLog(dir, events);
    // No budget for spans that ended well: the call that works is listed but not drawn.
    const collector = new HtmlEventCollector({ maxSpans: 0 });
    const { report } = await analyzeRun(dir, { onEvent: (e) => collector.observe(e) });
    report.diagnoses.find((d) => d.id === 'rate_limited')!.evidence.span_ids = ['llm-ok', 'llm-a'];
    const path = join(dir, 'autopsy.html');
    writeFileSync(path, renderHtmlReport(report, { events: collector }));
    const opened = await openFile(browser, path);
    const { page } = opened;
    expect(await spanLines(page)).toEqual([
      ['llm-ok', '— 2 events in the list · no bar of its own in the timeline'],
      ['llm-a', '— 3 events in the list · its bar in the timeline'],
    ]);
    expect(await page.locator('[data-diagnosis="rate_limited"] [data-span-bar]').count()).toBe(1);
    await page.locator('[data-diagnosis="rate_limited"] [data-span-events="0"]').click();
    expect(await shownRows(page)).toEqual(rowsOf(events, 'llm-ok'));
    expect(await page.locator('#timeline .bar.hl').count()).toBe(0);
    await expectInert(opened);
    await page.close();
  });

  it('on a page with no event list (a saved report) lists the span ids as autopsy.md does, links none, and reads the same without JavaScript', async () => {
    const dir = tempDir();
    writeTruthLog(dir, spannedRun());
    const saved = join(dir, 'saved.json');
    writeFileSync(saved, (await runCli(['report', dir, '--format', 'json'])).stdout);
    const html = join(dir, 'saved.html');
    expect(await runCli(['report', saved, '--format', 'html', '--out', html])).toMatchObject({ code: 0, stderr: '' });
    const opened = await openFile(browser, html);
    const { page } = opened;
    // The page's Events section says it holds no events; each id does not say it again.
    const lines = LLM_SPANS.map((id) => [id, '']);
    const line = `Span ids: ${LLM_SPANS.join(', ')}`;
    expect(await spanLines(page)).toEqual(lines);
    expect(await page.locator('[data-diagnosis="rate_limited"] .ev', { hasText: 'Span ids' }).innerText()).toBe(line);
    expect(await page.locator('[data-span-events], [data-span-bar]').count()).toBe(0);
    await page.locator('[data-diagnosis="rate_limited"] .ev-span .mono').first().click();
    await expectInert(opened);
    await page.close();

    const noScript = await browser.context.newPage();
    const cdp = await browser.context.newCDPSession(noScript);
    await cdp.send('Emulation.setScriptExecutionDisabled', { value: true });
    await noScript.goto(`file://${html}`);
    expect(await spanLines(noScript)).toEqual(lines);
    expect(await noScript.locator('[data-diagnosis="rate_limited"] .ev', { hasText: 'Span ids' }).innerText()).toBe(line);
    await noScript.close();
  });

  it('on a page without the event list (as written at exit) links a span still open to its bar, in zh-CN too', async () => {
    const dir = tempDir();
    // The call that works never ends.
    const events = spannedRun().filter((e) => !(e.span_id === 'llm-ok' && e.type === 'llm_call_end'));
    writeTruthLog(dir, events, { closed: false });
    const { report } = await analyzeRun(dir, { locale: 'zh-CN' });
    expect(report.unfinished.map((span) => span.span_id)).toEqual(['llm-ok']);
    report.diagnoses.find((d) => d.id === 'rate_limited')!.evidence.span_ids = ['llm-ok', 'llm-a'];
    const path = join(dir, 'autopsy.html');
    writeFileSync(path, renderHtmlReport(report));
    const opened = await openFile(browser, path);
    const { page } = opened;
    expect(await spanLines(page)).toEqual([
      ['llm-ok', ''],
      ['llm-a', ''],
    ]);
    expect(await page.locator('[data-diagnosis="rate_limited"] .ev', { hasText: '跨度 ID' }).innerText()).toBe('跨度 ID: llm-ok, llm-a');
    // The open span's id leads to its bar; the other has none of its own.
    expect(await page.locator('[data-diagnosis="rate_limited"] [data-span-bar]').evaluateAll((links) => links.map((link) => [link.textContent, link.getAttribute('title')]))).toEqual([['llm-ok', '时间线中的条形']]);
    await page.locator('[data-diagnosis="rate_limited"] [data-span-bar="0"]').click();
    expect(await page.locator('#timeline .bar.hl').count()).toBe(1);
    expect(await page.locator('#timeline .bar.hl').getAttribute('class')).toContain('outcome-unfinished');
    await expectInert(opened);
    await page.close();
  });
});
