/**
 * The thin LibTorch layer, faithful to LibTorch's own objects: tensors made
 * from and read back as typed arrays; TorchScript modules loaded (after the
 * archive check), run, cloned, moved and saved; process-wide runtime
 * settings; and the schemas of their options. Everything above builds on
 * these; nothing here knows about fine-tuning.
 */
export { checkArchive } from './archive.js';
export { load, Module, type ParameterInfo, type LayerKind, type Dtype } from './module.js';
export { DeviceSchema, DtypeSchema, type LoadOptions, type SaveOptions, type TensorOptions, type ToOptions } from './options.js';
export { manualSeed, runtimeInfo, setNumThreads, type RuntimeInfo } from './runtime.js';
export { tensor, Tensor, TYPED_ARRAY_OF, type DtypeOf, type TensorData, type TypedArrayFor } from './tensor.js';
