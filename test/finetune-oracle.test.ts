// The native training step against an independent PyTorch implementation of
// method.md (scripts/fixtures/oracle_train.py): same starting weights, same
// batches, same hyperparameters must give the same weights after 3 steps.
// Tolerance: 2e-5 absolute on every parameter and buffer (float32; both sides
// run the same LibTorch kernels, differences come from reduction order).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { composeClassifier, probeBackbone } from '../lib/train/head.js';
import { load, tensor, manualSeed } from '../lib/index.js';
import { Trainer } from '../lib/train/trainer.js';
import { fixturePath, maxAbsDiff } from './helpers/fixtures.js';
import { makeBatches, runOracle } from './helpers/oracle.js';
import { ORACLE_CASES, type OracleCase } from './helpers/regulariser-cases.js';

const dir = mkdtempSync(join(tmpdir(), 'mars-oracle-'));
const ITEM = [1, 28, 28];
const BATCH = 8;
const CLASSES = 4;

interface Case extends OracleCase {
  /** F.cross_entropy(weight=...) */
  classWeights?: number[];
  /** A linear probe. */
  freezeBackbone?: boolean;
}

const CASES: Case[] = [
  ...ORACLE_CASES,
  { regulariser: { method: 'none' }, optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9 }, classWeights: [0.5, 2, 1, 3] },
  { regulariser: { method: 'mars-sp', extractor: 0.3, classifier: 0.2 }, optimizer: { name: 'adam', lr: 1e-2 }, classWeights: [1, 1, 4, 0.25] },
  { regulariser: { method: 'mars-sp', extractor: 0.3, classifier: 0.5 }, optimizer: { name: 'adam', lr: 1e-3 }, freezeBackbone: true },
];

const label = (c: Case) => `${c.regulariser.method}${c.classWeights ? ' with class weights' : ''}${c.freezeBackbone ? ' as a linear probe' : ''}`;

describe.each(CASES.map((c) => ({ ...c, label: label(c) })))('$label', ({ regulariser, optimizer, classWeights, freezeBackbone, label }) => {
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
    const batches = makeBatches(dir, 11, 3, BATCH, ITEM, CLASSES);
    for (const b of batches) await trainer.step(tensor(b.x, [BATCH, ...ITEM]), tensor(b.y));
    const theirs = runOracle(dir, label, {
      model: start, batches, xshape: [BATCH, ...ITEM], regulariser, optimizer, pool: head.pool, channelWeights,
      ...(classWeights ? { classWeights } : {}), ...(freezeBackbone ? { freezeBackbone } : {}),
    });
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
