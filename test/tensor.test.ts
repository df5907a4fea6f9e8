// Tensors round-trip through LibTorch bit for bit, and convert as LibTorch does.
import { describe, expect, it } from 'vitest';
import { tensor, type Dtype, type TensorData } from '../lib/index.js';
import { python } from './helpers/fixtures.js';

describe('round trip', () => {
  const cases: [string, TensorData, Dtype][] = [
    ['float32', Float32Array.from([1.5, -2.25, 3e-8, Number.MAX_VALUE > 0 ? 3.4e38 : 0, -0, 7]), 'float32'],
    ['float64', Float64Array.from([Math.PI, -Math.E, 1e-300, 1e300, 0, -1]), 'float64'],
    ['int64', BigInt64Array.from([1n, -2n, 2n ** 62n, -(2n ** 63n), 0n, 42n]), 'int64'],
    ['int32', Int32Array.from([1, -2, 2 ** 31 - 1, -(2 ** 31), 0, 9]), 'int32'],
    ['uint8', Uint8Array.from([0, 1, 127, 128, 255, 3]), 'uint8'],
  ];
  it.each(cases)('%s', (_label, data, dtype) => {
    const t = tensor(data, [2, 3]);
    expect(t.dtype).toBe(dtype);
    expect(t.shape).toEqual([2, 3]);
    expect(t.device).toBe('cpu');
    expect(t.numel).toBe(6);
    expect(t.data()).toEqual(data);
  });

  it('copies on creation: later changes to the source do not reach the tensor', () => {
    const source = Float32Array.from([1, 2, 3]);
    const t = tensor(source);
    source[0] = 100;
    expect(t.toArray()).toEqual([1, 2, 3]);
  });

  it('reads back without copying: data() views share the tensor memory', () => {
    const t = tensor(Float32Array.from([1, 2, 3]));
    (t.data() as Float32Array)[1] = 20;
    expect(t.toArray()).toEqual([1, 20, 3]);
  });

  it('empty tensors', () => {
    const t = tensor(new Float32Array(0), [0, 4]);
    expect(t.shape).toEqual([0, 4]);
    expect(t.data()).toHaveLength(0);
  });

  it('bool from 0/1 bytes', () => {
    const t = tensor(Uint8Array.from([0, 1, 1]), [3], { dtype: 'bool' });
    expect(t.dtype).toBe('bool');
    expect(t.toArray()).toEqual([0, 1, 1]);
  });
});

describe('conversions agree with PyTorch', () => {
  it('float32 -> int64, int32, uint8, float64 as torch.Tensor.to does', async () => {
    const values = [-3.7, -0.5, 0.49, 2.5, 255.9, 1e6, 7.25];
    const source = tensor(Float32Array.from(values));
    const ours = {
      int64: (await source.to({ dtype: 'int64' })).toArray(),
      int32: (await source.to({ dtype: 'int32' })).toArray(),
      float64: (await source.to({ dtype: 'float64' })).toArray(),
    };
    const theirs = python<typeof ours>(
      `import json, torch
x = torch.tensor(${JSON.stringify(values)}, dtype=torch.float32)
print(json.dumps({"int64": x.to(torch.int64).tolist(), "int32": x.to(torch.int32).tolist(), "float64": x.to(torch.float64).tolist()}))`,
    );
    expect(ours).toEqual(theirs);
  });
});

describe('input checks', () => {
  it('a typed array over a SharedArrayBuffer is copied like any other', () => {
    const shared = new Float64Array(new SharedArrayBuffer(8 * 8), 16, 4);
    shared.set([1.5, -2, 3e-300, 4]);
    const t = tensor(shared, [2, 2]);
    shared[0] = 100;
    expect(t.dtype).toBe('float64');
    expect(t.toArray()).toEqual([1.5, -2, 3e-300, 4]);
  });

  it('bool data must be 0 or 1: the first other byte is named', () => {
    expect(() => tensor(Uint8Array.from([0, 1, 7, 2]), [4], { dtype: 'bool' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/bool data must be 0 or 1; element 2 is 7/) }),
    );
    const shared = new Uint8Array(new SharedArrayBuffer(3));
    shared.set([1, 0, 255]);
    expect(() => tensor(shared, [3], { dtype: 'bool' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/element 2 is 255/) }));
  });
});
