#!/usr/bin/env node
// Pre-trains a backbone from random weights with this package's own trainer
// (fineTune, plain training), then saves the backbone alone as TorchScript and
// its record (architecture, source, recipe, held-out accuracy, time) beside
// it. Needs `npm run build` first. Presets:
//   embedded  benchmarks.md A's default backbone (scripts/backbone/architecture.py,
//             77k parameters) on Fashion-MNIST classes 0-4, all 30000 training
//             images -> assets/backbone.pt, assets/backbone.json
//   source    issue 13's source backbone (scripts/backbone/resnet.py, 1.5M
//             parameters) on the glyph and silhouette set that
//             scripts/source/make.py wrote to data/source
//             -> experiments/backbones/source-resnet.{pt,json}
// Resumable: a checkpoint is written to --work after every epoch (default
// data/pretrain-PRESET) and the same command continues from it.
//   node scripts/pretrain.mjs [--preset embedded|source] [--epochs N] [--threads T] [--work DIR]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { fineTune, openDataset, runtimeInfo } from '../dist/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FMNIST = '/usr/share/datasets/fashion-mnist';
const fmnist = (split) => `idx:${FMNIST}/${split}-images-idx3-ubyte.gz,${FMNIST}/${split}-labels-idx1-ubyte.gz`;
const generated = (split) => `idx:${root}/data/source/${split}-images.idx.gz,${root}/data/source/${split}-labels.idx.gz`;

const PRESETS = {
  embedded: {
    architecture: 'scripts/backbone/architecture.py',
    train: fmnist('train'),
    heldOut: fmnist('t10k'),
    classes: [0, 1, 2, 3, 4],
    source: () => 'Fashion-MNIST classes 0-4 (T-shirt/top, trouser, pullover, dress, coat), all 30000 training images; held out: their 5000 test images',
    out: 'assets/backbone',
    recipe: { optimizer: { name: 'adam', lr: 2e-3, amsgrad: false }, schedule: { type: 'cosine', floor: 0.05 }, epochs: 3, batchSize: 128, seed: 0 },
  },
  source: {
    architecture: 'scripts/backbone/resnet.py',
    train: generated('train'),
    heldOut: generated('test'),
    source: () => {
      const r = JSON.parse(readFileSync(join(root, 'data', 'source', 'record.json'), 'utf8'));
      return { record: 'experiments/sources/glyphs-silhouettes.json', command: r.command, arguments: r.arguments, counts: r.counts, sha256: r.sha256 };
    },
    out: 'experiments/backbones/source-resnet',
    recipe: { optimizer: { name: 'adam', lr: 2e-3, amsgrad: false }, schedule: { type: 'cosine', floor: 0.05 }, epochs: 3, batchSize: 128, seed: 0 },
  },
};

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'embedded' },
    epochs: { type: 'string' },
    threads: { type: 'string', default: String(availableParallelism()) },
    work: { type: 'string' },
  },
});
const preset = PRESETS[values.preset];
if (!preset) throw new Error(`--preset must be one of ${Object.keys(PRESETS).join(', ')}`);
const recipe = { ...preset.recipe, ...(values.epochs ? { epochs: Number(values.epochs) } : {}) };
const threads = Number(values.threads);
const work = resolve(values.work ?? join(root, 'data', `pretrain-${values.preset}`));
mkdirSync(work, { recursive: true });

// The random initial weights and the recipe are fixed per work folder: a resumed run must continue the same one.
const initial = join(work, 'initial.pt');
const recipeFile = join(work, 'recipe.json');
const recipeText = JSON.stringify({ preset: values.preset, architecture: preset.architecture, ...recipe });
if (existsSync(recipeFile) && readFileSync(recipeFile, 'utf8') !== recipeText) {
  throw new Error(`${work} holds a run with another recipe (${readFileSync(recipeFile, 'utf8')}); remove it or pass another --work`);
}
if (!existsSync(initial)) execFileSync('/usr/bin/python3', [join(root, preset.architecture), initial, String(recipe.seed)], { stdio: 'inherit' });
writeFileSync(recipeFile, recipeText);

const train = await openDataset(preset.train, preset.classes ? { classes: preset.classes } : {});
const heldOut = await openDataset(preset.heldOut, preset.classes ? { classes: preset.classes } : {});
const started = Date.now();
const load = [loadavg()[0]];
const result = await fineTune({
  backbone: initial,
  train,
  validation: heldOut,
  regulariser: { method: 'none' },
  ...recipe,
  threads,
  checkpointDir: work,
  resume: true,
  onBatchEnd: (b) => {
    if (b.batch % 50 === 0 || b.batch === b.batches) {
      process.stderr.write(`epoch ${b.epoch} batch ${b.batch}/${b.batches} loss ${b.loss.toFixed(4)} acc ${(100 * b.accuracy).toFixed(1)}%\n`);
    }
  },
  onEpochEnd: (e) => {
    load.push(loadavg()[0]);
    process.stderr.write(`epoch ${e.epoch}: train acc ${(100 * e.train.accuracy).toFixed(2)}%, held-out acc ${(100 * e.validation.accuracy).toFixed(2)}% in ${e.seconds.toFixed(0)} s\n`);
  },
});
const out = join(root, preset.out);
mkdirSync(dirname(out), { recursive: true });
await result.model.module.submodule('backbone').save(`${out}.pt`);
const parameters = result.model.module.parameters().filter((p) => p.name.startsWith('backbone.')).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
const last = result.history.at(-1);
const record = {
  architecture: `${preset.architecture} (initial weights seed ${recipe.seed})`,
  parameters,
  source: preset.source(),
  recipe: { regulariser: 'none', ...recipe },
  heldOutAccuracy: last.validation.accuracy,
  trainAccuracy: last.train.accuracy,
  history: result.history.map((e) => ({ epoch: e.epoch, learningRate: e.learningRate, trainLoss: e.train.loss, trainAccuracy: e.train.accuracy, heldOutAccuracy: e.validation.accuracy, seconds: e.seconds })),
  // Summed over the epochs, so a resumed run counts each epoch once.
  trainingSeconds: result.history.reduce((s, e) => s + e.seconds, 0),
  threads,
  cores: cpus().length,
  cpu: cpus()[0]?.model,
  loadAverage: load,
  libtorch: runtimeInfo().libtorchVersion,
  date: new Date().toISOString(),
  command: `node scripts/pretrain.mjs --preset ${values.preset}${values.epochs ? ` --epochs ${values.epochs}` : ''}`,
};
writeFileSync(`${out}.json.tmp`, JSON.stringify(record, null, 2) + '\n');
renameSync(`${out}.json.tmp`, `${out}.json`);
console.log(JSON.stringify({ ...record, history: undefined }));
console.error(`(${((Date.now() - started) / 1000).toFixed(0)} s in this invocation)`);
