// What the bound refuses, and how: a node without a rule is named (code
// ERR_BOUND_UNSUPPORTED), an initial network that does not fit is explained
// (ERR_BOUND_INIT), a network outside the a priori class is named with the
// layer, its distance and its radius (ERR_BOUND_OUTSIDE_CLASS), bad options
// name the field (ERR_INVALID_ARGUMENT), an abort stops it (ERR_ABORTED).
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

describe('edges of the graph walk', () => {
  it('a reshape that keeps a batch of 2 but mixes samples of any other: the probe batch is an odd prime', async () => {
    const c = loadCase('reshape_batch');
    const err = await computeBound({ model: c.model, init: c.init, data: c.data }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_BOUND_UNSUPPORTED' });
    expect((err as Error).message).toMatch(/aten::reshape.*mixes samples of the batch/);
  });

  it('fewer than 2 outputs: no margin bound, refused before the data pass', async () => {
    const c = loadCase('one_output');
    let read = 0;
    async function* batches() {
      read++;
      yield { inputs: c.inputs, shape: c.shape, labels: new Int32Array(c.shape[0] as number) };
      read++;
    }
    await expect(computeBound({ model: c.model, init: c.init, data: batches() })).rejects.toMatchObject({ code: 'ERR_BOUND_UNSUPPORTED', message: expect.stringMatching(/at least 2 classes/) });
    expect(read).toBe(1);
  });

  it('a node without a rule is refused after reading only the first batch', async () => {
    const c = loadCase('maxpool');
    let batches = 0;
    async function* twice() {
      for (let i = 0; i < 2; i++) {
        batches++;
        yield { inputs: c.inputs, shape: c.shape, labels: new Int32Array(c.shape[0] as number) };
      }
    }
    await expect(computeBound({ model: c.model, init: c.init, data: twice() })).rejects.toMatchObject({ code: 'ERR_BOUND_UNSUPPORTED' });
    expect(batches).toBe(1);
  });
});

describe('a priori: the network must lie in the class', () => {
  const bn = loadCase('bn_cnn');
  const radii = bn.apriori as NonNullable<typeof bn.apriori>;
  /** The error computeBound rejects with (a report where it should have refused fails the test). */
  async function outside(options: object): Promise<Error> {
    const r = await computeBound({ data: bn.data, mode: 'apriori', spectral: false, ...options } as never).catch((e: unknown) => e as Error);
    if (!(r instanceof Error)) throw new Error(`expected a refusal, got rademacher ${r.rademacher}`);
    return r;
  }

  it('the network MARS-SP projected is in it', async () => {
    const r = await computeBound({ model: bn.mars, init: bn.centre, data: bn.data, mode: 'apriori', radii, spectral: false });
    expect(r.rademacher).toBeGreaterThan(0);
    // Biases, BatchNorm shifts and running statistics are not projected: read off the network, and listed.
    expect(r.measured.map((p) => p.layer)).toEqual(expect.arrayContaining(['stem.0', 'conv_a', 'bn_a', 'bn_lone', 'head']));
    expect(r.measured.every((p) => p.distance > 0)).toBe(true);
    expect(r.notes.join(' ')).toMatch(/measured distances.*union bound/);
  });

  it('a row outside its radius, named with its distance and radius', async () => {
    const err = await outside({ model: bn.model, init: bn.centre, radii });
    expect(err).toMatchObject({ code: 'ERR_BOUND_OUTSIDE_CLASS' });
    expect(err.message).toMatch(/layer stem\.0 \(stem\.0\.weight\), row \d+, is [\d.e-]+ from its centre, outside its radius 0\.4/);
  });

  it('a BatchNorm scale outside its clip', async () => {
    const err = await outside({ model: bn.mars, init: bn.centre, radii: { ...radii, batchnorm: 0.01 } });
    expect(err).toMatchObject({ code: 'ERR_BOUND_OUTSIDE_CLASS' });
    expect(err.message).toMatch(/BatchNorm stem\.1, channel \d+: .* moved [\d.e-]+ .*outside its clip 0\.01/);
  });

  it('a head that is not centred at zero', async () => {
    const err = await outside({ model: bn.mars, init: bn.init, radii });
    expect(err).toMatchObject({ code: 'ERR_BOUND_OUTSIDE_CLASS' });
    expect(err.message).toMatch(/the head head is centred at initial weights .* centres a new head at zero/);
  });

  it('a weight MARS-SP never projects (a bare parameter, not a conv or linear module)', async () => {
    const v = loadCase('vector');
    const err = await outside({ model: v.init, init: v.init, data: v.data, radii: { backbone: 1, head: 1 } });
    expect(err).toMatchObject({ code: 'ERR_BOUND_OUTSIDE_CLASS' });
    expect(err.message).toMatch(/layer u multiplies by 'u', a parameter of a \w+ module, which MARS-SP never projects/);
  });

  it.each([
    ['a BatchNorm shift', 'bn_a.bias', /BatchNorm shift/],
    ['a bias without includeBias', 'conv_a.bias', /projected only with includeBias/],
    ['a running statistic', 'bn_a.running_var', /running statistic/],
  ])('a radius for %s, which MARS-SP never projects', async (_label, key, why) => {
    const err = await outside({ model: bn.mars, init: bn.centre, radii: { ...radii, layers: { [key]: 1 } } });
    expect(err).toMatchObject({ code: 'ERR_BOUND_OUTSIDE_CLASS' });
    expect(err.message).toMatch(why);
  });

  it('a radius for a bias with includeBias is taken (a bias enters with its radius)', async () => {
    const chain = loadCase('chain');
    const r = await computeBound({ model: chain.mars, init: chain.centre, data: chain.data, mode: 'apriori', radii: { ...(chain.apriori as NonNullable<typeof chain.apriori>), layers: { 'l2.bias': 0.45 } } });
    expect(r.layers.find((l) => l.name === 'l2')?.biasRadius).toBe(0.45);
    expect(r.measured).toEqual([]);
  });

  it('an unknown key is an invalid argument, not a silent fallback', async () => {
    const err = await outside({ model: bn.mars, init: bn.centre, radii: { ...radii, layers: { 'conv_b.weight': 1 } } });
    expect(err).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(err.message).toMatch(/no parameter 'conv_b\.weight'; keys are parameter names/);
  });
});

describe('abort', () => {
  const c = loadCase('bn_cnn');
  it('an aborted signal rejects with ERR_ABORTED', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(computeBound({ model: c.model, init: c.init, data: c.data, signal: controller.signal })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  });

  it('an abort during the data pass stops it between batches', async () => {
    const controller = new AbortController();
    let batches = 0;
    async function* stream() {
      for (let i = 0; i < 5; i++) {
        batches++;
        if (i === 2) controller.abort();
        yield { inputs: c.inputs, shape: c.shape, labels: c.data.labels };
      }
    }
    await expect(computeBound({ model: c.model, init: c.init, data: stream(), signal: controller.signal, spectral: false })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(batches).toBe(3);
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
