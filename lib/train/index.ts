/**
 * Fine-tuning: `fineTune` (the epoch loop: data, schedule, callbacks,
 * checkpoints, early stopping), its options (options.ts, the one source of
 * their defaults), learning-rate schedules, the regularisers of method.md
 * turned into per-tensor plans, DELTA's channel weights, the trainer (one
 * native session: the step, the optimiser, the projection), the
 * composition of a backbone with a new head, the baselines' re-drawn
 * weights (reinit.ts), distances summed up per group, and what a run logs
 * (run-log.ts, through lib/logs). It produces a Classifier.
 */
export { fineTune, type FineTuneResult, type FineTuneSettings } from './finetune.js';
export { distanceGroups, groupOf, radiusNorm, type DistanceGroup, type DistanceGroupName } from './distance-groups.js';
export { reinitialize } from './reinit.js';
export { RunLog, epochScalars, metricsCsv } from './run-log.js';
export {
  FINE_TUNE_DEFAULTS,
  FineTuneSchema,
  GradScalerSchema,
  OptimizerSchema,
  PrecisionSchema,
  ScheduleSchema,
  type BatchEnd,
  type EpochBound,
  type EpochEnd,
  type FineTuneOptions,
  type GradScalerOptions,
  type OptimizerOptions,
  type Precision,
  type ScheduleOptions,
  type SplitMetrics,
} from './options.js';
export { METHODS, RegulariserSchema, planRegulariser, type Method, type RegulariserOptions, type RegulariserPlan } from './regularisers.js';
export { marsSpRadii } from './radii.js';
export { learningRate } from './schedule.js';
export { Trainer, type TrainerOptions } from './trainer.js';
export { composeClassifier, probeBackbone, type HeadShape } from './head.js';
export { deltaChannelWeights } from './delta.js';
