/**
 * fineTune(): the training loop. TypeScript owns the epochs, data, schedule,
 * callbacks, checkpoints and early stopping; each step runs natively on a
 * worker thread (see trainer.ts), so the event loop stays free.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseOptions } from '../util/parse-options.js';
import { composeClassifier, probeBackbone, type HeadShape } from './head.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointMeta } from '../classifier/checkpoint.js';
import { DataLoader, type Batch } from '../data/loader.js';
import type { Dataset } from '../data/dataset.js';
import { hasCode, MarsError } from '../errors.js';
import { computeBound } from '../bound/compute.js';
import type { Radii } from '../bound/options.js';
import { marsSpRadii } from './radii.js';
import { FineTuneSchema, type EpochBound, type EpochEnd, type FineTuneOptions, type ParsedFineTuneOptions, type SplitMetrics } from './options.js';
import { load, type Module } from '../torch/module.js';
import { Classifier } from '../classifier/classifier.js';
import { deltaChannelWeights } from './delta.js';
import { manualSeed, setNumThreads, trimCpuCache } from '../torch/runtime.js';
import { learningRate } from './schedule.js';
import { tensor, type Tensor } from '../torch/tensor.js';
import { Trainer } from './trainer.js';

export type { FineTuneOptions, EpochEnd, EpochBound, BatchEnd, SplitMetrics } from './options.js';

export interface FineTuneResult {
  /** The fine-tuned classifier (the best epoch's when `monitor` is set). */
  model: Classifier;
  /** One entry per epoch trained. */
  history: EpochEnd[];
  /** Accuracy and loss on `test`, when given. */
  test?: SplitMetrics;
  /** The epoch whose weights `model` holds (1-based). */
  bestEpoch: number;
}

function loaderFor(o: ParsedFineTuneOptions, data: Dataset, backbone: Module, train: boolean): DataLoader {
  return new DataLoader(data, {
    batchSize: o.batchSize,
    seed: o.seed,
    shuffle: train,
    transforms: train ? o.transforms.train : o.transforms.eval,
    backbone: backbone.parameters(),
    pinMemory: o.device.startsWith('cuda'),
    // Evaluation passes stop at once; the training loop checks the signal itself, to write last.pt first.
    ...(o.signal && !train ? { signal: o.signal } : {}),
  });
}

/**
 * Runs `run` on a batch as tensors, then frees them and hands the batch back
 * to its loader at once, so that each step's memory is reused by the next
 * rather than left for the garbage collector.
 */
export async function withBatch<T>(loader: DataLoader, b: Batch, run: (x: Tensor, y: Tensor) => Promise<T>): Promise<T> {
  const x = b.tensor ?? tensor(b.inputs, b.shape);
  const y = tensor(b.labels);
  try {
    return await run(x, y);
  } finally {
    x.dispose();
    y.dispose();
    loader.release(b);
  }
}

/** Summed loss and accuracy of the classifier on a split, in eval mode. */
export async function evaluateSplit(trainer: Trainer, loader: DataLoader): Promise<SplitMetrics> {
  let loss = 0;
  let correct = 0;
  let count = 0;
  for await (const b of loader.epoch(0)) {
    const s = await withBatch(loader, b, (x, y) => trainer.evaluate(x, y));
    loss += s.loss;
    correct += s.correct;
    count += s.count;
  }
  return { loss: count ? loss / count : NaN, accuracy: count ? correct / count : NaN, count };
}

/** (C, H, W) of the items as the evaluation transforms deliver them. */
async function itemShapeOf(loader: DataLoader): Promise<number[]> {
  for await (const b of loader.epoch(0)) return b.shape.slice(1);
  throw new MarsError('ERR_DATA', 'the training data is empty');
}

/** The bound of the classifier now, against the starting backbone (the head centred at zero); `radii` a priori. */
async function epochBound(model: Module, backbone: Module, data: DataLoader, o: ParsedFineTuneOptions, radii: Radii | undefined): Promise<EpochBound> {
  const b = o.bound as NonNullable<ParsedFineTuneOptions['bound']>;
  const r = await computeBound({
    model, init: backbone, data: data.epoch(0), margin: b.margin, delta: b.delta, spectral: b.spectral, mode: b.mode,
    ...(radii ? { radii } : {}), ...(o.signal ? { signal: o.signal } : {}),
  });
  const { marginLoss, complexity, confidence, total } = r.generalisation;
  return { mode: b.mode, rademacher: r.rademacher, marginLoss, complexity, confidence, total, ...(r.spectral ? { spectralComplexity: r.spectral.complexity } : {}) };
}

function monitorValue(entry: EpochEnd, monitor: string): number | undefined {
  const [split, key] = monitor.split('.') as ['train' | 'validation', 'accuracy' | 'loss'];
  const v = entry[split]?.[key];
  return v === undefined ? undefined : key === 'loss' ? -v : v;
}

function checkClasses(o: ParsedFineTuneOptions): string[] {
  const names = [...o.train.classNames];
  if (names.length < 2) throw new MarsError('ERR_INVALID_ARGUMENT', `train: fine-tuning needs at least 2 classes, the data has ${names.length}`);
  for (const [what, data] of [['validation', o.validation], ['test', o.test]] as const) {
    if (data && data.classNames.length !== names.length) {
      throw new MarsError('ERR_DATA_LABEL', `${what} has ${data.classNames.length} classes but train has ${names.length}; select the same classes`);
    }
  }
  if (o.monitor?.startsWith('validation') && !o.validation) {
    throw new MarsError('ERR_INVALID_ARGUMENT', `monitor '${o.monitor}' needs validation data`);
  }
  return names;
}

/** Fine-tunes a backbone with a new linear head on labelled data, with the chosen regulariser. */
export async function fineTune(options: FineTuneOptions): Promise<FineTuneResult> {
  const o = parseOptions(FineTuneSchema, options, 'fineTune options');
  const classNames = checkClasses(o);
  if (o.threads) setNumThreads(o.threads);
  manualSeed(o.seed);
  const backbone = typeof o.backbone === 'string' ? await load(o.backbone, { device: o.device }) : o.backbone;
  const trainLoader = loaderFor(o, o.train, backbone, true);
  // The training data in order with the evaluation transforms: item shape, DELTA's features, the bound.
  const trainInOrder = loaderFor(o, o.train, backbone, false);
  const validationLoader = o.validation && loaderFor(o, o.validation, backbone, false);
  const itemShape = await itemShapeOf(trainInOrder);

  const lastPath = o.checkpointDir && join(o.checkpointDir, 'last.pt');
  const bestPath = o.checkpointDir && join(o.checkpointDir, 'best.pt');
  if (o.checkpointDir) mkdirSync(o.checkpointDir, { recursive: true });
  const resumed = o.resume && lastPath && existsSync(lastPath) ? await loadCheckpoint(lastPath, o.device) : undefined;

  let head: HeadShape;
  let model: Module;
  if (resumed) {
    head = { featureDim: resumed.meta.featureDim, pool: resumed.meta.pool };
    model = resumed.model;
  } else {
    head = await probeBackbone(backbone, itemShape);
    model = await composeClassifier(backbone, head, classNames.length);
  }
  // A priori, the class is the run's own: checked before training (mars-sp only).
  const radii = o.bound?.mode === 'apriori' ? marsSpRadii(o.regulariser, model.parameters()) : undefined;
  const channelWeights = o.regulariser.method === 'delta'
    ? await deltaChannelWeights(backbone, head, trainInOrder, classNames.length)
    : undefined;
  const trainer = await Trainer.create(model, {
    regulariser: o.regulariser,
    optimizer: o.optimizer,
    pool: head.pool,
    ...(resumed?.init ? { init: resumed.init } : {}),
    ...(channelWeights ? { channelWeights } : {}),
  });
  if (resumed?.optimizer) trainer.loadOptimizer(resumed.optimizer);

  const history: EpochEnd[] = (resumed?.meta.history as EpochEnd[] | undefined) ?? [];
  const meta = (epoch: number): CheckpointMeta => ({
    format: 1, classNames, method: o.regulariser.method, regulariser: o.regulariser, epoch, featureDim: head.featureDim, pool: head.pool,
    itemShape, evalTransforms: o.transforms.eval, history,
  });
  const save = async (path: string | undefined, epoch: number) => {
    if (path) await saveCheckpoint(path, model, meta(epoch), { init: trainer.initState(), optimizer: trainer.saveOptimizer() });
  };

  let best = { value: -Infinity, epoch: history.length, model: undefined as Module | undefined };
  let sinceBest = 0;
  for (let epoch = history.length; epoch < o.epochs; epoch++) {
    const started = performance.now();
    const lr = learningRate(o.schedule, o.optimizer.lr, epoch, o.epochs);
    trainer.setLearningRate(lr);
    const batches = trainLoader.batchesPerEpoch;
    let loss = 0;
    let penalty = 0;
    let correct = 0;
    let count = 0;
    let batch = 0;
    for await (const b of trainLoader.epoch(epoch)) {
      if (o.signal?.aborted) {
        await save(lastPath, epoch);
        throw new MarsError('ERR_ABORTED', `fine-tuning aborted in epoch ${epoch + 1}${lastPath ? `; resume from ${lastPath}` : ''}`);
      }
      let s;
      try {
        s = await withBatch(trainLoader, b, (x, y) => trainer.step(x, y));
      } catch (e) {
        if (hasCode(e, 'ERR_NONFINITE_LOSS') && lastPath && existsSync(lastPath)) {
          throw new MarsError('ERR_NONFINITE_LOSS', `${(e as Error).message}; the last good checkpoint is ${lastPath}`, { cause: e });
        }
        throw e;
      }
      loss += s.loss * s.count;
      penalty += s.penalty * s.count;
      correct += s.correct;
      count += s.count;
      batch++;
      o.onBatchEnd?.({ epoch: epoch + 1, batch, batches, loss: s.loss, penalty: s.penalty, accuracy: s.correct / s.count, learningRate: lr });
    }
    const entry: EpochEnd = {
      epoch: epoch + 1,
      learningRate: lr,
      train: { loss: loss / count, penalty: penalty / count, accuracy: correct / count, count },
      ...(validationLoader ? { validation: await evaluateSplit(trainer, validationLoader) } : {}),
      seconds: (performance.now() - started) / 1000,
      distances: trainer.distances(),
      ...(o.bound ? { bound: await epochBound(model, backbone, trainInOrder, o, radii) } : {}),
    };
    history.push(entry);
    await save(lastPath, epoch + 1);
    o.onEpochEnd?.(entry);
    if (o.monitor) {
      const value = monitorValue(entry, o.monitor) ?? -Infinity;
      if (value > best.value) {
        best = { value, epoch: epoch + 1, model: await model.clone() };
        sinceBest = 0;
        await save(bestPath, epoch + 1);
      } else if (o.patience && ++sinceBest >= o.patience) {
        break;
      }
    }
  }
  const finalModel = best.model ?? model;
  const result: FineTuneResult = {
    model: new Classifier(finalModel, meta(history.length)),
    history,
    bestEpoch: best.model ? best.epoch : history.length,
  };
  if (o.test) {
    const scorer = best.model ? await Trainer.create(best.model, { regulariser: { method: 'none' }, pool: head.pool }) : trainer;
    result.test = await evaluateSplit(scorer, loaderFor(o, o.test, backbone, false));
  }
  // The CPU allocator kept the steps' memory for reuse (native/core/cpu_allocator.cc); training is over.
  trimCpuCache();
  return result;
}
