/**
 * The shapes of the objects the native addon hands to TypeScript. Internal:
 * the public API wraps them (see tensor.ts, module.ts).
 */

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

export interface NativeTensor {
  readonly shape: number[];
  readonly dtype: Dtype;
  readonly device: string;
  readonly requiresGrad: boolean;
  data(): Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;
  to(device?: string | null, dtype?: string | null): NativeTensor;
}

export interface NativeModule {
  forward(inputs: NativeTensor[]): Promise<NativeTensor | NativeTensor[]>;
  parameters(): ParameterInfo[];
  stateDict(): Record<string, NativeTensor>;
  setTraining(on: boolean): void;
  isTraining(): boolean;
  clone(): Promise<NativeModule>;
  save(path: string, extraFiles?: Record<string, string>): Promise<void>;
  to(device: string): Promise<void>;
}

/** What `info()` reports about the LibTorch this binary runs on. */
export interface RuntimeInfo {
  libtorchVersion: string;
  builtWithCuda: boolean;
  cudaAvailable: boolean;
  cudaDeviceCount: number;
  cxx11Abi: boolean;
  napiVersion: number;
  threads: number;
  parallelInfo: string;
}

export interface NativeAddon {
  Tensor: abstract new (...args: never[]) => NativeTensor;
  Module: abstract new (...args: never[]) => NativeModule;
  tensorFromArray(data: ArrayBufferView, shape: number[], dtype: string): NativeTensor;
  loadModule(path: string, device: string, extraFiles: string[]): Promise<{ module: NativeModule; extraFiles: Record<string, string> }>;
  info(): RuntimeInfo;
  setNumThreads(n: number): void;
  manualSeed(seed: number): void;
}

/** What the native projections return (see lib/projection.ts). */
export interface NativeProjectionStats {
  rows: number;
  clipped: number;
  nonFinite: number;
  maxDistanceBefore: number;
  maxDistanceAfter: number;
  meanDistanceBefore: number;
  statsValid: boolean;
}

/** The projection kernels' bindings (native/projection_binding.cc), merged into NativeAddon. */
export interface NativeAddon {
  projectMars(w: NativeTensor, w0: NativeTensor | null, radius: number, mode?: 'rescale' | 'exact-l1'): NativeProjectionStats;
  projectMarsMany(tasks: { w: NativeTensor; w0: NativeTensor | null; radius: number }[], mode?: 'rescale' | 'exact-l1'): NativeProjectionStats[];
  projectFrobenius(w: NativeTensor, w0: NativeTensor | null, radius: number): NativeProjectionStats;
  clipBatchNormScale(
    weight: NativeTensor,
    runningVar: NativeTensor,
    weight0: NativeTensor,
    runningVar0: NativeTensor,
    radius: number,
    eps?: number,
  ): NativeProjectionStats;
  /** @internal Benchmark only: the MARS map as a chain of LibTorch ops. */
  projectMarsOpChain(w: NativeTensor, w0: NativeTensor | null, radius: number): void;
  /** @internal Benchmark only: the Frobenius map as a chain of LibTorch ops. */
  projectFrobeniusOpChain(w: NativeTensor, w0: NativeTensor | null, radius: number): void;
  /** @internal Benchmark only (bench/projection/run.mjs); see native/projection_binding.cc. */
  benchProjection(options: {
    shapes: number[][];
    contenders: { name?: string; method: 'fused' | 'fused-many' | 'fused-exact-l1' | 'opchain' | 'copy' | 'add' | 'frobenius' | 'frobenius-opchain'; relRadius?: number }[];
    reps?: number;
    seed?: number;
    dtype?: 'float32' | 'float64';
    flushBytes?: number;
  }): {
    contenders: Record<string, { perTensorSeconds: number[]; totalSeconds: number[]; clippedRows: number; rows: number; checksum: number }>;
    elements: number;
    bytesPerElement: number;
    threads: number;
  };
}
