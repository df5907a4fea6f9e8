/**
 * Tensors: created from typed arrays (one copy into LibTorch-owned memory),
 * read back as typed arrays (zero copies for contiguous CPU tensors).
 */
import { parseOptions } from '../util/parse-options.js';
import { TensorOptionsSchema, ToOptionsSchema, type TensorOptions, type ToOptions } from './options.js';
import { MarsError } from '../errors.js';
import { native } from '../native/loader.js';
import { HandleOwner } from './handle.js';
import { usableDevice } from './runtime.js';
import type { Dtype, NativeTensor } from '../native/surface.js';

/** The typed array a tensor of dtype `D` reads back into. */
export type TypedArrayFor<D extends Dtype> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : D extends 'int64'
      ? BigInt64Array
      : D extends 'int32'
        ? Int32Array
        : Uint8Array;

export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Uint8ClampedArray;

/** The dtype `tensor(data)` gives a typed array of type `A` (Float32Array → float32, ...). */
export type DtypeOf<A extends TensorData> = A extends Float32Array
  ? 'float32'
  : A extends Float64Array
    ? 'float64'
    : A extends BigInt64Array
      ? 'int64'
      : A extends Int32Array
        ? 'int32'
        : 'uint8';

/** The typed array each dtype that can be read back lives in (one table for tensors and checkpoints). */
export const TYPED_ARRAY_OF: Partial<Record<Dtype, new (buffer: ArrayBuffer) => TensorData>> = {
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array,
  int32: Int32Array,
  uint8: Uint8Array,
};

/** The dtype a typed array holds (Uint8ClampedArray's bytes are uint8 too). */
function naturalDtype(data: TensorData): Dtype | undefined {
  if (data instanceof Uint8ClampedArray) return 'uint8';
  return (Object.entries(TYPED_ARRAY_OF) as [Dtype, new (b: ArrayBuffer) => TensorData][]).find(([, C]) => data instanceof C)?.[0];
}

/** A LibTorch tensor held by this process; `dispose()` (or `using`) frees it without waiting for the garbage collector. */
export class Tensor<D extends Dtype = Dtype> extends HandleOwner<NativeTensor> {
  get shape(): number[] {
    return this.handle.shape;
  }
  get dtype(): D {
    return this.handle.dtype as D;
  }
  /** `cpu` or `cuda:N`. */
  get device(): string {
    return this.handle.device;
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /**
   * The elements, row-major. For a contiguous CPU tensor the array shares the
   * tensor's memory (no copy; later in-place changes show through, take
   * `.slice()` for a snapshot); otherwise it is a fresh copy.
   */
  data(): TypedArrayFor<D> {
    return this.handle.data() as TypedArrayFor<D>;
  }

  /** Narrows a tensor whose dtype is known only at run time (a network's output): `if (y.is('float32')) y.data()` is a Float32Array. */
  is<T extends Dtype>(dtype: T): this is Tensor<T> {
    return this.handle.dtype === dtype;
  }

  /** The elements as plain numbers (int64 converted with Number()). */
  toArray(): number[] {
    return Array.from(this.data() as ArrayLike<number | bigint>, Number);
  }

  /** A tensor on another device and/or of another dtype (this one's data when nothing changes); copies off the event loop. */
  async to<T extends Dtype = D>(options: ToOptions & { dtype?: T }): Promise<Tensor<T>> {
    const o = parseOptions(ToOptionsSchema, options, 'to options');
    return new Tensor<T>(await this.handle.to(o.device ? usableDevice(o.device) : null, o.dtype ?? null));
  }
}

/**
 * A tensor from a typed array and a shape (default: one dimension), copied
 * (a typed array over a SharedArrayBuffer too). The dtype follows the array
 * (Float32Array → float32, BigInt64Array → int64, ...); `{ dtype: 'bool' }`
 * is accepted for a Uint8Array of 0/1 (another byte is ERR_INVALID_ARGUMENT
 * naming its index). The tensor's type carries its dtype, so `.data()` is
 * typed without a cast.
 */
export function tensor<A extends TensorData, D extends Dtype = DtypeOf<A>>(
  data: A,
  shape?: readonly number[],
  options?: TensorOptions & { dtype?: D },
): Tensor<D> {
  const o = parseOptions(TensorOptionsSchema, options, 'tensor options');
  const natural = naturalDtype(data);
  if (!natural) {
    throw new MarsError('ERR_DTYPE', 'tensor data must be a Float32Array, Float64Array, BigInt64Array, Int32Array or Uint8Array');
  }
  return new Tensor<D>(native().tensorFromArray(data, [...(shape ?? [data.length])], o.dtype ?? natural));
}
