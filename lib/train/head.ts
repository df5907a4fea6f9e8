/**
 * Backbone + new linear head as one TorchScript module (`forward` → logits,
 * `features`), composed natively. The backbone's output decides the head:
 * features (B, C) feed it directly, feature maps (B, C, H, W) are averaged
 * over H and W first.
 */
import { hasCode, MarsError, type ErrorCode } from '../errors.js';
import { Module } from '../torch/module.js';
import { native } from '../native/loader.js';
import { tensor } from '../torch/tensor.js';

export interface HeadShape {
  featureDim: number;
  pool: boolean;
}

/** Runs the backbone on one zero input of `itemShape` (C, H, W) to learn what the head receives. */
export async function probeBackbone(backbone: Module, itemShape: readonly number[], what = 'backbone'): Promise<HeadShape> {
  const n = itemShape.reduce((a, b) => a * b, 1);
  const wasTraining = backbone.training;
  backbone.eval();
  using zeros = tensor(new Float32Array(n), [1, ...itemShape]);
  let out;
  try {
    out = await backbone.forward(zeros);
  } catch (e) {
    throw new MarsError(hasCode(e, 'ERR_SHAPE', 'ERR_DTYPE') ? (e.code as ErrorCode) : 'ERR_BACKBONE_OUTPUT',
      `${what} cannot take inputs of shape [${itemShape.join(', ')}]: ${(e as Error).message}`, { cause: e });
  } finally {
    backbone.train(wasTraining);
  }
  const shape = out.shape;
  out.dispose();
  if (shape.length === 2 || shape.length === 4) return { featureDim: shape[1]!, pool: shape.length === 4 };
  throw new MarsError(
    'ERR_BACKBONE_OUTPUT',
    `${what} returns shape [${shape.join(', ')}]; a head needs features (B, C) or feature maps (B, C, H, W). ` +
      'Export the backbone without its old head, or with a forward that returns features.',
  );
}

/**
 * A new classifier: a deep copy of `backbone` plus a freshly initialised
 * linear head, drawn from a generator of its own seeded with `seed` (the
 * values torch.manual_seed(seed) gives), or from LibTorch's default one.
 */
export async function composeClassifier(backbone: Module, head: HeadShape, numClasses: number, seed?: number): Promise<Module> {
  return new Module(await native().composeClassifier(backbone.handle, head.featureDim, numClasses, head.pool, seed));
}
