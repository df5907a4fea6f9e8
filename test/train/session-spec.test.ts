// createSession reads one complete spec (NativeSessionSpec, mirrored by
// native/train/session_options.h): a field missing, misspelled or of the
// wrong type is ERR_INVALID_ARGUMENT naming it, never a silent default; DELTA
// without channel weights is an error, not plain head L2. The native surface
// is called directly, as a caller past the TypeScript types would.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tensor } from '../../lib/index.js';
import { freePort } from '../../lib/distributed/launch.js';
import { native } from '../../lib/native/loader.js';
import type { NativeProcessGroup, NativeSessionSpec } from '../../lib/native/surface.js';
import { Module } from '../../lib/torch/module.js';
import { composeClassifier } from '../../lib/train/head.js';
import { OptimizerSchema } from '../../lib/train/options.js';
import { Trainer } from '../../lib/train/trainer.js';

const FEATURES = 4;
const CLASSES = 3;
let model: Module;

beforeAll(async () => {
  model = await composeClassifier(new Module(native().identityModule()), { featureDim: FEATURES, pool: false }, CLASSES, 1);
});

/** A complete spec, every part in use. */
function complete(): NativeSessionSpec {
  return {
    pool: false,
    precision: 'fp32',
    gradScaler: { initScale: 8, growthFactor: 2, backoffFactor: 0.5, growthInterval: 10 },
    optimizer: OptimizerSchema.parse({ name: 'sgd', lr: 0.1 }),
    constraints: [{ name: 'head.weight', type: 'mars', radius: 1, centre: 'zero' }],
    penalties: [{ name: 'head.bias', norm: 'l2sq', weight: 0.1, centre: 'zero' }],
    delta: null,
    bss: { eta: 0.001, k: 1 },
    classWeights: tensor(Float32Array.from([1, 2, 1])).handle,
    freezeBackbone: false,
    freezeStatistics: false,
    seed: 5,
  };
}

/** Its own checks throw at the call; async makes them rejections, like the ones that come later. */
const create = async (options: unknown, group?: NativeProcessGroup, parallel?: unknown) =>
  native().createSession(model.handle, options as NativeSessionSpec, undefined, group, parallel as never);
const refused = (message: RegExp) => ({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(message) });

it('a complete spec makes a session that trains', async () => {
  const session = await create(complete());
  const x = tensor(Float32Array.from({ length: 6 * FEATURES }, (_, i) => Math.sin(i)), [6, FEATURES]);
  const stats = await session.step(x.handle, tensor(Int32Array.from([0, 1, 2, 0, 1, 2])).handle);
  expect(Number.isFinite(stats.loss)).toBe(true);
  expect(stats.lossScale).toBe(8);
});

describe('a misspelled field is refused, at every level', () => {
  it.each([
    ['options', ({ freezeBackbone, ...rest }: NativeSessionSpec) => ({ ...rest, freezeBackbon: freezeBackbone }), /options has an unknown field 'freezeBackbon'/],
    ['optimizer', (s: NativeSessionSpec) => ({ ...s, optimizer: { ...s.optimizer, amsgard: true } }), /options\.optimizer has an unknown field 'amsgard'/],
    ['constraint', (s: NativeSessionSpec) => ({ ...s, constraints: [{ ...s.constraints[0], centr: 'zero' }] }), /options\.constraints\[0\] has an unknown field 'centr'/],
    ['bss', (s: NativeSessionSpec) => ({ ...s, bss: { eta: 0.1, k: 1, kk: 2 } }), /options\.bss has an unknown field 'kk'/],
  ])('%s', async (_where, spell, message) => {
    await expect(create(spell(complete()))).rejects.toMatchObject(refused(message));
  });
});

describe('a missing field is refused, not defaulted', () => {
  it.each([
    ['seed', (s: NativeSessionSpec) => { const { seed: _, ...rest } = s; return rest; }, /options\.seed is missing/],
    ['optimizer.momentum', (s: NativeSessionSpec) => { const { momentum: _, ...rest } = s.optimizer; return { ...s, optimizer: rest }; }, /options\.optimizer\.momentum is missing/],
    ['gradScaler.growthInterval', (s: NativeSessionSpec) => ({ ...s, gradScaler: { initScale: 8, growthFactor: 2, backoffFactor: 0.5 } }), /options\.gradScaler\.growthInterval is missing/],
    ['an undefined part', (s: NativeSessionSpec) => ({ ...s, delta: undefined }), /options\.delta is missing/],
  ])('%s', async (_what, drop, message) => {
    await expect(create(drop(complete()))).rejects.toMatchObject(refused(message));
  });
});

describe('a field of the wrong type is refused', () => {
  it.each([
    ['pool', (s: NativeSessionSpec) => ({ ...s, pool: 'yes' }), /options\.pool must be a boolean/],
    ['optimizer.lr', (s: NativeSessionSpec) => ({ ...s, optimizer: { ...s.optimizer, lr: '0.1' } }), /options\.optimizer\.lr must be a number/],
    ['constraints[0].radius', (s: NativeSessionSpec) => ({ ...s, constraints: [{ ...s.constraints[0], radius: null }] }), /options\.constraints\[0\]\.radius must be a number/],
    ['precision', (s: NativeSessionSpec) => ({ ...s, precision: 'fp8' }), /options\.precision must be one of fp32, bf16, fp16, not 'fp8'/],
    ['seed', (s: NativeSessionSpec) => ({ ...s, seed: 1.5 }), /options\.seed must be a whole number/],
    ['classWeights', (s: NativeSessionSpec) => ({ ...s, classWeights: Float32Array.from([1, 2, 1]) }), /options\.classWeights must be a Tensor/],
    ['options', () => [], /options must be an object/],
  ])('%s', async (_what, spoil, message) => {
    await expect(create(spoil(complete()))).rejects.toMatchObject(refused(message));
  });
});

describe('DELTA without channel weights', () => {
  it('natively: delta.channelWeights is missing', async () => {
    await expect(create({ ...complete(), delta: { alpha: 0.01 } })).rejects.toMatchObject(refused(/options\.delta\.channelWeights is missing/));
  });

  it('natively: delta.channelWeights must be a tensor of one dimension', async () => {
    const square = tensor(new Float32Array(FEATURES * FEATURES), [FEATURES, FEATURES]).handle;
    await expect(create({ ...complete(), delta: { alpha: 0.01, channelWeights: null } })).rejects.toMatchObject(refused(/options\.delta\.channelWeights must be a Tensor/));
    await expect(create({ ...complete(), delta: { alpha: 0.01, channelWeights: square } })).rejects.toMatchObject(refused(/options\.delta\.channelWeights must be one weight per backbone output channel/));
  });

  it('through Trainer.create: an error naming channelWeights, not a run with head L2 alone', async () => {
    await expect(Trainer.create(model, { regulariser: { method: 'delta' }, pool: false })).rejects.toMatchObject(refused(/regulariser delta needs channelWeights/));
  });
});

describe('the data-parallel options', () => {
  let group: NativeProcessGroup;
  beforeAll(async () => {
    group = await native().createProcessGroup({ masterAddr: '127.0.0.1', masterPort: await freePort(), rank: 0, worldSize: 1, backend: 'gloo', device: 'cpu', interface: null, host: '127.0.0.1', timeout: 10, joinTimeout: 10 });
  });
  afterAll(() => group.shutdown());

  it('are read as strictly: complete is accepted, a misspelled or missing field refused', async () => {
    await expect(create(complete(), group, { syncBatchNorm: false, checkEvery: 0 })).resolves.toBeTruthy();
    await expect(create(complete(), group, { syncBatchNorm: false, checkEvry: 0 })).rejects.toMatchObject(refused(/data-parallel options has an unknown field 'checkEvry'/));
    await expect(create(complete(), group, { syncBatchNorm: false })).rejects.toMatchObject(refused(/data-parallel options\.checkEvery is missing/));
  });
});
