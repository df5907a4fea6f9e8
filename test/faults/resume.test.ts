// Resuming is exact, and a checkpoint is trusted only as far as it checks out.
// A run stopped mid-epoch used to be labelled with its completed epochs, so
// the partial epoch was trained twice (parameters off by up to 3.8e-2); it
// now records where it stood and the resumed run skips what was done.
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { fineTune, loadCheckpoint, openDataset, type Dataset, type FineTuneOptions } from '../../lib/index.js';
import { fixturePath, python } from '../helpers/fixtures.js';

const FMNIST = '/usr/share/datasets/fashion-mnist';
const spec = (split: string) => `idx:${FMNIST}/${split}-images-idx3-ubyte.gz,${FMNIST}/${split}-labels-idx1-ubyte.gz`;
const dir = mkdtempSync(join(tmpdir(), 'mars-resume-'));
let train: Dataset;
let validation: Dataset;

beforeAll(async () => {
  train = await openDataset(spec('train'), { classes: [5, 7, 9], perClass: 14, seed: 1 });
  validation = await openDataset(spec('t10k'), { classes: [5, 7, 9], perClass: 10, seed: 2 });
});

const base = (): FineTuneOptions => ({
  backbone: fixturePath('bn_resnet'), train, validation, monitor: 'validation.accuracy',
  transforms: { train: [{ op: 'horizontalFlip' }], eval: [] },
  regulariser: { method: 'mars-sp', extractor: 1, classifier: 4 },
  optimizer: { name: 'adam', lr: 3e-3 }, epochs: 3, batchSize: 8, seed: 4,
});

/** Every tensor of both models, compared bit for bit. */
function expectSameWeights(a: Record<string, { toArray(): number[] }>, b: Record<string, { toArray(): number[] }>): void {
  expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
  for (const name of Object.keys(a)) expect(b[name]!.toArray(), name).toEqual(a[name]!.toArray());
}

describe('a run stopped mid-epoch and resumed', () => {
  it.each([
    ['in its first epoch', 1, 2],
    ['in a later epoch', 2, 4],
  ])('%s gives the same weights, history and best epoch as an uninterrupted run', async (_when, stopEpoch, stopBatch) => {
    const straight = await fineTune(base());
    const checkpointDir = join(dir, `stop-${stopEpoch}-${stopBatch}`);
    const controller = new AbortController();
    await expect(fineTune({
      ...base(), checkpointDir, signal: controller.signal,
      onBatchEnd: (b) => void (b.epoch === stopEpoch && b.batch === stopBatch && controller.abort()),
    })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    const stopped = await loadCheckpoint(join(checkpointDir, 'last.pt'));
    expect(stopped.meta.epoch).toBe(stopEpoch - 1);
    expect(stopped.meta.position?.batch).toBe(stopBatch);

    const resumed = await fineTune({ ...base(), checkpointDir, resume: true });
    expectSameWeights(straight.model.module.stateDict(), resumed.model.module.stateDict());
    expect(resumed.bestEpoch).toBe(straight.bestEpoch);
    const strip = (h: typeof straight.history) => h.map(({ seconds: _s, ...rest }) => rest);
    expect(strip(resumed.history)).toEqual(strip(straight.history));
  });
});

describe('checkpoint metadata is validated', () => {
  let last: string;
  beforeAll(async () => {
    const checkpointDir = join(dir, 'meta');
    await fineTune({ ...base(), epochs: 1, checkpointDir });
    last = join(checkpointDir, 'last.pt');
  });

  /** A copy of last.pt whose mars/meta.json is `text` (rewritten by Python's zipfile, CRCs valid). */
  function withMeta(name: string, text: string): string {
    const out = join(dir, name);
    python(`
import json, sys, zipfile
src, dst, text = sys.argv[1], sys.argv[2], sys.argv[3]
with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, 'w') as b:
    for info in a.infolist():
        data = text.encode() if info.filename.endswith('extra/mars/meta.json') else a.read(info.filename)
        b.writestr(zipfile.ZipInfo(info.filename, (1980, 1, 1, 0, 0, 0)), data, compress_type=info.compress_type)
print(json.dumps(True))`, [last, out, text]);
    return out;
  }

  it.each([
    ['not JSON', '{"format": 1, "classNames": [', /not JSON/],
    ['empty', '{}', /format/],
    ['a string epoch', JSON.stringify({ format: 1, classNames: ['a', 'b', 'c'], method: 'x', epoch: 'one', featureDim: 16, pool: true, itemShape: [1, 28, 28], evalTransforms: [], history: [] }), /epoch/],
    ['history that disagrees with the epoch', JSON.stringify({ format: 1, classNames: ['a', 'b', 'c'], method: 'x', epoch: 5, featureDim: 16, pool: true, itemShape: [1, 28, 28], evalTransforms: [], history: [] }), /history/],
    ['class names that do not fit the head', JSON.stringify({ format: 1, classNames: ['a', 'b'], method: 'x', epoch: 0, featureDim: 16, pool: true, itemShape: [1, 28, 28], evalTransforms: [], history: [] }), /head/],
  ])('%s: ERR_CHECKPOINT, at load and on resume', async (label, text, message) => {
    const file = withMeta(`${label.replace(/\W+/g, '-')}.pt`, text);
    await expect(loadCheckpoint(file)).rejects.toMatchObject({ code: 'ERR_CHECKPOINT', message: expect.stringMatching(message) });
    const checkpointDir = mkdtempSync(join(dir, 'bad-'));
    copyFileSync(file, join(checkpointDir, 'last.pt'));
    await expect(fineTune({ ...base(), checkpointDir, resume: true })).rejects.toMatchObject({ code: 'ERR_CHECKPOINT' });
  });

  it('a checkpoint without optimiser state (a model.pt) is not resumed from', async () => {
    const checkpointDir = mkdtempSync(join(dir, 'no-optimizer-'));
    const { model, meta } = await loadCheckpoint(last);
    const { Classifier } = await import('../../lib/index.js');
    await new Classifier(model, meta).save(join(checkpointDir, 'last.pt'));
    await expect(fineTune({ ...base(), checkpointDir, resume: true })).rejects.toMatchObject({ code: 'ERR_CHECKPOINT', message: expect.stringMatching(/optimiser state/) });
  });

  it('data of another class count is refused on resume', async () => {
    const checkpointDir = mkdtempSync(join(dir, 'classes-'));
    copyFileSync(last, join(checkpointDir, 'last.pt'));
    const four = await openDataset(spec('train'), { classes: [5, 6, 7, 9], perClass: 6, seed: 1 });
    await expect(fineTune({ ...base(), train: four, validation: undefined, monitor: undefined, checkpointDir, resume: true }))
      .rejects.toMatchObject({ code: 'ERR_CHECKPOINT', message: expect.stringMatching(/trained on 3 classes .* the data have 4/) });
  });

  it('a folder holding best.pt but no last.pt is refused with ERR_CHECKPOINT (it does not say where the run stood); one with no checkpoint starts from scratch', async () => {
    const checkpointDir = join(dir, 'best-only');
    await fineTune({ ...base(), epochs: 1, checkpointDir });
    rmSync(join(checkpointDir, 'last.pt'));
    await expect(fineTune({ ...base(), epochs: 2, checkpointDir, resume: true }))
      .rejects.toMatchObject({ code: 'ERR_CHECKPOINT', message: expect.stringMatching(/best\.pt but no last\.pt.*resume: false/) });
    const fresh = await fineTune({ ...base(), epochs: 1, checkpointDir: join(dir, 'empty'), resume: true });
    expect(fresh.history.map((h) => h.epoch)).toEqual([1]);
  });

  it('a second run on a checkpoint folder in use is refused with ERR_OUTPUT_DIR; the folder is free once the first ended', async () => {
    const checkpointDir = join(dir, 'in-use');
    const controller = new AbortController();
    const first = fineTune({ ...base(), epochs: 50, checkpointDir, signal: controller.signal, onBatchEnd: () => void 0 });
    await vi.waitFor(() => expect(existsSync(join(checkpointDir, '.mars-ft.lock'))).toBe(true), { timeout: 60_000, interval: 20 });
    await expect(fineTune({ ...base(), epochs: 1, checkpointDir }))
      .rejects.toMatchObject({ code: 'ERR_OUTPUT_DIR', message: expect.stringContaining(`pid ${process.pid}`) });
    controller.abort();
    await expect(first).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(existsSync(join(checkpointDir, '.mars-ft.lock'))).toBe(false);
    expect((await fineTune({ ...base(), epochs: 1, checkpointDir })).history).toHaveLength(1);
  });
});
