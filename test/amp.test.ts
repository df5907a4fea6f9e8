// Mixed precision on the CPU. bf16: the native step under autocast gives the
// weights PyTorch's own torch.autocast("cpu", torch.bfloat16) step gives
// (scripts/fixtures/oracle_train.py), much closer than either is to fp32, and
// the parameters stay fp32 inside their balls. The loss scale (fp16's, tested
// here in fp32 since the CPU has no fp16 autocast): scaling by powers of two
// is exact, so a scaled run's parameters must equal the unscaled run's on the
// steps it did not skip, bit for bit; overflow skips a step and halves the scale, clean
// steps grow it; resuming carries it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fineTune, fromArrays, load, manualSeed, tensor, type Precision, type RegulariserOptions } from '../lib/index.js';
import { composeClassifier, probeBackbone } from '../lib/train/head.js';
import type { GradScalerOptions, OptimizerOptions } from '../lib/train/options.js';
import { Trainer } from '../lib/train/trainer.js';
import type { Module } from '../lib/torch/module.js';
import { fixturePath, maxAbsDiff } from './helpers/fixtures.js';
import { makeBatches, runOracle, type OracleBatch } from './helpers/oracle.js';

const dir = mkdtempSync(join(tmpdir(), 'mars-amp-'));
const ITEM = [1, 28, 28];
const BATCH = 8;
const CLASSES = 4;

async function classifier(name: string): Promise<{ model: Module; pool: boolean; file: string }> {
  manualSeed(7);
  const backbone = await load(fixturePath('bn_resnet'));
  const head = await probeBackbone(backbone, ITEM);
  const model = await composeClassifier(backbone, head, CLASSES);
  const file = join(dir, `${name}.pt`);
  await model.save(file);
  return { model, pool: head.pool, file };
}

/** Largest absolute difference over every parameter and buffer. */
function worst(a: Record<string, ArrayLike<number>>, b: Record<string, ArrayLike<number>>): number {
  return Math.max(...Object.keys(a).map((k) => maxAbsDiff(a[k]!, b[k]!)));
}

const arrays = (m: Module) => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, t.toArray()]));
/** The parameters alone: a skipped step's forward pass still moves BatchNorm's running statistics (as in PyTorch). */
const parameters = (m: Module) => {
  const names = new Set(m.parameters().map((p) => p.name));
  return Object.fromEntries(Object.entries(arrays(m)).filter(([k]) => names.has(k)));
};

async function train(model: Module, pool: boolean, batches: OracleBatch[], options: { precision?: Precision; gradScaler?: GradScalerOptions; optimizer: OptimizerOptions; regulariser?: RegulariserOptions }) {
  const trainer = await Trainer.create(model, { regulariser: options.regulariser ?? { method: 'none' }, pool, ...options });
  const steps = [];
  for (const b of batches) steps.push(await trainer.step(tensor(b.x, [BATCH, ...ITEM]), tensor(b.y)));
  return { trainer, steps };
}

describe('bf16 autocast on the CPU', () => {
  const cases: { regulariser: RegulariserOptions; optimizer: OptimizerOptions }[] = [
    { regulariser: { method: 'none' }, optimizer: { name: 'adam', lr: 1e-3 } },
    { regulariser: { method: 'mars-sp', extractor: 0.3, classifier: 0.5 }, optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9 } },
  ];
  it.each(cases)('$regulariser.method: the weights of PyTorch\'s autocast step, far closer than fp32 is', async ({ regulariser, optimizer }) => {
    const { model, pool, file } = await classifier(`bf16-${regulariser.method}`);
    const batches = makeBatches(dir, 23, 3, BATCH, ITEM, CLASSES);
    await train(model, pool, batches, { precision: 'bf16', optimizer, regulariser });
    const job = { model: file, batches, xshape: [BATCH, ...ITEM], regulariser, optimizer, pool };
    const bf16 = runOracle(dir, `bf16-${regulariser.method}`, { ...job, precision: 'bf16' });
    const fp32 = runOracle(dir, `fp32-${regulariser.method}`, { ...job, precision: 'fp32' });
    const ours = arrays(model);
    const error = worst(ours, bf16);
    const precisionGap = worst(fp32, bf16);
    expect(precisionGap).toBeGreaterThan(1e-4); // autocast changed the result
    expect(error).toBeLessThan(precisionGap / 20);
    // Master weights: fp32 throughout.
    expect(new Set(model.parameters().map((p) => p.dtype))).toEqual(new Set(['float32']));
  });

  it('keeps MARS-SP\'s constraint on the fp32 weights', async () => {
    const { model, pool } = await classifier('bf16-constraint');
    const { trainer } = await train(model, pool, makeBatches(dir, 29, 4, BATCH, ITEM, CLASSES), {
      precision: 'bf16', optimizer: { name: 'sgd', lr: 0.5, momentum: 0.9 }, regulariser: { method: 'mars-sp', extractor: 0.05, classifier: 0.1 },
    });
    const constrained = trainer.distances().filter((d) => d.radius !== undefined);
    expect(constrained.length).toBeGreaterThan(0);
    expect(constrained.some((d) => d.mars > d.radius! * 0.999)).toBe(true); // the balls bind
    for (const d of constrained) expect(d.mars).toBeLessThanOrEqual(d.radius! * (1 + 1e-5));
  });
});

describe('loss scale', () => {
  const optimizer: OptimizerOptions = { name: 'sgd', lr: 0.05, momentum: 0.9 };

  it('scaling by powers of two changes nothing; the scale grows after growthInterval clean steps', async () => {
    const batches = makeBatches(dir, 31, 5, BATCH, ITEM, CLASSES);
    const plain = await classifier('plain');
    await train(plain.model, plain.pool, batches, { optimizer });
    const scaled = await classifier('scaled');
    const { steps } = await train(scaled.model, scaled.pool, batches, { optimizer, gradScaler: { initScale: 1024, growthInterval: 2 } });
    expect(steps.map((s) => s.lossScale)).toEqual([1024, 1024, 2048, 2048, 4096]);
    expect(steps.every((s) => s.skipped === false)).toBe(true);
    expect(worst(arrays(scaled.model), arrays(plain.model))).toBe(0);
  });

  it('skips the steps whose gradients overflow and backs off; the rest equal the unscaled steps', async () => {
    const batches = makeBatches(dir, 37, 6, BATCH, ITEM, CLASSES);
    const scaled = await classifier('overflow');
    // 2^128 overflows float32: the first scaled loss is infinite, whatever the batch.
    const { steps } = await train(scaled.model, scaled.pool, batches, { optimizer, gradScaler: { initScale: 2 ** 128, growthInterval: 1000 } });
    expect(steps[0]!.skipped).toBe(true);
    for (let i = 1; i < steps.length; i++) expect(steps[i]!.lossScale).toBe(steps[i - 1]!.lossScale! * (steps[i - 1]!.skipped ? 0.5 : 1));
    const taken = batches.filter((_, i) => !steps[i]!.skipped);
    expect(taken.length).toBeGreaterThan(0);
    const plain = await classifier('overflow-plain');
    await train(plain.model, plain.pool, taken, { optimizer });
    expect(worst(parameters(scaled.model), parameters(plain.model))).toBe(0);
  });

  it('resuming from the saved optimiser state continues the scale and its count', async () => {
    const batches = makeBatches(dir, 41, 4, BATCH, ITEM, CLASSES);
    const a = await classifier('resume-a');
    const first = await train(a.model, a.pool, batches.slice(0, 3), { optimizer, gradScaler: { initScale: 8, growthInterval: 2 } });
    const b = await Trainer.create(await a.model.clone(), { regulariser: { method: 'none' }, optimizer, pool: a.pool, gradScaler: { initScale: 8, growthInterval: 2 } });
    b.loadOptimizer(first.trainer.saveOptimizer());
    const [x, y] = [tensor(batches[3]!.x, [BATCH, ...ITEM]), tensor(batches[3]!.y)];
    // Scales used: 8, 8 (grows), 16 | 16 (grows), 32: the count of clean steps at 16 must carry over.
    const continued = [await first.trainer.step(x, y), await first.trainer.step(x, y)].map((s) => s.lossScale);
    const resumed = [await b.step(x, y), await b.step(x, y)].map((s) => s.lossScale);
    expect(continued).toEqual([16, 32]);
    expect(resumed).toEqual(continued);
  });
});

describe('precision options', () => {
  it('refuses fp16 on the CPU, in fineTune and in the trainer, naming the fix', async () => {
    const train = fromArrays({ pixels: new Uint8Array(4 * 28 * 28), width: 28, height: 28, channels: 1, labels: [0, 1, 0, 1] });
    await expect(fineTune({ backbone: fixturePath('bn_resnet'), train, precision: 'fp16', epochs: 1 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining("on the CPU use 'bf16'"),
    });
    const { model, pool } = await classifier('fp16-cpu');
    await expect(Trainer.create(model, { regulariser: { method: 'none' }, pool, precision: 'fp16' })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining("on the CPU use 'bf16'"),
    });
  });

  it('rejects an unknown precision and a bad loss scale naming the field', async () => {
    const train = fromArrays({ pixels: new Uint8Array(4 * 28 * 28), width: 28, height: 28, channels: 1, labels: [0, 1, 0, 1] });
    await expect(fineTune({ backbone: fixturePath('bn_resnet'), train, precision: 'fp8' as Precision })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('precision'),
    });
    await expect(fineTune({ backbone: fixturePath('bn_resnet'), train, gradScaler: { backoffFactor: 2 } })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('gradScaler'),
    });
  });
});
