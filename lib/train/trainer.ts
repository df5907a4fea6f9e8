/**
 * One fine-tuning session over a classifier: the native training step with
 * the regulariser's plan, the optimiser, and the snapshot W0. fineTune drives
 * it; tests drive it directly with fixed batches.
 */
import { MarsError } from '../errors.js';
import { parseOptions } from '../util/parse-options.js';
import { OptimizerSchema, PrecisionSchema, resolveGradScaler, type GradScalerOptions, type OptimizerOptions, type Precision } from './options.js';
import type { Module } from '../torch/module.js';
import { native } from '../native/loader.js';
import type { NativeSession, NativeSessionSpec, StepStats, TensorDistance } from '../native/surface.js';
import { planRegulariser, RegulariserSchema, type RegulariserOptions, type RegulariserPlan } from './regularisers.js';
import { HandleOwner } from '../torch/handle.js';
import { Tensor, tensor } from '../torch/tensor.js';
import type { ProcessGroup } from '../distributed/group.js';

export type { StepStats, TensorDistance } from '../native/surface.js';

export interface TrainerOptions {
  regulariser: RegulariserOptions;
  optimizer?: OptimizerOptions;
  /** The classifier's backbone returns feature maps, averaged before the head. */
  pool: boolean;
  /** W0 by name when resuming; by default the classifier's weights now. */
  init?: Record<string, Tensor>;
  /** DELTA's per-channel weights (one per backbone output channel): required with the delta regulariser. */
  channelWeights?: Float32Array;
  /** One rank of a data-parallel job: gradients averaged over `group`, rank 0's weights at the start. */
  parallel?: { group: ProcessGroup; syncBatchNorm: boolean; checkEvery: number };
  /** Mixed precision of forward and loss (fineTune's `precision`); default fp32. */
  precision?: Precision;
  /** The loss scale (fineTune's `gradScaler`): on by default with fp16 only. */
  gradScaler?: false | GradScalerOptions;
  /** Seeds the session's own random streams (dropout and other randomness of its steps); default 0. */
  seed?: number;
  /** Cross-entropy weight of each class, in label order (training steps only). */
  classWeights?: Float32Array;
  /** A linear probe: only the head trains; the backbone runs in eval mode and is neither projected nor penalised. */
  freezeBackbone?: boolean;
  /** The backbone trains in eval mode: BatchNorm normalises with its running statistics and never updates them. */
  freezeStatistics?: boolean;
}

/** A native training session; `dispose()` (or `using`) frees its snapshot W0 and optimiser state now. */
export class Trainer extends HandleOwner<NativeSession> {
  private constructor(
    session: NativeSession,
    readonly plan: RegulariserPlan,
  ) {
    super(session);
  }

  static async create(model: Module, options: TrainerOptions): Promise<Trainer> {
    const regulariser = parseOptions(RegulariserSchema, options.regulariser, 'regulariser');
    const optimizer = parseOptions(OptimizerSchema, options.optimizer, 'optimizer');
    const planned = planRegulariser(regulariser, model.parameters());
    const trained = (t: { name: string }) => !(options.freezeBackbone && t.name.startsWith('backbone.'));
    const plan = { ...planned, constraints: planned.constraints.filter(trained), penalties: planned.penalties.filter(trained) };
    let delta: NativeSessionSpec['delta'] = null;
    if (plan.delta) {
      if (!options.channelWeights) {
        throw new MarsError('ERR_INVALID_ARGUMENT', 'regulariser delta needs channelWeights: one weight per backbone output channel (fineTune computes them with deltaChannelWeights)');
      }
      delta = { alpha: plan.delta.alpha, channelWeights: tensor(options.channelWeights).handle };
    }
    const init = options.init && Object.fromEntries(Object.entries(options.init).map(([k, t]) => [k, t.handle]));
    const precision = parseOptions(PrecisionSchema, options.precision ?? 'fp32', 'precision');
    const p = options.parallel;
    const spec: NativeSessionSpec = {
      pool: options.pool,
      precision,
      gradScaler: resolveGradScaler(precision, options.gradScaler) ?? null,
      optimizer,
      constraints: plan.constraints,
      penalties: plan.penalties,
      delta,
      bss: plan.bss ?? null,
      classWeights: options.classWeights ? tensor(options.classWeights).handle : null,
      freezeBackbone: options.freezeBackbone ?? false,
      freezeStatistics: options.freezeStatistics ?? false,
      seed: options.seed ?? 0,
    };
    const session = await native().createSession(model.handle, spec, init, p?.group.handle, p && { syncBatchNorm: p.syncBatchNorm, checkEvery: p.checkEvery });
    return new Trainer(session, plan);
  }

  /** One optimiser step on a batch (forward, loss, penalty, backward, step, projection). */
  step(inputs: Tensor, labels: Tensor): Promise<StepStats> {
    return this.handle.step(inputs.handle, labels.handle);
  }

  /** Summed loss and correct count on a batch, in eval mode without gradients. */
  evaluate(inputs: Tensor, labels: Tensor): Promise<StepStats> {
    return this.handle.evaluate(inputs.handle, labels.handle);
  }

  setLearningRate(lr: number): void {
    this.handle.setLearningRate(lr);
  }

  /** How far each regularised tensor is from its centre now. */
  distances(): TensorDistance[] {
    return this.handle.distances();
  }

  /** W0 of every parameter and buffer. */
  initState(): Record<string, Tensor> {
    return Object.fromEntries(Object.entries(this.handle.initState()).map(([k, t]) => [k, new Tensor(t)]));
  }

  saveOptimizer(): Buffer {
    return this.handle.saveOptimizer();
  }

  loadOptimizer(state: Buffer): void {
    this.handle.loadOptimizer(state);
  }

  /** The session's random streams, for checkpoints: restoring them makes a resumed run's dropout masks the same. */
  rngState(): Buffer {
    return this.handle.rngState();
  }

  setRngState(state: Buffer): void {
    this.handle.setRngState(state);
  }
}
