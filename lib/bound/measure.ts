/**
 * Measures every layer of a plan on the fine-tuned network and on the initial
 * one (same layout, see init.ts): per-row MARS norms and distances of the
 * folded layer (what the recursion reads), the same before folding and the
 * BatchNorm's own vectors (what MARS-SP projects, for the a priori checks),
 * and, separately because it is the slow part, the spectral norm of each
 * operator at the layer's actual input size. The arithmetic is native (float64, LibTorch).
 */
import { MarsError } from '../errors.js';
import type { Module } from '../torch/module.js';
import { native } from '../native/loader.js';
import type { NativeBatchNorm, NativeLayerInput, NativeLayerMeasure, NativeTensor } from '../native/surface.js';
import { tensor, type Tensor } from '../torch/tensor.js';
import type { BatchNormRef, LayerSpec } from './plan.js';

type Tensors = Record<string, Tensor>;

/** The named tensor's native handle; ERR_BOUND_INIT when the network lacks it. */
export function pick(tensors: Record<string, { handle: NativeTensor }>, name: string): NativeTensor {
  const t = tensors[name];
  if (!t) throw new MarsError('ERR_BOUND_INIT', `the network has no tensor '${name}'`);
  return t.handle;
}

const maybe = (tensors: Tensors, name: string | undefined) => (name === undefined ? null : pick(tensors, name));

function batchNorm(tensors: Tensors, bn: BatchNormRef | undefined): NativeBatchNorm | null {
  if (!bn) return null;
  return {
    weight: maybe(tensors, bn.weight),
    bias: maybe(tensors, bn.bias),
    runningMean: pick(tensors, bn.runningMean),
    runningVar: pick(tensors, bn.runningVar),
    eps: bn.eps,
  };
}

/** A tensor's values in float64, on the CPU. */
async function float64(t: Tensor): Promise<Float64Array> {
  return Float64Array.from((await t.to({ device: 'cpu' })).data() as ArrayLike<number>);
}

/**
 * The weight of a layer as rows. A lone BatchNorm's is the identity, one
 * column of ones; a vector `w` used by linear/matmul computes the one output
 * w·x, so it is one row (as is, it would read as one row per entry).
 */
async function weightOf(tensors: Tensors, spec: LayerSpec): Promise<{ handle: NativeTensor; vector: boolean }> {
  if (!spec.weight) {
    const channels = pick(tensors, (spec.batchnorm as BatchNormRef).runningMean).shape[0] as number;
    return { handle: tensor(new Float32Array(channels).fill(1), [channels, 1]).handle, vector: false };
  }
  const w = tensors[spec.weight];
  if (!w) throw new MarsError('ERR_BOUND_INIT', `the network has no tensor '${spec.weight}'`);
  if (w.shape.length !== 1) return { handle: w.handle, vector: false };
  return { handle: tensor(await float64(w), [1, w.shape[0] as number]).handle, vector: true };
}

/** The largest entry (0 for none): a layer's norm from its rows. */
export const maxOf = (a: ArrayLike<number>): number => Array.from(a).reduce((x, y) => Math.max(x, y), 0);

const OPERATOR = { conv: 'conv', linear: 'linear', batchnorm: 'diagonal' } as const;

/** A BatchNorm's vectors, per channel, in the fine-tuned and the initial network. */
export interface BatchNormState {
  /** γ and γ0; absent without affine parameters. */
  gamma?: Float64Array;
  initGamma?: Float64Array;
  runningVar: Float64Array;
  initRunningVar: Float64Array;
  /** The module's eps. */
  eps: number;
}

export interface LayerMeasure {
  /** The folded layer's rows: what the recursion reads. */
  rows: NativeLayerMeasure;
  /** The layer's own weight and bias before folding (the same as `rows` without a BatchNorm). */
  unfolded: NativeLayerMeasure;
  batchnorm?: BatchNormState;
}

/** Rejects with ERR_ABORTED once `signal` has fired. */
export function checkAborted(signal: AbortSignal | undefined, where: string): void {
  if (signal?.aborted) throw new MarsError('ERR_ABORTED', `the bound was aborted ${where}`);
}

class Networks {
  readonly current: Tensors;
  readonly init: Tensors;
  constructor(model: Module, initial: Module) {
    this.current = model.stateDict();
    this.init = initial.stateDict();
  }

  async input(spec: LayerSpec, op: NativeLayerInput['op'], fold = true): Promise<NativeLayerInput> {
    const [w, w0] = [await weightOf(this.current, spec), await weightOf(this.init, spec)];
    return {
      weight: w.handle,
      initWeight: w0.handle,
      bias: maybe(this.current, spec.bias),
      initBias: maybe(this.init, spec.bias),
      transpose: spec.transpose && !w.vector,
      batchnorm: fold ? batchNorm(this.current, spec.batchnorm) : null,
      initBatchnorm: fold ? batchNorm(this.init, spec.batchnorm) : null,
      op,
      conv: spec.conv ?? null,
    };
  }

  async batchNormState(bn: BatchNormRef): Promise<BatchNormState> {
    const vector = (tensors: Tensors, name: string) => float64(tensors[name] as Tensor);
    return {
      ...(bn.weight ? { gamma: await vector(this.current, bn.weight), initGamma: await vector(this.init, bn.weight) } : {}),
      runningVar: await vector(this.current, bn.runningVar),
      initRunningVar: await vector(this.init, bn.runningVar),
      eps: bn.eps,
    };
  }
}

/** Row norms and distances of every layer, in plan order (no spectral norms). */
export async function measureLayers(layers: LayerSpec[], model: Module, initial: Module, signal?: AbortSignal): Promise<LayerMeasure[]> {
  const nets = new Networks(model, initial);
  const out: LayerMeasure[] = [];
  for (const spec of layers) {
    checkAborted(signal, `while measuring layer ${spec.name}`);
    const rows = await native().measureLayer(await nets.input(spec, ''));
    if (!spec.batchnorm) {
      out.push({ rows, unfolded: rows });
      continue;
    }
    const unfolded = spec.weight ? await native().measureLayer(await nets.input(spec, '', false)) : rows;
    out.push({ rows, unfolded, batchnorm: await nets.batchNormState(spec.batchnorm) });
  }
  return out;
}

/** The spectral norm of every layer's (folded) operator at its input size, in plan order. */
export async function spectralNorms(layers: LayerSpec[], model: Module, initial: Module, signal?: AbortSignal): Promise<number[]> {
  const nets = new Networks(model, initial);
  const out: number[] = [];
  for (const spec of layers) {
    checkAborted(signal, `while measuring the spectral norm of ${spec.name}`);
    out.push((await native().measureLayer(await nets.input(spec, OPERATOR[spec.kind]))).spectral as number);
  }
  return out;
}
