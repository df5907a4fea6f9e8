// search() in this process, on real data: trials against direct fineTune runs
// on the same folds, resuming and extending, refit, abort, bad options.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fineTune, openDataset, type Dataset, type EpochEnd } from '../../lib/index.js';
import { logUniform, search, stratifiedKFold, type TrialRecord } from '../../lib/search/index.js';
import { BaseFineTuneSchema } from '../../lib/search/options.js';
import { runTrial } from '../../lib/search/trial.js';
import { parseOptions } from '../../lib/util/parse-options.js';
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
const tmp = () => mkdtempSync(join(tmpdir(), 'mars-search-'));
const timeless = (trials: TrialRecord[]) => trials.map((t) => ({ ...t, seconds: 0 }));

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

  it('resumes: a 2-trial run extended to 4 gives what one 4-trial run gives (TPE from trial 3)', async () => {
    const options = { fineTune: { ...base(), epochs: 1 }, trials: 4, sampler: { type: 'tpe' as const, startup: 2 }, selection: { type: 'cv' as const, folds: 2 }, threads: 1 };
    const [resumed, fresh] = [tmp(), tmp()];
    const two = await search({ ...options, trials: 2, out: resumed });
    const four = await search({ ...options, out: resumed });
    expect([two.trialsRun, four.trialsRun]).toEqual([2, 2]);
    expect(timeless(four.trials.slice(0, 2))).toEqual(timeless(two.trials));
    expect(timeless(four.trials)).toEqual(timeless((await search({ ...options, out: fresh })).trials));
    // TPE's suggestions for trials 3 and 4 differ from the random draws their streams would give.
    const random = await search({ ...options, sampler: { type: 'random' }, out: tmp() });
    expect(four.trials[2]!.params).not.toEqual(random.trials[2]!.params);
  });

  it('an abort rejects with ERR_ABORTED, keeps the finished trials, and the same call finishes the rest', async () => {
    const out = tmp();
    const controller = new AbortController();
    const options = { fineTune: { ...base(), epochs: 1 }, trials: 3, sampler: { type: 'random' as const }, selection: { type: 'cv' as const, folds: 2 }, threads: 1, out };
    await expect(search({ ...options, signal: controller.signal, onEpochEnd: (e) => e.trial === 2 && controller.abort() })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    const finished: number[] = [];
    const r = await search({ ...options, onTrialStart: (t) => finished.push(t.id) });
    expect(finished).toEqual([2, 3]);
    expect(r.trials.map((t) => t.id)).toEqual([1, 2, 3]);
  });

  it('the median rule stops a trial below the known complete trials at its first epoch', async () => {
    const folds = stratifiedKFold(train, { folds: 2, seed: 3 }).map((f) => ({ ...f, from: 'train' as const }));
    const { train: _, ...parsed } = parseOptions(BaseFineTuneSchema, { ...base(), epochs: 3 }, 'base');
    const epochs: number[] = [];
    const r = await runTrial(
      { base: parsed, regulariser: { method: 'mars-sp' }, train, splits: folds, objective: 'accuracy', pruner: { type: 'median', startup: 1, warmup: 0 }, threads: 1 },
      { id: 2, params: { extractor: 2, classifier: 10 }, known: [{ complete: true, curve: [1, 1, 1, 1, 1, 1] }] },
      (e) => epochs.push(e.epoch),
    );
    expect(r.status).toBe('pruned');
    expect(epochs).toEqual([1]);
    expect(r.folds).toEqual([]);
    expect(r.accuracy).toBeLessThan(1);
  });

  it('refit trains on all the training data with the best setting, as fineTune does', async () => {
    const r = await search({ fineTune: { ...base(), epochs: 1 }, trials: 2, sampler: { type: 'random' }, selection: { type: 'cv', folds: 2 }, threads: 1, refit: true, test });
    const direct = await fineTune({ ...base(), epochs: 1, threads: 1, regulariser: r.regulariser, optimizer: r.optimizer, test });
    expect(r.regulariser).toMatchObject({ method: 'mars-sp', ...r.best.params });
    expect(r.test!.accuracy).toBe(direct.test!.accuracy);
    expect(r.test!.loss).toBeCloseTo(direct.test!.loss, 10);
  });

  it('with a validation set, trials validate on it and refit trains on training and validation data', async () => {
    const r = await search({ fineTune: { ...base(), epochs: 1 }, trials: 1, selection: { type: 'validation', data: test }, threads: 1, refit: true });
    expect(r.best.folds.map((f) => f.count)).toEqual([test.size]);
    expect((r.model!.meta.history[0] as EpochEnd).train.count).toBe(train.size + test.size);
  });

  it('rejects a space key the method does not have, and a method without a space', async () => {
    await expect(search({ fineTune: base(), space: { eta: logUniform(1e-3, 1e-1) } })).rejects.toThrow(/search space 'eta' \(mars-sp\).*eta/);
    await expect(search({ fineTune: base(), regulariser: { method: 'none' } })).rejects.toThrow(/method 'none' has no hyperparameters/);
    await expect(search({ fineTune: base(), trials: 0 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });
});
