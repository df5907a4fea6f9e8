// The native training step against an independent PyTorch implementation of
// method.md (scripts/fixtures/oracle_train.py): same starting weights, same
// batches, same hyperparameters must give the same weights after 3 steps.
// Both sides train in float64, so that the comparison is well conditioned:
// Adam's first steps divide each gradient by its own magnitude, so in
// float32 a gradient element near zero turns reduction-order noise (about
// 6e-8 of the gradient's terms) into a visible change of its weight (1e-4
// here, varying with the thread count). In float64 the same noise is about
// 1e-16 of the terms; an update moves by at most lr/eps times a gradient's
// error (1e5 to 1e6 here, where |g| is below Adam's eps), so over 3 steps
// the weights agree to about 1e-9 or better, and a wrong step (which moves
// weights by about lr per step, 1e-3) cannot pass. Tolerance: 1e-9.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { composeClassifier, probeBackbone } from '../lib/train/head.js';
import { load, tensor, manualSeed } from '../lib/index.js';
import { Trainer } from '../lib/train/trainer.js';
import { fixturePath, maxAbsDiff } from './helpers/fixtures.js';
import { makeBatches, runOracle, toFloat64 } from './helpers/oracle.js';
import { ORACLE_CASES, type OracleCase } from './helpers/regulariser-cases.js';

const dir = mkdtempSync(join(tmpdir(), 'mars-oracle-'));
const ITEM = [1, 28, 28];
const BATCH = 8;
const CLASSES = 4;
const TOLERANCE = 1e-9;

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
  it(`gives the weights PyTorch gives after 3 steps, in float64 (${TOLERANCE})`, async () => {
    manualSeed(7);
    const backbone = await load(fixturePath('bn_resnet'));
    const head = await probeBackbone(backbone, ITEM);
    const start32 = join(dir, `start-${regulariser.method}.pt`);
    await (await composeClassifier(backbone, head, CLASSES)).save(start32);
    const start = toFloat64(start32);
    const model = await load(start);
    expect(new Set(model.parameters().map((p) => p.dtype))).toEqual(new Set(['float64']));
    const channelWeights = Float32Array.from({ length: head.featureDim }, (_, i) => 0.2 + ((i * 37) % 11) / 11);
    const trainer = await Trainer.create(model, {
      regulariser, optimizer, pool: head.pool, channelWeights,
      ...(classWeights ? { classWeights: Float32Array.from(classWeights) } : {}), freezeBackbone: freezeBackbone ?? false,
    });
    const batches = makeBatches(dir, 11, 3, BATCH, ITEM, CLASSES);
    for (const b of batches) await trainer.step(tensor(Float64Array.from(b.x), [BATCH, ...ITEM]), tensor(b.y));
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
    expect(worst).toBeLessThanOrEqual(TOLERANCE);
  });
});
