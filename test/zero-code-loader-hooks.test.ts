import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runNode } from './helpers/childProcess';
import { readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

/**
 * The flag's ESM loader hook beside an APM's own import-in-the-middle hook, registered from the
 * same file (Sentry 10's `Sentry.init`, Sentry's `--import ./instrument.mjs`): each keeps its own
 * list of modules to wrap, whichever comes first, and Node prints no "hook has already been
 * initialized" warning. Before, both were one instance of the hook module: the second
 * registration's list replaced the first's (with Sentry errors-only after the flag no openai call
 * was recorded; with the flag after Sentry, Sentry's express spans were gone).
 */

let dir = '';

beforeAll(() => {
  dir = tempRunDir('.tmp-', join(REPO_ROOT, 'test'));
  // The APM, as Sentry registers it: import-in-the-middle's hook.mjs with a message port, and a
  // Hook on the module it instruments (here a file of the app's), which it says it saw.
  writeFileSync(
    join(dir, 'apm.mjs'),
    `import { register } from 'node:module';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
const require = createRequire(import.meta.url);
const iitm = require('import-in-the-middle');
const { registerOptions, waitForAllMessagesAcknowledged } = iitm.createAddHookMessageChannel();
register('import-in-the-middle/hook.mjs', import.meta.url, { data: { include: [], ...registerOptions.data }, transferList: registerOptions.transferList });
new iitm.Hook([fileURLToPath(new URL('./db.mjs', import.meta.url))], (exported) => { exported.query = () => 'query seen by the APM'; return exported; });
await waitForAllMessagesAcknowledged();
`,
  );
  writeFileSync(join(dir, 'db.mjs'), `export function query() { return 'query not seen'; }\n`);
  writeFileSync(
    join(dir, 'app.mjs'),
    `import OpenAI from 'openai';
import { query } from './db.mjs';
import { startFakeLlmServer } from '../../examples/fake-llm-server.mjs';
const server = await startFakeLlmServer();
const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'sk-test-0123456789abcdefghij', maxRetries: 0 });
await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] });
await server.close();
console.log(query());
`,
  );
});

describe("the flag's loader hook beside an APM's import-in-the-middle hook", () => {
  it.for([
    ['the APM after the flag', ['--import', 'agent-autopsy/register', '--import', './apm.mjs']],
    ['the APM before the flag', ['--import', './apm.mjs', '--import', 'agent-autopsy/register']],
  ] as const)('%s: the APM wraps its module, the flag records the openai call, and nothing is printed', async ([, nodeArgs]) => {
    const runDir = tempRunDir('autopsy-loader-hooks-');
    const result = await runNode(join(dir, 'app.mjs'), { cwd: dir, nodeArgs: [...nodeArgs], env: { AGENT_AUTOPSY_DIR: runDir }, timeoutMs: 60_000 });
    expect(result).toMatchObject({ code: 0, stdout: 'query seen by the APM\n', stderr: '' });
    expect(readTrackerDocument(runDir).events.map((event) => [event.type, event.data.model])).toEqual([
      ['llm_call_start', 'gpt-4o'],
      ['llm_call_end', 'gpt-4o'],
    ]);
  });
});
