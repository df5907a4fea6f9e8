// Every failure a caller can cause rejects with a stable code, and the
// process lives on (the last test in each group runs a good forward again).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { load, runtimeInfo, tensor, type Module } from '../lib/index.js';
import { damage } from './helpers/damage.js';
import { fixturePath, meta, readFloat32 } from './helpers/fixtures.js';
import { ROOT } from './helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'mars-errors-'));
const good = readFileSync(fixturePath('small_cnn'));

describe('loading a bad TorchScript file rejects with ERR_TORCHSCRIPT_LOAD', () => {
  const cases: [string, () => string][] = [
    ['missing', () => join(dir, 'missing.pt')],
    ['empty', () => (writeFileSync(join(dir, 'empty.pt'), ''), join(dir, 'empty.pt'))],
    ['truncated', () => (writeFileSync(join(dir, 'trunc.pt'), good.subarray(0, good.length >> 1)), join(dir, 'trunc.pt'))],
    ['garbage', () => (writeFileSync(join(dir, 'junk.pt'), Buffer.from('this is not a zip archive at all\n'.repeat(50))), join(dir, 'junk.pt'))],
    ['a folder', () => dir],
  ];
  it.each(cases)('%s', async (_label, make) => {
    await expect(load(make())).rejects.toMatchObject({ code: 'ERR_TORCHSCRIPT_LOAD' });
  });
});

it('a flipped byte inside a tensor record is refused by the CRC check, before LibTorch reads it', async () => {
  const bytes = Buffer.from(good);
  // The archive stores tensor records uncompressed; flip a byte in the middle of the largest one.
  const at = bytes.indexOf(Buffer.from('data/')) > 0 ? Math.floor(bytes.length * 0.6) : 100;
  bytes[at] = bytes[at]! ^ 0xff;
  writeFileSync(join(dir, 'flipped.pt'), bytes);
  await expect(load(join(dir, 'flipped.pt'))).rejects.toThrow(/fails its CRC-32 check|damaged/);
});

describe('bad forward inputs', () => {
  let module: Module;
  beforeAll(async () => {
    module = await load(fixturePath('small_cnn'));
  });

  it('wrong channel count rejects with ERR_SHAPE', async () => {
    await expect(module.forward(tensor(new Float32Array(2 * 3 * 28 * 28), [2, 3, 28, 28]))).rejects.toMatchObject({ code: 'ERR_SHAPE' });
  });

  it('wrong rank rejects with ERR_SHAPE', async () => {
    await expect(module.forward(tensor(new Float32Array(28 * 28), [28, 28]))).rejects.toMatchObject({ code: 'ERR_SHAPE' });
  });

  it('float64 input to a float32 network rejects with ERR_DTYPE', async () => {
    await expect(module.forward(tensor(new Float64Array(2 * 28 * 28), [2, 1, 28, 28]))).rejects.toMatchObject({ code: 'ERR_DTYPE' });
  });

  it('uint8 input rejects with ERR_DTYPE', async () => {
    await expect(module.forward(tensor(new Uint8Array(2 * 28 * 28), [2, 1, 28, 28]))).rejects.toMatchObject({ code: 'ERR_DTYPE' });
  });

  it('a non-tensor input rejects with ERR_INVALID_ARGUMENT', async () => {
    await expect(module.forward({} as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });

  it('a tuple-returning module rejects forward() with ERR_UNSUPPORTED_OUTPUT', async () => {
    const twoHeads = await load(fixturePath('two_heads'));
    await expect(twoHeads.forward(tensor(new Float32Array(20), [1, 20]))).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED_OUTPUT' });
  });

  it('an unusable device rejects with ERR_DEVICE saying why (no GPU here) or ERR_INVALID_ARGUMENT (bad name)', async () => {
    const info = runtimeInfo();
    const why = !info.builtWithCuda ? /built for a CPU LibTorch/ : !info.cudaAvailable ? /needs a GPU, and CUDA found none here: no NVIDIA GPU or no NVIDIA driver/ : /does not exist: this machine has \d+ GPU/;
    await expect(load(fixturePath('small_cnn'), { device: 'cuda:7' })).rejects.toMatchObject({ code: 'ERR_DEVICE', message: expect.stringMatching(why) });
    await expect(load(fixturePath('small_cnn'), { device: 'gpu' as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });

  it('the module still works afterwards', async () => {
    const m = meta('small_cnn');
    const out = await module.forward(tensor(readFloat32(fixturePath('small_cnn', '.input.bin')), m.input));
    expect(out.shape).toEqual(m.outputs[0]);
  });
});

describe('bad tensor arguments', () => {
  it.each([
    ['shape/length mismatch', () => tensor(new Float32Array(5), [2, 3]), 'ERR_SHAPE'],
    ['negative dimension', () => tensor(new Float32Array(6), [-2, -3]), 'ERR_INVALID_ARGUMENT'],
    ['fractional dimension', () => tensor(new Float32Array(6), [1.5, 4]), 'ERR_INVALID_ARGUMENT'],
    ['dtype that does not match the array', () => tensor(new Float32Array(6), [6], { dtype: 'int64' }), 'ERR_DTYPE'],
    ['unknown dtype', () => tensor(new Float32Array(6), [6], { dtype: 'complex' as never }), 'ERR_INVALID_ARGUMENT'],
    ['not a typed array', () => tensor([1, 2, 3] as never), 'ERR_DTYPE'],
  ])('%s', (_label, fn, code) => {
    expect(fn).toThrow(expect.objectContaining({ code }));
  });
  it('float16 cannot be read back into a typed array', async () => {
    const half = await tensor(new Float32Array(2)).to({ dtype: 'float16' });
    expect(() => half.data()).toThrow(expect.objectContaining({ code: 'ERR_DTYPE' }));
  });
});

// Damaged archives must never crash the process: load each in a child process
// and require a clean rejection (exit 0 after printing the codes seen). Random
// byte mutations may leave a loadable file; the record-size families (short
// or long records, element counts, views past their storage) and the
// compression-bomb families (bombs in a record, in an extra entry, lying
// headers, overlapping entries; scripts/fuzz/damage.py) must all be refused.
it('damaged archives of every family reject cleanly, never crash', () => {
  const seeds = 200;
  const mutated: string[] = [];
  for (let s = 0; s < seeds; s++) {
    const bytes = Buffer.from(good);
    let state = s * 2654435761 + 1;
    const rand = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let k = 0; k < 1 + (s % 8); k++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
    writeFileSync(join(dir, `mut${s}.pt`), bytes);
    mutated.push(join(dir, `mut${s}.pt`));
  }
  const families = {
    recordSize: (['short-record', 'long-record', 'numel', 'view'] as const).flatMap((f, i) => damage(fixturePath('small_cnn'), dir, f, 25, 100 + i)),
    bomb: (['bomb-record', 'bomb-extra', 'bomb-lying', 'overlap'] as const).flatMap((f, i) => damage(fixturePath('small_cnn'), dir, f, 5, 200 + i, 256 << 20)),
  };
  const files = [...mutated, ...families.recordSize.map((d) => d.file), ...families.bomb.map((d) => d.file)];
  const script = `
    const { load, tensor } = await import(${JSON.stringify(join(ROOT, 'dist', 'index.js'))});
    const codes = [];
    for (const f of ${JSON.stringify(files)}) {
      try { const m = await load(f); await m.forward(tensor(new Float32Array(784), [1, 1, 28, 28])); codes.push('ok'); }
      catch (e) { codes.push(e.code ?? 'NO_CODE:' + e.message); }
    }
    console.log(JSON.stringify(codes));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  expect(r.signal).toBeNull();
  expect(r.status).toBe(0);
  const codes = JSON.parse(r.stdout.trim()) as string[];
  expect(codes).toHaveLength(files.length);
  for (const c of codes.slice(0, seeds)) expect(['ok', 'ERR_TORCHSCRIPT_LOAD', 'ERR_FORWARD', 'ERR_SHAPE', 'ERR_DTYPE']).toContain(c);
  for (const c of codes.slice(seeds)) expect(c).toBe('ERR_TORCHSCRIPT_LOAD');
});
