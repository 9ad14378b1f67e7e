import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
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

/**
 * tsup's CommonJS code splitting rewrites ESM chunks with sucrase, which turns a class field that
 * shares its name with an export of the same chunk into `this.x = exports.x = …`, replacing the
 * export at run time. Fail the build instead of shipping that.
 */
function checkChunks(): void {
  for (const file of readdirSync('dist')) {
    if (!file.endsWith('.cjs')) continue;
    const clash = /this\.(\w+) = exports\.\1\b/.exec(readFileSync(`dist/${file}`, 'utf8'));
    if (clash) throw new Error(`dist/${file}: a class field shadows the export "${clash[1]}" (rename the field)`);
  }
}

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
  clean: true,
  target: 'node20',
  platform: 'node',
  shims: false,
  onSuccess: async () => {
    checkChunks();
    writeEsmWrappers();
  },
});
