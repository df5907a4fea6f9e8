/** The options of fineTune(): one zod schema, the single source of their defaults. */
import { z } from 'zod';
import type { TensorDistance } from '../native/surface.js';
import { DeviceSchema } from '../torch/options.js';
import { Dataset } from '../data/dataset.js';
import { loaderOptionsSchema, transformSchema } from '../data/options.js';
import { Module } from '../torch/module.js';
import { RegulariserSchema, type Method, type Regulariser } from './regularisers.js';
import { DistributedSchema } from '../distributed/options.js';


/** LibTorch's optimisers. The defaults are the reference's: Adam with AMSGrad, learning rate 1e-4. */
export const OptimizerSchema = z
  .object({
    name: z.enum(['sgd', 'adam', 'adamw']).default('adam'),
    lr: z.number().finite().positive().default(1e-4),
    /** SGD only. */
    momentum: z.number().finite().min(0).max(1).default(0.9),
    /** SGD only: Nesterov momentum. */
    nesterov: z.boolean().default(false),
    weightDecay: z.number().finite().nonnegative().default(0),
    beta1: z.number().finite().min(0).lt(1).default(0.9),
    beta2: z.number().finite().min(0).lt(1).default(0.999),
    eps: z.number().finite().positive().default(1e-8),
    /** Adam/AdamW only. */
    amsgrad: z.boolean().default(true),
  })
  .strict();
export type OptimizerOptions = z.input<typeof OptimizerSchema>;

/**
 * fp16's dynamic loss scale, as PyTorch's GradScaler (same defaults): the loss
 * is multiplied by the scale before backward, gradients are divided by it
 * before the step; a step whose gradients overflow is skipped and the scale
 * multiplied by `backoffFactor`; after `growthInterval` clean steps in a row
 * it is multiplied by `growthFactor`.
 */
export const GradScalerSchema = z.strictObject({
  initScale: z.number().finite().positive().default(2 ** 16),
  growthFactor: z.number().finite().gt(1).default(2),
  backoffFactor: z.number().finite().gt(0).lt(1).default(0.5),
  growthInterval: z.number().int().positive().default(2000),
});
export type GradScalerOptions = z.input<typeof GradScalerSchema>;

/**
 * Automatic mixed precision: `bf16` or `fp16` runs forward and loss under
 * LibTorch's autocast (matrix products and convolutions in that type, the
 * rest in fp32); parameters, gradients, the optimiser and the projection stay
 * in fp32. `fp16` needs CUDA and turns the loss scale on.
 */
export const PrecisionSchema = z.enum(['fp32', 'bf16', 'fp16']);
export type Precision = z.infer<typeof PrecisionSchema>;

/** The loss scale a run uses: given, or GradScaler's defaults with fp16, else none. */
export function resolveGradScaler(precision: Precision, gradScaler: false | GradScalerOptions | undefined): z.output<typeof GradScalerSchema> | undefined {
  if (gradScaler === false) return undefined;
  if (gradScaler !== undefined) return GradScalerSchema.parse(gradScaler);
  return precision === 'fp16' ? GradScalerSchema.parse({}) : undefined;
}

/** Learning-rate schedules, evaluated per epoch; `warmupEpochs` ramps up linearly first. */
export const ScheduleSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('constant'), warmupEpochs: z.number().int().nonnegative().default(0) }),
    z.strictObject({
      type: z.literal('step'),
      /** The reference halves the rate every 20 epochs. */
      every: z.number().int().positive().default(20),
      factor: z.number().finite().positive().default(0.5),
      warmupEpochs: z.number().int().nonnegative().default(0),
    }),
    z.strictObject({
      type: z.literal('cosine'),
      /** The rate the cosine falls to one epoch after the last (so the last epoch never runs at 0), as a fraction of the initial one. */
      floor: z.number().finite().min(0).max(1).default(0),
      warmupEpochs: z.number().int().nonnegative().default(0),
    }),
  ]);
export type ScheduleOptions = z.input<typeof ScheduleSchema>;
export type Schedule = z.output<typeof ScheduleSchema>;

/** What onBatchEnd receives after every training step. */
export interface BatchEnd {
  epoch: number;
  batch: number;
  batches: number;
  loss: number;
  penalty: number;
  accuracy: number;
  learningRate: number;
  /** With a loss scale: the scale this step used, and whether its gradients overflowed (the step was skipped). */
  lossScale?: number;
  skipped?: boolean;
}

/** Metrics of one data split at the end of an epoch. */
export interface SplitMetrics {
  loss: number;
  accuracy: number;
  count: number;
}

/** One line of history (and of metrics.jsonl): what an epoch did. */
export interface EpochEnd {
  epoch: number;
  learningRate: number;
  train: SplitMetrics & { penalty: number };
  validation?: SplitMetrics;
  seconds: number;
  /** Per weight tensor: distance from its centre (W0; zero for the head, MARS and Frobenius) and radius. */
  distances: TensorDistance[];
  /** The bound on the training data (docs/bound.md), with the `bound` option. */
  bound?: EpochBound;
}

/** The bound's headline terms after an epoch (computeBound gives the full report). */
export interface EpochBound {
  /** `apriori`: the class of the run's own MARS-SP radii; `posthoc`: the measured distances. */
  mode: 'posthoc' | 'apriori';
  /** Q(output)/m: the Rademacher complexity bound of one output. */
  rademacher: number;
  marginLoss: number;
  /** (4K/ρ) R_S(Π1) */
  complexity: number;
  confidence: number;
  total: number;
  /** Bartlett et al.'s complexity term, with `spectral: true`. */
  spectralComplexity?: number;
}

// The run record a checkpoint carries (lib/classifier declares it empty, being below this room).
declare module '../classifier/meta.js' {
  interface TrainingRecord {
    method: Method;
    /** The regulariser's full settings (defaults filled in), so the bound can read the class a run was trained in; older checkpoints lack it. */
    regulariser?: Regulariser;
    /** Everything in history so far (one entry per epoch). */
    history: EpochEnd[];
  }
}

const fn = <T>(what: string) => z.custom<T>((v) => typeof v === 'function', `${what} must be a function`);
const dataset = z.custom<Dataset>((v) => v instanceof Dataset, 'must be a Dataset (see openDataset)');
const metric = z.enum(['validation.accuracy', 'validation.loss', 'train.accuracy', 'train.loss']);

export const FineTuneSchema = z.strictObject({
  /** A TorchScript backbone (path or loaded module) whose forward returns (B, C) or (B, C, H, W). */
  backbone: z.union([z.string().min(1), z.instanceof(Module)]),
  train: dataset,
  validation: dataset.optional(),
  test: dataset.optional(),
  /** Per-item transforms; channels follow the backbone's first layer unless a toChannels transform says otherwise. */
  transforms: z.strictObject({ train: z.array(transformSchema).default([]), eval: z.array(transformSchema).default([]) }).prefault({}),
  regulariser: RegulariserSchema.prefault({ method: 'mars-sp' }),
  optimizer: OptimizerSchema.prefault({}),
  schedule: ScheduleSchema.prefault({ type: 'step' }),
  epochs: z.number().int().positive().default(30),
  batchSize: z.number().int().positive().default(128),
  seed: z.number().int().nonnegative().default(0),
  device: DeviceSchema.default('cpu'),
  /** Mixed precision: `bf16` (CPU or CUDA) or `fp16` (CUDA, with a loss scale); parameters stay fp32. */
  precision: PrecisionSchema.default('fp32'),
  /** fp16's loss scale (on by default with fp16 only); `false` turns it off, an object tunes or forces it. */
  gradScaler: z.union([z.literal(false), GradScalerSchema]).optional(),
  /** LibTorch threads (set for the process, from this run on); default: what PyTorch picks, one per physical core (or OMP_NUM_THREADS). */
  threads: z.number().int().positive().optional(),
  /**
   * Writes `last.pt` (every epoch, and where an aborted run stopped) and `best.pt` here; resumes
   * from `last.pt` with `resume`, exactly: the weights are those of an uninterrupted run. One run
   * at a time: a second on the same folder is ERR_OUTPUT_DIR, naming the first.
   */
  checkpointDir: z.string().min(1).optional(),
  /** Continue from `checkpointDir`'s last.pt; with no checkpoint there yet, start from scratch (best.pt alone is ERR_CHECKPOINT). */
  resume: z.boolean().default(false),
  /** The metric that picks the best epoch (kept in memory and in best.pt) and drives early stopping. */
  monitor: metric.optional(),
  /** Stop after this many epochs without improvement of `monitor`. */
  patience: z.number().int().positive().optional(),
  /**
   * Cross-entropy weights per class, for imbalanced training data: `balanced`
   * weighs class c by n / (classes × n_c) (so every class counts as much in
   * the loss), or one weight per class in label order. Training loss only;
   * validation and test losses stay unweighted.
   */
  classWeights: z.union([z.literal('balanced'), z.array(z.number().finite().positive()).min(2)]).optional(),
  /** The linear-probe baseline: only the head trains; the backbone keeps its weights and BatchNorm statistics. */
  freezeBackbone: z.boolean().default(false),
  /**
   * The backbone's BatchNorm statistics during training: `update` them from
   * each batch (PyTorch's train mode), or `freeze` them (the backbone trains
   * in eval mode: it normalises with the pre-trained running statistics and
   * keeps them, as fine-tuning with small batches often does).
   */
  batchNormStatistics: z.enum(['update', 'freeze']).default('update'),
  /** The from-scratch baseline: the backbone's weights are re-drawn at random (PyTorch's default initialisation, from `seed`) before training. */
  reinit: z.boolean().default(false),
  /**
   * Writes TensorBoard event files and `metrics.csv` here after every epoch
   * (run-log.ts lists the tags); `mars-ft report` draws them.
   */
  logDir: z.string().min(1).optional(),
  /**
   * Compute the generalisation bound on the training data after every epoch
   * (one extra pass over it; spectral norms only when asked, they are slow):
   * post hoc, or a priori for the class of the run's own MARS-SP radii (mars-sp only).
   */
  bound: z
    .strictObject({
      mode: z.enum(['posthoc', 'apriori']).default('posthoc'),
      margin: z.number().finite().positive().default(1),
      delta: z.number().gt(0).lt(1).default(0.05),
      spectral: z.boolean().default(false),
      /** After `every` epoch, or after the `last` scheduled one only (one pass instead of one per epoch). */
      epochs: z.enum(['every', 'last']).default('every'),
    })
    .optional(),
  /**
   * Data-parallel training over several processes or hosts (docs/distributed.md):
   * `true` or options, completed from MASTER_ADDR, MASTER_PORT, WORLD_SIZE,
   * RANK, LOCAL_RANK; default: distributed exactly when WORLD_SIZE is set
   * (as under torchrun); `false`: one process whatever the environment.
   * `batchSize` is then per rank: the global batch is worldSize × batchSize.
   */
  distributed: z.union([z.boolean(), DistributedSchema]).optional(),
  /** What an unreadable item does: `skip` it (reported with a warning) or `fail` the run with ERR_DATA_FILE. */
  onError: z.enum(['skip', 'fail']).default('skip'),
  /** An image file of more width × height pixels is skipped as unreadable, judged from its header (the loader's `maxPixels`). */
  maxPixels: loaderOptionsSchema.shape.maxPixels,
  /** Its result is awaited: training waits for a returned promise, and a rejected one rejects fineTune. */
  onBatchEnd: fn<(e: BatchEnd) => unknown>('onBatchEnd').optional(),
  /** Awaited, like onBatchEnd; the checkpoint of the epoch is written first. */
  onEpochEnd: fn<(e: EpochEnd) => unknown>('onEpochEnd').optional(),
  signal: z.instanceof(AbortSignal).optional(),
});
export type FineTuneOptions = z.input<typeof FineTuneSchema>;
export type ParsedFineTuneOptions = z.output<typeof FineTuneSchema>;

/** What fineTune fills in when an option is left out, read from the schema: for help texts and docs, never restated. */
export const FINE_TUNE_DEFAULTS = {
  regulariser: FineTuneSchema.shape.regulariser.parse(undefined),
  optimizer: FineTuneSchema.shape.optimizer.parse(undefined),
  schedule: FineTuneSchema.shape.schedule.parse(undefined),
  epochs: FineTuneSchema.shape.epochs.parse(undefined),
  batchSize: FineTuneSchema.shape.batchSize.parse(undefined),
  seed: FineTuneSchema.shape.seed.parse(undefined),
  maxPixels: FineTuneSchema.shape.maxPixels.parse(undefined),
} as const;
