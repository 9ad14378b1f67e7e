import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/plainEnvironment.ts', 'test/setup/removeTempDirs.ts'],
    // Each file runs in its own process: the library keeps one run per process, as apps do.
    pool: 'forks',
    // Two files at a time (vitest's default on 2 cores is one): most of a file's time is spent
    // waiting on the child processes, browser and servers it starts. When this was chosen, ~190 s
    // for the suite here instead of ~300 s; the suite has grown since (~280 s two at a time).
    maxWorkers: 2,
    // Above the longest wait a test gives its child processes (60–90 s): a test that ran out first
    // left its child running, loading the tests after it. Nothing waits this long unless it hangs.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
