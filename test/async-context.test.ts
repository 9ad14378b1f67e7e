import { context, createContextKey, ROOT_CONTEXT, trace, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { isTracingSuppressed } from '@opentelemetry/core';
import { afterEach, describe, expect, it } from 'vitest';
import { AutopsyContextManager, registerContextManager, runUntraced } from '../src/AutopsyContextManager';
import type { TruthEvent } from '../src/types';
import { runNode, writeScript } from './helpers/childProcess';
import { readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * agent-autopsy's own bookkeeping does not turn AsyncLocalStorage on (on Node 20 that puts a hook
 * on every promise of the app): a zero-code app keeps its promises unhooked, while wrappers,
 * other instrumentations and the app's own contexts still nest as before.
 */

const KEY = createContextKey('agent-autopsy test');
const withValue = (value: string): Context => ROOT_CONTEXT.setValue(KEY, value);
const current = (): unknown => context.active().getValue(KEY);

afterEach(() => {
  context.disable();
});

describe('AutopsyContextManager', () => {
  it('runSync makes a context current while the function runs, and restores the one before (also on a throw)', () => {
    const manager = new AutopsyContextManager();
    expect(registerContextManager(manager)).toBe(true);
    const seen: unknown[] = [];
    manager.runSync(withValue('outer'), () => {
      seen.push(current());
      manager.runSync(withValue('inner'), () => seen.push(current()));
      seen.push(current());
      expect(() =>
        manager.runSync(withValue('thrown'), () => {
          throw new Error('boom');
        }),
      ).toThrow('boom');
      seen.push(current());
    });
    seen.push(current());
    expect(seen).toEqual(['outer', 'inner', 'outer', 'outer', undefined]);
  });

  it('a context entered with with() inside runSync is current there and in its callbacks; callbacks of runSync itself see the context from before', async () => {
    const manager = new AutopsyContextManager();
    registerContextManager(manager);
    const seen: Record<string, unknown> = {};
    let inner: Promise<void> | undefined;
    let fromSync: Promise<void> | undefined;
    context.with(withValue('app'), () => {
      manager.runSync(withValue('sync'), () => {
        inner = context.with(withValue('entered'), async () => {
          seen.entered = current();
          await null;
          seen.enteredLater = current();
        });
        seen.afterWith = current();
        fromSync = (async () => {
          await null;
          seen.syncLater = current();
        })();
      });
    });
    await Promise.all([inner, fromSync]);
    expect(seen).toEqual({ entered: 'entered', enteredLater: 'entered', afterWith: 'sync', syncLater: 'app' });
  });

  it('runUntraced suppresses tracing for the call with our manager, and with a manager the app registered instead', () => {
    const ours = new AutopsyContextManager();
    registerContextManager(ours);
    const suppressed: boolean[] = [];
    runUntraced(() => suppressed.push(isTracingSuppressed(context.active())));
    suppressed.push(isTracingSuppressed(context.active()));
    // The app's manager replaces ours (the API disables the one before).
    context.disable();
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    runUntraced(() => suppressed.push(isTracingSuppressed(context.active())));
    suppressed.push(isTracingSuppressed(context.active()));
    expect(suppressed).toEqual([true, false, true, false]);
  });

  it('registerContextManager refuses when a context manager is already registered, and then leaves runUntraced to it', () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    const ours = new AutopsyContextManager();
    expect(registerContextManager(ours)).toBe(false);
    let suppressed = false;
    runUntraced(() => {
      suppressed = isTracingSuppressed(context.active());
    });
    expect(suppressed).toBe(true);
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});

/** A zero-code ESM app: the openai client against the fake server, its fetch noting the span current inside the SDK. */
function zeroCodeApp(scenario: string): string {
  return `import OpenAI from 'openai';
import { executionAsyncId } from 'node:async_hooks';
import { trace } from '@opentelemetry/api';
import { stage } from 'agent-autopsy';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';

// With promise hooks on (an enabled AsyncLocalStorage), a continuation runs under its own async id.
const promiseHooksOn = async () => { await null; return executionAsyncId() !== 0; };
const server = await startFakeLlmServer();
const current = [];
const client = new OpenAI({
  baseURL: server.baseURL,
  apiKey: 'sk-test-0123456789abcdefghij',
  maxRetries: 0,
  fetch: (url, init) => { current.push(trace.getActiveSpan()?.spanContext().spanId ?? null); return fetch(url, init); },
});
const chat = (content) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });
const out = { current };
${scenario}
await server.close();
process.stdout.write(JSON.stringify(out) + '\\n');
`;
}

async function runZeroCode(scenario: string): Promise<{ out: Record<string, unknown>; events: TruthEvent[] }> {
  const dir = tempRunDir('autopsy-context-');
  const result = await runNode(writeScript(zeroCodeApp(scenario)), { nodeArgs: ['--import', 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: dir } });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return { out: JSON.parse(result.stdout.trim().split('\n').pop()!), events: readTrackerDocument(dir).events };
}

const spanIdsOf = (events: TruthEvent[], type: string): (string | undefined)[] => events.filter((event) => event.type === type).map((event) => event.span_id);

describe('zero code and AsyncLocalStorage', () => {
  it('an app that only makes openai calls keeps promise hooks off, through its calls and the log writes', async () => {
    const { out, events } = await runZeroCode(`
await chat('one');
await chat('two');
// The logs' timed flush (25 ms) has run by now.
await new Promise((resolve) => setTimeout(resolve, 80));
out.hooks = await promiseHooksOn();
`);
    expect(out.hooks).toBe(false);
    // Nothing could read the call's span inside the SDK, so it was not made current there.
    expect(out.current).toEqual([null, null]);
    expect(events.map((event) => event.type)).toEqual(['llm_call_start', 'llm_call_end', 'llm_call_start', 'llm_call_end']);
  });

  it("once another instrumentation's tracer exists, the call's span is current inside the SDK (its HTTP span nests under it)", async () => {
    const { out, events } = await runZeroCode(`
const httpTracer = trace.getTracer('app-http-instrumentation');
await chat('one');
out.hooks = await promiseHooksOn();
`);
    expect(out.current).toEqual(spanIdsOf(events, 'llm_call_start'));
    expect(out.current).toEqual([expect.stringMatching(/^[0-9a-f]{16}$/)]);
    expect(out.hooks).toBe(true);
  });

  it('the first wrapper turns contexts on: calls inside it nest under it, later calls are current inside the SDK', async () => {
    const { out, events } = await runZeroCode(`
await chat('before');
out.before = await promiseHooksOn();
await stage('plan', async () => { await chat('inside'); });
out.after = await promiseHooksOn();
await chat('after');
`);
    expect(out.before).toBe(false);
    expect(out.after).toBe(true);
    const calls = spanIdsOf(events, 'llm_call_start');
    expect(calls).toHaveLength(3);
    expect(out.current).toEqual([null, calls[1], calls[2]]);
    const stageStart = events.find((event) => event.type === 'stage_start')!;
    const inside = events.filter((event) => event.type === 'llm_call_start')[1];
    expect(inside.parent_span_id).toBe(stageStart.span_id);
    expect(inside.data.stage).toBe('plan');
  });
});

describe("agent-autopsy's own files under an fs instrumentation", () => {
  it("hides the logs', the autofix log's and the reports' writes from it (tracing suppressed), leaves the app's own writes alone, and turns no promise hooks on", async () => {
    const dir = tempRunDir('autopsy-context-fs-');
    const script = writeScript(
      `'use strict';
const fs = require('node:fs');
const { join } = require('node:path');
const { executionAsyncId } = require('node:async_hooks');
const { context } = require('@opentelemetry/api');
const { isTracingSuppressed } = require('@opentelemetry/core');
// What an fs instrumentation sees: each writeSync, with the file (Linux /proc) and whether tracing is suppressed.
const writes = [];
const writeSync = fs.writeSync;
fs.writeSync = function tracedWriteSync(fd, ...rest) {
  let file = null;
  try { file = fs.readlinkSync('/proc/self/fd/' + fd); } catch {}
  writes.push({ file, suppressed: isTracingSuppressed(context.active()) });
  return writeSync.call(this, fd, ...rest);
};
const autopsy = require('agent-autopsy');
autopsy.init({ outputDir: process.env.RUN_DIR, handleExit: false });
(async () => {
  autopsy.track('data_loaded', { rows: 3 });
  autopsy.track('stage_start', { stage: 'load' });
  await new Promise((resolve) => setTimeout(resolve, 80));
  autopsy.track('stage_end', { stage: 'load' });
  await null;
  const hooks = executionAsyncId() !== 0;
  // A wrapper: it enters a context (hooks on from here), and its repair rewrites autofix_log.json.
  autopsy.autofix({ layer: 1, type: 'syntax' }, () => true);
  await autopsy.shutdown();
  const own = fs.openSync(join(process.env.RUN_DIR, 'app.txt'), 'w');
  fs.writeSync(own, 'the app writes too');
  fs.closeSync(own);
  process.stdout.write(JSON.stringify({ writes, hooks }) + '\\n');
})();
`,
      '.cjs',
    );
    const result = await runNode(script, { env: { RUN_DIR: dir } });
    expect(result.stderr).toBe('');
    const { writes, hooks } = JSON.parse(result.stdout.trim()) as { writes: { file: string | null; suppressed: boolean }[]; hooks: boolean };
    const ours = writes.filter((write) => write.file !== null && write.file.startsWith(dir) && !write.file.endsWith('/app.txt'));
    // Every file of the run was written (the lock, the reports and the autofix log through a
    // temporary file of their own), each with tracing suppressed.
    const names = new Set(ours.map((write) => write.file!.split('/').pop()!.replace(/\.[\d-]+\.tmp$/, '')));
    expect(names).toEqual(new Set(['.agent-autopsy.lock', 'execution_tracker.json', 'execution_tracker_readable.txt', 'autofix_log.json', 'latent_analysis_report.json', 'autopsy.md', 'autopsy.html']));
    // The lock too: init() registers agent-autopsy's context manager before it opens the run.
    expect(ours.filter((write) => !write.suppressed).map((write) => write.file)).toEqual([]);
    // The logs were written twice each at least: the timed flush, then the close.
    expect(ours.filter((write) => write.file!.includes('/execution_tracker')).length).toBeGreaterThanOrEqual(4);
    expect(writes.filter((write) => write.file?.endsWith('/app.txt'))).toEqual([{ file: expect.stringMatching(/app\.txt$/), suppressed: false }]);
    expect(hooks).toBe(false);
    expect(readTrackerDocument(dir).events.map((event) => event.type)).toEqual(['data_loaded', 'stage_start', 'stage_end', 'autofix_start', 'autofix_end']);
  });
});
