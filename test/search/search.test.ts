// search() in this process, on real data: trials against direct fineTune runs
// on the same folds, resuming and extending, refit, abort, bad options.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fineTune, openDataset, type Dataset } from '../../lib/index.js';
import { search, stratifiedKFold, type TrialRecord } from '../../lib/search/index.js';
import { fixturePath } from '../helpers/fixtures.js';

const FMNIST = '/usr/share/datasets/fashion-mnist';
const spec = (split: string) => `idx:${FMNIST}/${split}-images-idx3-ubyte.gz,${FMNIST}/${split}-labels-idx1-ubyte.gz`;
let train: Dataset;
let test: Dataset;

beforeAll(async () => {
  train = await openDataset(spec('train'), { classes: [7, 8, 9], perClass: 8, seed: 1 });
  test = await openDataset(spec('t10k'), { classes: [7, 8, 9], perClass: 10, seed: 2 });
});

const base = () => ({
  backbone: fixturePath('bn_resnet'), train, epochs: 2, batchSize: 8, seed: 3,
  optimizer: { name: 'adam' as const, lr: 1e-3 }, schedule: { type: 'constant' as const },
});
const lines = (dir: string) => readFileSync(join(dir, 'trials.jsonl'), 'utf8').trim().split('\n');

describe('search', () => {
  it('scores each trial as fineTune scores the same setting on the same folds', async () => {
    const r = await search({ fineTune: base(), regulariser: { method: 'mars-sp' }, trials: 2, sampler: { type: 'random' }, selection: { type: 'cv', folds: 2 }, threads: 1 });
    expect(r.trials.map((t) => t.id)).toEqual([1, 2]);
    const folds = stratifiedKFold(train, { folds: 2, seed: 3 });
    for (const t of r.trials) {
      let correct = 0;
      let count = 0;
      for (const f of folds) {
        const direct = await fineTune({
          ...base(), threads: 1, train: train.subset(f.train), test: train.subset(f.validation),
          regulariser: { method: 'mars-sp', extractor: t.params.extractor as number, classifier: t.params.classifier as number },
        });
        correct += direct.test!.accuracy * direct.test!.count;
        count += direct.test!.count;
      }
      expect(t.status).toBe('complete');
      expect(t.accuracy).toBeCloseTo(correct / count, 12);
    }
  });
});
