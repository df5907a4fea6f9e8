/**
 * mars-finetune: fine-tune TorchScript networks from TypeScript with
 * distance-based regularisation (MARS-SP), on LibTorch.
 */
export { MarsError, hasCode, type ErrorCode } from './errors.js';
export { tensor, Tensor, type TensorData, type TypedArrayFor } from './tensor.js';
export { load, Module, type ParameterInfo, type LayerKind, type Dtype } from './module.js';
export { runtimeInfo, setNumThreads, manualSeed, type RuntimeInfo } from './runtime.js';
export type { LoadOptions, SaveOptions, TensorOptions, ToOptions } from './config.js';
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
