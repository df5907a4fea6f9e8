#!/usr/bin/env node
// Prints the Markdown tables of docs/results.md from an experiment's
// results.json: every cell with its 95% interval and the paired difference
// to plain fine-tuning, MARS-SP against each other regulariser, the searched
// settings, the sensitivity study, times (needs `npm run build` for the
// package's summarise).
//   node scripts/experiments/tables.mjs experiments/results/quick/results.json
import { readFileSync } from 'node:fs';
import { summarise } from '../../dist/experiment/stats.js';

const r = JSON.parse(readFileSync(process.argv[2] ?? 'experiments/results/quick/results.json', 'utf8'));
const pct = (x) => (100 * x).toFixed(2);
const interval = (s) => `${pct(s.mean)} ± ${pct(s.ci95)} (${pct(s.min)}–${pct(s.max)})`;
const diff = (s) => (s ? `${s.mean >= 0 ? '+' : ''}${pct(s.mean)} (${pct(s.low)} to ${pct(s.high)})` : '—');
const table = (header, rows) => [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((x) => `| ${x.join(' | ')} |`)].join('\n');

// One table per study and n: the recipe, BatchNorm mode and n head it.
const studyOf = (x) => `${x.recipe}, BatchNorm ${x.batchNorm}, n = ${x.n}`;
const studies = [...new Set(r.cells.map(studyOf))];
for (const study of studies) {
  console.log(`**${study}**\n`);
  console.log(table(
    ['row', 'test accuracy % (mean ± 95%, range)', 'minus none, paired (95%)', 'post hoc bound (mean)', 'a priori bound (mean)', 'seconds (all seeds)'],
    r.cells.filter((c) => studyOf(c) === study)
      .map((c) => [c.row, interval(c.testAccuracy), diff(c.differenceToNone), c.posthocBound ? c.posthocBound.mean.toExponential(2) : '—', c.aprioriBound ? c.aprioriBound.mean.toExponential(2) : '—', c.seconds.toFixed(0)]),
  ));
  console.log();
}
// MARS-SP against every other regulariser of its study, paired by seed (the paper's claims 2 and 3).
const pairs = studies.flatMap((study) => {
  const of = (row) => r.runs.filter((x) => studyOf(x) === study && x.row === row).sort((a, b) => a.seed - b.seed);
  const mars = of('mars-sp');
  return mars.length ? ['frobenius-sp', 'mars-penalty', 'l2-sp', 'delta', 'bss'].filter((row) => of(row).length === mars.length)
    .map((row) => [study, row, diff(summarise(mars.map((x, i) => x.testAccuracy - of(row)[i].testAccuracy)))]) : [];
});
if (pairs.length) console.log(table(['study', 'other row', 'MARS-SP minus it, paired (95%)'], pairs) + '\n');
// BatchNorm statistics frozen minus updated, per row, paired by seed: the same recipe, n and row in both modes.
const frozen = r.cells.filter((c) => c.batchNorm === 'freeze').flatMap((c) => {
  const of = (mode) => r.runs.filter((x) => x.recipe === c.recipe && x.n === c.n && x.row === c.row && x.batchNorm === mode).sort((a, b) => a.seed - b.seed);
  const [f, u] = [of('freeze'), of('update')];
  return u.length === f.length ? [[`${c.recipe}, n = ${c.n}`, c.row, diff(summarise(f.map((x, i) => x.testAccuracy - u[i].testAccuracy)))]] : [];
});
if (frozen.length) console.log(table(['recipe, n', 'row', 'frozen minus updated BatchNorm statistics, paired (95%)'], frozen) + '\n');
// How far each row moved the backbone: per run the largest and the median MARS distance over its weight tensors, averaged over seeds.
const moved = studies.flatMap((study) => [...new Set(r.runs.filter((x) => studyOf(x) === study).map((x) => x.row))].map((row) => {
  const per = r.runs.filter((x) => studyOf(x) === study && x.row === row)
    .map((x) => x.distances.filter((d) => d.name.startsWith('backbone.')).map((d) => d.mars).sort((a, b) => a - b));
  const mean = (f) => (per.reduce((a, d) => a + f(d), 0) / per.length).toFixed(2);
  return [study, row, mean((d) => d.at(-1)), mean((d) => d[Math.floor(d.length / 2)])];
}));
console.log(table(['study', 'row', 'largest backbone MARS distance', 'median backbone MARS distance'], moved) + '\n');
const fmt = (v) => (typeof v === 'number' ? v.toPrecision(3) : String(v));
console.log(table(
  ['cell', 'trials', 'chosen setting', 'cross-validated accuracy %', 'seconds'],
  r.searches.map((s) => [s.cell, s.trials, Object.entries(s.params).map(([k, v]) => `${k} ${fmt(v)}`).join(', '), s.cvAccuracy === null ? '—' : pct(s.cvAccuracy), s.seconds.toFixed(0)]),
));
if (r.sensitivity.length) {
  console.log();
  const ks = [...new Set(r.sensitivity.map((s) => s.exponent))].sort((a, b) => a - b);
  const methods = [...new Set(r.sensitivity.map((s) => s.method))];
  console.log(table(['method', ...ks.map((k) => `×10^${k}`)], methods.map((m) => [m, ...ks.map((k) => {
    const s = r.sensitivity.find((x) => x.method === m && x.exponent === k);
    return s ? `${pct(s.testAccuracy.mean)} (${s.testAccuracy.n})` : '—';
  })])));
}
const m = r.machine;
console.log(`\n${m.cpu}, ${m.cores} cores, ${m.threads} threads, LibTorch ${m.libtorch}; ${m.date}; all runs and searches ${(m.secondsAllRuns / 60).toFixed(1)} min; this invocation ${(m.secondsThisInvocation / 60).toFixed(1)} min; load average over the runs ${m.loadAverage.mean.toFixed(2)} (${m.loadAverage.min.toFixed(2)}–${m.loadAverage.max.toFixed(2)})`);
