/**
 * The sample the bound is about: m training inputs (with labels), read once
 * in batches. The first batch is read ahead, for the graph's shape run before
 * the pass. One pass gives m, d, X = max_i ||x_i||_inf, the data matrix's
 * Frobenius norm, the margin loss of the fine-tuned network and the l2 norm of
 * each output of the initial one over the sample.
 */
import { MarsError, hasCode } from '../errors.js';
import type { Module } from '../torch/module.js';
import type { InputBatch } from '../data/loader.js';
import { Tensor, tensor } from '../torch/tensor.js';
import { checkAborted } from './measure.js';

/** Inputs and labels in memory, or batches from a stream. */
export type BoundData = { inputs: Tensor; labels: Int32Array | Tensor } | AsyncIterable<InputBatch> | Iterable<InputBatch>;

export interface SampleSummary {
  m: number;
  d: number;
  X: number;
  /** ||X||_2: Frobenius norm of the m x d data matrix. */
  dataFrobenius: number;
  /** Number of classes (outputs of the network). */
  K: number;
  /** Fraction of inputs whose margin f_y(x) - max_{y' != y} f_y'(x) is below ρ. */
  marginLoss: number;
  /** max_y ||f0_y(x_1..m)||_2 over the initial network's outputs. */
  initOutputNorm: number;
}

/** The data opened: its first batch (for the graph's shape run, before the data pass) and all batches from the first. */
export interface OpenedData {
  first: InputBatch;
  batches: AsyncIterable<InputBatch>;
  /** Stops the source (a loader stops decoding) when the pass is not run to its end. */
  close(): Promise<void>;
}

function isTensorData(data: BoundData): data is { inputs: Tensor; labels: Int32Array | Tensor } {
  return typeof data === 'object' && data !== null && 'inputs' in data && data.inputs instanceof Tensor;
}

/** Splits in-memory inputs into batches (views, no copies until they become tensors). */
function* split(data: { inputs: Tensor; labels: Int32Array | Tensor }, batchSize: number): Iterable<InputBatch> {
  const { inputs } = data;
  if (inputs.dtype !== 'float32') throw new MarsError('ERR_DTYPE', `data.inputs must be float32, not ${inputs.dtype}`);
  const labels = data.labels instanceof Tensor ? Int32Array.from(data.labels.toArray()) : data.labels;
  const [n = 0, ...rest] = inputs.shape;
  const per = rest.reduce((a, b) => a * b, 1);
  const flat = inputs.data() as Float32Array;
  for (let i = 0; i < n; i += batchSize) {
    const b = Math.min(batchSize, n - i);
    yield { inputs: flat.subarray(i * per, (i + b) * per), shape: [b, ...rest], labels: labels.subarray(i, i + b) };
  }
}

function checkBatch(batch: InputBatch, d: number | undefined): number {
  const [b = 0, ...rest] = batch.shape;
  const per = rest.reduce((x, y) => x * y, 1);
  if (rest.length === 0 || batch.inputs.length !== b * per) {
    throw new MarsError('ERR_SHAPE', `a batch of shape [${batch.shape.join(', ')}] must hold ${b * per} inputs values, it holds ${batch.inputs.length}`);
  }
  if (batch.labels.length !== b) throw new MarsError('ERR_DATA_LABEL', `a batch of ${b} inputs has ${batch.labels.length} labels`);
  if (d !== undefined && per !== d) throw new MarsError('ERR_SHAPE', `inputs change size between batches (${d} then ${per} values per input)`);
  return per;
}

async function outputs(module: Module, x: Tensor): Promise<{ values: Float32Array; K: number }> {
  const out = await module.forward(x).catch((e: unknown) => {
    throw hasCode(e, 'ERR_UNSUPPORTED_OUTPUT') ? new MarsError('ERR_BOUND_UNSUPPORTED', `bound not available: the network must return one tensor of logits (${(e as Error).message})`) : e;
  });
  try {
    if (out.shape.length !== 2 || out.dtype !== 'float32') {
      throw new MarsError('ERR_BOUND_UNSUPPORTED', `the network must return float32 logits of shape [batch, classes], it returned ${out.dtype} [${out.shape.join(', ')}]`);
    }
    return { values: (out.data() as Float32Array).slice(), K: out.shape[1] as number };
  } finally {
    out.dispose();
  }
}

/** Opens the data and reads its first batch; ERR_DATA when there is none. */
export async function openData(data: BoundData, batchSize: number): Promise<OpenedData> {
  const source = isTensorData(data) ? split(data, batchSize) : data;
  const it = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  const head = await it.next();
  if (head.done || (head.value.shape[0] ?? 0) < 1) throw new MarsError('ERR_DATA', 'the data holds no inputs');
  const first = head.value;
  checkBatch(first, undefined);
  async function* all(): AsyncGenerator<InputBatch> {
    yield first;
    for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
  }
  return { first, batches: all(), close: async () => void (await it.return?.()) };
}

/** Runs `run` on a batch's inputs as a tensor on `device`, freed afterwards. */
export async function withInputs<T>(batch: InputBatch, device: string, run: (x: Tensor) => Promise<T>): Promise<T> {
  const host = tensor(batch.inputs, batch.shape);
  const x = await host.to({ device });
  try {
    return await run(x);
  } finally {
    x.dispose();
    host.dispose();
  }
}

/** `count` inputs for the graph's shape run: the first batch's, repeated as needed (labels unused). */
export function probeInputs(first: InputBatch, count: number): InputBatch {
  const [b = 0, ...item] = first.shape;
  const per = first.inputs.length / b;
  const out = new Float32Array(count * per);
  for (let i = 0; i < count; i++) out.set(first.inputs.subarray((i % b) * per, ((i % b) + 1) * per), i * per);
  return { inputs: out, shape: [count, ...item], labels: new Int32Array(count) };
}

/** One pass over the data with the fine-tuned `model` and the initial `initial` network (both in eval mode). */
export async function summarise(data: OpenedData, model: Module, initial: Module, margin: number, signal?: AbortSignal): Promise<SampleSummary> {
  let m = 0;
  let d = 0;
  let X = 0;
  let squares = 0;
  let below = 0;
  let K = 0;
  let initSquares = new Float64Array(0);
  for await (const batch of data.batches) {
    checkAborted(signal, `after ${m} inputs`);
    d = checkBatch(batch, m === 0 ? undefined : d);
    const [f, f0] = await withInputs(batch, model.device, async (x) => [await outputs(model, x), await outputs(initial, x)]);
    if (K === 0) [K, initSquares] = [f.K, new Float64Array(f.K)];
    for (const v of batch.inputs) {
      X = Math.max(X, Math.abs(v));
      squares += v * v;
    }
    for (let i = 0; i < batch.labels.length; i++) {
      const y = batch.labels[i] as number;
      if (!Number.isInteger(y) || y < 0 || y >= K) throw new MarsError('ERR_DATA_LABEL', `label ${y} is outside the network's ${K} classes`);
      let rival = -Infinity;
      for (let k = 0; k < K; k++) {
        if (k !== y) rival = Math.max(rival, f.values[i * K + k] as number);
        initSquares[k] = (initSquares[k] as number) + (f0.values[i * K + k] as number) ** 2;
      }
      if ((f.values[i * K + y] as number) - rival < margin) below++;
    }
    m += batch.labels.length;
  }
  return { m, d, X, dataFrobenius: Math.sqrt(squares), K, marginLoss: below / m, initOutputNorm: Math.sqrt(Math.max(...initSquares)) };
}
