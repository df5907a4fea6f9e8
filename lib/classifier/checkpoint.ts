/**
 * Checkpoints are one TorchScript file (backbone + head, `forward` → logits),
 * loadable by Python's torch.jit.load, carrying in its extra files what
 * resuming and predicting need: `mars/meta.json` (class names, method, epoch,
 * head shape, item shape, where a stopped run stood; meta.ts), `mars/init`
 * (W0, to keep projecting around the same centre), `mars/optimizer` (the
 * optimiser's state) and `mars/rng` (the run's random streams). Written
 * atomically, and never from weights or statistics that are not finite;
 * everything read back is validated (ERR_CHECKPOINT).
 */
import { z } from 'zod';
import { MarsError } from '../errors.js';
import { load, type Module } from '../torch/module.js';
import { tensor, TYPED_ARRAY_OF, type Tensor } from '../torch/tensor.js';
import { parseCheckpointMeta, type CheckpointMeta } from './meta.js';

export type { CheckpointMeta, RunPosition, TrainingRecord } from './meta.js';

const META = 'mars/meta.json';
const INIT = 'mars/init';
const OPTIMIZER = 'mars/optimizer';
const RNG = 'mars/rng';

/** What resuming needs beyond the weights. */
export interface TrainingState {
  init: Record<string, Tensor>;
  optimizer: Buffer;
  rng: Buffer;
}

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

const TensorHeaderSchema = z.array(z.strictObject({ name: z.string(), dtype: z.string(), shape: z.array(z.number().int().nonnegative()) }));

/** The tensors encodeTensors wrote; ERR_CHECKPOINT for anything else. */
export function decodeTensors(text: string): Record<string, Tensor> {
  const damaged = (why: string): never => {
    throw new MarsError('ERR_CHECKPOINT', `the checkpoint's tensors (${INIT}) are damaged: ${why}`);
  };
  const [headerLine, ...bodies] = text.split('\n');
  let header: z.output<typeof TensorHeaderSchema>;
  try {
    header = TensorHeaderSchema.parse(JSON.parse(headerLine ?? ''));
  } catch {
    return damaged('the header is not a list of { name, dtype, shape }');
  }
  if (bodies.length !== header.length) damaged(`${header.length} tensors listed, ${bodies.length} stored`);
  return Object.fromEntries(
    header.map((h, i) => {
      const Ctor = TYPED_ARRAY_OF[h.dtype as keyof typeof TYPED_ARRAY_OF];
      if (!Ctor) damaged(`${h.name} has unsupported dtype ${h.dtype}`);
      const bytes = Buffer.from(bodies[i]!, 'base64');
      const numel = h.shape.reduce((a, b) => a * b, 1);
      const elementSize = (Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
      if (bytes.length !== numel * elementSize) damaged(`${h.name} holds ${bytes.length} bytes, not a [${h.shape.join(', ')}] ${h.dtype} tensor`);
      const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      return [h.name, tensor(new Ctor!(copy), h.shape)];
    }),
  );
}

/**
 * Writes a checkpoint atomically. Refuses (ERR_NONFINITE_LOSS) when a weight
 * or running statistic is NaN or infinite: the file at `path`, if any, stays
 * as it was, the last good one.
 */
export async function saveCheckpoint(path: string, model: Module, meta: CheckpointMeta, state?: TrainingState): Promise<void> {
  const bad = await model.nonFinite();
  if (bad !== null) {
    throw new MarsError('ERR_NONFINITE_LOSS', `${bad} is not finite (training diverged); ${path} was not written, the last good checkpoint stays`);
  }
  const extraFiles: Record<string, string> = { [META]: JSON.stringify(meta) };
  if (state) {
    extraFiles[INIT] = encodeTensors(state.init);
    extraFiles[OPTIMIZER] = state.optimizer.toString('base64');
    extraFiles[RNG] = state.rng.toString('base64');
  }
  await model.save(path, { extraFiles });
}

export interface LoadedCheckpoint {
  model: Module;
  meta: CheckpointMeta;
  /** What resuming needs; absent in a checkpoint written for prediction only (model.pt). */
  state?: Partial<TrainingState>;
}

/** The head's shape must be what the meta says: its class count and feature width. */
function checkHead(model: Module, meta: CheckpointMeta, path: string): void {
  const head = model.parameters().find((p) => p.name === 'head.weight');
  if (!head || head.shape[0] !== meta.classNames.length || head.shape[1] !== meta.featureDim) {
    throw new MarsError('ERR_CHECKPOINT', `${path}: its head is ${head ? `[${head.shape.join(', ')}]` : 'missing'} but mars/meta.json describes ${meta.classNames.length} classes of ${meta.featureDim} features; the checkpoint is damaged or was edited`);
  }
}

/** Loads a checkpoint written by fineTune; ERR_CHECKPOINT when the file is TorchScript but not a valid one of ours. */
export async function loadCheckpoint(path: string, device = 'cpu'): Promise<LoadedCheckpoint> {
  const model = await load(path, { device, extraFiles: [META, INIT, OPTIMIZER, RNG] });
  try {
    const metaText = model.extraFiles[META];
    if (!metaText) {
      throw new MarsError('ERR_CHECKPOINT', `${path} is TorchScript but not a mars-finetune checkpoint (no ${META}); fine-tune it with fineTune() or mars-ft finetune first`);
    }
    const meta = parseCheckpointMeta(metaText, path);
    checkHead(model, meta, path);
    const { [INIT]: init, [OPTIMIZER]: optimizer, [RNG]: rng } = model.extraFiles;
    const state: Partial<TrainingState> = {
      ...(init ? { init: decodeTensors(init) } : {}),
      ...(optimizer ? { optimizer: Buffer.from(optimizer, 'base64') } : {}),
      ...(rng ? { rng: Buffer.from(rng, 'base64') } : {}),
    };
    return { model, meta, ...(Object.keys(state).length ? { state } : {}) };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
