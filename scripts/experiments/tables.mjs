#!/usr/bin/env node
// Prints the Markdown tables of docs/results.md from an experiment's
// results.json: every cell with its 95% interval and the paired difference
// to plain fine-tuning, the searched settings, the sensitivity study, times.
//   node scripts/experiments/tables.mjs experiments/results/quick/results.json
import { readFileSync } from 'node:fs';

const r = JSON.parse(readFileSync(process.argv[2] ?? 'experiments/results/quick/results.json', 'utf8'));
const pct = (x) => (100 * x).toFixed(2);
const interval = (s) => `${pct(s.mean)} ± ${pct(s.ci95)} (${pct(s.min)}–${pct(s.max)})`;
const diff = (s) => (s ? `${s.mean >= 0 ? '+' : ''}${pct(s.mean)} (${pct(s.low)} to ${pct(s.high)})` : '—');
const table = (header, rows) => [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((x) => `| ${x.join(' | ')} |`)].join('\n');

console.log(table(
  ['recipe', 'BatchNorm', 'n', 'row', 'test accuracy % (mean ± 95%, range)', 'minus none, paired (95%)', 'post hoc bound (mean)', 'a priori bound (mean)', 'seconds (all seeds)'],
  r.cells.map((c) => [c.recipe, c.batchNorm, c.n, c.row, interval(c.testAccuracy), diff(c.differenceToNone), c.posthocBound ? c.posthocBound.mean.toExponential(2) : '—', c.aprioriBound ? c.aprioriBound.mean.toExponential(2) : '—', c.seconds.toFixed(0)]),
));
console.log();
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
