#!/usr/bin/env node
// benchmarks.md A: does the method work? Transfer from the embedded backbone
// (Fashion-MNIST classes 0-4) to classes 5-9 with n training images per class,
// for every regulariser and for training from scratch. Each row with
// hyperparameters chooses them with the package's `search` (the method's
// default space, the same number of trials for every row) on draw 0's n + 10
// images per class: stratified k-fold cross-validation (default), or with
// --val the separate validation set of 10 per class (ties in accuracy go to
// the lower validation loss). Then it retrains its best setting on
// train+validation with paired seeds (seed s draws the same images for every
// row) and scores on the full test split: mean, std and 95% confidence
// interval. Writes bench/results/accuracy-n<N>.json with --write (else to a
// temporary folder). Needs `npm run build`.
//   node scripts/experiments/accuracy.mjs --n 10 [--seeds 5] [--epochs 20] [--trials 8] [--folds 5 | --val] [--jobs 1] [--write]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, renameSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { computeBound, DataLoader, fineTune, openDataset, runtimeInfo, search, select, selectClasses } from '../../dist/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '10' }, seeds: { type: 'string', default: '5' }, epochs: { type: 'string', default: '20' },
    trials: { type: 'string', default: '8' }, folds: { type: 'string', default: '5' }, val: { type: 'boolean', default: false },
    jobs: { type: 'string', default: '1' }, write: { type: 'boolean', default: false },
  },
});
const [N, SEEDS, EPOCHS, TRIALS, FOLDS, JOBS] = [values.n, values.seeds, values.epochs, values.trials, values.folds, values.jobs].map(Number);
const FMNIST = '/usr/share/datasets/fashion-mnist';
const idx = (s) => `idx:${FMNIST}/${s}-images-idx3-ubyte.gz,${FMNIST}/${s}-labels-idx1-ubyte.gz`;
const TARGET = [5, 6, 7, 8, 9];
const BACKBONE = join(root, 'assets', 'backbone.pt');
const scratch = join(mkdtempSync(join(tmpdir(), 'mars-acc-')), 'scratch.pt');
execFileSync('/usr/bin/python3', [join(root, 'scripts', 'backbone', 'architecture.py'), scratch, '1']);

// Rows with hyperparameters search the method's default space (lib/search/space.ts); lr 1e-3 for all.
const ROWS = [
  { row: 'none', method: 'none' },
  { row: 'scratch', backbone: scratch, method: 'none' },
  ...['mars-sp', 'frobenius-sp', 'mars-penalty', 'l2-sp', 'delta', 'bss'].map((method) => ({ row: method, method, searched: true })),
];

const pool = selectClasses(await openDataset(idx('train')), TARGET);
const test = selectClasses(await openDataset(idx('t10k')), TARGET);
/** Seed s: n training and 10 validation images per class, disjoint, the same for every row. */
function draw(seed) {
  const both = select(pool, { perClass: N + 10, seed });
  const val = select(both, { perClass: 10, seed: seed + 1000 });
  const valKeys = new Set(Array.from({ length: val.size }, (_, i) => val.key(i)));
  const trainIdx = Array.from({ length: both.size }, (_, i) => i).filter((i) => !valKeys.has(both.key(i)));
  return { train: both.subset(trainIdx), val, both };
}

const recipe = { optimizer: { name: 'adam', lr: 1e-3 }, epochs: EPOCHS, batchSize: 32, schedule: { type: 'constant' } };
const run = (reg, backbone, train, evalOn, seed) => fineTune({ ...recipe, backbone, train, test: evalOn, regulariser: reg, seed });

const stats = (xs) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  const t = { 2: 12.706, 3: 4.303, 4: 3.182, 5: 2.776, 6: 2.571, 10: 2.262 }[xs.length] ?? 1.96;
  return { mean, std: sd, ci95: (t * sd) / Math.sqrt(xs.length) };
};

const started = Date.now();
const searchDraw = draw(0);
const results = [];
for (const r of ROWS) {
  const backbone = r.backbone ?? BACKBONE;
  let trials = [];
  let chosen = { method: r.method };
  if (r.searched) {
    const selection = values.val ? { type: 'validation', data: searchDraw.val } : { type: 'cv', folds: FOLDS };
    const found = await search({
      fineTune: { ...recipe, backbone, train: values.val ? searchDraw.train : searchDraw.both, seed: 0 },
      regulariser: { method: r.method }, trials: TRIALS, selection, jobs: JOBS,
    });
    trials = found.trials.map((t) => ({ params: t.params, status: t.status, validationAccuracy: t.accuracy, validationLoss: t.loss }));
    chosen = found.regulariser;
  }
  const scores = [];
  for (let s = 0; s < SEEDS; s++) {
    const d = draw(100 + s);
    const res = await run(chosen, backbone, d.both, test, s);
    const moved = res.history.at(-1).distances.filter((x) => x.name.startsWith('backbone.'));
    const score = { seed: s, testAccuracy: res.test.accuracy, maxBackboneMarsDistance: moved.length ? Math.max(...moved.map((x) => x.mars)) : null };
    if (s === 0) {
      // The final model's post hoc bounds on its training data (docs/bound.md), seed 0.
      const b = await computeBound({ model: res.model.module, init: backbone, data: new DataLoader(d.both, { batchSize: 256, shuffle: false }).epoch(0) });
      score.bound = { rademacher: b.rademacher, marsTerm: b.generalisation.complexity, spectralTerm: b.spectral?.complexity, total: b.generalisation.total };
    }
    scores.push(score);
  }
  const row = { row: r.row, trials, best: chosen, scores, testAccuracy: stats(scores.map((x) => x.testAccuracy)) };
  results.push(row);
  const b0 = scores[0].bound;
  console.log(`${r.row.padEnd(13)} ${(100 * row.testAccuracy.mean).toFixed(2)} ± ${(100 * row.testAccuracy.ci95).toFixed(2)} (best ${JSON.stringify(chosen)}) MARS term ${b0.marsTerm.toExponential(2)} spectral term ${b0.spectralTerm?.toExponential(2)}`);
}
const out = {
  experiment: 'benchmarks.md A', n: N, seeds: SEEDS, epochs: EPOCHS, testItems: test.size, cores: cpus().length,
  search: { trials: TRIALS, sampler: 'tpe', selection: values.val ? 'validation set, 10 per class' : `${FOLDS}-fold cross-validation of train+validation` },
  libtorch: runtimeInfo().libtorchVersion, seconds: (Date.now() - started) / 1000, date: new Date().toISOString(), results,
};
const file = join(values.write ? join(root, 'bench', 'results') : mkdtempSync(join(tmpdir(), 'mars-acc-out-')), `accuracy-n${N}.json`);
writeFileSync(`${file}.tmp`, JSON.stringify(out, null, 2) + '\n');
renameSync(`${file}.tmp`, file);
console.log(`wrote ${file}`);
