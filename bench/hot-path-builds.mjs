// On request (bench/README.md, item 30): two builds side by side on the hot path.
//
//   node bench/hot-path-builds.mjs <bundle A> <bundle B> [--kinds stage,task,llm] [--rounds 40]
//
// Each bundle is a build's index.cjs (e.g. a copy of dist/ made before a change, and dist/). For
// each kind of span, one long-lived hot-path child per build measures a segment of 10,000 spans
// per round, the two in a shuffled order (bench/common.mjs `pairedRounds`, as scenario 1 does);
// the ratio B ÷ A is taken within each round, and its median and quartiles are printed. This is
// how item 30 saw a change of CPU time that instruction counts did not show.

import { resolve } from 'node:path';
import { argNumber, argValue, median, pairedRounds, printTable, progress, quartiles, round } from './common.mjs';

const HOT_PATH = new URL('./hot-path.mjs', import.meta.url).pathname;

const [first, second] = process.argv.slice(2).filter((arg, i, all) => !arg.startsWith('--') && !['--kinds', '--rounds'].includes(all[i - 1]));
if (!first || !second) {
  console.error('usage: node bench/hot-path-builds.mjs <bundle A (index.cjs)> <bundle B> [--kinds stage,task,llm] [--rounds 40]');
  process.exit(2);
}
const [a, b] = [resolve(first), resolve(second)];
if (a === b) {
  console.error('the two bundles are the same file: give two builds');
  process.exit(2);
}
const kinds = argValue('kinds', 'stage,task,llm').split(',');
const rounds = argNumber('rounds', 40);

const rows = [];
for (const kind of kinds) {
  const [variantA, variantB] = [`autopsy:${kind}@${a}`, `autopsy:${kind}@${b}`];
  const results = await pairedRounds({
    script: HOT_PATH,
    variants: [variantA, variantB],
    rounds,
    warmup: 30_000,
    count: 10_000,
    onProgress: (done) => progress(`${kind}: round ${done + 1}/${rounds}`),
  });
  const ratios = results[variantA].map((segment, i) => results[variantB][i].cpuUsPerOp / segment.cpuUsPerOp);
  const cost = (variant) => round(median(results[variant].map((segment) => segment.cpuUsPerOp)));
  rows.push([kind, cost(variantA), cost(variantB), round(median(ratios), 3), quartiles(ratios).join(' – ')]);
}
printTable(`hot path, µs of process CPU time per span (median of ${rounds} paired rounds); A = ${a}, B = ${b}`, ['span kind', 'A', 'B', 'B ÷ A', 'quartiles of the rounds'], rows);
