import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { defineConfig } from 'tsup';

// The library keeps process-wide state (one run, one set of exit hooks), so it is built once, as
// CommonJS, and the ESM entry points are thin re-exports of it: `import` and `require` in the same
// process always share a single instance (no dual-package hazard).
const entries = {
  index: 'src/index.ts',
  register: 'src/register.ts',
  exporters: 'exporters/index.ts',
  analyzers: 'analyzers/index.ts',
  cli: 'src/cli.ts',
};

function writeEsmWrappers(): void {
  const require = createRequire(import.meta.url);
  for (const name of ['index', 'exporters', 'analyzers']) {
    const modulePath = require.resolve(`./dist/${name}.cjs`);
    delete require.cache[modulePath];
    const names = Object.keys(require(modulePath)).filter((key) => key !== 'default');
    const lines = [
      `import cjs from './${name}.cjs';`,
      `export const { ${names.join(', ')} } = cjs;`,
      'export default cjs;',
      '',
    ];
    writeFileSync(`dist/${name}.mjs`, lines.join('\n'));
  }
  // register.mjs installs the ESM loader hooks first, then loads the shared CommonJS setup.
  writeFileSync('dist/register.mjs', readFileSync('src/register-esm.mjs', 'utf8'));
}

export default defineConfig({
  entry: entries,
  format: ['cjs'],
  outExtension: () => ({ js: '.cjs' }),
  dts: true,
  splitting: true,
  sourcemap: true,
  clean: false, // several test processes may be reading dist/ while it is rebuilt
  target: 'node20',
  platform: 'node',
  shims: false,
  onSuccess: async () => writeEsmWrappers(),
});
