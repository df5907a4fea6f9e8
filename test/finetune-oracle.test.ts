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
import { ORACLE_CASES as CASES } from './helpers/regulariser-cases.js';

const dir = mkdtempSync(join(tmpdir(), 'mars-oracle-'));
const ITEM = [1, 28, 28];
const BATCH = 8;
const CLASSES = 4;

describe.each(CASES)('$regulariser.method', ({ regulariser, optimizer }) => {
  it('gives the weights PyTorch gives after 3 steps (2e-5)', async () => {
    manualSeed(7);
    const backbone = await load(fixturePath('bn_resnet'));
    const head = await probeBackbone(backbone, ITEM);
    const model = await composeClassifier(backbone, head, CLASSES);
    const start = join(dir, `start-${regulariser.method}.pt`);
    await model.save(start);
    const channelWeights = Float32Array.from({ length: head.featureDim }, (_, i) => 0.2 + ((i * 37) % 11) / 11);
    const trainer = await Trainer.create(model, { regulariser, optimizer, pool: head.pool, channelWeights });
    const batches = makeBatches(dir, 11, 3, BATCH, ITEM, CLASSES);
    for (const b of batches) await trainer.step(tensor(b.x, [BATCH, ...ITEM]), tensor(b.y));
    const theirs = runOracle(dir, regulariser.method, { model: start, batches, xshape: [BATCH, ...ITEM], regulariser, optimizer, pool: head.pool, channelWeights });
    const ours = model.stateDict();
    expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
    let worst = 0;
    let moved = 0;
    const start0 = (await load(start)).stateDict();
    for (const [name, t] of Object.entries(ours)) {
      worst = Math.max(worst, maxAbsDiff(t.toArray(), theirs[name]!));
      moved = Math.max(moved, maxAbsDiff(t.toArray(), start0[name]!.toArray()));
    }
    expect(moved).toBeGreaterThan(1e-3); // the steps did something
    expect(worst).toBeLessThanOrEqual(2e-5);
  });
});
