/** The options of fineTune(): one zod schema, the single source of their defaults. */
import { z } from 'zod';
import type { TensorDistance } from '../native/surface.js';
import { DeviceSchema } from '../torch/options.js';
import { Dataset } from '../data/dataset.js';
import { transformSchema } from '../data/options.js';
import { Module } from '../torch/module.js';
import { RegulariserSchema } from './regularisers.js';


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
      /** The rate at the last epoch, as a fraction of the initial one. */
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
  /** LibTorch threads (set for the process, from this run on); default: what PyTorch picks, one per physical core (or OMP_NUM_THREADS). */
  threads: z.number().int().positive().optional(),
  /** Writes `last.pt` (every epoch) and `best.pt` here; resumes from `last.pt` with `resume`. */
  checkpointDir: z.string().min(1).optional(),
  resume: z.boolean().default(false),
  /** The metric that picks the best epoch (kept in memory and in best.pt) and drives early stopping. */
  monitor: metric.optional(),
  /** Stop after this many epochs without improvement of `monitor`. */
  patience: z.number().int().positive().optional(),
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
    })
    .optional(),
  onBatchEnd: fn<(e: BatchEnd) => void>('onBatchEnd').optional(),
  onEpochEnd: fn<(e: EpochEnd) => void>('onEpochEnd').optional(),
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
} as const;
