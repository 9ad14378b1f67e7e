// The span attributes of the five wrappers, exactly: what an OTLP backend receives from them.
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeAll, expect, it } from 'vitest';
import { autofix, codeExec, init, llmCall, shutdown, stage, task } from '../src/index';
import { tempRunDir } from './helpers/tempDirs';

const memory = new InMemorySpanExporter();

beforeAll(async () => {
  init({ outputDir: tempRunDir(), handleExit: false, spanProcessors: [new SimpleSpanProcessor(memory)] });
  await shutdown();
});

afterEach(async () => {
  await shutdown();
  memory.reset();
});

it('each wrapper puts exactly these attributes on its span, in this order (its kind and start event first)', async () => {
  init({ outputDir: tempRunDir(), handleExit: false });
  stage('s1', { name: 'Plan', owner: 'me', nested: { a: 1 } }, () => {
    task('t1', { rows: 3, stage: 's1', flag: true }, () => 1);
    task({ name: 'unnamed' }, () => 1);
    llmCall('ask', { model: 'm1', provider: 'p1', operation: 'embeddings', temperature: 0.2, stage: 's1' }, () => 1);
    llmCall({ model: 'm2' }, () => 1);
    codeExec({ language: 'python', attempt: 2 }, () => 1);
    autofix({ layer: 1, type: 'syntax', note: 'x' }, () => true);
  });
  await shutdown();
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
