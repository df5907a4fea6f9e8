/**
 * mars-finetune: fine-tune TorchScript networks from TypeScript with
 * distance-based regularisation (MARS-SP), on LibTorch.
 */
export { MarsError, hasCode, type ErrorCode } from './errors.js';
export { tensor, Tensor, type TensorData, type TypedArrayFor } from './tensor.js';
export { load, Module, type ParameterInfo, type LayerKind, type Dtype } from './module.js';
export { runtimeInfo, setNumThreads, manualSeed, type RuntimeInfo } from './runtime.js';
export type { LoadOptions, SaveOptions, TensorOptions, ToOptions, OptimizerOptions, ScheduleOptions } from './config.js';
export { fineTune, type FineTuneOptions, type FineTuneResult, type EpochEnd, type EpochBound, type BatchEnd, type SplitMetrics } from './finetune.js';
export { METHODS, type Method, type RegulariserOptions } from './regularisers.js';
export { Classifier, type Prediction } from './predict.js';
export { loadCheckpoint, type CheckpointMeta, type LoadedCheckpoint } from './checkpoint.js';
export * from './data/index.js';
export { computeBound, type BoundReport, type LayerReport } from './bound/compute.js';
export { layerDistances, type TensorDistance } from './bound/distances.js';
export { foldBatchNorm, type BatchNormTensors } from './bound/fold.js';
export type { BoundData, Batch as BoundBatch } from './bound/data.js';
export type { BoundOptions, Radii } from './bound/options.js';
export {
  projectMars,
  projectMarsMany,
  projectFrobenius,
  clipBatchNormScale,
  type ProjectionStats,
  type ProjectionMode,
  type MarsProjectionOptions,
  type MarsTask,
  type BatchNormClipOptions,
} from './projection.js';
