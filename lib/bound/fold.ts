/** BatchNorm folding as a public helper: the layer that computes conv/linear followed by BatchNorm in eval mode. */
import { native } from '../native/loader.js';
import { Tensor } from '../torch/tensor.js';

export interface BatchNormTensors {
  /** γ; absent without affine parameters. */
  weight?: Tensor;
  /** β */
  bias?: Tensor;
  runningMean: Tensor;
  runningVar: Tensor;
  eps: number;
}

/**
 * W' = diag(s) W and b' = s b + β - s μ with s = γ / sqrt(σ² + eps), in float64:
 * the single layer equal to `layer` followed by the BatchNorm in eval mode.
 */
export async function foldBatchNorm(layer: { weight: Tensor; bias?: Tensor }, bn: BatchNormTensors): Promise<{ weight: Tensor; bias: Tensor; scale: Tensor }> {
  const f = await native().foldBatchNorm(layer.weight.handle, layer.bias?.handle ?? null, {
    weight: bn.weight?.handle ?? null,
    bias: bn.bias?.handle ?? null,
    runningMean: bn.runningMean.handle,
    runningVar: bn.runningVar.handle,
    eps: bn.eps,
  });
  return { weight: new Tensor(f.weight), bias: new Tensor(f.bias), scale: new Tensor(f.scale) };
}
