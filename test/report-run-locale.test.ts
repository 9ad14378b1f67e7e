import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeRun, analyzeRunSync } from '../analyzers/readRun';
import type { AutopsyReport } from '../analyzers/reportTypes';
import { runNode, writeScript } from './helpers/childProcess';
import { runCli } from './helpers/cli';
import { tempRunDir } from './helpers/tempDirs';

/**
 * A run given `locale: 'zh-CN'`: a rate-limited LLM call in a stage. `kill` keeps it open, so it
 * leaves its log and lock behind and no report; `clean` lets it end and write its report.
 */
const AGENT = `
  import { init, llmCall, stage } from 'agent-autopsy';
  const [dir, mode] = process.argv.slice(2);
  init({ outputDir: dir, locale: 'zh-CN' });
  await stage('stage1', async () => {
    try {
      await llmCall({ model: 'gpt-4o' }, async () => {
        throw Object.assign(new Error('429 Too Many Requests'), { status: 429 });
      });
    } catch {}
  });
  if (mode === 'kill') {
    // Once the events are on disk (the flush timer, 25 ms on an idle machine), not after a fixed wait.
    const { readFileSync } = await import('node:fs');
    const log = dir + '/Memory/logs/execution_tracker.json';
    const written = () => {
      try {
        return readFileSync(log, 'utf8').includes('"type":"stage_end"');
      } catch {
        return false;
      }
    };
    const wait = () => (written() ? process.stdout.write('ready\\n') : setTimeout(wait, 10));
    wait();
    setInterval(() => {}, 1000);
  }
`;

const SAVED_REPORT = ['Memory', 'logs', 'latent_analysis_report.json'];
const LOCK = ['Memory', 'logs', '.agent-autopsy.lock'];

async function recordRun(mode: 'clean' | 'kill'): Promise<string> {
  const dir = tempRunDir('autopsy-locale-');
  const result = await runNode(writeScript(AGENT), {
    args: [dir, mode],
    onStdoutLine: (line, child) => {
      if (line === 'ready') child.kill('SIGKILL');
    },
  });
  expect(result.signal).toBe(mode === 'kill' ? 'SIGKILL' : null);
  return dir;
}

const titles = (report: AutopsyReport) => report.diagnoses.map((d) => [d.id, d.title, d.suggestion]);
const withoutTime = (report: AutopsyReport) => ({ ...report, timestamp: '' });

describe('a report rebuilt from a run given a locale', () => {
  let finished = '';
  let killed = '';
  beforeAll(async () => {
    [finished, killed] = await Promise.all([recordRun('clean'), recordRun('kill')]);
  });

  it('is in the locale its saved report names, as the report written at its end', async () => {
    const saved = JSON.parse(readFileSync(join(finished, ...SAVED_REPORT), 'utf8')) as AutopsyReport;
    expect(saved.run.locale).toBe('zh-CN');
    const printed = await runCli(['report', finished]);
    expect(printed.code).toBe(0);
    const rebuilt = JSON.parse(printed.stdout) as AutopsyReport;
    expect(rebuilt.run.locale).toBe('zh-CN');
    expect(titles(rebuilt)).toEqual(titles(saved));
    expect(titles(rebuilt)[0]).toEqual(['rate_limited', saved.diagnoses[0].title, saved.diagnoses[0].suggestion]);
    expect(saved.diagnoses[0].title).toMatch(/[\u4e00-\u9fff]/);
    expect(rebuilt.exit.description).toBe(saved.exit.description);

    const md = (await runCli(['report', finished, '-f', 'md'])).stdout;
    expect(md.startsWith('# 智能体尸检报告\n')).toBe(true);
    expect(md).toContain('\n## 诊断\n');
    // --locale still decides.
    const english = JSON.parse((await runCli(['report', finished, '--locale', 'en'])).stdout) as AutopsyReport;
    expect(english.run.locale).toBe('en');
    expect(english.diagnoses[0].title).toBe('The LLM provider rate-limited the agent (HTTP 429)');
    expect((await runCli(['report', finished, '-f', 'md', '--locale', 'en'])).stdout.startsWith('# Agent autopsy\n')).toBe(true);
  });

  it('is in the locale its lock names when the run was killed before any report', async () => {
    expect(JSON.parse(readFileSync(join(killed, ...LOCK), 'utf8'))).toMatchObject({ locale: 'zh-CN' });
    const rebuilt = JSON.parse((await runCli(['report', killed])).stdout) as AutopsyReport;
    expect(rebuilt.exit.reason).toBe('killed');
    const asked = JSON.parse((await runCli(['report', killed, '--locale', 'zh-CN'])).stdout) as AutopsyReport;
    expect(withoutTime(rebuilt)).toEqual(withoutTime(asked));
    expect(rebuilt.run.locale).toBe('zh-CN');
    expect(rebuilt.diagnoses.map((d) => d.id)).toEqual(['crash', 'rate_limited']);
    expect(rebuilt.diagnoses[1].title).toBe('LLM 服务商对智能体限流（HTTP 429）');
  });

  it('is in it from analyzeRun() and analyzeRunSync() too, unless they are given one', async () => {
    expect((await analyzeRun(finished)).report.run.locale).toBe('zh-CN');
    expect(analyzeRunSync(killed).report.run.locale).toBe('zh-CN');
    expect((await analyzeRun(finished, { locale: 'en' })).report.run.locale).toBe('en');
    expect(analyzeRunSync(killed, { locale: 'en' }).report.diagnoses.map((d) => d.title)).toEqual(['The process ended abnormally', 'The LLM provider rate-limited the agent (HTTP 429)']);
  });

  it("follows neither another run's report or lock nor a locale it does not know", async () => {
    // The same directory, its report and lock now another run's (another start_time).
    const dir = await recordRun('kill');
    const lockPath = join(dir, ...LOCK);
    const lock = JSON.parse(readFileSync(lockPath, 'utf8')) as { started: string };
    writeFileSync(lockPath, JSON.stringify({ ...lock, started: '2020-01-01T00:00:00.000000' }));
    writeFileSync(join(dir, ...SAVED_REPORT), readFileSync(join(finished, ...SAVED_REPORT)));
    expect(JSON.parse((await runCli(['report', dir])).stdout).run.locale).toBe('en');
    // This run's lock, with a locale this version does not have.
    writeFileSync(lockPath, JSON.stringify({ ...lock, locale: 'fr' }));
    expect(JSON.parse((await runCli(['report', dir])).stdout).run.locale).toBe('en');
    writeFileSync(lockPath, JSON.stringify({ ...lock, locale: 'zh-CN' }));
    expect(JSON.parse((await runCli(['report', dir])).stdout).run.locale).toBe('zh-CN');
  });

  it('an English run writes no locale in its lock', async () => {
    const dir = tempRunDir('autopsy-locale-');
    const script = writeScript(`
      import { readFileSync } from 'node:fs';
      import { init } from 'agent-autopsy';
      init({ outputDir: process.argv[2] });
      process.stdout.write(readFileSync(process.argv[2] + '/Memory/logs/.agent-autopsy.lock', 'utf8'));
    `);
    const result = await runNode(script, { args: [dir] });
    expect(Object.keys(JSON.parse(result.stdout))).not.toContain('locale');
  });
});
