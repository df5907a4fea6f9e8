#!/usr/bin/env node
// Pre-trains the embedded default backbone (benchmarks.md A) from scratch
// with this package's own trainer: Fashion-MNIST classes 0-4, all their
// training images, then exports the backbone alone as assets/backbone.pt and
// its record as assets/backbone.json. Needs `npm run build` first.
//   node scripts/pretrain.mjs [--epochs N] [--threads T]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir, availableParallelism } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { fineTune, openDataset, runtimeInfo } from '../dist/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { epochs: { type: 'string', default: '3' }, threads: { type: 'string', default: String(availableParallelism()) } } });
const FMNIST = '/usr/share/datasets/fashion-mnist';
const idx = (split) => `idx:${FMNIST}/${split}-images-idx3-ubyte.gz,${FMNIST}/${split}-labels-idx1-ubyte.gz`;
const SOURCE_CLASSES = [0, 1, 2, 3, 4];

const work = mkdtempSync(join(tmpdir(), 'mars-pretrain-'));
const initial = join(work, 'initial.pt');
execFileSync('/usr/bin/python3', [join(root, 'scripts', 'backbone', 'architecture.py'), initial, '0'], { stdio: 'inherit' });

const train = await openDataset(idx('train'), { classes: SOURCE_CLASSES });
const test = await openDataset(idx('t10k'), { classes: SOURCE_CLASSES });
const started = Date.now();
const result = await fineTune({
  backbone: initial,
  train,
  test,
  regulariser: { method: 'none' },
  optimizer: { name: 'adam', lr: 2e-3, amsgrad: false },
  schedule: { type: 'cosine', floor: 0.05 },
  epochs: Number(values.epochs),
  batchSize: 128,
  seed: 0,
  threads: Number(values.threads),
  onBatchEnd: (b) => {
    if (b.batch % 20 === 0 || b.batch === b.batches) {
      process.stderr.write(`epoch ${b.epoch} batch ${b.batch}/${b.batches} loss ${b.loss.toFixed(4)} acc ${(100 * b.accuracy).toFixed(1)}%\n`);
    }
  },
  onEpochEnd: (e) => process.stderr.write(`epoch ${e.epoch}: train acc ${(100 * e.train.accuracy).toFixed(2)}% in ${e.seconds.toFixed(0)} s\n`),
});
const out = join(root, 'assets', 'backbone.pt');
await result.model.module.submodule('backbone').save(out);
const record = {
  architecture: 'scripts/backbone/architecture.py DefaultBackbone (seed 0)',
  source: 'Fashion-MNIST classes 0-4 (T-shirt/top, trouser, pullover, dress, coat), all 30000 training images',
  sourceTestAccuracy: result.test?.accuracy,
  epochs: result.history.length,
  seconds: (Date.now() - started) / 1000,
  threads: Number(values.threads),
  libtorch: runtimeInfo().libtorchVersion,
};
writeFileSync(join(root, 'assets', 'backbone.json.tmp'), JSON.stringify(record, null, 2) + '\n');
renameSync(join(root, 'assets', 'backbone.json.tmp'), join(root, 'assets', 'backbone.json'));
console.log(JSON.stringify(record));
