// fineTune end to end on real data: the MARS-SP invariant after every step,
// resuming, aborting, bad options, and the saved model in PyTorch.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { composeClassifier, probeBackbone } from '../lib/train/head.js';
import { fineTune, load, manualSeed, openDataset, tensor, type Dataset } from '../lib/index.js';
import { Trainer } from '../lib/train/trainer.js';
import { fixturePath, maxAbsDiff, python } from './helpers/fixtures.js';

const FMNIST = '/usr/share/datasets/fashion-mnist';
const spec = (split: string) => `idx:${FMNIST}/${split}-images-idx3-ubyte.gz,${FMNIST}/${split}-labels-idx1-ubyte.gz`;
const dir = mkdtempSync(join(tmpdir(), 'mars-finetune-'));
let train: Dataset;
let test: Dataset;

beforeAll(async () => {
  train = await openDataset(spec('train'), { classes: [5, 6, 7, 8, 9], perClass: 20, seed: 1 });
  test = await openDataset(spec('t10k'), { classes: [5, 6, 7, 8, 9], perClass: 20, seed: 2 });
});

/** Largest row l1 norm of `w - c` (c = 0 when absent), and how many rows reach `radius`. */
function rowStats(w: number[], c: number[] | null, rows: number, radius: number) {
  const width = w.length / rows;
  let max = 0;
  let onBoundary = 0;
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let k = 0; k < width; k++) s += Math.abs(w[r * width + k]! - (c ? c[r * width + k]! : 0));
    max = Math.max(max, s);
    if (s >= radius * (1 - 1e-4)) onBoundary++;
  }
  return { max, onBoundary };
}

describe('mars-sp invariant', () => {
  it('after every step each backbone row is within γ_ext of W0 and each head row within γ_cls of 0; the constraint binds', async () => {
    manualSeed(3);
    const backbone = await load(fixturePath('bn_resnet'));
    const head = await probeBackbone(backbone, [1, 28, 28]);
    const model = await composeClassifier(backbone, head, 5);
    const [gExt, gCls] = [0.5, 1.0];
    const trainer = await Trainer.create(model, { regulariser: { method: 'mars-sp', extractor: gExt, classifier: gCls }, optimizer: { name: 'sgd', lr: 0.05 }, pool: head.pool });
    const init = trainer.initState();
    const constrained = model.parameters().filter((p) => p.name === 'head.weight' || (p.name.startsWith('backbone.') && p.kind === 'conv' && p.name.endsWith('weight')));
    let boundaryRows = 0;
    let insideRows = 0;
    const { DataLoader } = await import('../lib/data/loader.js');
    for await (const b of new DataLoader(train, { batchSize: 25, seed: 0 }).epoch(0)) {
      await trainer.step(tensor(b.inputs, b.shape), tensor(b.labels));
      const state = model.stateDict();
      for (const p of constrained) {
        const isHead = p.name === 'head.weight';
        const radius = isHead ? gCls : gExt;
        const s = rowStats(state[p.name]!.toArray(), isHead ? null : init[p.name]!.toArray(), p.shape[0]!, radius);
        expect(s.max).toBeLessThanOrEqual(radius * (1 + 1e-5));
        boundaryRows += s.onBoundary;
        insideRows += p.shape[0]! - s.onBoundary;
      }
    }
    expect(boundaryRows).toBeGreaterThan(0);
    expect(insideRows).toBeGreaterThan(0);
  });
});

describe('fineTune', () => {
  const base = () => ({
    backbone: fixturePath('bn_resnet'), train, test, epochs: 2, batchSize: 25, seed: 4,
    optimizer: { name: 'adam' as const, lr: 1e-3 }, regulariser: { method: 'mars-sp' as const, extractor: 1, classifier: 5 },
  });

  it('trains, reports history and test metrics, and its saved model gives PyTorch the same logits', async () => {
    const seen: number[] = [];
    const result = await fineTune({ ...base(), onEpochEnd: (e) => seen.push(e.epoch) });
    expect(seen).toEqual([1, 2]);
    expect(result.history).toHaveLength(2);
    expect(result.test?.count).toBe(100);
    expect(result.history[1]!.distances.find((d) => d.name === 'head.weight')?.radius).toBe(5);
    expect(result.model.classNames).toEqual(['5', '6', '7', '8', '9']);
    const path = join(dir, 'model.pt');
    await result.model.save(path);
    const x = new Float32Array(3 * 28 * 28).map((_, i) => Math.sin(i) * 0.5);
    const ours = (await result.model.logits(x)).toArray();
    const theirs = python<number[]>(`import json, sys, math, torch
m = torch.jit.load(sys.argv[1]).eval()
x = torch.tensor([math.sin(i) * 0.5 for i in range(3 * 28 * 28)], dtype=torch.float32).reshape(3, 1, 28, 28)
with torch.no_grad():
    print(json.dumps(m(x).flatten().tolist()))`, [path]);
    expect(maxAbsDiff(ours, theirs)).toBeLessThanOrEqual(1e-5);
    const predictions = await result.model.predict(x, { topK: 2 });
    expect(predictions).toHaveLength(3);
    expect(['5', '6', '7', '8', '9']).toContain(predictions[0]![0]!.className);
  });

  it('with `bound`, logs each epoch the post hoc bound that computeBound gives for the final model', async () => {
    const result = await fineTune({ ...base(), backbone: await load(fixturePath('bn_resnet')), bound: { margin: 2 } });
    const logged = result.history.map((h) => h.bound!);
    expect(logged).toHaveLength(2);
    const { computeBound } = await import('../lib/index.js');
    const direct = await computeBound({ model: result.model.module, init: fixturePath('bn_resnet'), data: new (await import('../lib/data/loader.js')).DataLoader(train, { batchSize: 25, shuffle: false }).epoch(0), margin: 2, spectral: false });
    expect(logged[1]!.rademacher).toBeCloseTo(direct.rademacher, 10);
    expect(logged[1]!.total).toBeCloseTo(direct.generalisation.total, 10);
    expect(logged[1]!.rademacher).toBeGreaterThan(0);
  });

  it("with `bound: { mode: 'apriori' }`, logs the bound of the run's own MARS-SP class; the checkpoint keeps the settings", async () => {
    const regulariser = { method: 'mars-sp' as const, extractor: 1, classifier: 5, overrides: [{ pattern: 'backbone.layer1.conv*', value: 0.6 }] };
    const result = await fineTune({ ...base(), regulariser, epochs: 1, backbone: await load(fixturePath('bn_resnet')), bound: { mode: 'apriori', margin: 2 } });
    const logged = result.history[0]!.bound!;
    expect(logged.mode).toBe('apriori');
    expect(result.model.meta.regulariser).toEqual({ ...regulariser, includeBias: false });
    // The same class written by hand: γ_ext for the backbone and its BatchNorm clips, 0.6 for layer1's convs, γ_cls for the head.
    const { computeBound } = await import('../lib/index.js');
    const direct = await computeBound({
      model: result.model.module, init: fixturePath('bn_resnet'), margin: 2, spectral: false, mode: 'apriori',
      radii: { backbone: 1, head: 5, layers: { 'backbone.layer1.conv1.weight': 0.6, 'backbone.layer1.conv2.weight': 0.6 } },
      data: new (await import('../lib/data/loader.js')).DataLoader(train, { batchSize: 25, shuffle: false }).epoch(0),
    });
    expect(logged.rademacher).toBe(direct.rademacher);
    expect(logged.total).toBe(direct.generalisation.total);
  });

  it("`bound: { mode: 'apriori' }` with another regulariser is refused before training", async () => {
    const epochs: number[] = [];
    await expect(
      fineTune({ ...base(), regulariser: { method: 'l2-sp' }, bound: { mode: 'apriori' }, onEpochEnd: (e) => epochs.push(e.epoch) }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/MARS-SP/) });
    expect(epochs).toEqual([]);
  });

  it('resuming from last.pt gives the same weights as an uninterrupted run', async () => {
    const straight = await fineTune({ ...base(), epochs: 3 });
    const checkpointDir = join(dir, 'resume');
    await fineTune({ ...base(), epochs: 2, checkpointDir });
    const resumed = await fineTune({ ...base(), epochs: 3, checkpointDir, resume: true });
    expect(resumed.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    const a = straight.model.module.stateDict();
    const b = resumed.model.module.stateDict();
    for (const name of Object.keys(a)) expect(maxAbsDiff(a[name]!.toArray(), b[name]!.toArray())).toBeLessThanOrEqual(1e-6);
  });

  it('an abort writes a checkpoint and rejects with ERR_ABORTED', async () => {
    const controller = new AbortController();
    const checkpointDir = join(dir, 'abort');
    await expect(fineTune({ ...base(), checkpointDir, signal: controller.signal, onBatchEnd: (b) => b.batch === 2 && controller.abort() }))
      .rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(existsSync(join(checkpointDir, 'last.pt'))).toBe(true);
  });

  it('a diverging run stops with ERR_NONFINITE_LOSS', async () => {
    await expect(fineTune({ ...base(), regulariser: { method: 'none' }, optimizer: { name: 'sgd', lr: 1e30 } }))
      .rejects.toMatchObject({ code: 'ERR_NONFINITE_LOSS' });
  });

  it.each([
    ['negative radius', { regulariser: { method: 'mars-sp', extractor: -1 } }, /regulariser\.extractor/],
    ['infinite weight', { regulariser: { method: 'l2-sp', extractor: Infinity } }, /regulariser\.extractor/],
    ['unknown method', { regulariser: { method: 'dropout' } }, /regulariser\.method/],
    ['zero epochs', { epochs: 0 }, /epochs/],
  ])('rejects a %s before training, naming the option', async (_label, patch, field) => {
    const p = fineTune({ ...base(), ...(patch as object) });
    await expect(p).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(p).rejects.toThrow(field);
  });

  it('rejects fewer than 2 classes', async () => {
    const one = await openDataset(spec('t10k'), { classes: [5], perClass: 5 });
    await expect(fineTune({ ...base(), train: one, test: undefined })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });

  it('rejects a backbone whose output a head cannot use', async () => {
    const flat = await openDataset(spec('t10k'), { classes: [0, 1], perClass: 4 });
    await expect(fineTune({ ...base(), backbone: fixturePath('two_heads'), train: flat, test: undefined }))
      .rejects.toMatchObject({ code: expect.stringMatching(/ERR_SHAPE|ERR_BACKBONE_OUTPUT/) });
  });
});
