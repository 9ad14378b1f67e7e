import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { defineConfig } from 'tsup';

// The library keeps process-wide state (one run, one set of exit hooks), so its code is built
// once, as a single CommonJS file (dist/core.cjs, from src/bundle.ts), and every published entry
// point of the library is a thin wrapper around it (the CLI bin has its own bundle, see below):
// `import` and `require` of any entry share one instance (no dual-package hazard). A single file
// also avoids tsup's CommonJS code splitting, which rewrites chunks with sucrase (optional chaining
// becomes helper calls with closures on every use, and a class field named like an export of its
// chunk replaced that export at run time).
//
// No source maps are written (or published). With source maps on (`--enable-source-maps`, tsx and
// other TypeScript runners), the first stack Node formats through a frame of dist/core.cjs made it
// decode that file's map: 1.1 MB with the sources inside, 0.3 MB without, and a stall of 0.1-0.4 s
// either way at the app's first error (bench/README.md item 37). The bundle is plain, unminified
// JavaScript with the functions' own names, and the maps pointed at src/ files the package does
// not ship.

const CJS_WRAPPERS: Record<string, string> = {
  'index.cjs': "'use strict';\nmodule.exports = require('./core.cjs').api;\n",
  'exporters.cjs': "'use strict';\nmodule.exports = require('./core.cjs').exporters;\n",
  'analyzers.cjs': "'use strict';\nmodule.exports = require('./core.cjs').analyzers;\n",
  // Loading it is the zero-code setup (`node --require agent-autopsy/register`).
  'register.cjs': "'use strict';\nrequire('./core.cjs').registerZeroCode();\n",
  // The bin runs in a process of its own and never meets the library's state: it has a bundle of
  // its own (dist/cli-main.cjs) without OpenTelemetry's SDK and exporters, which took 0.2-0.3 s
  // of every `agent-autopsy report` just to load.
  'cli.cjs': "#!/usr/bin/env node\n'use strict';\nrequire('./cli-main.cjs').runCli();\n",
};

function writeWrappers(): void {
  for (const [file, source] of Object.entries(CJS_WRAPPERS)) writeFileSync(`dist/${file}`, source, { mode: file === 'cli.cjs' ? 0o755 : 0o644 });
  const require = createRequire(import.meta.url);
  for (const name of ['index', 'exporters', 'analyzers']) {
    const names = Object.keys(require(`./dist/${name}.cjs`)).filter((key) => key !== 'default');
    const lines = [`import cjs from './${name}.cjs';`, `export const { ${names.join(', ')} } = cjs;`, 'export default cjs;', ''];
    writeFileSync(`dist/${name}.mjs`, lines.join('\n'));
  }
  // register.mjs installs the ESM loader hooks first, then loads the shared CommonJS setup.
  writeFileSync('dist/register.mjs', readFileSync('src/register-esm.mjs', 'utf8'));
  // The loader hook itself, which Node loads in its loader thread by URL.
  writeFileSync('dist/esm-loader-hook.mjs', readFileSync('src/esm-loader-hook.mjs', 'utf8'));
}

export default defineConfig([
  {
    entry: { core: 'src/bundle.ts' },
    format: ['cjs'],
    outExtension: () => ({ js: '.cjs' }),
    splitting: false,
    sourcemap: false,
    // Everything but the CLI's bundle, which the next build writes at the same time.
    clean: ['!cli-main.cjs'],
    target: 'node20',
    platform: 'node',
    onSuccess: async () => writeWrappers(),
  },
  {
    // The CLI bin's bundle (see CJS_WRAPPERS), with its dependencies inside: one file to load
    // instead of ~70 modules (commander, cli-progress, @opentelemetry/api), ~35 ms of every command.
    // string-width (CommonJS up to v4) is cli-progress's own, so it was in the bundle already.
    entry: { 'cli-main': 'src/cli.ts' },
    format: ['cjs'],
    outExtension: () => ({ js: '.cjs' }),
    splitting: false,
    sourcemap: false,
    target: 'node20',
    platform: 'node',
    noExternal: ['commander', 'cli-progress', '@opentelemetry/api', 'string-width'],
  },
  {
    // Type declarations per entry point (no JavaScript: that is the bundle above).
    entry: {
      index: 'src/index.ts',
      register: 'src/register.ts',
      exporters: 'exporters/index.ts',
      analyzers: 'analyzers/index.ts',
    },
    format: ['cjs'],
    dts: { only: true },
    target: 'node20',
    platform: 'node',
  },
]);
