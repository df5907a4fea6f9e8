// Runs in one process do not disturb each other: each fineTune draws its head
// and its dropout masks from its own generator seeded with its `seed`, never
// from LibTorch's process-wide one (which every run used to reseed: two
// concurrent same-seed runs differed from a sequential one by up to ~2).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { fineTune, manualSeed, openDataset, type Dataset, type FineTuneResult } from '../../lib/index.js';
import { PYTHON } from '../helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'mars-concurrent-'));
const backbone = join(dir, 'dropout_cnn.pt');
let train: Dataset;

beforeAll(async () => {
  // A backbone whose training step draws random numbers: BatchNorm and dropout.
  const script = join(dir, 'make.py');
  writeFileSync(script, `
import sys, torch
class DropoutCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 8, 3, stride=2)
        self.bn = torch.nn.BatchNorm2d(8)
        self.drop = torch.nn.Dropout(0.5)
        self.conv2 = torch.nn.Conv2d(8, 16, 3, stride=2)
    def forward(self, x):
        return self.conv2(self.drop(torch.relu(self.bn(self.conv1(x)))))
torch.manual_seed(0)
torch.jit.script(DropoutCNN()).save(sys.argv[1])
`);
  execFileSync(PYTHON, [script, backbone]);
  const FMNIST = '/usr/share/datasets/fashion-mnist';
  train = await openDataset(`idx:${FMNIST}/train-images-idx3-ubyte.gz,${FMNIST}/train-labels-idx1-ubyte.gz`, { classes: [1, 3], perClass: 16, seed: 3 });
});

const run = (seed: number, extra: object = {}) =>
  fineTune({ backbone, train, epochs: 2, batchSize: 8, seed, regulariser: { method: 'none' }, optimizer: { name: 'sgd', lr: 0.05 }, ...extra });

function weights(r: FineTuneResult): Record<string, number[]> {
  return Object.fromEntries(Object.entries(r.model.module.stateDict()).map(([k, t]) => [k, t.toArray()]));
}

it('concurrent same-seed runs give the weights of a run alone, whatever else reseeds LibTorch meanwhile', async () => {
  const alone = weights(await run(5));
  const [a, b] = await Promise.all([
    run(5),
    run(5),
    run(6, { onBatchEnd: () => manualSeed(123) }), // a neighbour that reseeds the process-wide generator
  ]);
  expect(weights(a!)).toEqual(alone);
  expect(weights(b!)).toEqual(alone);
});

it('dropout is drawn from the run: the same run again repeats its masks, another seed does not', async () => {
  const once = weights(await run(7));
  manualSeed(99);
  expect(weights(await run(7))).toEqual(once);
  expect(weights(await run(8))).not.toEqual(once);
});
