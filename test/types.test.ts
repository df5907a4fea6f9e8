// The public types: tensors carry their dtype (no casts on `.data()`), a
// checkpoint's meta is typed through and through, transforms' input form is exported.
import { describe, expectTypeOf, it } from 'vitest';
import type { CheckpointMeta, EpochEnd, Method, RegulariserOptions, Tensor, Transform, TransformInput } from '../lib/index.js';
import { tensor } from '../lib/index.js';

describe('types', () => {
  it('tensor() infers the dtype from the typed array, or from { dtype }', () => {
    expectTypeOf(tensor(new Float32Array(4)).data()).toEqualTypeOf<Float32Array>();
    expectTypeOf(tensor(new Float64Array(4)).data()).toEqualTypeOf<Float64Array>();
    expectTypeOf(tensor(new BigInt64Array(4))).toEqualTypeOf<Tensor<'int64'>>();
    expectTypeOf(tensor(new Int32Array(4)).data()).toEqualTypeOf<Int32Array>();
    expectTypeOf(tensor(new Uint8Array(4), [4], { dtype: 'bool' })).toEqualTypeOf<Tensor<'bool'>>();
    const y = tensor(new Float32Array(4)) as Tensor;
    if (y.is('float64')) expectTypeOf(y.data()).toEqualTypeOf<Float64Array>();
  });

  it('CheckpointMeta is typed through: method, regulariser, history, transforms', () => {
    expectTypeOf<CheckpointMeta['method']>().toEqualTypeOf<Method>();
    expectTypeOf<CheckpointMeta['history']>().toEqualTypeOf<EpochEnd[]>();
    expectTypeOf<CheckpointMeta['evalTransforms']>().toEqualTypeOf<Transform[]>();
    expectTypeOf<NonNullable<CheckpointMeta['regulariser']>['method']>().toEqualTypeOf<Method>();
    expectTypeOf<{ method: 'mars-sp'; extractor: 2 }>().toMatchTypeOf<RegulariserOptions>();
  });

  it("transforms' input form is exported: sizes as numbers, defaults optional", () => {
    expectTypeOf<{ op: 'resize'; size: 224 }>().toMatchTypeOf<TransformInput>();
  });
});
