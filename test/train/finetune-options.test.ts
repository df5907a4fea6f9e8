// fineTune's options for users' runs: awaited callbacks, selection ties,
// class weights, the two baselines (linear probe, from scratch) and the
// final epoch's test score.
import { beforeAll, describe, expect, it } from 'vitest';
import { fineTune, load, openDataset, reinitialize, type Dataset, type FineTuneOptions } from '../../lib/index.js';
import { fixturePath, python } from '../helpers/fixtures.js';

const FMNIST = '/usr/share/datasets/fashion-mnist';
const spec = (split: string) => `idx:${FMNIST}/${split}-images-idx3-ubyte.gz,${FMNIST}/${split}-labels-idx1-ubyte.gz`;
let train: Dataset;
let validation: Dataset;
let test: Dataset;

beforeAll(async () => {
  train = await openDataset(spec('train'), { classes: [7, 8], perClass: 12, seed: 1 });
  validation = await openDataset(spec('t10k'), { classes: [7, 8], perClass: 1, seed: 2 });
  test = await openDataset(spec('t10k'), { classes: [7, 8], perClass: 10, seed: 3 });
});

const base = (): FineTuneOptions => ({
  backbone: fixturePath('bn_resnet'), train, epochs: 2, batchSize: 8, seed: 2,
  optimizer: { name: 'adam', lr: 1e-3 }, regulariser: { method: 'mars-sp', extractor: 0.5, classifier: 3 },
});

describe('callbacks', () => {
  it('are awaited: the next batch starts only after a returned promise settles', async () => {
    const log: string[] = [];
    await fineTune({
      ...base(),
      onBatchEnd: (b) => void log.push(`batch ${b.epoch}.${b.batch}`),
      onEpochEnd: async (e) => {
        log.push(`epoch ${e.epoch} start`);
        await new Promise((r) => setTimeout(r, 50));
        log.push(`epoch ${e.epoch} done`);
      },
    });
    expect(log.indexOf('epoch 1 done')).toBe(log.indexOf('epoch 1 start') + 1);
    expect(log.indexOf('batch 2.1')).toBeGreaterThan(log.indexOf('epoch 1 done'));
  });

  it('a rejected callback rejects fineTune with its error, and training stops there', async () => {
    let batches = 0;
    const failure = new Error('the dashboard is down');
    await expect(fineTune({ ...base(), onBatchEnd: () => void batches++, onEpochEnd: async () => Promise.reject(failure) })).rejects.toBe(failure);
    expect(batches).toBe(3); // one epoch of 24 items in batches of 8
    await expect(fineTune({ ...base(), onBatchEnd: async () => { throw failure; } })).rejects.toBe(failure);
  });
});

describe('selection by validation', () => {
  it('picks the best validation accuracy, ties going to the lower validation loss; scores the final epoch on test too', async () => {
    const r = await fineTune({ ...base(), epochs: 6, validation, test, monitor: 'validation.accuracy' });
    const key = (i: number) => [r.history[i]!.validation!.accuracy, -r.history[i]!.validation!.loss] as const;
    let best = 0;
    for (let i = 1; i < r.history.length; i++) if (key(i)[0] > key(best)[0] || (key(i)[0] === key(best)[0] && key(i)[1] > key(best)[1])) best = i;
    const top = Math.max(...r.history.map((h) => h.validation!.accuracy));
    expect(r.history.filter((h) => h.validation!.accuracy === top).length).toBeGreaterThan(1); // a tie to break (2 validation items)
    expect(r.bestEpoch).toBe(best + 1);
    expect(r.test?.count).toBe(20);
    expect(r.finalTest?.count).toBe(20);
    if (r.bestEpoch === r.history.length) expect(r.finalTest).toBe(r.test);
    expect(r.settings).toMatchObject({ backbone: fixturePath('bn_resnet'), epochs: 6, batchSize: 8, seed: 2, monitor: 'validation.accuracy', schedule: { type: 'step' } });
  });
});

describe('class weights', () => {
  it("'balanced' weighs class c by n / (classes × n_c): the same run as those weights given", async () => {
    const counts = [12, 4];
    const imbalanced = train.subset([...Array.from({ length: train.size }, (_, i) => i).filter((i) => train.label(i) === 0), ...Array.from({ length: train.size }, (_, i) => i).filter((i) => train.label(i) === 1).slice(0, 4)]);
    expect(imbalanced.classCounts()).toEqual(counts);
    const run = (classWeights?: FineTuneOptions['classWeights']) => fineTune({ ...base(), train: imbalanced, ...(classWeights ? { classWeights } : {}) }).then((r) => r.history.map((h) => h.train.loss));
    const balanced = await run('balanced');
    expect(balanced).toEqual(await run([16 / (2 * 12), 16 / (2 * 4)]));
    expect(balanced).not.toEqual(await run());
    await expect(run([1, 2, 3])).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/3 weights for 2 classes/) });
  });
});

describe('baselines', () => {
  it('freezeBackbone trains the head alone: every backbone distance stays 0', async () => {
    const r = await fineTune({ ...base(), freezeBackbone: true });
    const last = r.history.at(-1)!.distances;
    expect(last.filter((d) => d.name.startsWith('backbone.')).every((d) => d.mars === 0 && d.radius === undefined)).toBe(true);
    expect(last.find((d) => d.name === 'head.weight')!.mars).toBeGreaterThan(0);
  });

  it("reinitialize draws PyTorch's default initialisation: U(±1/sqrt(fan_in)) with fan_in as PyTorch computes it, BatchNorm reset", async () => {
    const net = await load(fixturePath('bn_resnet'));
    reinitialize(net, 5);
    const fans = python<Record<string, number>>(
      `import json, torch; m = torch.jit.load(${JSON.stringify(fixturePath('bn_resnet'))}); mods = dict(m.named_modules())\n` +
        'print(json.dumps({n: torch.nn.init._calculate_fan_in_and_fan_out(p)[0] for n, p in m.named_parameters() if n.endswith("weight") and mods[n.rpartition(".")[0]].original_name in ("Conv2d", "Linear")}))',
    );
    const state = net.stateDict();
    expect(Object.keys(fans).length).toBeGreaterThan(3);
    for (const [name, fan] of Object.entries(fans)) {
      const w = state[name]!.toArray();
      const bound = 1 / Math.sqrt(fan);
      expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
      // U(-b, b) has variance b²/3; with n draws the sample variance is within a few (2/sqrt(5n)) b²/3 of it.
      const variance = w.reduce((a, v) => a + v * v, 0) / w.length;
      expect(Math.abs(variance / (bound * bound / 3) - 1)).toBeLessThan(5 * 2 / Math.sqrt(5 * w.length) + 1e-9);
    }
    for (const p of [...net.parameters(), ...net.buffers()].filter((p) => p.kind === 'batchnorm')) {
      const leaf = p.name.slice(p.name.lastIndexOf('.') + 1);
      const want = { weight: 1, bias: 0, running_mean: 0, running_var: 1, num_batches_tracked: 0 }[leaf];
      expect(state[p.name]!.toArray().every((v) => v === want)).toBe(true);
    }
  });

  it("batchNormStatistics 'freeze' trains the backbone and keeps PyTorch's running statistics of the file; 'update' moves them", async () => {
    const stats = python<Record<string, number[]>>(
      `import json, torch; m = torch.jit.load(${JSON.stringify(fixturePath('bn_resnet'))})\n` +
        'print(json.dumps({"backbone." + n: b.flatten().tolist() for n, b in m.named_buffers() if n.endswith(("running_mean", "running_var"))}))',
    );
    expect(Object.keys(stats).length).toBeGreaterThan(1);
    const running = (r: Awaited<ReturnType<typeof fineTune>>) => {
      const state = r.model.module.stateDict();
      return Object.fromEntries(Object.keys(stats).map((name) => [name, state[name]!.toArray()]));
    };
    const frozen = await fineTune({ ...base(), batchNormStatistics: 'freeze' });
    for (const [name, want] of Object.entries(running(frozen))) want.forEach((v, i) => expect(v).toBeCloseTo(stats[name]![i]!, 6));
    expect(frozen.history.at(-1)!.distances.filter((d) => d.name.startsWith('backbone.') && d.name.endsWith('conv1.weight')).every((d) => d.mars > 0)).toBe(true);
    const updated = running(await fineTune({ ...base(), batchNormStatistics: 'update' }));
    expect(Object.entries(updated).some(([name, got]) => got.some((v, i) => Math.abs(v - stats[name]![i]!) > 1e-4))).toBe(true);
  });

  it("bound epochs 'last' computes the bound after the last epoch only, the same as an every-epoch run's last", async () => {
    const every = await fineTune({ ...base(), bound: { mode: 'posthoc' } });
    const last = await fineTune({ ...base(), bound: { mode: 'posthoc', epochs: 'last' } });
    expect(last.history[0]!.bound).toBeUndefined();
    expect(every.history[0]!.bound).toBeDefined();
    expect(last.history[1]!.bound).toEqual(every.history[1]!.bound);
  });

  it('reinit trains a re-drawn copy, from the seed, and leaves the caller\'s module alone', async () => {
    const mine = await load(fixturePath('bn_resnet'));
    const weights = () => Object.values(mine.stateDict()).map((t) => t.toArray());
    const before = weights();
    const a = await fineTune({ ...base(), backbone: mine, reinit: true, epochs: 1 });
    const b = await fineTune({ ...base(), reinit: true, epochs: 1 });
    expect(weights()).toEqual(before);
    expect(a.history[0]!.train.loss).toBe(b.history[0]!.train.loss);
    const pretrained = await fineTune({ ...base(), epochs: 1 });
    expect(a.history[0]!.train.loss).not.toBe(pretrained.history[0]!.train.loss);
  });
});
