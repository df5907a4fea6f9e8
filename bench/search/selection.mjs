#!/usr/bin/env node
// Cross-validation against a single split, on the embedded target task
// (assets/target: Fashion-MNIST classes 5-9, 60 training and 100 test images
// per class; the embedded backbone, pre-trained on classes 0-4).
// For each draw d of n training images per class (seed d):
//   - the same T candidate MARS-SP settings (the random sampler with seed d,
//     the reference's space) are scored by `search` twice: by stratified
//     5-fold cross-validation and by one stratified 20% hold-out split, both
//     of the same n images per class;
//   - every candidate is refitted on all n images per class and scored on the
//     500 test images, so the test accuracy of each selection's choice, and of
//     the best and worst candidate, is known.
// The point: over the draws, the spread of the chosen setting's test accuracy.
// Writes bench/results/search-selection.json with --write (else to a temporary file).
//   npm run build:ts && nice node bench/search/selection.mjs [--n 10] [--draws 10] [--trials 8] [--epochs 10] [--write]
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fineTune, openDataset, runtimeInfo, search, select } from '../../dist/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '10' },
    draws: { type: 'string', default: '10' },
    trials: { type: 'string', default: '8' },
    epochs: { type: 'string', default: '10' },
    write: { type: 'boolean', default: false },
  },
});
const [N, DRAWS, TRIALS, EPOCHS] = [values.n, values.draws, values.trials, values.epochs].map(Number);
const target = join(root, 'assets', 'target');
const split = (name) => `idx:${join(target, `${name}-images.idx.gz`)},${join(target, `${name}-labels.idx.gz`)}`;
const pool = await openDataset(split('train'));
const test = await openDataset(split('test'));
const backbone = join(root, 'assets', 'backbone.pt');
const recipe = { backbone, epochs: EPOCHS, batchSize: 16, optimizer: { name: 'adam', lr: 1e-3 }, schedule: { type: 'constant' } };

const stats = (xs) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  return { mean, std, min: Math.min(...xs), max: Math.max(...xs) };
};

const started = Date.now();
const load = [loadavg()];
const draws = [];
for (let d = 0; d < DRAWS; d++) {
  const train = select(pool, { perClass: N, seed: 1000 + d });
  const base = { ...recipe, train, seed: d };
  const common = { fineTune: base, trials: TRIALS, sampler: { type: 'random' }, threads: 1 };
  const cv = await search({ ...common, selection: { type: 'cv', folds: 5 } });
  const holdout = await search({ ...common, selection: { type: 'holdout', fraction: 0.2 } });
  const candidates = [];
  for (const t of cv.trials) {
    const refit = await fineTune({ ...base, threads: 1, test, regulariser: { method: 'mars-sp', ...t.params } });
    const h = holdout.trials.find((x) => x.id === t.id);
    candidates.push({ id: t.id, params: t.params, cv: t.accuracy, cvLoss: t.loss, holdout: h.accuracy, holdoutLoss: h.loss, test: refit.test.accuracy });
  }
  const testOf = (id) => candidates.find((c) => c.id === id).test;
  const row = {
    draw: d, candidates, chosenByCv: cv.best.id, chosenByHoldout: holdout.best.id,
    testCv: testOf(cv.best.id), testHoldout: testOf(holdout.best.id),
    testBest: Math.max(...candidates.map((c) => c.test)), testWorst: Math.min(...candidates.map((c) => c.test)),
  };
  draws.push(row);
  console.log(`draw ${d}: cv picks ${row.chosenByCv} (test ${(100 * row.testCv).toFixed(1)}%), hold-out picks ${row.chosenByHoldout} (test ${(100 * row.testHoldout).toFixed(1)}%); candidates ${(100 * row.testWorst).toFixed(1)}-${(100 * row.testBest).toFixed(1)}%`);
}
load.push(loadavg());
const summary = {
  cv: stats(draws.map((r) => r.testCv)),
  holdout: stats(draws.map((r) => r.testHoldout)),
  bestCandidate: stats(draws.map((r) => r.testBest)),
  regretCv: stats(draws.map((r) => r.testBest - r.testCv)),
  regretHoldout: stats(draws.map((r) => r.testBest - r.testHoldout)),
};
console.log(JSON.stringify(summary, null, 2));
const out = {
  experiment: 'cross-validation vs a single split (docs/search.md)', date: new Date().toISOString(), n: N, draws: DRAWS, trials: TRIALS,
  recipe: { ...recipe, backbone: 'assets/backbone.pt' }, space: 'mars-sp default: extractor, classifier log-uniform on [e^0.5, e^3.5]',
  selection: { cv: '5-fold stratified', holdout: 'one stratified 20% split' }, testItems: test.size,
  cores: cpus().length, loadavg: load, libtorch: runtimeInfo().libtorchVersion, seconds: (Date.now() - started) / 1000, summary, draws,
};
const file = values.write ? join(root, 'bench', 'results', `search-selection-n${N}.json`) : join(mkdtempSync(join(tmpdir(), 'mars-bench-')), 'search-selection.json');
writeFileSync(`${file}.tmp`, JSON.stringify(out, null, 2) + '\n');
renameSync(`${file}.tmp`, file);
console.log(`wrote ${file}`);
