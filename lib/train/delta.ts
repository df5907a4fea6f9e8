/**
 * DELTA's channel weights (method.md): on the starting backbone's features of
 * the training set, fit a linear softmax classifier (L2 0.01, Adam, 30
 * epochs); for each channel c, zero it and measure the training loss L_c;
 * w_c = 1 / (1 + exp(L − L_c)), L the loss with nothing zeroed. The probe is
 * this package's own classifier over an identity backbone, so the fit runs
 * through the same native step as fine-tuning.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { HeadShape } from './head.js';
import { composeClassifier } from './head.js';
import type { DataLoader } from '../data/loader.js';
import { Module } from '../torch/module.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { ensureOutputDir } from '../util/output-dir.js';
import { native } from '../native/loader.js';
import { tensor } from '../torch/tensor.js';
import { Trainer } from './trainer.js';

const PROBE_EPOCHS = 30;
// Batch 32 as Keras (the reference) defaults to; Adam at 1e-2 rather than
// Keras's 1e-3, because 30 epochs of small target sets are only a few hundred
// steps and the probe must fit for the ablation losses to mean anything.
const PROBE_BATCH = 32;
const PROBE_LR = 1e-2;

/** Pooled features (N × C) and labels of every item, from the backbone in eval mode. */
async function features(backbone: Module, head: HeadShape, loader: DataLoader) {
  backbone.eval();
  const rows: Float32Array[] = [];
  const labels: number[] = [];
  for await (const b of loader.epoch(0)) {
    using x = b.tensor ?? tensor(b.inputs, b.shape);
    using out = await backbone.forward(x);
    const data = out.data() as Float32Array;
    const [n, c] = out.shape as [number, number];
    const spatial = head.pool ? data.length / (n * c) : 1;
    for (let i = 0; i < n; i++) {
      const row = new Float32Array(c);
      for (let k = 0; k < c; k++) {
        let sum = 0;
        for (let s = 0; s < spatial; s++) sum += data[(i * c + k) * spatial + s]!;
        row[k] = sum / spatial;
      }
      rows.push(row);
    }
    labels.push(...b.labels);
    loader.release(b);
  }
  const c = head.featureDim;
  const matrix = new Float32Array(rows.length * c);
  rows.forEach((r, i) => matrix.set(r, i * c));
  return { matrix, labels: Int32Array.from(labels), n: rows.length, c };
}

/** Where channel weights are cached, keyed by a hash of the features and labels they come from. */
function cacheFile(matrix: Float32Array, labels: Int32Array, numClasses: number): string {
  const hash = createHash('sha256').update(new Uint8Array(matrix.buffer, matrix.byteOffset, matrix.byteLength))
    .update(new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength)).update(String(numClasses)).digest('hex');
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(base, 'mars-finetune', 'delta', `${hash.slice(0, 32)}.json`);
}

/**
 * DELTA's weights for the backbone's channels on the data `loader` streams
 * (evaluation transforms). Cached per backbone and data: the same starting
 * features and labels give the cached weights without refitting.
 */
export async function deltaChannelWeights(backbone: Module, head: HeadShape, loader: DataLoader, numClasses: number): Promise<Float32Array> {
  const { matrix, labels, c } = await features(backbone, head, loader);
  const file = cacheFile(matrix, labels, numClasses);
  const cached = await readFile(file, 'utf8').then((t) => JSON.parse(t) as number[], () => null);
  if (cached?.length === c) return Float32Array.from(cached);
  const weights = await channelWeightsFromFeatures(matrix, labels, c, numClasses);
  try {
    await ensureOutputDir(dirname(file), 'cache folder');
    await writeFileAtomic(file, JSON.stringify(Array.from(weights)), 'ERR_WRITE');
  } catch {
    // An unwritable cache only costs a refit next time.
  }
  return weights;
}

/**
 * The weights from an N × C feature matrix (row-major) and its labels. The
 * probe's head is drawn from its own generator (`seed`, fixed by default), so
 * the weights depend on the features alone and the cache keyed by them holds.
 */
export async function channelWeightsFromFeatures(matrix: Float32Array, labels: Int32Array, c: number, numClasses: number, seed = 0): Promise<Float32Array> {
  const n = labels.length;
  using identity = new Module(native().identityModule());
  using probe = await composeClassifier(identity, { featureDim: c, pool: false }, numClasses, seed);
  using trainer = await Trainer.create(probe, {
    regulariser: { method: 'l2-sp', extractor: 0, classifier: 0.01 },
    optimizer: { name: 'adam', lr: PROBE_LR, amsgrad: false },
    pool: false,
  });
  for (let epoch = 0; epoch < PROBE_EPOCHS; epoch++) {
    for (let start = 0; start < n; start += PROBE_BATCH) {
      const end = Math.min(n, start + PROBE_BATCH);
      using x = tensor(matrix.slice(start * c, end * c), [end - start, c]);
      using y = tensor(labels.slice(start, end));
      await trainer.step(x, y);
    }
  }
  using y = tensor(labels);
  const lossWith = async (features: Float32Array) => {
    using x = tensor(features, [n, c]);
    return (await trainer.evaluate(x, y)).loss / n;
  };
  const base = await lossWith(matrix);
  const weights = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    const zeroed = matrix.slice();
    for (let i = 0; i < n; i++) zeroed[i * c + k] = 0;
    weights[k] = 1 / (1 + Math.exp(base - (await lossWith(zeroed))));
  }
  return weights;
}
