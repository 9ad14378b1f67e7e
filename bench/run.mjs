// `npm run bench`: every scenario of issue 7, one after another, each measuring in fresh child
// processes and printing its table of ratios measured side by side; then bench/results.json with
// the machine the figures came from.
//
//   node bench/run.mjs                  every scenario but instructions (about 10 minutes on 2 cores)
//   node bench/run.mjs hot-path track   some of them
//   node bench/run.mjs instructions     instruction counts under valgrind (only when named)
//   node bench/run.mjs --quick          smaller runs (a smoke test of the benchmarks themselves)
//   node bench/run.mjs --rounds 3       child processes per variant (default: each scenario's own)
//
// It measures the built package: run `npm run build` (npx tsup) after changing library code.

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { argNumber, BENCH_DIR, cliPath, machineInfo, REPO_DIR } from './common.mjs';

const SCENARIOS = ['hot-path', 'track', 'memory', 'shutdown', 'report-cli', 'concurrency', 'zero-code'];
/** Run only when named: instruction counts need valgrind and take longer than the rest together. */
const ON_REQUEST = ['instructions'];

/** Options followed by a value (the value is not a scenario name). */
const VALUE_OPTIONS = ['--rounds', '--against', '--warmup', '--operations', '--zero-code-calls', '--zero-code-warmup'];
const positional = process.argv.slice(2).filter((arg, i, all) => !arg.startsWith('--') && !VALUE_OPTIONS.includes(all[i - 1]));
const selected = positional.length > 0 ? positional : SCENARIOS;
for (const name of selected) {
  if (!SCENARIOS.includes(name) && !ON_REQUEST.includes(name)) {
    console.error(`unknown scenario ${name}; choose from ${[...SCENARIOS, ...ON_REQUEST].join(', ')}`);
    process.exit(2);
  }
}
if (!process.env.AUTOPSY_BENCH_LIB && !existsSync(join(REPO_DIR, 'dist', 'index.cjs'))) {
  console.error('dist/ is missing: run `npm run build` first');
  process.exit(2);
}

const quick = process.argv.includes('--quick');
const rounds = argNumber('rounds', Number(process.env.AUTOPSY_BENCH_ROUNDS) || undefined);
const machine = machineInfo();
console.log(`agent-autopsy benchmarks — ${machine.cpu_model} × ${machine.cpus}, ${machine.os}, Node ${machine.node}; load average ${machine.load_average_at_start.join(' ')}`);
console.log(`library: ${process.env.AUTOPSY_BENCH_LIB ?? 'dist/ (agent-autopsy)'}; CLI: ${cliPath()}${quick ? '; quick mode' : ''}`);

const results = {};
const started = Date.now();
for (const name of selected) {
  const scenario = await import(join(BENCH_DIR, `${name}.mjs`));
  const scenarioStarted = Date.now();
  try {
    const result = await scenario.run({ quick, ...(rounds ? { rounds } : {}) });
    result.seconds = Math.round((Date.now() - scenarioStarted) / 1000);
    results[name] = result;
    scenario.print(result);
  } catch (error) {
    results[name] = { scenario: name, error: error instanceof Error ? error.message : String(error) };
    console.log(`\n${name}: failed — ${results[name].error}`);
  }
}

const checks = Object.values(results).flatMap((result) => (result.checks ?? []).map((item) => ({ scenario: result.scenario, ...item })));
const passed = checks.filter((item) => item.pass).length;
console.log(`\n${passed} of ${checks.length} targets met (${Math.round((Date.now() - started) / 1000)} s)`);
for (const item of checks.filter((entry) => !entry.pass)) {
  const verdict = item.inconclusive ? 'N/A ' : 'MISS';
  console.log(`  ${verdict}  [${item.scenario}] ${item.target}  (measured ${item.value}${item.inconclusive ? `; inconclusive: ${item.inconclusive}` : ''})`);
}

const output = {
  generated_at: new Date().toISOString(),
  machine: { ...machine, load_average_at_end: machineInfo().load_average_at_start },
  library: process.env.AUTOPSY_BENCH_LIB ?? 'dist',
  quick,
  scenarios: results,
  summary: { targets: checks.length, met: passed, missed: checks.filter((item) => !item.pass).map((item) => `[${item.scenario}] ${item.target}`) },
};
if (!quick && SCENARIOS.every((name) => selected.includes(name))) writeFileSync(join(BENCH_DIR, 'results.json'), `${JSON.stringify(output, null, 2)}\n`);
else writeFileSync(join(BENCH_DIR, quick ? 'results.quick.json' : 'results.partial.json'), `${JSON.stringify(output, null, 2)}\n`);
