/** A fine-tuned classifier with its class names: top-k predictions with probabilities. */
import { loadCheckpoint, saveCheckpoint, type CheckpointMeta } from './checkpoint.js';
import { MarsError } from '../errors.js';
import type { NativeModule } from '../native/surface.js';
import { HandleOwner } from '../torch/handle.js';
import type { Module } from '../torch/module.js';
import { tensor, type Tensor } from '../torch/tensor.js';

export interface Prediction {
  label: number;
  className: string;
  probability: number;
}

/** A fine-tuned classifier; `dispose()` (or `using`) frees its weights now. */
export class Classifier extends HandleOwner<NativeModule> {
  constructor(
    /** The TorchScript classifier (backbone + head); `forward` gives logits. */
    readonly module: Module,
    /** Class names, input shape, evaluation transforms, method and training history. */
    readonly meta: CheckpointMeta,
  ) {
    // Its lifecycle is its network's: disposing either frees the weights.
    super(module.handle);
  }

  /** Loads a classifier saved by `save()` or written by `mars-ft finetune` (model.pt). */
  static async load(path: string, device = 'cpu'): Promise<Classifier> {
    const { model, meta } = await loadCheckpoint(path, device);
    return new Classifier(model, meta);
  }

  get classNames(): readonly string[] {
    return this.meta.classNames;
  }

  /** (C, H, W) of one input. */
  get itemShape(): readonly number[] {
    return this.meta.itemShape;
  }

  /** Saves as TorchScript (Python's torch.jit.load reads it) with the class names inside. */
  save(path: string): Promise<void> {
    return saveCheckpoint(path, this.module, this.meta);
  }

  /** Logits for a batch (a Tensor of shape (B, C, H, W), or NCHW float32 pixels with their batch size). */
  async logits(inputs: Tensor | Float32Array): Promise<Tensor> {
    const n = this.itemShape.reduce((a, b) => a * b, 1);
    if (inputs instanceof Float32Array && inputs.length % n !== 0) {
      throw new MarsError('ERR_SHAPE', `inputs hold ${inputs.length} values, not a whole number of [${this.itemShape.join(', ')}] items`);
    }
    const x = inputs instanceof Float32Array ? tensor(inputs, [inputs.length / n, ...this.itemShape]) : inputs;
    this.module.eval();
    try {
      return await this.module.forward(x);
    } finally {
      if (x !== inputs) x.dispose();
    }
  }

  /** The `topK` most probable classes of each input, most probable first. */
  async predict(inputs: Tensor | Float32Array, { topK = 5 }: { topK?: number } = {}): Promise<Prediction[][]> {
    const logits = await this.logits(inputs);
    const [batch, classes] = logits.shape as [number, number];
    const values = (logits.data() as Float32Array).slice();
    logits.dispose();
    const out: Prediction[][] = [];
    for (let b = 0; b < batch; b++) {
      const row = values.subarray(b * classes, (b + 1) * classes);
      const max = Math.max(...row);
      const exps = Array.from(row, (v) => Math.exp(v - max));
      const sum = exps.reduce((a, c) => a + c, 0);
      const ranked = exps.map((e, label) => ({ label, className: this.classNames[label] ?? String(label), probability: e / sum }));
      ranked.sort((a, c) => c.probability - a.probability);
      out.push(ranked.slice(0, Math.max(1, Math.min(topK, classes))));
    }
    return out;
  }
}
