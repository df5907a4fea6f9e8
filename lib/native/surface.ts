/**
 * The shapes of the objects the native addon hands to TypeScript. Internal:
 * the public API wraps them (see tensor.ts, module.ts).
 */

import type { NativeParallelSpec, NativeSessionSpec } from './session-spec.js';

export type * from './session-spec.js';

export type Dtype = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool' | 'float16' | 'bfloat16';

/** The layer kind a tensor belongs to, from the class of the submodule that owns it. */
export type LayerKind = 'conv' | 'linear' | 'batchnorm' | 'other';

/** One parameter or buffer of a module, as `Module.parameters()` lists it. */
export interface ParameterInfo {
  /** Dotted name, as in PyTorch's `named_parameters()` (`layer1.0.conv1.weight`). */
  name: string;
  shape: number[];
  dtype: Dtype;
  /** Layer kind of the owning submodule (`Conv2d` → conv, `Linear` → linear, `BatchNorm2d` → batchnorm). */
  kind: LayerKind;
  /** Class name of the owning submodule, e.g. `Conv2d`. */
  moduleType: string;
  requiresGrad: boolean;
  /** True for buffers (running statistics), false for parameters. */
  isBuffer: boolean;
  device: string;
}

/** What every native handle has: `dispose()` releases its C++ value now; later uses are ERR_DISPOSED. */
export interface NativeHandle {
  dispose(): void;
  readonly disposed: boolean;
}

export interface NativeTensor extends NativeHandle {
  readonly shape: number[];
  readonly dtype: Dtype;
  readonly device: string;
  readonly requiresGrad: boolean;
  data(): Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;
  to(device?: string | null, dtype?: string | null): Promise<NativeTensor>;
}

export interface NativeModule extends NativeHandle {
  forward(inputs: NativeTensor[]): Promise<NativeTensor | NativeTensor[]>;
  parameters(): ParameterInfo[];
  stateDict(): Record<string, NativeTensor>;
  setTraining(on: boolean): void;
  isTraining(): boolean;
  clone(): Promise<NativeModule>;
  /** A copy frozen and optimised for inference, on the CPU; null elsewhere or when it cannot be frozen. */
  inferenceCopy(): Promise<NativeModule | null>;
  /** The TorchScript archive, built in memory (written to disk by TypeScript, with checked I/O). */
  serialize(extraFiles?: Record<string, string>): Promise<Buffer>;
  /** The first parameter or buffer that holds NaN or an infinity, or null. */
  nonFinite(): Promise<string | null>;
  to(device: string): Promise<void>;
  submodule(name: string): NativeModule;
}

/** What `info()` reports about the LibTorch this binary runs on. */
export interface NativeRuntimeInfo {
  libtorchVersion: string;
  builtWithCuda: boolean;
  cudaAvailable: boolean;
  cudaDeviceCount: number;
  /** c10d's backends this binary was built with (`gloo`: CPU, `nccl`: CUDA); empty: no distributed training. */
  distributedBackends: ('gloo' | 'nccl')[];
  cxx11Abi: boolean;
  napiVersion: number;
  threads: number;
  parallelInfo: string;
  /** Bytes that live tensors, modules and sessions hold natively, as reported to V8's garbage collector. */
  nativeMemory: number;
  /** Bytes of freed CPU tensor memory kept for reuse by tensors of the same size (native/core/cpu_allocator.cc). */
  cachedCpuMemory: number;
}

export interface StepStats {
  /** Cross-entropy (mean over the batch in `step`, summed in `evaluate`). */
  loss: number;
  /** The regulariser's penalty (0 for constraints and plain fine-tuning). */
  penalty: number;
  correct: number;
  count: number;
  /** With a loss scale (fp16): the scale this step multiplied the loss by. */
  lossScale?: number;
  /** With a loss scale: the scaled gradients overflowed, so the optimiser skipped this step (and the scale backed off). */
  skipped?: boolean;
  /** Seconds the projection back into the balls took in this step (0 in `evaluate` and without constraints). */
  projectionSeconds: number;
}

/** How far one tensor is from its centre (W0, or zero for a new head). */
export interface TensorDistance {
  /** Parameter name, e.g. `backbone.layer1.0.conv1.weight`. */
  name: string;
  /** max_r ||W_r - W0_r||_1 over the rows (first axis): the MARS distance. */
  mars: number;
  /** ||W - W0||_F */
  frobenius: number;
  /** The radius of its ball, for projected tensors. */
  radius?: number;
}

export interface NativeSession extends NativeHandle {
  step(inputs: NativeTensor, labels: NativeTensor): Promise<StepStats>;
  evaluate(inputs: NativeTensor, labels: NativeTensor): Promise<StepStats>;
  setLearningRate(lr: number): void;
  distances(): TensorDistance[];
  initState(): Record<string, NativeTensor>;
  saveOptimizer(): Buffer;
  loadOptimizer(state: Buffer): void;
  /** The run's own random streams (dropout and other randomness of its steps), for exact resume. */
  rngState(): Buffer;
  setRngState(state: Buffer): void;
}

/**
 * How one rank joins a data-parallel job, every field given (mirrored by
 * GroupSpec in native/distributed/group.h, which has no defaults and refuses
 * a field missing, of the wrong type or unknown).
 */
export interface NativeGroupSpec {
  masterAddr: string;
  masterPort: number;
  rank: number;
  worldSize: number;
  backend: 'gloo' | 'nccl';
  /** This rank's device: `cpu` for Gloo, its own `cuda:N` for NCCL. */
  device: string;
  /** Where this rank's Gloo transport listens: a network interface, else an address (null: not given). */
  interface: string | null;
  host: string | null;
  /** Seconds. */
  timeout: number;
  joinTimeout: number;
}

/** One rank's membership of a job; collectives run on the compute thread, in call order. */
export interface NativeProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  /** Element-wise sum over every rank. */
  allReduce(values: Float64Array): Promise<Float64Array>;
  /** Every rank's `value` for `key`, in rank order (through the rendezvous store). */
  exchange(key: string, value: string): Promise<string[]>;
  barrier(): Promise<void>;
  /** Leaves a reason where the other ranks look when their collectives fail. Never rejects. */
  reportFailure(message: string): Promise<void>;
  shutdown(): Promise<void>;
}

/** A value of a module's inlined forward graph (native/graph.h). */
export interface GraphValue {
  name: string;
  /** TorchScript type: `Tensor`, `int`, `int[]`, `float`, `bool`, `NoneType`, `Tensor[]`, ... */
  type: string;
  /** Dotted parameter or buffer name when the value is one. */
  param?: string;
  isConstant?: boolean;
  /** A constant's value (numbers, flags, null, strings and lists of them; undefined for tensors). */
  constant?: unknown;
  /** The shape the run on the probe batch gave (tensors only). */
  shape?: number[];
}

/** A node that computes (constants and attribute reads live on the values). */
export interface GraphNode {
  kind: string;
  /** Value indices; for control flow also what its blocks read. */
  inputs: number[];
  outputs: number[];
  hasBlocks: boolean;
  /** Submodule path the node was inlined from, e.g. `layer1.0.bn1`. */
  scope: string;
  /** `file:line` of the code that made it. */
  source: string;
}

export interface ModuleGraph {
  values: GraphValue[];
  nodes: GraphNode[];
  input: number;
  outputs: number[];
}

export interface NativeBatchNorm {
  weight: NativeTensor | null;
  bias: NativeTensor | null;
  runningMean: NativeTensor;
  runningVar: NativeTensor;
  eps: number;
}

export interface NativeConvSpec {
  /** One sample: `[1, C, H, W]`. */
  inputShape: number[];
  stride: number[];
  padding: number[] | 'same' | 'valid';
  dilation: number[];
  groups: number;
}

/** What `measureLayer` needs; an absent initial weight or bias counts as zero. */
export interface NativeLayerInput {
  weight: NativeTensor;
  initWeight: NativeTensor | null;
  bias: NativeTensor | null;
  initBias: NativeTensor | null;
  transpose: boolean;
  batchnorm: NativeBatchNorm | null;
  initBatchnorm: NativeBatchNorm | null;
  op: 'linear' | 'conv' | 'diagonal' | '';
  conv: NativeConvSpec | null;
}

/** Per-row statistics in float64 (of the folded layer when a BatchNorm was folded in). */
export interface NativeLayerMeasure {
  norm: Float64Array;
  initNorm: Float64Array;
  distance: Float64Array;
  bias: Float64Array;
  initBias: Float64Array;
  biasDistance: Float64Array;
  frobeniusDistance: number;
  l21Distance: number;
  spectral?: number;
}

export interface NativeAddon {
  Tensor: abstract new (...args: never[]) => NativeTensor;
  Module: abstract new (...args: never[]) => NativeModule;
  tensorFromArray(data: ArrayBufferView, shape: number[], dtype: string): NativeTensor;
  loadModule(path: string, device: string, extraFiles: string[]): Promise<{ module: NativeModule; extraFiles: Record<string, string> }>;
  /** With `seed`, the head is drawn from a generator of its own; without, from LibTorch's default one. */
  composeClassifier(backbone: NativeModule, featureDim: number, numClasses: number, pool: boolean, seed?: number): Promise<NativeModule>;
  identityModule(): NativeModule;
  /** `parallel` comes with `processGroup`, and only with it. */
  createSession(
    model: NativeModule,
    options: NativeSessionSpec,
    init?: Record<string, NativeTensor>,
    processGroup?: NativeProcessGroup,
    parallel?: NativeParallelSpec,
  ): Promise<NativeSession>;
  createProcessGroup(spec: NativeGroupSpec): Promise<NativeProcessGroup>;
  info(): NativeRuntimeInfo;
  setNumThreads(n: number): void;
  manualSeed(seed: number): void;
  /** Returns the CPU allocator's cached blocks (memory of freed tensors kept for reuse) to the system. */
  trimCpuCache(): void;
  /** The compute and image threads finish what they run and take nothing more: for the process's exit. */
  stopForExit(): void;
  boundGraph(module: NativeModule, sample: NativeTensor): Promise<ModuleGraph>;
  measureLayer(layer: NativeLayerInput): Promise<NativeLayerMeasure>;
  foldBatchNorm(weight: NativeTensor, bias: NativeTensor | null, bn: NativeBatchNorm): Promise<{ weight: NativeTensor; bias: NativeTensor; scale: NativeTensor }>;
  initialNetwork(model: NativeModule, init: NativeModule, pairs: [string, string | null][]): Promise<NativeModule>;
}

/** What a projection did (ProjectionStats in the public API). */
export interface NativeProjectionStats {
  /** Rows (output units; 1 for Frobenius; channels for BatchNorm) examined. */
  rows: number;
  /** Rows that were outside the ball and were rewritten; the others are untouched (bit-identical). */
  clipped: number;
  /** Rows whose distance was NaN or infinite: left unchanged; a sign of divergence. */
  nonFinite: number;
  /** Largest finite distance before the projection. */
  maxDistanceBefore: number;
  /** Largest finite distance after it (at most the radius, up to rounding). */
  maxDistanceAfter: number;
  /** Mean finite distance before the projection. */
  meanDistanceBefore: number;
  /** False only when a CUDA projection skipped collecting statistics. */
  statsValid: boolean;
}

/** The projection kernels' bindings (native/kernels/projection_binding.cc; they run on the compute thread), merged into NativeAddon. */
export interface NativeAddon {
  projectMars(w: NativeTensor, w0: NativeTensor | null, radius: number, mode?: 'rescale' | 'exact-l1'): Promise<NativeProjectionStats>;
  projectMarsMany(tasks: { w: NativeTensor; w0: NativeTensor | null; radius: number }[], mode?: 'rescale' | 'exact-l1'): Promise<NativeProjectionStats[]>;
  projectFrobenius(w: NativeTensor, w0: NativeTensor | null, radius: number): Promise<NativeProjectionStats>;
  clipBatchNormScale(
    weight: NativeTensor,
    runningVar: NativeTensor,
    weight0: NativeTensor,
    runningVar0: NativeTensor,
    radius: number,
    eps?: number,
  ): Promise<NativeProjectionStats>;
}

/** An image file read by the image threads: its header, and its bytes held natively for `imageDecode`. */
export type NativeImageFile =
  | { format: 'jpeg' | 'png'; width: number; height: number; channels: 1 | 3; bytes: object }
  /** The native path does not decode it (WebP, CMYK JPEG, ...): the loader uses sharp. */
  | { unsupported: string };

/** What `imageDecode` does to a file: lib/data/geometry.ts's plan, the batch's channels and value table. */
export interface NativeItemPlan {
  stages: { crop: { left: number; top: number; width: number; height: number } | null; width: number; height: number }[];
  crop: { left: number; top: number; width: number; height: number } | null;
  flip: boolean;
  channels: 1 | 3;
  table: Float32Array;
}

/** The native image path's bindings (native/data/bindings.cc; reading and decoding run on the image threads), merged into NativeAddon. */
export interface NativeAddon {
  imageOpen(path: string): Promise<NativeImageFile>;
  /** A float32 [C, H, W] item; rejects with ERR_IMAGE_UNSUPPORTED when sharp must decode the file instead. */
  imageDecode(bytes: object, plan: NativeItemPlan): Promise<NativeTensor>;
  batchTensor(shape: number[], pinned: boolean): NativeTensor;
  copyItem(batch: NativeTensor, slot: number, item: NativeTensor): void;
}
