/**
 * The sample the bound is about: m training inputs (with labels), read once
 * in batches. One pass gives m, d, X = max_i ||x_i||_inf, the data matrix's
 * Frobenius norm, the margin loss of the fine-tuned network and the l2 norm of
 * each output of the initial one over the sample.
 */
import { MarsError, hasCode } from '../errors.js';
import type { Module } from '../torch/module.js';
import type { InputBatch } from '../data/loader.js';
import { Tensor, tensor } from '../torch/tensor.js';

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
  /** Two inputs (the first, twice if there is only one) for the graph's shape run. */
  sample: Tensor;
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
  if (out.shape.length !== 2 || out.dtype !== 'float32') {
    throw new MarsError('ERR_BOUND_UNSUPPORTED', `the network must return float32 logits of shape [batch, classes], it returned ${out.dtype} [${out.shape.join(', ')}]`);
  }
  return { values: out.data() as Float32Array, K: out.shape[1] as number };
}

/** One pass over the data with the fine-tuned `model` and the initial `initial` network (both in eval mode). */
export async function summarise(data: BoundData, model: Module, initial: Module, margin: number, batchSize: number): Promise<SampleSummary> {
  const batches = isTensorData(data) ? split(data, batchSize) : data;
  let m = 0;
  let d: number | undefined;
  let X = 0;
  let squares = 0;
  let below = 0;
  let K = 0;
  let initSquares = new Float64Array(0);
  let first: InputBatch | undefined;
  for await (const batch of batches) {
    d = checkBatch(batch, d);
    first ??= { ...batch, inputs: batch.inputs.slice(0, 2 * d) };
    const x = await tensor(batch.inputs, batch.shape).to({ device: model.device });
    const [f, f0] = [await outputs(model, x), await outputs(initial, x)];
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
  if (!first || d === undefined || m === 0) throw new MarsError('ERR_DATA', 'the data holds no inputs');
  const two = first.inputs.length === 2 * d ? first.inputs : Float32Array.from([...first.inputs, ...first.inputs]);
  return {
    m,
    d,
    X,
    dataFrobenius: Math.sqrt(squares),
    K,
    marginLoss: below / m,
    initOutputNorm: Math.sqrt(Math.max(...initSquares)),
    sample: tensor(two, [2, ...first.shape.slice(1)]),
  };
}
