/**
 * DELTA's channel weights (method.md): on the starting backbone's features of
 * the training set, fit a linear softmax classifier (L2 0.01, Adam, 30
 * epochs); for each channel c, zero it and measure the training loss L_c;
 * w_c = 1 / (1 + exp(L − L_c)), L the loss with nothing zeroed. The probe is
 * this package's own classifier over an identity backbone, so the fit runs
 * through the same native step as fine-tuning.
 */
import type { HeadShape } from './classifier.js';
import { composeClassifier } from './classifier.js';
import type { DataLoader } from './data/loader.js';
import { Module } from './module.js';
import { native } from './native.js';
import { tensor } from './tensor.js';
import { Trainer } from './trainer.js';

const PROBE_EPOCHS = 30;
const PROBE_BATCH = 128;

/** Pooled features (N × C) and labels of every item, from the backbone in eval mode. */
async function features(backbone: Module, head: HeadShape, loader: DataLoader) {
  backbone.eval();
  const rows: Float32Array[] = [];
  const labels: number[] = [];
  for await (const b of loader.epoch(0)) {
    const out = await backbone.forward(tensor(b.inputs, b.shape));
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
  }
  const c = head.featureDim;
  const matrix = new Float32Array(rows.length * c);
  rows.forEach((r, i) => matrix.set(r, i * c));
  return { matrix, labels: Int32Array.from(labels), n: rows.length, c };
}

export async function deltaChannelWeights(backbone: Module, head: HeadShape, loader: DataLoader, numClasses: number): Promise<Float32Array> {
  const { matrix, labels, n, c } = await features(backbone, head, loader);
  const probe = await composeClassifier(new Module(native().identityModule()), { featureDim: c, pool: false }, numClasses);
  const trainer = await Trainer.create(probe, {
    regulariser: { method: 'l2-sp', extractor: 0, classifier: 0.01 },
    optimizer: { name: 'adam', lr: 1e-3, amsgrad: false },
    pool: false,
  });
  for (let epoch = 0; epoch < PROBE_EPOCHS; epoch++) {
    for (let start = 0; start < n; start += PROBE_BATCH) {
      const end = Math.min(n, start + PROBE_BATCH);
      await trainer.step(tensor(matrix.slice(start * c, end * c), [end - start, c]), tensor(labels.slice(start, end)));
    }
  }
  const lossWith = async (x: Float32Array) => (await trainer.evaluate(tensor(x, [n, c]), tensor(labels))).loss / n;
  const base = await lossWith(matrix);
  const weights = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    const zeroed = matrix.slice();
    for (let i = 0; i < n; i++) zeroed[i * c + k] = 0;
    weights[k] = 1 / (1 + Math.exp(base - (await lossWith(zeroed))));
  }
  return weights;
}
