// The native training step against an independent PyTorch implementation of
// method.md (scripts/fixtures/oracle_train.py): same starting weights, same
// batches, same hyperparameters must give the same weights after 3 steps.
// Tolerance: 2e-5 absolute on every parameter and buffer (float32; both sides
// run the same LibTorch kernels, differences come from reduction order).
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { composeClassifier, probeBackbone } from '../lib/train/head.js';
import { load, tensor, manualSeed } from '../lib/index.js';
import type { OptimizerOptions } from '../lib/train/options.js';
import type { RegulariserOptions } from '../lib/train/regularisers.js';
import { Trainer } from '../lib/train/trainer.js';
import { fixturePath, maxAbsDiff, python } from './helpers/fixtures.js';
import { ROOT } from './helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'mars-oracle-'));
const ITEM = [1, 28, 28];
const BATCH = 8;
const CLASSES = 4;

/** Seeded batches written to disk for Python. */
function makeBatches(seed: number, count: number) {
  let s = seed;
  const rand = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  return Array.from({ length: count }, (_, b) => {
    const x = Float32Array.from({ length: BATCH * 28 * 28 }, () => rand() * 2 - 1);
    const y = Int32Array.from({ length: BATCH }, () => Math.floor(rand() * CLASSES));
    const files = [join(dir, `x${seed}-${b}.bin`), join(dir, `y${seed}-${b}.bin`)];
    writeFileSync(files[0]!, x);
    writeFileSync(files[1]!, y);
    return { x, y, files };
  });
}

interface Case {
  regulariser: RegulariserOptions;
  optimizer: OptimizerOptions;
  /** F.cross_entropy(weight=...) */
  classWeights?: number[];
  /** A linear probe. */
  freezeBackbone?: boolean;
}

const CASES: Case[] = [
  { regulariser: { method: 'none' }, optimizer: { name: 'adam', lr: 1e-3, amsgrad: true } },
  { regulariser: { method: 'mars-sp', extractor: 0.3, classifier: 0.5 }, optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9 } },
  { regulariser: { method: 'frobenius-sp', extractor: 0.2, classifier: 0.3 }, optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true } },
  { regulariser: { method: 'mars-penalty', extractor: 0.1, classifier: 0.1 }, optimizer: { name: 'adamw', lr: 1e-3, weightDecay: 0.01, amsgrad: false } },
  { regulariser: { method: 'l2-sp', extractor: 1, classifier: 1 }, optimizer: { name: 'sgd', lr: 0.05, momentum: 0 } },
  { regulariser: { method: 'delta', alpha: 1, classifier: 0.1 }, optimizer: { name: 'adam', lr: 1e-3 } },
  { regulariser: { method: 'bss', eta: 0.5, k: 2 }, optimizer: { name: 'adam', lr: 1e-3, amsgrad: false } },
  { regulariser: { method: 'none' }, optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9 }, classWeights: [0.5, 2, 1, 3] },
  { regulariser: { method: 'mars-sp', extractor: 0.3, classifier: 0.2 }, optimizer: { name: 'adam', lr: 1e-2 }, classWeights: [1, 1, 4, 0.25] },
  { regulariser: { method: 'mars-sp', extractor: 0.3, classifier: 0.5 }, optimizer: { name: 'adam', lr: 1e-3 }, freezeBackbone: true },
];

const label = (c: Case) => `${c.regulariser.method}${c.classWeights ? ' with class weights' : ''}${c.freezeBackbone ? ' as a linear probe' : ''}`;

describe.each(CASES.map((c) => ({ ...c, label: label(c) })))('$label', ({ regulariser, optimizer, classWeights, freezeBackbone }) => {
  it('gives the weights PyTorch gives after 3 steps (2e-5)', async () => {
    manualSeed(7);
    const backbone = await load(fixturePath('bn_resnet'));
    const head = await probeBackbone(backbone, ITEM);
    const model = await composeClassifier(backbone, head, CLASSES);
    const start = join(dir, `start-${regulariser.method}.pt`);
    await model.save(start);
    const channelWeights = Float32Array.from({ length: head.featureDim }, (_, i) => 0.2 + ((i * 37) % 11) / 11);
    const trainer = await Trainer.create(model, {
      regulariser, optimizer, pool: head.pool, channelWeights,
      ...(classWeights ? { classWeights: Float32Array.from(classWeights) } : {}), freezeBackbone: freezeBackbone ?? false,
    });
    const batches = makeBatches(11, 3);
    for (const b of batches) await trainer.step(tensor(b.x, [BATCH, ...ITEM]), tensor(b.y));

    const full = { name: 'adam', lr: 1e-4, momentum: 0.9, nesterov: false, weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, amsgrad: true, ...optimizer };
    const { method, ...hyper } = regulariser as { method: string };
    const job = join(dir, `job-${method}.json`);
    writeFileSync(job, JSON.stringify({
      model: start, batches: batches.map((b) => b.files), xshape: [BATCH, ...ITEM], method,
      hyper, optimizer: full, pool: head.pool, channelWeights: Array.from(channelWeights), classWeights, freezeBackbone,
    }));
    const theirs = python<Record<string, number[]>>(`import runpy, sys; sys.argv = ["oracle", ${JSON.stringify(job)}]; runpy.run_path(${JSON.stringify(join(ROOT, 'scripts/fixtures/oracle_train.py'))}, run_name="__main__")`);
    const ours = model.stateDict();
    expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
    let worst = 0;
    let moved = 0;
    let backboneMoved = 0;
    const start0 = (await load(start)).stateDict();
    for (const [name, t] of Object.entries(ours)) {
      worst = Math.max(worst, maxAbsDiff(t.toArray(), theirs[name]!));
      const change = maxAbsDiff(t.toArray(), start0[name]!.toArray());
      moved = Math.max(moved, change);
      if (name.startsWith('backbone.')) backboneMoved = Math.max(backboneMoved, change);
    }
    expect(moved).toBeGreaterThan(1e-3); // the steps did something
    if (freezeBackbone) expect(backboneMoved).toBe(0); // weights and BatchNorm statistics alike
    expect(worst).toBeLessThanOrEqual(2e-5);
  });
});
