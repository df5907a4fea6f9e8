/**
 * mars-finetune: fine-tune TorchScript networks from TypeScript with
 * distance-based regularisation (MARS-SP), on LibTorch. The public surface;
 * each line names the room (folder) a concern lives in.
 */
export { MarsError, hasCode, codeOf, type ErrorCode } from './errors.js';
export {
  load,
  Module,
  tensor,
  Tensor,
  runtimeInfo,
  setNumThreads,
  manualSeed,
  type Dtype,
  type DtypeOf,
  type LayerKind,
  type LoadOptions,
  type ParameterInfo,
  type RuntimeInfo,
  type SaveOptions,
  type TensorData,
  type TensorOptions,
  type ToOptions,
  type TypedArrayFor,
} from './torch/index.js';
export type { TensorDistance } from './native/index.js';
export {
  distanceGroups,
  fineTune,
  marsSpRadii,
  METHODS,
  reinitialize,
  type BatchEnd,
  type DistanceGroup,
  type EpochBound,
  type EpochEnd,
  type FineTuneOptions,
  type FineTuneResult,
  type FineTuneSettings,
  type Method,
  type OptimizerOptions,
  type RegulariserOptions,
  type ScheduleOptions,
  type SplitMetrics,
} from './train/index.js';
export {
  Classifier,
  classify,
  evaluate,
  loadCheckpoint,
  type ApplyOptions,
  type CheckpointMeta,
  type Classified,
  type Evaluation,
  type LoadedCheckpoint,
  type Prediction,
  type TrainingRecord,
} from './classifier/index.js';
export * from './data/index.js';
export {
  boundInWords,
  computeBound,
  layerDistances,
  foldBatchNorm,
  type BatchNormTensors,
  type BoundData,
  type BoundOptions,
  type BoundReport,
  type LayerReport,
  type MeasuredPart,
  type ParameterDistance,
  type Radii,
} from './bound/index.js';
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
} from './projection/index.js';
export { writeReport, readRun, type RunRecord, type RunSummary, type EpochScores, type RunEnvironment } from './report/index.js';
