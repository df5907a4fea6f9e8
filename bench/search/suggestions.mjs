#!/usr/bin/env node
// Our TPE against Optuna's, suggestion by suggestion: for a few sets of
// observations of a 1-D objective (log-uniform on [e^-10, e^-1], loss
// (ln x + 6)^2, n observations drawn at random with a seed), the distribution
// of the next suggestion over many seeds from each sampler, compared by the
// two-sample Kolmogorov–Smirnov distance. Optuna is Debian's 3.1.0, as
// shipped and with its truncated-normal density fixed (optuna_regret.py).
// Writes bench/results/search-tpe-optuna.json with --write.
//   npm run build:ts && node bench/search/suggestions.mjs [--draws 2000] [--write]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Rng } from '../../dist/data/rng.js';
import { suggest } from '../../dist/search/samplers.js';
import { logUniform } from '../../dist/search/space.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { draws: { type: 'string', default: '2000' }, write: { type: 'boolean', default: false } } });
const DRAWS = Number(values.draws);
const work = mkdtempSync(join(tmpdir(), 'mars-tpe-'));
const space = { w: logUniform(Math.exp(-10), Math.exp(-1)) };

/** Largest gap between the empirical CDFs of a and b. */
function ks(a, b) {
  const [x, y] = [[...a].sort((p, q) => p - q), [...b].sort((p, q) => p - q)];
  let [i, j, d] = [0, 0, 0];
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i], y[j]);
    while (i < x.length && x[i] <= v) i++;
    while (j < y.length && y[j] <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

const cases = [];
for (const [n, seed] of [[8, 1], [20, 2], [20, 3], [40, 4]]) {
  const rng = new Rng(seed);
  const observations = Array.from({ length: n }, () => {
    const lx = rng.uniform(-10, -1);
    return [Math.exp(lx), (lx + 6) ** 2];
  });
  const file = join(work, `obs-${n}-${seed}.json`);
  writeFileSync(file, JSON.stringify(observations));
  // Trial ids in the order Optuna is told of them (its forgetting weighs by that order).
  const ranked = observations.map(([w, loss], id) => ({ id, params: { w }, loss })).sort((a, b) => a.loss - b.loss);
  const ours = Array.from({ length: DRAWS }, (_, s) => Math.log(suggest({ type: 'tpe', startup: 5, candidates: 24 }, space, ranked, new Rng(1_000_000 + s)).w));
  const optuna = (fixed) => JSON.parse(execFileSync('/usr/bin/python3', [join(here, 'optuna_suggest.py'), file, String(DRAWS), fixed ? '1' : '0'], { encoding: 'utf8' }));
  const [shipped, fixed] = [optuna(false), optuna(true)];
  const row = { observations: n, seed, ksShipped: ks(ours, shipped.suggestions), ksFixed: ks(ours, fixed.suggestions), optuna: shipped.optuna };
  cases.push(row);
  console.log(`n=${n} seed ${seed}: KS distance to Optuna as shipped ${row.ksShipped.toFixed(3)}, with its density fixed ${row.ksFixed.toFixed(3)}`);
}
// Two samples of DRAWS each differ by more than 1.95·sqrt(2/DRAWS) with probability 0.001 when drawn from one distribution.
const critical = 1.95 * Math.sqrt(2 / DRAWS);
console.log(`critical KS distance (p = 0.001): ${critical.toFixed(3)}`);
const out = { experiment: 'TPE suggestions: ours vs Optuna (docs/search.md)', date: new Date().toISOString(), draws: DRAWS, critical, cases };
const dir = values.write ? resolve(here, '..', 'results') : work;
writeFileSync(join(dir, 'search-tpe-optuna.json.tmp'), JSON.stringify(out, null, 2) + '\n');
renameSync(join(dir, 'search-tpe-optuna.json.tmp'), join(dir, 'search-tpe-optuna.json'));
console.log(`wrote ${join(dir, 'search-tpe-optuna.json')}`);
