// What the bound refuses, and how: a node without a rule is named (code
// ERR_BOUND_UNSUPPORTED), an initial network that does not fit is explained
// (ERR_BOUND_INIT), bad options name the field (ERR_INVALID_ARGUMENT).
import { describe, expect, it } from 'vitest';
import { computeBound, load, tensor } from '../../lib/index.js';
import { fixturePath, meta, readFloat32 } from '../helpers/fixtures.js';
import { loadCase } from './helpers.js';

function ownFixture(name: string) {
  const m = meta(name);
  return { path: fixturePath(name), data: { inputs: tensor(readFloat32(fixturePath(name, '.input.bin')), m.input), labels: new Int32Array(m.input[0] as number) } };
}

describe('bound not available', () => {
  it('max pooling is named with its module', async () => {
    const c = loadCase('maxpool');
    const err = await computeBound({ model: c.model, init: c.init, data: c.data }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_BOUND_UNSUPPORTED' });
    expect((err as Error).message).toMatch(/bound not available at aten::max_pool2d \(module pool/);
  });

  it('a torchvision ResNet-18 stops at its max pooling', async () => {
    const f = ownFixture('resnet18_headless');
    const err = await computeBound({ model: f.path, init: f.path, data: f.data }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_BOUND_UNSUPPORTED', message: expect.stringContaining('aten::max_pool2d (module maxpool') });
  });

  it('a network returning a tuple', async () => {
    const f = ownFixture('two_heads');
    await expect(computeBound({ model: f.path, init: f.path, data: f.data })).rejects.toMatchObject({ code: 'ERR_BOUND_UNSUPPORTED' });
  });

  it('the module passed in keeps its training mode after a refusal', async () => {
    const c = loadCase('maxpool');
    const model = (await load(c.model)).train();
    await expect(computeBound({ model, init: c.init, data: c.data })).rejects.toMatchObject({ code: 'ERR_BOUND_UNSUPPORTED' });
    expect(model.training).toBe(true);
  });
});

describe('initial networks that do not fit', () => {
  it('another architecture', async () => {
    const c = loadCase('bn_cnn');
    await expect(computeBound({ model: c.model, init: loadCase('chain').init, data: c.data })).rejects.toMatchObject({ code: 'ERR_BOUND_INIT' });
  });

  it('the pre-trained network with its old head names the tensor and the fix', async () => {
    const c = loadCase('digits');
    const err = await computeBound({ model: c.model, init: c.init.replace('.init.pt', '.oldhead.pt'), data: c.data }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_BOUND_INIT' });
    expect((err as Error).message).toMatch(/'fc.weight' has shape \[10, 16\] .* has \[7, 16\]; .*backbone alone/);
  });
});

describe('bad options', () => {
  const c = loadCase('chain');
  it.each([
    ['apriori without radii', { mode: 'apriori' }, /radii/],
    ['radii in posthoc mode', { radii: { backbone: 1, head: 1 } }, /radii/],
    ['a negative margin', { margin: -1 }, /margin/],
    ['delta of 1', { delta: 1 }, /delta/],
    ['an unknown mode', { mode: 'guess' }, /mode/],
    ['no data', { data: undefined }, /data/],
    ['an unknown option', { radius: 3 }, /radius/],
  ])('%s', async (_label, extra, message) => {
    const options = { model: c.model, init: c.init, data: c.data, ...extra } as never;
    await expect(computeBound(options)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(message) });
  });

  it('labels outside the classes', async () => {
    const labels = new Int32Array(c.data.labels.length).fill(9);
    await expect(computeBound({ model: c.model, init: c.init, data: { inputs: c.data.inputs, labels } })).rejects.toMatchObject({ code: 'ERR_DATA_LABEL' });
  });
});
