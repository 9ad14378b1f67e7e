import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config';

describe('environment variables of init()', () => {
  it('an empty AGENT_AUTOPSY_DIR is unset: the default run directory, not the working directory', () => {
    const outputDir = resolveConfig({}, { AGENT_AUTOPSY_DIR: '' }).outputDir;
    expect(outputDir).not.toBe(resolve(''));
    expect(outputDir.startsWith(resolve('autopsy-runs'))).toBe(true);
  });

  it('a set AGENT_AUTOPSY_DIR is the run directory', () => {
    expect(resolveConfig({}, { AGENT_AUTOPSY_DIR: 'runs/today' }).outputDir).toBe(resolve('runs/today'));
  });
});
