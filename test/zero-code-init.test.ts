import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runNode, writeScript } from './helpers/childProcess';
import { readReport, readTrackerDocument } from './helpers/runFiles';
import { tempRunDir } from './helpers/tempDirs';

// An app started with `--import agent-autopsy/register` that also calls init() itself.

const scripts: string[] = [];
afterAll(() => {
  for (const script of scripts) rmSync(dirname(script), { recursive: true, force: true });
});

function app(source: string): string {
  const path = writeScript(source, '.mjs');
  scripts.push(path);
  return path;
}

describe('init() under the zero-code flag', () => {
  it("the app's own init() before its first event wins over the environment", async () => {
    const fromEnv = join(tempRunDir(), 'from-env');
    const explicit = tempRunDir();
    const path = app(
      `import { init, stage } from 'agent-autopsy';
       init({ outputDir: ${JSON.stringify(explicit)}, locale: 'zh-CN', serviceName: 'mine' });
       await stage('stage1', async () => 1);`,
    );
    const result = await runNode(path, { nodeArgs: ['--import', 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: fromEnv } });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(readTrackerDocument(explicit).events.map((event) => event.type)).toEqual(['stage_start', 'stage_end']);
    expect(readReport(explicit).run.locale).toBe('zh-CN');
    // The environment's run recorded nothing and left nothing behind.
    expect(existsSync(fromEnv)).toBe(false);
  });

  it('after the first event the zero-code run continues and init() warns once', async () => {
    const fromEnv = tempRunDir();
    const explicit = join(tempRunDir(), 'never');
    const path = app(
      `import { init, track } from 'agent-autopsy';
       track('checkpoint_load', { stage: 'stage1' });
       init({ outputDir: ${JSON.stringify(explicit)} });
       init({ outputDir: ${JSON.stringify(explicit)} });
       track('checkpoint_save', { stage: 'stage1' });`,
    );
    const result = await runNode(path, { nodeArgs: ['--import', 'agent-autopsy/register'], env: { AGENT_AUTOPSY_DIR: fromEnv } });
    expect(result.code).toBe(0);
    expect(result.stderr.match(/init\(\) was called again/g)).toHaveLength(1);
    expect(readTrackerDocument(fromEnv).events.map((event) => event.type)).toEqual(['checkpoint_load', 'checkpoint_save']);
    expect(existsSync(explicit)).toBe(false);
  });
});
