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
  fineTune,
  marsSpRadii,
  METHODS,
  type BatchEnd,
  type EpochBound,
  type EpochEnd,
  type FineTuneOptions,
  type FineTuneResult,
  type GradScalerOptions,
  type Precision,
  type Method,
  type OptimizerOptions,
  type RegulariserOptions,
  type ScheduleOptions,
  type SplitMetrics,
} from './train/index.js';
export {
  DistributedSchema,
  launchLocal,
  ProcessGroup,
  resolveDistributed,
  type DistributedOptions,
  type LaunchOptions,
  type ResolvedDistributed,
} from './distributed/index.js';
export { Classifier, loadCheckpoint, type CheckpointMeta, type LoadedCheckpoint, type Prediction } from './classifier/index.js';
export * from './data/index.js';
export { defaultBackbone, targetSet } from './assets/index.js';
export {
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
export {
  search,
  logUniform,
  uniform,
  int,
  choice,
  defaultSpace,
  stratifiedKFold,
  stratifiedHoldout,
  type SearchOptions,
  type SearchResult,
  type SearchProgress,
  type SelectionOptions,
  type SamplerOptions,
  type PrunerOptions,
  type Space,
  type Dimension,
  type Params,
  type ParamValue,
  type TrialRecord,
  type TrialEpoch,
  type FoldScore,
  type EpochScore,
  type Objective,
  type Fold,
  type KFoldOptions,
  type HoldoutOptions,
} from './search/index.js';
