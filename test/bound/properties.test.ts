// Properties the bound must have whatever the network: monotone in every
// radius, going to zero with the radii, zero when every radius is zero (and
// when nothing moved), and an a priori class that depends on the initial
// weights and the radii only.
import { describe, expect, it } from 'vitest';
import { computeBound, load, tensor } from '../../lib/index.js';
import { fixturePath, meta, readFloat32 } from '../helpers/fixtures.js';
import { loadCase } from './helpers.js';

const c = loadCase('bn_cnn');
const BASE = { backbone: 0.2, head: 0.5, batchnorm: 0.05 };
// Every tensor MARS-SP constrains in this network, by parameter name: conv/linear weights, BatchNorm scales (folded and lone), the head.
const KNOBS = ['stem.0.weight', 'stem.1.weight', 'conv_a.weight', 'bn_a.weight', 'down.weight', 'bn_lone.weight', 'side.weight', 'head.weight'];

/** The a priori bound of the class around MARS-SP's centre; the centre itself lies in every such class. */
async function apriori(layers: Record<string, number>, model = c.centre): Promise<number> {
  const r = await computeBound({ model, init: c.centre, data: c.data, mode: 'apriori', radii: { ...BASE, layers }, spectral: false });
  return r.rademacher;
}

describe('monotone in every radius', () => {
  it.each(KNOBS)('%s', async (knob) => {
    const values = [];
    for (const radius of [0, 0.1, 0.3, 1]) values.push(await apriori({ [knob]: radius }));
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThanOrEqual(values[i - 1] as number);
    expect(values[3]).toBeGreaterThan(values[0] as number);
  });
});

it('goes to 0 with the radii and is 0 when they are', async () => {
  const chain = loadCase('chain_nobias');
  const values = [];
  for (const t of [1, 1e-3, 1e-6, 0]) {
    const r = await computeBound({ model: chain.centre, init: chain.centre, data: chain.data, mode: 'apriori', radii: { backbone: 0.5 * t, head: t } });
    values.push(r.rademacher);
  }
  expect(values[1]).toBeLessThan((values[0] as number) * 2e-3);
  expect(values[2]).toBeLessThan((values[1] as number) * 2e-3);
  expect(values[3]).toBe(0);
});

it('zero when every radius is zero and nothing moved', async () => {
  const zero = Object.fromEntries(KNOBS.map((k) => [k, 0]));
  const r = await computeBound({ model: c.centre, init: c.centre, data: c.data, mode: 'apriori', radii: { backbone: 0, head: 0, batchnorm: 0, layers: zero } });
  // The class is one network, whose head is MARS-SP's centre, zero: every output is 0, with or without absolute values.
  expect(r.recursion.A).toBe(0);
  expect(r.rademacher).toBe(0);
  expect(r.layers.every((l) => l.distance === 0)).toBe(true);
});

it('a priori, without biases or BatchNorm, the fine-tuned weights do not matter', async () => {
  const chain = loadCase('chain_nobias');
  const radii = { backbone: 0.4, head: 1.5 };
  const [moved, same] = [
    await computeBound({ model: chain.mars, init: chain.centre, data: chain.data, mode: 'apriori', radii }),
    await computeBound({ model: chain.centre, init: chain.centre, data: chain.data, mode: 'apriori', radii }),
  ];
  expect(moved.layers.some((l) => l.distance > 0)).toBe(true);
  expect(moved.measured).toEqual([]);
  expect(moved.rademacher).toBe(same.rademacher);
});

// The package's own fixture networks (strided, depthwise and grouped convs,
// LeakyReLU, residual blocks, BatchNorm, global means) against themselves.
it.each(['small_cnn', 'bn_resnet', 'depthwise_leaky'])('%s against itself: post hoc bound 0', async (name) => {
  const m = meta(name);
  const inputs = tensor(readFloat32(fixturePath(name, '.input.bin')), m.input);
  const model = await load(fixturePath(name));
  const r = await computeBound({ model, init: model, data: { inputs, labels: new Int32Array(m.input[0] as number) } });
  expect(r.layers.length).toBeGreaterThan(2);
  expect(r.rademacher).toBe(0);
  expect(r.recursion.A).toBeGreaterThan(0);
  expect(model.training).toBe(false);
});
