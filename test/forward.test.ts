// forward() must equal PyTorch's output for the same TorchScript file and
// input, and the parameter table must equal PyTorch's own listing.
import { describe, expect, it } from 'vitest';
import { load, tensor } from '../lib/index.js';
import { NETWORKS, fixturePath, maxAbsDiff, meta, readFloat32 } from './helpers/fixtures.js';

describe.each(NETWORKS)('fixture %s', (name) => {
  const m = meta(name);

  it('forward equals PyTorch within 1e-5', async () => {
    const module = await load(fixturePath(name));
    const x = tensor(readFloat32(fixturePath(name, '.input.bin')), m.input);
    const outputs = await module.forwardMany(x);
    expect(outputs.map((o) => o.shape)).toEqual(m.outputs);
    outputs.forEach((out, i) => {
      const expected = readFloat32(fixturePath(name, `.output${i}.bin`));
      expect(maxAbsDiff(out.data() as Float32Array, expected)).toBeLessThanOrEqual(1e-5);
    });
  });

  it('lists parameters and buffers as PyTorch does', async () => {
    const module = await load(fixturePath(name));
    const listed = [...module.parameters(), ...module.buffers()].map(({ name, shape, dtype, kind, requiresGrad, isBuffer }) => ({
      name,
      shape,
      dtype,
      kind,
      requiresGrad,
      isBuffer,
    }));
    expect(listed).toEqual(m.parameters);
  });
});
