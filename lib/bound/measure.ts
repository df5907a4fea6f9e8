/**
 * Measures every layer of a plan on the fine-tuned network and on the initial
 * one (same layout, see init.ts): per-row MARS norms and distances of the
 * folded layer, Frobenius distance, and the spectral norm of its operator at
 * the layer's actual input size. The arithmetic is native (float64, LibTorch).
 */
import { MarsError } from '../errors.js';
import type { Module } from '../torch/module.js';
import { native } from '../native/loader.js';
import type { NativeBatchNorm, NativeLayerMeasure, NativeTensor } from '../native/surface.js';
import { tensor } from '../torch/tensor.js';
import type { BatchNormRef, LayerSpec } from './plan.js';

type Tensors = Record<string, { handle: NativeTensor }>;

/** The named tensor's native handle; ERR_BOUND_INIT when the network lacks it. */
export function pick(tensors: Tensors, name: string): NativeTensor {
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

/** The weight of a layer; a lone BatchNorm's is the identity, one column of ones. */
function weightOf(tensors: Tensors, spec: LayerSpec): NativeTensor {
  if (spec.weight) return pick(tensors, spec.weight);
  const channels = pick(tensors, (spec.batchnorm as BatchNormRef).runningMean).shape[0] as number;
  return tensor(new Float32Array(channels).fill(1), [channels, 1]).handle;
}

/** The largest entry (0 for none): a layer's norm from its rows. */
export const maxOf = (a: ArrayLike<number>): number => Array.from(a).reduce((x, y) => Math.max(x, y), 0);

const OPERATOR = { conv: 'conv', linear: 'linear', batchnorm: 'diagonal' } as const;

/** One measurement per layer, in plan order; `spectral` false skips the spectral norms (the slow part). */
export async function measureLayers(layers: LayerSpec[], model: Module, initial: Module, spectral: boolean): Promise<NativeLayerMeasure[]> {
  const current = model.stateDict();
  const init = initial.stateDict();
  const out: NativeLayerMeasure[] = [];
  for (const spec of layers) {
    out.push(
      await native().measureLayer({
        weight: weightOf(current, spec),
        initWeight: weightOf(init, spec),
        bias: maybe(current, spec.bias),
        initBias: maybe(init, spec.bias),
        transpose: spec.transpose,
        batchnorm: batchNorm(current, spec.batchnorm),
        initBatchnorm: batchNorm(init, spec.batchnorm),
        op: spectral ? OPERATOR[spec.kind] : '',
        conv: spec.conv ?? null,
      }),
    );
  }
  return out;
}
