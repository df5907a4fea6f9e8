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
  submodule(name: string): NativeModule;
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

export interface StepStats {
  /** Cross-entropy (mean over the batch in `step`, summed in `evaluate`). */
  loss: number;
  /** The regulariser's penalty (0 for constraints and plain fine-tuning). */
  penalty: number;
  correct: number;
  count: number;
}

/** Distance of one regularised tensor from its centre. */
export interface TensorDistance {
  name: string;
  rows: number;
  /** Largest row l1 distance (the MARS distance). */
  mars: number;
  frobenius: number;
  /** The radius, for projected tensors. */
  radius?: number;
}

export interface NativeSession {
  step(inputs: NativeTensor, labels: NativeTensor): Promise<StepStats>;
  evaluate(inputs: NativeTensor, labels: NativeTensor): Promise<StepStats>;
  setLearningRate(lr: number): void;
  distances(): TensorDistance[];
  initState(): Record<string, NativeTensor>;
  saveOptimizer(): Buffer;
  loadOptimizer(state: Buffer): void;
}

export interface NativeAddon {
  Tensor: abstract new (...args: never[]) => NativeTensor;
  Module: abstract new (...args: never[]) => NativeModule;
  tensorFromArray(data: ArrayBufferView, shape: number[], dtype: string): NativeTensor;
  loadModule(path: string, device: string, extraFiles: string[]): Promise<{ module: NativeModule; extraFiles: Record<string, string> }>;
  composeClassifier(backbone: NativeModule, featureDim: number, numClasses: number, pool: boolean): Promise<NativeModule>;
  identityModule(): NativeModule;
  createSession(model: NativeModule, options: object, init?: Record<string, NativeTensor>): Promise<NativeSession>;
  info(): RuntimeInfo;
  setNumThreads(n: number): void;
  manualSeed(seed: number): void;
}
