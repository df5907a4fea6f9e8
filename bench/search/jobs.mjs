#!/usr/bin/env node
// Wall time of one search with jobs 2 (two child processes, one LibTorch
// thread each) against jobs 1 (this process, both threads), interleaved round
// by round, with the load average; and whether the trials agree with a jobs 1
// run on one thread (the same threads per trial as jobs 2). The search: the
// embedded target task, 20 images per class, MARS-SP's default space, random
// sampler, 6 trials, 2-fold cross-validation, 3 epochs.
// Writes bench/results/search-jobs.json with --write.
//   npm run build:ts && node bench/search/jobs.mjs [--rounds 3] [--write]
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openDataset, runtimeInfo, search } from '../../dist/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, write: { type: 'boolean', default: false } } });
const ROUNDS = Number(values.rounds);
const target = join(root, 'assets', 'target');
const train = await openDataset(`idx:${join(target, 'train-images.idx.gz')},${join(target, 'train-labels.idx.gz')}`, { perClass: 20, seed: 1 });
const options = {
  fineTune: { backbone: join(root, 'assets', 'backbone.pt'), train, epochs: 3, batchSize: 16, optimizer: { name: 'adam', lr: 1e-3 }, schedule: { type: 'constant' } },
  trials: 6, sampler: { type: 'random' }, selection: { type: 'cv', folds: 2 },
};
const CONFIGS = { 'jobs 1, 2 threads': { jobs: 1, threads: 2 }, 'jobs 2, 1 thread each': { jobs: 2, threads: 2 }, 'jobs 1, 1 thread': { jobs: 1, threads: 1 } };

const samples = Object.fromEntries(Object.keys(CONFIGS).map((k) => [k, []]));
const trials = {};
const load = [loadavg()];
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, c] of Object.entries(CONFIGS)) {
    const started = performance.now();
    const r = await search({ ...options, ...c });
    samples[name].push((performance.now() - started) / 1000);
    trials[name] ??= r.trials.map(({ seconds, ...t }) => t);
    console.log(`round ${round + 1} ${name}: ${samples[name].at(-1).toFixed(1)} s (load ${loadavg()[0].toFixed(2)})`);
  }
}
load.push(loadavg());
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const summary = Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), samples: xs }]));
const same = (a, b) => JSON.stringify(trials[a].map(({ threads, ...t }) => t)) === JSON.stringify(trials[b].map(({ threads, ...t }) => t));
const out = {
  experiment: 'search jobs 2 vs jobs 1 (docs/search.md)', date: new Date().toISOString(), rounds: ROUNDS, search: { ...options, fineTune: { ...options.fineTune, train: `target, 20 per class (${train.size})`, backbone: 'assets/backbone.pt' } },
  cores: cpus().length, loadavg: load, libtorch: runtimeInfo().libtorchVersion, summary,
  speedup: summary['jobs 1, 2 threads'].median / summary['jobs 2, 1 thread each'].median,
  identical: { 'jobs 2 vs jobs 1 on 1 thread': same('jobs 2, 1 thread each', 'jobs 1, 1 thread'), 'jobs 2 vs jobs 1 on 2 threads': same('jobs 2, 1 thread each', 'jobs 1, 2 threads') },
};
console.log(JSON.stringify({ summary: out.summary, speedup: out.speedup, identical: out.identical, loadavg: load }, null, 2));
const file = values.write ? join(root, 'bench', 'results', 'search-jobs.json') : join(mkdtempSync(join(tmpdir(), 'mars-bench-')), 'search-jobs.json');
writeFileSync(`${file}.tmp`, JSON.stringify(out, null, 2) + '\n');
renameSync(`${file}.tmp`, file);
console.log(`wrote ${file}`);
