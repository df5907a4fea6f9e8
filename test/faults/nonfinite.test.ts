// "The last good checkpoint" is good: a step whose loss or running statistics
// are not finite is undone (buffers restored) and stops the run, and no
// checkpoint is ever written from weights or statistics that are not finite.
// Before, SGD at lr 100 finished "successfully" with inf BatchNorm running
// variances in both last.pt and best.pt. Python's LibTorch checks the files.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveCheckpoint } from '../../lib/classifier/checkpoint.js';
import { fineTune, load, openDataset, tensor, type Dataset } from '../../lib/index.js';
import { composeClassifier, probeBackbone } from '../../lib/train/head.js';
import { Trainer } from '../../lib/train/trainer.js';
import { fixturePath, python } from '../helpers/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'mars-nonfinite-'));
let train: Dataset;

beforeAll(async () => {
  const FMNIST = '/usr/share/datasets/fashion-mnist';
  train = await openDataset(`idx:${FMNIST}/train-images-idx3-ubyte.gz,${FMNIST}/train-labels-idx1-ubyte.gz`, { classes: [5, 7, 9], perClass: 20, seed: 1 });
});

/** The names of the tensors of each file that are not finite, as PyTorch reads them. */
function nonFiniteIn(files: string[]): Record<string, string[]> {
  return python<Record<string, string[]>>(`
import json, sys, torch
out = {}
for f in json.loads(sys.argv[1]):
    m = torch.jit.load(f)
    out[f] = [k for k, v in m.state_dict().items() if v.is_floating_point() and not torch.isfinite(v).all()]
print(json.dumps(out))`, [JSON.stringify(files)]);
}

describe('a diverging run', () => {
  it('stops with ERR_NONFINITE_LOSS, and last.pt and best.pt hold only finite tensors', async () => {
    const checkpointDir = join(dir, 'diverge');
    await expect(fineTune({
      backbone: fixturePath('bn_resnet'), train, epochs: 6, batchSize: 10, regulariser: { method: 'none' },
      optimizer: { name: 'sgd', lr: 100, momentum: 0.9 }, checkpointDir, monitor: 'train.accuracy',
    })).rejects.toMatchObject({ code: 'ERR_NONFINITE_LOSS', message: expect.stringMatching(/running statistic .* became non-finite.*last good checkpoint is .*last\.pt/) });
    const files = ['last.pt', 'best.pt'].map((f) => join(checkpointDir, f));
    expect(nonFiniteIn(files)).toEqual(Object.fromEntries(files.map((f) => [f, []])));
  });
});

describe('a step that goes wrong', () => {
  it('is undone: the running statistics are as they were before it', async () => {
    const backbone = await load(fixturePath('bn_resnet'));
    const head = await probeBackbone(backbone, [1, 28, 28]);
    const model = await composeClassifier(backbone, head, 3, 0);
    const trainer = await Trainer.create(model, { regulariser: { method: 'none' }, optimizer: { name: 'sgd', lr: 0.1 }, pool: head.pool });
    const x = new Float32Array(4 * 784).map((_, i) => Math.sin(i));
    await trainer.step(tensor(x, [4, 1, 28, 28]), tensor(new Int32Array([0, 1, 2, 0])));
    const before = Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, t.toArray()]));
    x[5] = Infinity;
    await expect(trainer.step(tensor(x, [4, 1, 28, 28]), tensor(new Int32Array([0, 1, 2, 0])))).rejects.toMatchObject({ code: 'ERR_NONFINITE_LOSS' });
    const after = Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, t.toArray()]));
    expect(after).toEqual(before);
    expect(await model.nonFinite()).toBeNull();
  });
});

it('saveCheckpoint refuses a model holding NaN, and the file already there stays', async () => {
  const model = await load(fixturePath('small_cnn'));
  const meta = { format: 1 as const, classNames: ['a', 'b'], method: 'none' as const, epoch: 0, featureDim: 1, pool: false, itemShape: [1, 28, 28], evalTransforms: [], history: [] };
  const path = join(dir, 'kept.pt');
  await saveCheckpoint(path, model, meta);
  const kept = readFileSync(path);
  (model.stateDict()['conv1.bias']!.data() as Float32Array)[3] = NaN; // the view shares the module's memory
  await expect(saveCheckpoint(path, model, meta)).rejects.toMatchObject({ code: 'ERR_NONFINITE_LOSS', message: expect.stringMatching(/conv1\.bias is not finite/) });
  expect(readFileSync(path).equals(kept)).toBe(true);
});
