import { readFileSync } from 'node:fs';
import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { init, llmCall, shutdown, stage, task, track } from '../src/index';
import { expectCompleteRun } from './helpers/autopsyRun';
import { logPath, readReadableLines } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * Whatever an agent hands over as event data, nothing throws and every line of the log parses.
 * Runs in this process (exit hooks off): the same pipeline as in an agent, from track() and the
 * span wrappers to the files on disk.
 */

function hostileValues(): Record<string, unknown> {
  const circular: Record<string, unknown> = { name: 'loop' };
  circular.self = circular;
  const cause = new Error('socket hang up');
  const revocable = Proxy.revocable({}, {});
  revocable.revoke();
  return {
    circular,
    bigint: 2n ** 70n,
    fn: function tool() {},
    sym: Symbol('id'),
    buffer: Buffer.alloc(1024),
    error: new TypeError('parse failed', { cause }),
    lone: 'half a pair: \uD83D and \uDE00 alone',
    [`key\uDBFF`]: 'lone surrogate in a key',
    huge: 'h'.repeat(3 * 1024 * 1024),
    nested: { deeper: { list: [1n, undefined, () => 1, Symbol.iterator, new Map([[{}, new Set([1])]])] } },
    get throws(): never {
      throw new Error('getter');
    },
    proxy: revocable.proxy,
    date: new Date(NaN),
    nan: NaN,
  };
}

describe('hostile event data', () => {
  it('is written safely everywhere: never a throw, never a corrupt line, huge strings cut at maxStringLength', async () => {
    const dir = tempRunDir('autopsy-data-');
    init({ outputDir: dir, handleExit: false, maxStringLength: 2048, reportFormats: ['md', 'html'] });
    const values = hostileValues();
    expect(() => {
      track('hostile', values);
      track('hostile_level', values, 'ERROR');
      for (const [key, value] of Object.entries(Object.getOwnPropertyDescriptors(values))) {
        if ('value' in value) track('one_value', { key, value: value.value });
      }
      track('not_an_object', 'just a string' as unknown as Record<string, unknown>);
      track('bigint_data', 5n as unknown as Record<string, unknown>);
    }).not.toThrow();
    // Span attributes are spread by the wrappers, so they get the values without the throwing getter.
    const { throws: _throws, ...attributes } = Object.getOwnPropertyDescriptors(values);
    const spanValues = Object.defineProperties({}, attributes) as Record<string, unknown>;
    await stage('stage_hostile', spanValues, async (span) => {
      span.set(spanValues);
      await task('task_hostile', spanValues, async () => undefined);
      await llmCall({ ...spanValues, model: 'm' }, async (call) => {
        call.set({ response: values.huge, usage: values.nested });
      });
      await task('throws_a_bigint', async () => {
        throw 12n;
      }).catch(() => undefined);
      await task('throws_a_circular_object', async () => {
        throw values.circular;
      }).catch(() => undefined);
      await task('throws_an_error_with_a_huge_message', async () => {
        throw new Error(`${values.huge}`);
      }).catch(() => undefined);
    });
    await shutdown();

    const raw = readFileSync(logPath(dir, 'execution_tracker.json'), 'utf8');
    const lines = raw.split('\n').filter(Boolean);
    for (const line of lines.slice(1, -1)) {
      expect(() => JSON.parse(line.replace(/,$/, ''))).not.toThrow();
      // Nothing longer than the limit got through (2048 + marker, plus the JSON around it).
      expect(line.length).toBeLessThan(40_000);
    }
    expect(raw).not.toMatch(/\\ud[89a-f][0-9a-f]{2}/i);
    const run = expectCompleteRun(dir);
    const hostile = run.events.find((event) => event.type === 'hostile')!.data;
    expect(hostile.huge).toBe(`${'h'.repeat(2048)}…[truncated ${3 * 1024 * 1024 - 2048} chars]`);
    expect(hostile).toMatchObject({
      circular: { name: 'loop', self: '[Circular]' },
      bigint: '1180591620717411303424',
      fn: '[Function: tool]',
      sym: 'Symbol(id)',
      buffer: '[Buffer: 1024 bytes]',
      error: { name: 'TypeError', message: 'parse failed', cause: { name: 'Error', message: 'socket hang up' } },
      lone: 'half a pair: \uFFFD and \uFFFD alone',
      'key\uFFFD': 'lone surrogate in a key',
      throws: '[Unreadable: getter]',
      date: 'Invalid Date',
      nan: 'NaN',
    });
    expect(run.events.filter((event) => event.type === 'one_value')).toHaveLength(Object.keys(values).length - 1);
    expect(run.events.find((event) => event.type === 'bigint_data')!.data).toEqual({ value: '5' });
    const errors = run.events.filter((event) => event.type === 'task_error').map((event) => String(event.data.error));
    expect(errors[0]).toBe('12');
    expect(errors[1]).toContain('"name":"loop"');
    expect(errors[2].length).toBeLessThan(17_000);
    expect(errors[2]).toMatch(/…\[truncated \d+ chars\]$/);
    expect(run.report.summary.total_failures).toBe(4);
  });
});

describe('hostile names', () => {
  it('span names, stage and task ids, event types and set() data are cut at maxStringLength with the data marker, in every file', async () => {
    const dir = tempRunDir('autopsy-names-');
    const max = 64;
    init({ outputDir: dir, handleExit: false, maxStringLength: max, reportFormats: ['md', 'html'] });
    const huge = (letter: string) => letter.repeat(1024 * 1024);
    const clipped = (letter: string) => `${letter.repeat(max)}…[truncated ${1024 * 1024 - max} chars]`;
    track(huge('e'), { n: 1 }, 'ERROR');
    await stage(huge('s'), async () => {
      await task(huge('t'), async () => undefined);
      await llmCall(huge('l'), { model: 'm' }, async () => undefined);
      await task('set_text', (span) => {
        span.set(huge('v') as unknown as Record<string, unknown>);
      });
      for (let i = 0; i < 2; i++) {
        await task('fails', async () => {
          throw new Error('boom');
        }).catch(() => undefined);
      }
    });
    void stage({ stage: huge('u') }, () => new Promise(() => undefined));
    // Another instrumentation's span (GenAI conventions) with a huge name, still open at the end.
    trace.getTracer('other').startSpan(huge('o'), { attributes: { 'gen_ai.operation.name': 'chat' } });
    await shutdown();

    const run = expectCompleteRun(dir);
    const at = (type: string) => run.events.filter((event) => event.type === type);
    expect(run.events[0]).toMatchObject({ type: clipped('e'), level: 'ERROR', data: { n: 1 } });
    expect(at('stage_start').map((event) => event.data.stage)).toEqual([clipped('s'), clipped('u')]);
    expect(at('task_start').map((event) => event.data.task)).toEqual([clipped('t'), 'set_text', 'fails', 'fails']);
    expect(at('llm_call_start')[0].data).toEqual({ name: clipped('l'), model: 'm', stage: clipped('s') });
    expect(at('task_end')[1].data).toMatchObject({ task: 'set_text', value: clipped('v') });
    // The readable log: one short line per event, the type cut like the data.
    expect(run.readable[0]).toMatch(new RegExp(`\\] ${clipped('e').replace(/[[\]]/g, '\\$&')}: \\{'n': 1\\}$`));
    expect(Math.max(...run.readable.map((line) => line.length))).toBeLessThan(1000);

    // The report: stage names as keys and values, the unfinished span's name.
    expect(run.report.failure_analysis.failures_by_stage).toEqual({ [clipped('s')]: 2, unknown: 1 });
    expect(run.report.summary.most_problematic_stage).toBe(clipped('s'));
    expect(run.report.failure_analysis.failures_by_type).toMatchObject({ [clipped('e')]: 1 });
    expect(run.report.stages.map((entry) => entry.stage)).toEqual([clipped('s'), clipped('u')]);
    expect(run.report.unfinished.map((span) => [span.name, span.stage])).toEqual([
      [`stage ${clipped('u')}`, clipped('u')],
      [clipped('o'), 'unknown'],
    ]);
    for (const file of ['execution_tracker.json', 'execution_tracker_readable.txt', 'latent_analysis_report.json', 'autopsy.md', 'autopsy.html']) {
      const text = readFileSync(logPath(dir, file), 'utf8');
      expect(text.length, file).toBeLessThan(200_000);
      for (const letter of ['e', 's', 't', 'l', 'v', 'u', 'o']) expect(text, file).not.toContain(letter.repeat(max + 1));
    }
    expect(readReadableLines(dir)).toEqual(run.readable);
  });
});
