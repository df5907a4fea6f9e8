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
import { DataLoader } from '../data/loader.js';
import type { Dataset } from '../data/dataset.js';
import { hasCode, MarsError } from '../errors.js';
import { computeBound } from '../bound/compute.js';
import type { Radii } from '../bound/options.js';
import { marsSpRadii } from './radii.js';
import { FineTuneSchema, type EpochBound, type EpochEnd, type FineTuneOptions, type ParsedFineTuneOptions, type SplitMetrics } from './options.js';
import { load, type Module } from '../torch/module.js';
import { Classifier } from '../classifier/classifier.js';
import { deltaChannelWeights } from './delta.js';
import { manualSeed, setNumThreads } from '../torch/runtime.js';
import { learningRate } from './schedule.js';
import { tensor } from '../torch/tensor.js';
import { Trainer } from './trainer.js';
import { reinitialize } from './reinit.js';
import { RunLog } from './run-log.js';

export type { FineTuneOptions, EpochEnd, EpochBound, BatchEnd, SplitMetrics } from './options.js';

/** Every setting the run used, defaults filled in: the options less the data, the callbacks and the signal. */
export type FineTuneSettings = Omit<ParsedFineTuneOptions, 'backbone' | 'train' | 'validation' | 'test' | 'onBatchEnd' | 'onEpochEnd' | 'signal'> & {
  /** The backbone's path, or `module` for a loaded Module. */
  backbone: string;
};

export interface FineTuneResult {
  /** The fine-tuned classifier (the best epoch's when `monitor` is set). */
  model: Classifier;
  /** One entry per epoch trained. */
  history: EpochEnd[];
  /** Accuracy and loss of `model` on `test`, when given. */
  test?: SplitMetrics;
  /** Accuracy and loss on `test` of the last epoch's weights (the same as `test` when the last epoch is the best). */
  finalTest?: SplitMetrics;
  /** The epoch whose weights `model` holds (1-based). */
  bestEpoch: number;
  settings: FineTuneSettings;
}

function loaderFor(o: ParsedFineTuneOptions, data: Dataset, backbone: Module, train: boolean): DataLoader {
  return new DataLoader(data, {
    batchSize: o.batchSize,
    seed: o.seed,
    shuffle: train,
    transforms: train ? o.transforms.train : o.transforms.eval,
    backbone: backbone.parameters(),
    // Evaluation passes stop at once; the training loop checks the signal itself, to write last.pt first.
    ...(o.signal && !train ? { signal: o.signal } : {}),
  });
}

/** Summed loss and accuracy of the classifier on a split, in eval mode. */
export async function evaluateSplit(trainer: Trainer, loader: DataLoader): Promise<SplitMetrics> {
  let loss = 0;
  let correct = 0;
  let count = 0;
  for await (const b of loader.epoch(0)) {
    const s = await trainer.evaluate(tensor(b.inputs, b.shape), tensor(b.labels));
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

/**
 * The monitored metric as a key to maximise: losses negated; an accuracy ties
 * are broken by the same split's lower loss (accuracies on small splits tie often).
 */
function monitorKey(entry: EpochEnd, monitor: string): [number, number] {
  const [split, key] = monitor.split('.') as ['train' | 'validation', 'accuracy' | 'loss'];
  const m = entry[split];
  if (!m) return [-Infinity, -Infinity];
  return key === 'loss' ? [-m.loss, m.accuracy] : [m.accuracy, -m.loss];
}

const better = (a: [number, number], b: [number, number]) => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);

/** The cross-entropy weight of each class: given, or balanced (n / (classes × n_c)). */
function classWeightsOf(o: ParsedFineTuneOptions, classes: number): Float32Array | undefined {
  if (!o.classWeights) return undefined;
  if (o.classWeights !== 'balanced') {
    if (o.classWeights.length !== classes) {
      throw new MarsError('ERR_INVALID_ARGUMENT', `classWeights gives ${o.classWeights.length} weights for ${classes} classes`);
    }
    return Float32Array.from(o.classWeights);
  }
  const counts = o.train.classCounts();
  return Float32Array.from(counts, (n) => o.train.size / (classes * n));
}

/** The backbone to fine-tune: loaded, and with `reinit` a copy re-drawn at random (never the caller's module). */
async function backboneFor(o: ParsedFineTuneOptions): Promise<Module> {
  if (!o.reinit) return typeof o.backbone === 'string' ? load(o.backbone, { device: o.device }) : o.backbone;
  const fresh = typeof o.backbone === 'string' ? await load(o.backbone) : await (await o.backbone.clone()).to('cpu');
  reinitialize(fresh, o.seed);
  return o.device === 'cpu' ? fresh : fresh.to(o.device);
}

function settingsOf(o: ParsedFineTuneOptions): FineTuneSettings {
  const { backbone, train: _train, validation: _validation, test: _test, onBatchEnd: _b, onEpochEnd: _e, signal: _s, ...rest } = o;
  return { backbone: typeof backbone === 'string' ? backbone : 'module', ...rest };
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
  if (o.patience && !o.monitor) throw new MarsError('ERR_INVALID_ARGUMENT', 'patience needs a monitor (e.g. validation.accuracy)');
  return names;
}

/** Fine-tunes a backbone with a new linear head on labelled data, with the chosen regulariser. */
export async function fineTune(options: FineTuneOptions): Promise<FineTuneResult> {
  const o = parseOptions(FineTuneSchema, options, 'fineTune options');
  const classNames = checkClasses(o);
  if (o.threads) setNumThreads(o.threads);
  manualSeed(o.seed);
  const backbone = await backboneFor(o);
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
  const classWeights = classWeightsOf(o, classNames.length);
  const trainer = await Trainer.create(model, {
    regulariser: o.regulariser,
    optimizer: o.optimizer,
    pool: head.pool,
    freezeBackbone: o.freezeBackbone,
    ...(resumed?.init ? { init: resumed.init } : {}),
    ...(channelWeights ? { channelWeights } : {}),
    ...(classWeights ? { classWeights } : {}),
  });
  if (resumed?.optimizer) trainer.loadOptimizer(resumed.optimizer);

  const history: EpochEnd[] = resumed?.meta.history ?? [];
  const log = o.logDir ? new RunLog(o.logDir, o.regulariser.method) : undefined;
  const meta = (epoch: number): CheckpointMeta => ({
    format: 1, classNames, method: o.regulariser.method, regulariser: o.regulariser, epoch, featureDim: head.featureDim, pool: head.pool,
    itemShape, evalTransforms: o.transforms.eval, history,
  });
  const save = async (path: string | undefined, epoch: number) => {
    if (path) await saveCheckpoint(path, model, meta(epoch), { init: trainer.initState(), optimizer: trainer.saveOptimizer() });
  };

  let best = { key: [-Infinity, -Infinity] as [number, number], epoch: history.length, model: undefined as Module | undefined };
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
        s = await trainer.step(tensor(b.inputs, b.shape), tensor(b.labels));
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
      await o.onBatchEnd?.({ epoch: epoch + 1, batch, batches, loss: s.loss, penalty: s.penalty, accuracy: s.correct / s.count, learningRate: lr });
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
    await log?.epoch(history);
    await o.onEpochEnd?.(entry);
    if (o.monitor) {
      const key = monitorKey(entry, o.monitor);
      if (better(key, best.key)) {
        best = { key, epoch: epoch + 1, model: await model.clone() };
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
    settings: settingsOf(o),
  };
  if (o.test) {
    const testLoader = loaderFor(o, o.test, backbone, false);
    const scorer = best.model ? await Trainer.create(best.model, { regulariser: { method: 'none' }, pool: head.pool }) : trainer;
    result.test = await evaluateSplit(scorer, testLoader);
    result.finalTest = best.model && best.epoch !== history.length ? await evaluateSplit(trainer, testLoader) : result.test;
  }
  return result;
}
