import { expect, it } from 'vitest';
import { runNode, writeScript } from './helpers/childProcess';
import { readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * The zero-code setup and the API are one library instance: an app started with the register
 * flag can still import the API (ESM or CommonJS) and use it, its spans go to the same run, and
 * every export is what it is without the flag.
 */


const ESM = `import * as api from 'agent-autopsy';
import { autofix, stage, shutdown } from 'agent-autopsy';
const exportsAfter = Object.fromEntries(Object.entries(api).map(([key, value]) => [key, typeof value]));
await stage('stage1', () => autofix({ layer: 1, type: 'syntax' }, () => true));
const report = await shutdown();
process.stdout.write(JSON.stringify({ exportsAfter, dir: report?.run.output_dir ?? null, attempts: report?.autofix_statistics.total_attempts }) + '\\n');
`;

const CJS = `const api = require('agent-autopsy');
const exportsAfter = Object.fromEntries(Object.entries(api).map(([key, value]) => [key, typeof value]));
(async () => {
  await api.stage('stage1', () => api.autofix({ layer: 1, type: 'syntax' }, () => true));
  const report = await api.shutdown();
  process.stdout.write(JSON.stringify({ exportsAfter, dir: report?.run.output_dir ?? null, attempts: report?.autofix_statistics.total_attempts }) + '\\n');
})();
`;

it.each([
  ['ESM', ESM, '.mjs', '--import'],
  ['CommonJS', CJS, '.cjs', '--require'],
] as const)('%s: the API is intact and shares the zero-code run', async (_name, source, extension, flag) => {
  const script = writeScript(source, extension);
  const runDir = tempRunDir('autopsy-zero-code-api-');
  const plain = await runNode(script, { env: { AGENT_AUTOPSY_DIR: runDir } });
  expect(plain.code).toBe(0);
  const withFlag = await runNode(script, { nodeArgs: [flag, 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: runDir } });
  expect(withFlag.stderr).toBe('');
  expect(withFlag.code).toBe(0);
  const before = JSON.parse(plain.stdout);
  const after = JSON.parse(withFlag.stdout);
  expect(after.exportsAfter).toEqual(before.exportsAfter);
  expect(after.exportsAfter.autofix).toBe('function');
  // Without the flag nothing was initialised (shutdown() has no run); with it, the run is the zero-code one.
  expect(before.dir).toBeNull();
  expect(after).toMatchObject({ dir: runDir, attempts: 1 });
  expect(readTrackerDocument(runDir).events.map((event) => event.type)).toEqual(['stage_start', 'autofix_start', 'autofix_end', 'stage_end']);
});

it('worker threads (which run --require preloads too) leave the run to the main thread', async () => {
  const script = writeScript(`import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { stage } from 'agent-autopsy';
await stage('main_stage', async () => {
  const worker = new Worker("require('node:child_process'); process.stdout.write('worker ran\\\\n');", { eval: true });
  await once(worker, 'exit');
});
`);
  const runDir = tempRunDir('autopsy-zero-code-worker-');
  const result = await runNode(script, { nodeArgs: ['--require', 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: runDir } });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toBe('worker ran\n');
  expect(readTrackerDocument(runDir).events.map((event) => event.type)).toEqual(['stage_start', 'stage_end']);
});
