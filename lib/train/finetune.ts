/**
 * fineTune(): the training loop. TypeScript owns the epochs, data, schedule,
 * callbacks, checkpoints and early stopping; each step runs natively on a
 * worker thread (see trainer.ts), so the event loop stays free.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseOptions } from '../util/parse-options.js';
import { ensureOutputDir } from '../util/output-dir.js';
import { Owned } from '../util/owned.js';
import { DirLock } from '../util/dir-lock.js';
import { sweepStaleTemporaries } from '../util/atomic-write.js';
import { composeClassifier, probeBackbone, type HeadShape } from './head.js';
import { saveCheckpoint, type CheckpointMeta, type RunPosition } from '../classifier/checkpoint.js';
import { openResume, restoreTrainer, resumePoint, type Best } from './resume.js';
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
import { setNumThreads, trimCpuCache } from '../torch/runtime.js';
import { learningRate } from './schedule.js';
import { tensor, type Tensor } from '../torch/tensor.js';
import { Trainer } from './trainer.js';
import { jobFingerprint, shardFor, sumOverRanks } from './parallel.js';
import { ProcessGroup } from '../distributed/group.js';
import { resolveDistributed } from '../distributed/options.js';
import type { Shard } from '../data/shard.js';
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
  /** In a data-parallel run: this process's rank (rank 0 alone wrote checkpoints). */
  distributed?: { rank: number; worldSize: number };
  /** The settings the run used, defaults filled in (the report and summary.json show them). */
  settings: FineTuneSettings;
}

function loaderFor(o: ParsedFineTuneOptions, data: Dataset, backbone: Module, train: boolean, shard?: Shard): DataLoader {
  return new DataLoader(data, {
    batchSize: o.batchSize,
    seed: o.seed,
    shuffle: train,
    transforms: train ? o.transforms.train : o.transforms.eval,
    backbone: backbone.parameters(),
    onError: o.onError,
    maxPixels: o.maxPixels,
    pinMemory: o.device.startsWith('cuda'),
    // Evaluation passes stop at once; the training loop checks the signal itself, to write last.pt first.
    ...(o.signal && !train ? { signal: o.signal } : {}),
    ...(shard ? { shard } : {}),
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

/** Summed loss and accuracy of the classifier on a split (over every rank's shard), in eval mode. */
export async function evaluateSplit(trainer: Trainer, loader: DataLoader, group?: ProcessGroup): Promise<SplitMetrics> {
  let sums = [0, 0, 0];
  for await (const b of loader.epoch(0)) {
    const s = await withBatch(loader, b, (x, y) => trainer.evaluate(x, y));
    sums = [sums[0]! + s.loss, sums[1]! + s.correct, sums[2]! + s.count];
  }
  const [loss, correct, count] = (await sumOverRanks(group, sums)) as [number, number, number];
  return { loss: count ? loss / count : NaN, accuracy: count ? correct / count : NaN, count };
}

/** (C, H, W) of the items as the evaluation transforms deliver them. */
async function itemShapeOf(loader: DataLoader): Promise<number[]> {
  for await (const b of loader.epoch(0)) {
    loader.release(b);
    return b.shape.slice(1);
  }
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
  if (o.precision === 'fp16' && !o.device.startsWith('cuda')) {
    throw new MarsError('ERR_INVALID_ARGUMENT', `precision 'fp16' needs a CUDA device (device is '${o.device}'); on the CPU use 'bf16'`);
  }
  const settings = resolveDistributed(o.distributed);
  if (!settings) return train(o, classNames);
  const group = await ProcessGroup.join(settings, o.device);
  let finished = false;
  try {
    const result = await train({ ...o, device: group.device }, classNames, group);
    finished = true;
    return result;
  } catch (e) {
    if (!hasCode(e, 'ERR_DISTRIBUTED')) await group.reportFailure(e);
    throw e;
  } finally {
    await group.leave(finished);
  }
}

/** Runs the training; what it makes it frees whatever way it ends, all but the result's model. */
async function train(o: ParsedFineTuneOptions, classNames: string[], group?: ProcessGroup): Promise<FineTuneResult> {
  const owned = new Owned();
  try {
    return await trainOwning(o, classNames, owned, group);
  } finally {
    owned.dispose();
  }
}

async function trainOwning(o: ParsedFineTuneOptions, classNames: string[], owned: Owned, group?: ProcessGroup): Promise<FineTuneResult> {
  const precision = { precision: o.precision, ...(o.gradScaler !== undefined ? { gradScaler: o.gradScaler } : {}) };
  if (o.threads) setNumThreads(o.threads);
  const backbone = await backboneFor(o);
  if (backbone !== o.backbone) owned.add(backbone);
  const trainLoader = loaderFor(o, o.train, backbone, true, shardFor(group, true));
  // The training data in order with the evaluation transforms: item shape, DELTA's features, the bound.
  const trainInOrder = loaderFor(o, o.train, backbone, false);
  const validationLoader = o.validation && loaderFor(o, o.validation, backbone, false, shardFor(group, false));
  const itemShape = await itemShapeOf(trainInOrder);

  const lastPath = o.checkpointDir && join(o.checkpointDir, 'last.pt');
  const bestPath = o.checkpointDir && join(o.checkpointDir, 'best.pt');
  if (o.checkpointDir && !group?.rank) {
    await ensureOutputDir(o.checkpointDir, 'checkpoint folder');
    // One run at a time writes a checkpoint folder: a second is refused, naming the first.
    owned.add(await DirLock.acquire(o.checkpointDir));
    await sweepStaleTemporaries(o.checkpointDir);
  }
  // No checkpoint yet: the run starts from scratch (best.pt alone is refused: it does not say where the run stood).
  const resumeFrom = o.resume && o.checkpointDir ? resumePoint(o.checkpointDir) : undefined;
  const resumed = resumeFrom ? await openResume(resumeFrom, bestPath, o.device, { classNames, itemShape }) : undefined;
  if (resumed) {
    owned.add(resumed.model);
    owned.add(resumed.best?.model);
    owned.addAll(resumed.state.init);
  }
  if (group) await group.agree('options', jobFingerprint(o, group, backbone, resumed?.history.length ?? 0));

  let head: HeadShape;
  let model: Module;
  if (resumed) {
    head = { featureDim: resumed.meta.featureDim, pool: resumed.meta.pool };
    model = resumed.model;
  } else {
    head = await probeBackbone(backbone, itemShape);
    model = owned.add(await composeClassifier(backbone, head, classNames.length, o.seed));
  }
  // A priori, the class is the run's own: checked before training (mars-sp only).
  const radii = o.bound?.mode === 'apriori' ? marsSpRadii(o.regulariser, model.parameters()) : undefined;
  const channelWeights = o.regulariser.method === 'delta'
    ? await deltaChannelWeights(backbone, head, trainInOrder, classNames.length)
    : undefined;
  const classWeights = classWeightsOf(o, classNames.length);
  const trainer = owned.add(await Trainer.create(model, {
    regulariser: o.regulariser,
    optimizer: o.optimizer,
    pool: head.pool,
    ...precision,
    seed: o.seed,
    freezeBackbone: o.freezeBackbone,
    freezeStatistics: o.batchNormStatistics === 'freeze',
    ...(resumed ? { init: resumed.state.init } : {}),
    ...(channelWeights ? { channelWeights } : {}),
    ...(classWeights ? { classWeights } : {}),
    ...(group ? { parallel: { group, syncBatchNorm: group.settings.syncBatchNorm, checkEvery: group.settings.checkEvery } } : {}),
  }));
  if (resumed) restoreTrainer(trainer, resumed);

  const history: EpochEnd[] = resumed?.history ?? [];
  let best: Best = resumed?.best ?? { key: [-Infinity, -Infinity], epoch: history.length, model: undefined, sinceBest: 0 };
  const log = o.logDir && !group?.rank ? new RunLog(o.logDir, o.regulariser.method) : undefined;
  const meta = (epoch: number, position?: RunPosition): CheckpointMeta => ({
    format: 1, classNames, method: o.regulariser.method, regulariser: o.regulariser, epoch, featureDim: head.featureDim, pool: head.pool,
    itemShape, evalTransforms: o.transforms.eval, history,
    ...(position ? { position } : {}),
    ...(best.model ? { best: { value: best.key[0], tie: best.key[1], epoch: best.epoch, sinceBest: best.sinceBest } } : {}),
  });
  // Rank 0 alone writes; every rank holds the same weights.
  const save = async (path: string | undefined, epoch: number, position?: RunPosition) => {
    if (!path || group?.rank) return;
    const init = trainer.initState();
    try {
      await saveCheckpoint(path, model, meta(epoch, position), { init, optimizer: trainer.saveOptimizer(), rng: trainer.rngState() });
    } finally {
      for (const t of Object.values(init)) t.dispose();
    }
  };

  // A resumed run continues inside the epoch it stopped in: its batches already trained are skipped.
  let position = resumed?.position;
  for (let epoch = history.length; epoch < o.epochs; epoch++) {
    const started = performance.now();
    const lr = learningRate(o.schedule, o.optimizer.lr, epoch, o.epochs);
    trainer.setLearningRate(lr);
    const batches = trainLoader.batchesPerEpoch;
    const done = position?.batch ?? 0;
    // The sums of a stopped epoch are over every rank: rank 0 carries them on.
    const carried = position && !group?.rank ? position : { loss: 0, penalty: 0, correct: 0, count: 0 };
    let { loss, penalty, correct, count } = carried;
    const seconds = position?.seconds ?? 0;
    position = undefined;
    let batch = 0;
    const batchesOfEpoch = trainLoader.epoch(epoch)[Symbol.asyncIterator]();
    for (;;) {
      const next = await batchesOfEpoch.next();
      // Ranks step together: the epoch ends when any rank runs out (one that
      // skipped unreadable items may), and an abort on any rank stops all.
      const [short, aborted] = await sumOverRanks(group, [next.done ? 1 : 0, o.signal?.aborted ? 1 : 0]);
      if (aborted || short) await batchesOfEpoch.return?.();
      if (aborted) {
        const trained = Math.max(batch, done);
        const elapsed = seconds + (performance.now() - started) / 1000;
        const [l, p, c, n] = (await sumOverRanks(group, [loss, penalty, correct, count])) as [number, number, number, number];
        await save(lastPath, epoch, trained > 0 ? { batch: trained, loss: l, penalty: p, correct: c, count: n, seconds: elapsed } : undefined);
        throw new MarsError('ERR_ABORTED', `fine-tuning aborted in epoch ${epoch + 1}${lastPath ? `; resume from ${lastPath}` : ''}`);
      }
      if (short || next.done) break;
      const b = next.value;
      if (batch < done) {
        trainLoader.release(b);
        batch++;
        continue;
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
      const scaling = s.lossScale !== undefined ? { lossScale: s.lossScale, skipped: s.skipped ?? false } : {};
      await o.onBatchEnd?.({ epoch: epoch + 1, batch, batches, loss: s.loss, penalty: s.penalty, accuracy: s.correct / s.count, learningRate: lr, ...scaling });
    }
    [loss, penalty, correct, count] = (await sumOverRanks(group, [loss, penalty, correct, count])) as [number, number, number, number];
    const entry: EpochEnd = {
      epoch: epoch + 1,
      learningRate: lr,
      train: { loss: loss / count, penalty: penalty / count, accuracy: correct / count, count },
      ...(validationLoader ? { validation: await evaluateSplit(trainer, validationLoader, group) } : {}),
      seconds: seconds + (performance.now() - started) / 1000,
      distances: trainer.distances(),
      ...(o.bound && (o.bound.epochs === 'every' || epoch + 1 === o.epochs) ? { bound: await epochBound(model, backbone, trainInOrder, o, radii) } : {}),
    };
    history.push(entry);
    // The best is updated before last.pt is written, so that last.pt records it (exact resume).
    let stop = false;
    if (o.monitor) {
      const key = monitorKey(entry, o.monitor);
      if (better(key, best.key)) {
        owned.free(best.model);
        best = { key, epoch: epoch + 1, model: owned.add(await model.clone()), sinceBest: 0 };
        await save(bestPath, epoch + 1);
      } else {
        best.sinceBest++;
        stop = o.patience !== undefined && best.sinceBest >= o.patience;
      }
    }
    await save(lastPath, epoch + 1);
    await log?.epoch(history);
    await o.onEpochEnd?.(entry);
    if (stop) break;
  }
  const finalModel = owned.keep(best.model ?? model);
  const result: FineTuneResult = {
    model: new Classifier(finalModel, meta(history.length)),
    history,
    bestEpoch: best.model ? best.epoch : history.length,
    ...(group ? { distributed: { rank: group.rank, worldSize: group.worldSize } } : {}),
    settings: settingsOf(o),
  };
  if (o.test) {
    const testLoader = loaderFor(o, o.test, backbone, false, shardFor(group, false));
    const scorer = best.model ? owned.add(await Trainer.create(best.model, { regulariser: { method: 'none' }, pool: head.pool, precision: o.precision })) : trainer;
    result.test = await evaluateSplit(scorer, testLoader, group);
    result.finalTest = best.model && best.epoch !== history.length ? await evaluateSplit(trainer, testLoader, group) : result.test;
  }
  // The CPU allocator kept the steps' memory for reuse (native/core/cpu_allocator.cc); training is over.
  trimCpuCache();
  return result;
}
