/**
 * Checkpoints are one TorchScript file (backbone + head, `forward` → logits),
 * loadable by Python's torch.jit.load, carrying in its extra files what
 * resuming and predicting need: `mars/meta.json` (class names, method, epoch,
 * head shape, item shape), `mars/init` (W0, to keep projecting around the same
 * centre) and `mars/optimizer` (the optimiser's state). Written atomically.
 */
import { MarsError } from '../errors.js';
import { load, type Module } from '../torch/module.js';
import type { Dtype } from '../native/surface.js';
import type { Transform } from '../data/options.js';
import { tensor, TYPED_ARRAY_OF, type Tensor } from '../torch/tensor.js';

/**
 * What fineTune records about the run that made a checkpoint (method,
 * regulariser settings, history). Its fields are declared in lib/train
 * (options.ts), which owns their types and sits above this room, by
 * declaration merging: this room never imports upward, and `meta` is still
 * fully typed wherever the package is used.
 */
export interface TrainingRecord {}

export interface CheckpointMeta extends TrainingRecord {
  format: 1;
  classNames: string[];
  /** Epochs completed. */
  epoch: number;
  featureDim: number;
  pool: boolean;
  /** (C, H, W) of one input. */
  itemShape: number[];
  /** The evaluation transforms, so predictions preprocess as training did. */
  evalTransforms: Transform[];
}

const META = 'mars/meta.json';
const INIT = 'mars/init';
const OPTIMIZER = 'mars/optimizer';

/** Tensors as text: a JSON header line (name, dtype, shape) and one base64 line per tensor. */
export function encodeTensors(tensors: Record<string, Tensor>): string {
  const entries = Object.entries(tensors);
  const header = entries.map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape }));
  const bodies = entries.map(([, t]) => {
    const data = t.data();
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
  });
  return [JSON.stringify(header), ...bodies].join('\n');
}

export function decodeTensors(text: string): Record<string, Tensor> {
  const [headerLine, ...bodies] = text.split('\n');
  const header = JSON.parse(headerLine ?? '[]') as { name: string; dtype: Dtype; shape: number[] }[];
  return Object.fromEntries(
    header.map((h, i) => {
      const bytes = Buffer.from(bodies[i] ?? '', 'base64');
      const Ctor = TYPED_ARRAY_OF[h.dtype];
      if (!Ctor) throw new MarsError('ERR_CHECKPOINT', `checkpoint tensor ${h.name} has unsupported dtype ${h.dtype}`);
      const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      return [h.name, tensor(new Ctor(copy), h.shape)];
    }),
  );
}

export async function saveCheckpoint(
  path: string,
  model: Module,
  meta: CheckpointMeta,
  state?: { init: Record<string, Tensor>; optimizer: Buffer },
): Promise<void> {
  const extraFiles: Record<string, string> = { [META]: JSON.stringify(meta) };
  if (state) {
    extraFiles[INIT] = encodeTensors(state.init);
    extraFiles[OPTIMIZER] = state.optimizer.toString('base64');
  }
  await model.save(path, { extraFiles });
}

export interface LoadedCheckpoint {
  model: Module;
  meta: CheckpointMeta;
  init?: Record<string, Tensor>;
  optimizer?: Buffer;
}

/** Loads a checkpoint written by fineTune; ERR_CHECKPOINT when the file is TorchScript but not one of ours. */
export async function loadCheckpoint(path: string, device = 'cpu'): Promise<LoadedCheckpoint> {
  const model = await load(path, { device, extraFiles: [META, INIT, OPTIMIZER] });
  const metaText = model.extraFiles[META];
  if (!metaText) {
    throw new MarsError('ERR_CHECKPOINT', `${path} is TorchScript but not a mars-finetune checkpoint (no ${META}); fine-tune it with fineTune() or mars-ft finetune first`);
  }
  const meta = JSON.parse(metaText) as CheckpointMeta;
  const init = model.extraFiles[INIT];
  const optimizer = model.extraFiles[OPTIMIZER];
  return {
    model,
    meta,
    ...(init ? { init: decodeTensors(init) } : {}),
    ...(optimizer ? { optimizer: Buffer.from(optimizer, 'base64') } : {}),
  };
}
