import { describe, expect, it } from 'vitest';
import { RunAnalyzer } from '../analyzers/RunAnalyzer';
import type { AutopsyReport } from '../analyzers/reportTypes';
import { renderHtmlReport } from '../exporters/htmlReport';
import { renderMarkdownReport } from '../exporters/markdownReport';
import type { TruthEvent } from '../src/types';

/**
 * autopsy.md and autopsy.html of a service that names things per request: a stage per request,
 * custom error types built from an id, a model name per deployment. The JSON report keeps every
 * key (the seed's contract); the pages for people show the first rows and say how many more there
 * are and what they add up to, so they stay readable and their totals stay exact.
 */

const T0 = Date.parse('2025-01-24T10:30:00.000Z');
const STAGES = 6_000;
const ERROR_TYPES = 3_000;
const MODELS = 300;
const RETRIED_STAGES = 300;
const FAILED_STAGE = 'req-4321';

function ev(at: number, type: string, data: Record<string, unknown>, level: TruthEvent['level'] = 'INFO'): TruthEvent {
  return { timestamp: new Date(T0 + at).toISOString(), elapsed_seconds: at / 1000, type, level, data };
}

function service(): AutopsyReport {
  const analyzer = new RunAnalyzer();
  let at = 0;
  for (let i = 0; i < STAGES; i++) {
    const stage = `req-${i}`;
    analyzer.observe(ev(at++, 'stage_start', { stage }));
    analyzer.observe(stage === FAILED_STAGE ? ev(at++, 'stage_error', { stage, error: 'boom', duration: 0.001 }, 'ERROR') : ev(at++, 'stage_end', { stage, duration: 0.001 }));
  }
  // Error type i occurs i % 3 + 1 times: 6,000 failures in all.
  for (let i = 0; i < ERROR_TYPES; i++) for (let n = 0; n <= i % 3; n++) analyzer.observe(ev(at++, `custom_${i}_error`, { stage: 'work', error: `failed ${i}` }, 'ERROR'));
  // A stage per request retried 3 times: the seed's stage_specific_failures pattern for each.
  for (let i = 0; i < RETRIED_STAGES; i++) for (let n = 0; n < 3; n++) analyzer.observe(ev(at++, 'task_error', { stage: `retried-${i}`, task: 'call', error: `failed ${i}` }, 'ERROR'));
  for (let n = 0; n < 3; n++) analyzer.observe(ev(at++, 'syntax_error', { stage: 'work', error: 'invalid syntax' }, 'ERROR'));
  for (let i = 0; i < MODELS; i++) analyzer.observe(ev(at++, 'llm_call_end', { stage: 'work', model: `model-${i}`, input_tokens: 10, output_tokens: 1, duration: 0.5 }));
  const report = analyzer.buildReport({ now: T0 + at, exit: { reason: 'normal', exit_code: 0, signal: null, at: null } });
  analyzer.dispose();
  return report;
}

const report = service();

/** The lines of a Markdown section, up to the next heading. */
function mdSection(md: string, heading: string): string[] {
  const start = md.indexOf(`\n## ${heading}\n`);
  expect(start).toBeGreaterThan(-1);
  const end = md.indexOf('\n## ', start + 1);
  return md.slice(start, end === -1 ? undefined : end).split('\n');
}

describe('a report with thousands of distinct stages, error types and models', () => {
  it('keeps every key in the JSON report', () => {
    expect(report.stages).toHaveLength(STAGES);
    expect(Object.keys(report.failure_analysis.failures_by_type)).toHaveLength(ERROR_TYPES + 3);
    expect(report.failure_analysis.failure_patterns).toHaveLength(RETRIED_STAGES + 2);
    expect(Object.keys(report.llm_usage.by_model)).toHaveLength(MODELS);
  });

  it('autopsy.md shows 50 rows of each, says how many more, and sums what it folded', () => {
    const md = renderMarkdownReport(report);
    const stages = mdSection(md, 'Stages');
    const stageRows = stages.filter((line) => line.startsWith('| req-'));
    expect(stageRows).toHaveLength(50);
    // The failed stage is among those shown, however far into the run it was.
    expect(stageRows.some((line) => line.startsWith(`| ${FAILED_STAGE} |`) && line.includes('| error |'))).toBe(true);
    expect(stages).toContain(`… and ${STAGES - 50} more (latent\\_analysis\\_report.json)`);

    const types = mdSection(md, 'Failures by type').filter((line) => line.startsWith('| '));
    // Header, 50 rows, one row folding the rest with their sum.
    expect(types).toHaveLength(52);
    const shownTotal = types.slice(1, 51).reduce((sum, line) => sum + Number(line.split(' | ')[1].replace(/[ |,]/g, '')), 0);
    const folded = types[51].split(' | ');
    expect(folded[0]).toBe(`| … and ${ERROR_TYPES + 3 - 50} more`);
    expect(shownTotal + Number(folded[1].replace(/[ |,]/g, ''))).toBe(report.failure_analysis.total_failures);

    const patterns = mdSection(md, 'Failure patterns');
    const patternRows = patterns.filter((line) => /^\| (frequent|stage)\\_/.test(line));
    // The seed's other patterns are always shown; stage patterns fill the rest.
    expect(patternRows).toHaveLength(50);
    expect(patternRows[0]).toMatch(/^\| frequent\\_llm\\_errors|^\| stage\\_specific/);
    expect(patternRows.at(-1)).toMatch(/^\| frequent\\_syntax\\_errors \|/);
    expect(patterns).toContain(`… and ${RETRIED_STAGES + 2 - 50} more (latent\\_analysis\\_report.json)`);

    const models = mdSection(md, 'LLM usage').filter((line) => line.startsWith('| model-') || line.startsWith('| … and'));
    expect(models).toHaveLength(51);
    const calls = models.reduce((sum, line) => sum + Number(line.split(' | ')[1]), 0);
    expect(calls).toBe(report.llm_usage.calls);
    expect(md.length).toBeLessThan(100_000); // was 452 KB
  });

  it('autopsy.html shows 200 table rows, draws at most 1,000 stage bars, and says how many more', () => {
    const html = renderHtmlReport(report);
    const stageRows = html.match(/<tr><td class="wrap">req-\d+<\/td>/g) ?? [];
    expect(stageRows).toHaveLength(200);
    expect(html).toContain(`<tr><td class="wrap">${FAILED_STAGE}</td>`);
    expect(html).toContain(`… and ${STAGES - 200} more`);
    const bars = html.match(/<rect class="bar kind-stage/g) ?? [];
    expect(bars).toHaveLength(1_000);
    expect(html).toContain(`${STAGES - 1_000} more spans are not drawn`);
    const patternRows = html.match(/<tr><td class="wrap">(stage_specific_failures|frequent_syntax_errors)<\/td>/g) ?? [];
    expect(patternRows).toHaveLength(200);
    expect(patternRows.at(-1)).toContain('frequent_syntax_errors');
    expect(html).toContain(`… and ${RETRIED_STAGES + 1 - 199} more`);
    const modelRows = html.match(/<tr><td class="wrap">model-\d+<\/td>/g) ?? [];
    expect(modelRows).toHaveLength(200);
    expect(html).toMatch(new RegExp(`<tr><td class="wrap">… and ${MODELS - 200} more</td><td class="num">${MODELS - 200}</td>`));
    expect(html.length).toBeLessThan(1_500_000); // was 3.1 MB
  });
});
