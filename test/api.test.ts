import { spawnSync } from 'node:child_process';
import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { AgentSpan, autofix, codeExec, init, llmCall, shutdown, stage, task, track } from '../src/index';
import { memorySpans } from './helpers/memorySpans';
import { readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

const { memory, record } = memorySpans();

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe('span wrappers', () => {
  it('return the value of fn, sync and async', async () => {
    await record(async () => {
      expect(stage('s', () => 42)).toBe(42);
      await expect(task('t', async () => 'done')).resolves.toBe('done');
      expect(codeExec({ language: 'python' }, () => ({ ok: true }))).toEqual({ ok: true });
    });
  });

  it('each wrapper puts exactly these attributes on its span, in this order (its kind and start event first)', async () => {
    await record(() => {
      stage('s1', { name: 'Plan', owner: 'me', nested: { a: 1 } }, () => {
        task('t1', { rows: 3, stage: 's1', flag: true }, () => 1);
        task({ name: 'unnamed' }, () => 1);
        llmCall('ask', { model: 'm1', provider: 'p1', operation: 'embeddings', temperature: 0.2, stage: 's1' }, () => 1);
        llmCall({ model: 'm2' }, () => 1);
        codeExec({ language: 'python', attempt: 2 }, () => 1);
        autofix({ layer: 1, type: 'syntax', note: 'x' }, () => true);
      });
    });
    const spans = memory.getFinishedSpans().map((span) => [span.name, Object.entries(span.attributes)]);
    expect(spans).toEqual([
      [
        'task t1',
        [
          ['autopsy.kind', 'task'],
          ['autopsy.event.type', 'task_start'],
          ['autopsy.task', 't1'],
          ['autopsy.data.rows', 3],
          ['autopsy.data.stage', 's1'],
          ['autopsy.data.flag', true],
          ['autopsy.stage', 's1'],
        ],
      ],
      [
        'task unnamed',
        [
          ['autopsy.kind', 'task'],
          ['autopsy.event.type', 'task_start'],
          ['autopsy.task', 'unnamed'],
          ['autopsy.data.name', 'unnamed'],
        ],
      ],
      [
        'ask',
        [
          ['autopsy.kind', 'llm'],
          ['autopsy.event.type', 'llm_call_start'],
          ['gen_ai.operation.name', 'embeddings'],
          ['autopsy.data.name', 'ask'],
          ['autopsy.data.temperature', 0.2],
          ['autopsy.data.stage', 's1'],
          ['gen_ai.request.model', 'm1'],
          ['gen_ai.provider.name', 'p1'],
          ['gen_ai.system', 'p1'],
          ['autopsy.stage', 's1'],
        ],
      ],
      [
        'chat m2',
        [
          ['autopsy.kind', 'llm'],
          ['autopsy.event.type', 'llm_call_start'],
          ['gen_ai.operation.name', 'chat'],
          ['gen_ai.request.model', 'm2'],
        ],
      ],
      [
        'code_exec python',
        [
          ['autopsy.kind', 'code_exec'],
          ['autopsy.event.type', 'code_exec_start'],
          ['autopsy.data.attempt', 2],
          ['autopsy.code.language', 'python'],
        ],
      ],
      [
        'autofix syntax',
        [
          ['autopsy.kind', 'autofix'],
          ['autopsy.event.type', 'autofix_start'],
          ['autopsy.data.note', 'x'],
          ['autopsy.autofix.layer', '1'],
          ['autopsy.autofix.type', 'syntax'],
          ['autopsy.autofix.success', true],
        ],
      ],
      [
        'stage s1',
        [
          ['autopsy.kind', 'stage'],
          ['autopsy.event.type', 'stage_start'],
          ['autopsy.stage', 's1'],
          ['autopsy.data.name', 'Plan'],
          ['autopsy.data.owner', 'me'],
        ],
      ],
    ]);
  });

  it('carry end data set on the handle into the end event, also when the callback ends the span itself', async () => {
    const events = await record(() => {
      llmCall({ model: 'm1' }, (call) => {
        call.setUsage({ inputTokens: 3, outputTokens: 4 });
        call.set({ note: 'early end' });
        call.span.end();
        return 1;
      });
      task('second', (handle) => handle.set({ rows: 2 }));
    });
    const ends = events.filter((event) => event.type.endsWith('_end'));
    expect(ends.map((event) => [event.type, { ...event.data, duration: 0 }])).toEqual([
      ['llm_call_end', { model: 'm1', input_tokens: 3, output_tokens: 4, tokens_used: 7, note: 'early end', duration: 0 }],
      ['task_end', { task: 'second', rows: 2, duration: 0 }],
    ]);
  });

  it('clean end data once, whichever method set it: long values cut at maxStringLength, more than 1,000 keys cut there', async () => {
    const dir = tempRunDir();
    init({ outputDir: dir, handleExit: false, maxStringLength: 40 });
    const command = `python3 solve.py ${'--flag '.repeat(10)}`;
    codeExec({ language: 'python' }, (exec) => {
      exec.setResult({ exitCode: 0, command, stderr: `${'w'.repeat(50)}\nlast line` });
    });
    // A JavaScript caller's exit code may be anything: it is written as data is, never as the object.
    codeExec({ language: 'python' }, (exec) => {
      exec.setResult({ exitCode: { signal: 'SIGKILL', token: 'abc' } as never });
    });
    const many = (from: number) => Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`k${from + i}`, i]));
    task('wide', (handle) => {
      handle.set(many(0));
      handle.set(many(600));
    });
    llmCall({ model: 'm' }, (call) => {
      call.setUsage({ inputTokens: 5, outputTokens: 6, totalTokens: 12 });
    });
    await shutdown();
    const events = readTrackerDocument(dir).events;
    const ends = events.filter((event) => event.type.endsWith('_end')).map((event) => ({ ...event.data, duration: 0 }));
    expect(ends[0]).toEqual({
      language: 'python',
      exit_code: 0,
      stderr_tail: `${'w'.repeat(40)}…[truncated 20 chars]`,
      command: 'python3 solve.py --flag --flag --flag --…[truncated 47 chars]',
      duration: 0,
    });
    expect(ends[1]).toEqual({ language: 'python', exit_code: { signal: 'SIGKILL', token: '[REDACTED]' }, duration: 0 });
    const wide = ends[2];
    expect(Object.keys(wide)).toHaveLength(1 + 1000 + 1 + 1);
    expect(wide).toMatchObject({ task: 'wide', k0: 0, k999: 399, '…': '[200 more keys]', duration: 0 });
    expect(wide).not.toHaveProperty('k1000');
    expect(ends[3]).toEqual({ model: 'm', input_tokens: 5, output_tokens: 6, tokens_used: 12, duration: 0 });
  });

  it("reach the app's own exporters redacted and clipped: setResult's command and stderr, fail()'s text and type", async () => {
    const key = 'sk-proj-Q7w8E9r0T1y2U3i4O5p6A7s8D9f0G1h2';
    const dir = tempRunDir();
    init({ outputDir: dir, handleExit: false, maxStringLength: 80 });
    codeExec({ language: 'bash' }, (exec) => {
      exec.setResult({ exitCode: 2, command: 'psql postgres://bob:secretpw@db/x --password hunter2', stderr: `warning\nOPENAI_API_KEY=${key} rejected` });
    });
    task('call', (handle) => {
      handle.fail(`bad key ${key} ${'x'.repeat(100)}`, `Auth_${key}`);
    });
    await shutdown();
    const spans = memory.getFinishedSpans();
    const exec = spans.find((span) => span.name.startsWith('code_exec'))!;
    expect(exec.attributes['autopsy.code.command']).toBe('psql postgres://[REDACTED]@db/x --password [REDACTED]');
    expect(exec.attributes['autopsy.code.stderr_tail']).toBe('warning\nOPENAI_API_KEY=[REDACTED] rejected');
    expect(exec.attributes['autopsy.code.exit_code']).toBe(2);
    expect(exec.status).toEqual({ code: 2, message: 'exit code 2: OPENAI_API_KEY=[REDACTED] rejected' });
    const failed = spans.find((span) => span.name === 'task call')!;
    expect(failed.status.message).toBe(`bad key sk-[REDACTED] ${'x'.repeat(58)}…[truncated 69 chars]`);
    expect(failed.attributes['error.type']).toBe('Auth_sk-[REDACTED]');
    // The event log says the same.
    const events = readTrackerDocument(dir).events;
    expect(events.find((event) => event.type === 'code_exec_error')!.data).toMatchObject({
      command: 'psql postgres://[REDACTED]@db/x --password [REDACTED]',
      error: 'exit code 2: OPENAI_API_KEY=[REDACTED] rejected',
    });
    expect(JSON.stringify(events)).not.toContain('Q7w8E9r0T1y2');
  });

  it('fail the span for a thrown value that cannot be read (a getter or Proxy trap that throws), and rethrow it as it is', async () => {
    const unreadable = new Error('upstream failed');
    Object.defineProperty(unreadable, 'name', {
      get() {
        throw new Error('name getter');
      },
    });
    const trap = new Proxy(
      {},
      {
        getPrototypeOf() {
          throw new Error('trap');
        },
      },
    );
    // Its class cannot be read, its HTTP status can.
    const classless = Object.defineProperty(Object.assign(new Error('slow down'), { status: 429 }), 'constructor', {
      get() {
        throw new Error('constructor getter');
      },
    });
    const caught: unknown[] = [];
    const events = await record(async () => {
      for (const thrown of [unreadable, trap, classless]) {
        await llmCall({ model: 'm' }, async () => {
          throw thrown;
        }).catch((error: unknown) => caught.push(error));
      }
    });
    expect(caught[0]).toBe(unreadable);
    expect(caught[1]).toBe(trap);
    expect(events.map((event) => [event.type, event.level])).toEqual([
      ['llm_call_start', 'INFO'],
      ['llm_call_error', 'ERROR'],
      ['llm_call_start', 'INFO'],
      ['llm_call_error', 'ERROR'],
      ['llm_call_start', 'INFO'],
      ['llm_call_error', 'ERROR'],
    ]);
    expect(events[1].data.error).toBe('upstream failed');
    const spans = memory.getFinishedSpans();
    expect(spans.map((span) => span.status.code)).toEqual([2, 2, 2]);
    // A class that cannot be read is the conventions' fallback on the span; the event takes the
    // exception event's type where there is one (the error's name), none for the Proxy.
    expect(spans.map((span) => span.attributes['error.type'])).toEqual(['Error', '_OTHER', '_OTHER']);
    expect(events.filter((event) => event.level === 'ERROR').map((event) => event.data.error_type)).toEqual(['Error', undefined, 'Error']);
    expect(spans[2].attributes['http.response.status_code']).toBe(429);
    expect(events[5].data).toMatchObject({ error: 'slow down', http_status: 429 });
  });

  it('carry end data set through an AgentSpan made around a span started elsewhere', async () => {
    const events = await record(() => {
      const span = trace.getTracer('app').startSpan('task import', { attributes: { 'autopsy.kind': 'task', 'autopsy.task': 'import' } });
      new AgentSpan(span, 'task').set({ rows: 5 }).setUsage({ inputTokens: 1 });
      span.end();
    });
    const end = events.find((event) => event.type === 'task_end')!;
    expect({ ...end.data, duration: 0 }).toEqual({ task: 'import', span: 'task import', rows: 5, input_tokens: 1, duration: 0 });
  });

  it('re-throw the very same error and record it on the span (ERROR status, exception event)', async () => {
    const original = new TypeError('bad input');
    let caught: unknown;
    const events = await record(async () => {
      try {
        await stage('stage1', async () => task('parse', async () => Promise.reject(original)));
      } catch (error) {
        caught = error;
      }
    });
    expect(caught).toBe(original);
    const spans = memory.getFinishedSpans();
    const taskSpan = spans.find((span) => span.name === 'task parse')!;
    expect(taskSpan.status).toEqual({ code: 2, message: 'bad input' });
    expect(taskSpan.events.map((event) => event.name)).toEqual(['exception']);
    expect(taskSpan.attributes['error.type']).toBe('TypeError');
    expect(events.map((event) => [event.type, event.level])).toEqual([
      ['stage_start', 'INFO'],
      ['task_start', 'INFO'],
      ['task_error', 'ERROR'],
      ['stage_error', 'ERROR'],
    ]);
    expect(events[2].data).toMatchObject({ task: 'parse', stage: 'stage1', error: 'bad input', error_type: 'TypeError' });
  });

  it('a synchronous throw ends the span too (no span left open)', async () => {
    const events = await record(() => {
      expect(() =>
        stage('sync', () => {
          throw new Error('sync failure');
        }),
      ).toThrow('sync failure');
    });
    expect(events.map((event) => event.type)).toEqual(['stage_start', 'stage_error']);
    expect(memory.getFinishedSpans().map((span) => span.name)).toEqual(['stage sync']);
  });

  it('nest spans stage → task → llm/code_exec/autofix with parent links and seed event data', async () => {
    const events = await record(async () => {
      await stage('stage1', { name: 'Problem Analysis' }, async () => {
        await task('data_processing', async () => {
          await llmCall({ model: 'gpt-4o', provider: 'openai' }, async (call) => {
            call.setUsage({ inputTokens: 1500, outputTokens: 800 });
          });
          await codeExec({ language: 'python' }, async (exec) => {
            exec.setResult({ exitCode: 0, command: 'python3 solve.py' });
          });
          await autofix({ layer: 1, type: 'syntax' }, async () => true);
        });
      });
    });
    const byName = new Map(memory.getFinishedSpans().map((span) => [span.name, span]));
    const stageSpan = byName.get('stage stage1')!;
    const taskSpan = byName.get('task data_processing')!;
    expect(taskSpan.parentSpanContext?.spanId).toBe(stageSpan.spanContext().spanId);
    for (const name of ['chat gpt-4o', 'code_exec python', 'autofix syntax']) {
      expect(byName.get(name)!.parentSpanContext?.spanId).toBe(taskSpan.spanContext().spanId);
    }
    expect(byName.get('chat gpt-4o')!.attributes).toMatchObject({
      'autopsy.kind': 'llm',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.provider.name': 'openai',
      'gen_ai.usage.input_tokens': 1500,
      'gen_ai.usage.output_tokens': 800,
    });
    const data = (type: string) => {
      const { duration: _duration, ...rest } = events.find((event) => event.type === type)!.data;
      return rest;
    };
    expect(data('stage_start')).toEqual({ stage: 'stage1', name: 'Problem Analysis' });
    expect(data('task_start')).toEqual({ task: 'data_processing', stage: 'stage1' });
    expect(data('llm_call_start')).toEqual({ model: 'gpt-4o', provider: 'openai', stage: 'stage1' });
    expect(data('llm_call_end')).toEqual({ model: 'gpt-4o', provider: 'openai', stage: 'stage1', input_tokens: 1500, output_tokens: 800, tokens_used: 2300 });
    expect(data('code_exec_end')).toEqual({ language: 'python', stage: 'stage1', exit_code: 0, command: 'python3 solve.py' });
    expect(data('autofix_end')).toEqual({ layer: 1, type: 'syntax', stage: 'stage1', success: true });
    expect(data('stage_end')).toEqual({ stage: 'stage1', name: 'Problem Analysis' });
    for (const event of events.filter((e) => e.type.endsWith('_end'))) expect(typeof event.data.duration).toBe('number');
    // Span ids in the log link events to the trace.
    const start = events.find((event) => event.type === 'task_start')!;
    expect(start.span_id).toBe(taskSpan.spanContext().spanId);
    expect(start.parent_span_id).toBe(stageSpan.spanContext().spanId);
    expect(start.trace_id).toBe(stageSpan.spanContext().traceId);
  });

  it('an explicit data.stage wins over the enclosing stage', async () => {
    const events = await record(async () => {
      await stage('outer', async () => {
        await task('t', { stage: 'elsewhere' }, async () => undefined);
      });
    });
    expect(events.find((event) => event.type === 'task_start')!.data.stage).toBe('elsewhere');
  });

  it('codeExec: a non-zero exit code in setResult is a failed execution, named by the last line of stderr', async () => {
    const events = await record(async () => {
      await codeExec({ language: 'python' }, (exec) => {
        exec.setResult({ exitCode: 1, stderr: 'Traceback (most recent call last):\n  File "solve.py", line 3\nNameError: name \'x\' is not defined\n\n' });
      });
      await codeExec({ language: 'python' }, (exec) => {
        exec.setResult({ exitCode: 2 });
      });
      await codeExec({ language: 'python' }, (exec) => {
        exec.setResult({ exitCode: 0, stderr: 'a warning' });
      });
    });
    expect(events.map((event) => [event.type, event.level])).toEqual([
      ['code_exec_start', 'INFO'],
      ['code_exec_error', 'ERROR'],
      ['code_exec_start', 'INFO'],
      ['code_exec_error', 'ERROR'],
      ['code_exec_start', 'INFO'],
      ['code_exec_end', 'INFO'],
    ]);
    expect(events[1].data).toMatchObject({ exit_code: 1, error: "exit code 1: NameError: name 'x' is not defined", error_type: 'NonZeroExitCode' });
    expect(events[3].data).toMatchObject({ exit_code: 2, error: 'exit code 2', error_type: 'NonZeroExitCode' });
    const spans = memory.getFinishedSpans().filter((span) => span.attributes['autopsy.kind'] === 'code_exec');
    expect(spans.map((span) => span.status.code)).toEqual([2, 2, 0]);
  });

  // A Node program that crashes ends its stderr with Node's footer (`Node.js v20.20.2`), below the
  // stack: that last line named every failed Node execution alike, not its error.
  it('codeExec: a crashed Node program is named by its error line, not by the Node.js version Node prints last', async () => {
    const crash = (source: string) => spawnSync(process.execPath, ['-e', source], { encoding: 'utf8' });
    const thrown = crash('null.x');
    const syntax = crash('function (');
    const withProps = crash("throw Object.assign(new Error('pool exhausted'), { code: 'E_POOL' })");
    const plain = crash("process.stderr.write('bad input\\n'); process.exit(2)");
    expect(thrown.stderr.trimEnd().split('\n').at(-1)).toBe(`Node.js ${process.version}`);
    const events = await record(async () => {
      for (const child of [thrown, syntax, withProps, plain]) {
        await codeExec({ language: 'javascript' }, (exec) => exec.setResult({ exitCode: child.status!, stderr: child.stderr }));
      }
    });
    expect(events.filter((event) => event.type === 'code_exec_error').map((event) => event.data.error)).toEqual([
      "exit code 1: TypeError: Cannot read properties of null (reading 'x')",
      'exit code 1: SyntaxError: Function statements require a function name',
      'exit code 1: Error: pool exhausted',
      'exit code 2: bad input',
    ]);
  });

  // Plain JavaScript passes what it caught: `catch (e) { span.fail(e) }`. The message was lost (the
  // event said only "error") and a number for the type was written as a number.
  it('fail() given the error itself records its message and class; another value is recorded as text', async () => {
    class RateLimitError extends Error {}
    const events = await record(async () => {
      await llmCall({ model: 'm' }, (call) => call.fail(new RateLimitError('429 slow down')));
      await task('t', (span) => span.fail(new Error('boom'), 'ToolError'));
      await task('t', (span) => (span as unknown as { fail(message: unknown, type: unknown): void }).fail({ code: 7 }, 42));
      await task('t', (span) => span.fail('plain'));
    });
    expect(events.filter((event) => event.level === 'ERROR').map((event) => [event.type, event.data.error, event.data.error_type])).toEqual([
      ['llm_call_error', '429 slow down', 'RateLimitError'],
      ['task_error', 'boom', 'ToolError'],
      ['task_error', '{"code":7}', undefined],
      ['task_error', 'plain', undefined],
    ]);
  });

  it('autofix: returning false or throwing is a failed fix, anything else a success', async () => {
    const events = await record(async () => {
      await autofix({ layer: 1, type: 'syntax' }, async () => false);
      await autofix({ layer: 2, type: 'syntax' }, () => undefined);
      await expect(autofix({ layer: 3, type: 'syntax' }, async () => {
        throw new Error('no luck');
      })).rejects.toThrow('no luck');
    });
    const ends = events.filter((event) => event.type !== 'autofix_start');
    expect(ends.map((event) => [event.type, event.level, event.data.success])).toEqual([
      ['autofix_end', 'WARNING', false],
      ['autofix_end', 'INFO', true],
      ['autofix_error', 'ERROR', false],
    ]);
  });
});

/** A Promise subclass with a method of its own, like openai's APIPromise (`withResponse()`). */
class QueryPromise<T> extends Promise<T> {
  label(): string {
    return 'query';
  }
}

/** An object whose every property read throws (a Proxy over a remote object, a revoked handle …). */
function hostileProxy(): object {
  return new Proxy(
    {},
    {
      get() {
        throw new Error('no property reads here');
      },
    },
  );
}

describe('what the wrappers return', () => {
  it('a native promise: a promise settling with the same value or the very same error', async () => {
    const original = new RangeError('late failure');
    const events = await record(async () => {
      const ok = Promise.resolve('value');
      const wrapped = task('ok', () => ok);
      expect(wrapped).toBeInstanceOf(Promise);
      await expect(wrapped).resolves.toBe('value');
      await expect(task('fails', () => Promise.reject(original))).rejects.toBe(original);
    });
    expect(events.map((event) => event.type)).toEqual(['task_start', 'task_end', 'task_start', 'task_error']);
  });

  it('a Promise subclass: the very same object, its own methods intact, the span ended by its outcome', async () => {
    const original = new TypeError('subclass failure');
    const events = await record(async () => {
      const ok = new QueryPromise<string>((resolve) => setTimeout(() => resolve('rows'), 5));
      const returned = llmCall({ model: 'm' }, () => ok);
      expect(returned).toBe(ok);
      expect(returned.label()).toBe('query');
      expect(Object.keys(returned)).toEqual([]);
      expect(await returned).toBe('rows');
      // Once observed, its then() is its prototype's again.
      expect(returned.then).toBe(QueryPromise.prototype.then);

      const failing = new QueryPromise<string>((_resolve, reject) => setTimeout(() => reject(original), 5));
      expect(task('fails', () => failing)).toBe(failing);
      await expect(failing).rejects.toBe(original);
      // catch() and finally() go through then() as well.
      const caught = new QueryPromise<string>((_resolve, reject) => reject(original));
      await autofix({ layer: 1 }, () => caught).catch(() => undefined);
    });
    expect(events.map((event) => [event.type, event.data.error])).toEqual([
      ['llm_call_start', undefined],
      ['llm_call_end', undefined],
      ['task_start', undefined],
      ['task_error', 'subclass failure'],
      ['autofix_start', undefined],
      ['autofix_error', 'subclass failure'],
    ]);
  });

  it('a thenable that is not a promise is adopted once (its then() runs once, as a lazy query must)', async () => {
    let calls = 0;
    const query = {
      then(resolve: (value: string) => void) {
        calls += 1;
        resolve('once');
      },
    };
    const events = await record(async () => {
      await expect(codeExec({ language: 'sql' }, () => query)).resolves.toBe('once');
    });
    expect(calls).toBe(1);
    expect(events.map((event) => event.type)).toEqual(['code_exec_start', 'code_exec_end']);
  });

  it('a value whose property reads throw (a hostile Proxy) is returned untouched by all five wrappers', async () => {
    const events = await record(() => {
      const value = hostileProxy();
      expect(stage('s', () => value)).toBe(value);
      expect(task('t', () => value)).toBe(value);
      expect(llmCall({ model: 'm' }, () => value)).toBe(value);
      expect(codeExec({ language: 'python' }, () => value)).toBe(value);
      expect(autofix({ layer: 1 }, () => value)).toBe(value);
      // A Proxy of a promise whose every read throws is a value too: nothing of it can be read.
      const promiseProxy = new Proxy(Promise.resolve(1), { get: () => { throw new Error('no'); } });
      expect(task('p', () => promiseProxy)).toBe(promiseProxy);
    });
    expect(events.map((event) => event.type)).toEqual([
      'stage_start', 'stage_end', 'task_start', 'task_end', 'llm_call_start', 'llm_call_end',
      'code_exec_start', 'code_exec_end', 'autofix_start', 'autofix_end', 'task_start', 'task_end',
    ]);
  });
});

describe('context propagation', () => {
  it('parallel llmCalls in concurrent stages are attributed to their own stage', async () => {
    const events = await record(async () => {
      const work = (stageId: string, delays: number[]) =>
        stage(stageId, async () =>
          Promise.all(
            delays.map((delay, i) =>
              llmCall({ model: `m-${stageId}-${i}` }, async (call) => {
                await sleep(delay);
                if (i === 1) throw Object.assign(new Error(`429 from ${stageId}`), { status: 429 });
                call.setUsage({ inputTokens: delay, outputTokens: 1 });
              }).catch(() => undefined),
            ),
          ),
        );
      await Promise.all([work('A', [30, 5, 15]), work('B', [10, 25, 1])]);
    });
    const llmEvents = events.filter((event) => event.type.startsWith('llm_call'));
    expect(llmEvents).toHaveLength(12);
    for (const event of llmEvents) {
      const model = String(event.data.model);
      expect(event.data.stage).toBe(model.split('-')[1]);
    }
    const failures = events.filter((event) => event.type === 'llm_call_error');
    expect(failures.map((event) => [event.data.stage, event.data.error, event.data.http_status]).sort()).toEqual([
      ['A', '429 from A', 429],
      ['B', '429 from B', 429],
    ]);
    // Each llm span is a child of its own stage span.
    const spans = memory.getFinishedSpans();
    const stageIds = new Map(spans.filter((s) => s.name.startsWith('stage ')).map((s) => [s.spanContext().spanId, s.name.slice(6)]));
    for (const span of spans.filter((s) => s.attributes['autopsy.kind'] === 'llm')) {
      expect(stageIds.get(span.parentSpanContext!.spanId)).toBe(String(span.attributes['gen_ai.request.model']).split('-')[1]);
    }
  });

  it('track() inside a stage() inherits its stage', async () => {
    const events = await record(async () => {
      await stage('stage7', async () => {
        await sleep(1);
        track('checkpoint_save', { file: 'a.json' });
      });
      track('checkpoint_load', { file: 'a.json' });
    });
    expect(events.find((event) => event.type === 'checkpoint_save')!.data).toEqual({ file: 'a.json', stage: 'stage7' });
    expect(events.find((event) => event.type === 'checkpoint_load')!.data).toEqual({ file: 'a.json' });
  });
});

describe('track() pairing', () => {
  it('writes each call verbatim and pairs *_start/*_end/*_error into spans', async () => {
    const events = await record(() => {
      track('stage_start', { stage: 'stage1', name: 'Problem Analysis' });
      track('llm_call_start', { model: 'gpt-4o', prompt_length: 1500, stage: 'stage1' });
      track('llm_call_error', { model: 'gpt-4o', error: 'Rate limit exceeded', stage: 'stage1' }, 'ERROR');
      track('task_start', { task: 'writing' });
      track('task_end', { task: 'writing' });
      track('stage_end', { stage: 'stage1', duration: 5.0 });
    });
    expect(events.map((event) => [event.type, event.level, event.data])).toEqual([
      ['stage_start', 'INFO', { stage: 'stage1', name: 'Problem Analysis' }],
      ['llm_call_start', 'INFO', { model: 'gpt-4o', prompt_length: 1500, stage: 'stage1' }],
      ['llm_call_error', 'ERROR', { model: 'gpt-4o', error: 'Rate limit exceeded', stage: 'stage1' }],
      ['task_start', 'INFO', { task: 'writing' }],
      ['task_end', 'INFO', { task: 'writing' }],
      ['stage_end', 'INFO', { stage: 'stage1', duration: 5 }],
    ]);
    const spans = memory.getFinishedSpans();
    expect(spans.map((span) => span.name).sort()).toEqual(['chat gpt-4o', 'stage stage1', 'task writing']);
    const stageSpan = spans.find((span) => span.name === 'stage stage1')!;
    for (const child of spans.filter((span) => span !== stageSpan)) {
      expect(child.parentSpanContext?.spanId).toBe(stageSpan.spanContext().spanId);
    }
    expect(spans.find((span) => span.name === 'chat gpt-4o')!.status).toEqual({ code: 2, message: 'Rate limit exceeded' });
    // The start and end events carry the span's id.
    expect(events[1].span_id).toBe(spans.find((span) => span.name === 'chat gpt-4o')!.spanContext().spanId);
    expect(events[2].span_id).toBe(events[1].span_id);
  });

  it('spans of the API are not written twice and no span stays active after the call', async () => {
    await record(async () => {
      await stage('x', async () => undefined);
      expect(trace.getActiveSpan()).toBeUndefined();
    });
  });
});
