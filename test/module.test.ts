// Module handle: train/eval, clone, save (atomic, readable by PyTorch), extra files.
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { load, tensor } from '../lib/index.js';
import { fixturePath, maxAbsDiff, meta, python, readFloat32 } from './helpers/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'mars-module-'));
const input = (name: string) => tensor(readFloat32(fixturePath(name, '.input.bin')), meta(name).input);

describe('train and eval modes', () => {
  it('load defaults to eval; train() switches BatchNorm to batch statistics', async () => {
    const module = await load(fixturePath('bn_resnet'));
    expect(module.training).toBe(false);
    const expected = readFloat32(fixturePath('bn_resnet', '.output0.bin'));
    const evalOut = (await module.forward(input('bn_resnet'))).data() as Float32Array;
    expect(maxAbsDiff(evalOut, expected)).toBeLessThanOrEqual(1e-5);
    module.train();
    expect(module.training).toBe(true);
    const trainOut = (await module.forward(input('bn_resnet'))).data() as Float32Array;
    expect(maxAbsDiff(trainOut, expected)).toBeGreaterThan(1e-3);
    module.eval();
    expect(module.training).toBe(false);
  });

  it("mode 'as-saved' keeps the saved flag", async () => {
    const module = await load(fixturePath('bn_resnet'));
    await module.train().save(join(dir, 'train-mode.pt'));
    expect((await load(join(dir, 'train-mode.pt'), { mode: 'as-saved' })).training).toBe(true);
    expect((await load(join(dir, 'train-mode.pt'))).training).toBe(false);
  });
});

describe('clone', () => {
  it('has its own parameters', async () => {
    const original = await load(fixturePath('small_cnn'));
    const copy = await original.clone();
    // data() of a CPU parameter is a view of its memory: zero the copy's head.
    (copy.stateDict()['fc.weight']!.data() as Float32Array).fill(0);
    (copy.stateDict()['fc.bias']!.data() as Float32Array).fill(0);
    const x = input('small_cnn');
    const fromCopy = (await copy.forward(x)).data() as Float32Array;
    const fromOriginal = (await original.forward(x)).data() as Float32Array;
    expect(Math.max(...fromCopy.map(Math.abs))).toBe(0);
    expect(maxAbsDiff(fromOriginal, readFloat32(fixturePath('small_cnn', '.output0.bin')))).toBeLessThanOrEqual(1e-5);
  });
});

describe('save', () => {
  it('writes a file PyTorch loads and runs to the same logits, with extra files', async () => {
    const module = await load(fixturePath('resnet18_headless'));
    // Change the weights so that a stale file could not pass.
    (module.stateDict()['conv1.weight']!.data() as Float32Array).forEach((v, i, a) => (a[i] = v * 0.5));
    const path = join(dir, 'saved.pt');
    await module.save(path, { extraFiles: { 'classes.json': '["sneaker","bag"]' } });
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    const x = input('resnet18_headless');
    const ours = (await module.forward(x)).data() as Float32Array;
    const theirs = python<{ out: number[]; extra: string }>(
      `import sys, json, numpy as np, torch
extra = {"classes.json": ""}
m = torch.jit.load(sys.argv[1], _extra_files=extra)
x = torch.from_numpy(np.fromfile(sys.argv[2], dtype="<f4").reshape(${JSON.stringify(meta('resnet18_headless').input)}))
with torch.no_grad():
    print(json.dumps({"out": m(x).flatten().tolist(), "extra": extra["classes.json"].decode()}))`,
      [path, fixturePath('resnet18_headless', '.input.bin')],
    );
    expect(maxAbsDiff(ours, theirs.out)).toBeLessThanOrEqual(1e-5);
    expect(theirs.extra).toBe('["sneaker","bag"]');
    const reloaded = await load(path, { extraFiles: ['classes.json', 'absent.txt'] });
    expect(reloaded.extraFiles).toEqual({ 'classes.json': '["sneaker","bag"]' });
  });

  it('into a missing folder rejects with ERR_CHECKPOINT_WRITE and leaves nothing behind', async () => {
    const module = await load(fixturePath('small_cnn'));
    await expect(module.save(join(dir, 'no', 'such', 'dir', 'x.pt'))).rejects.toMatchObject({ code: 'ERR_CHECKPOINT_WRITE' });
  });

  it('a failing rename leaves no temporary file and keeps what was there', async () => {
    const module = await load(fixturePath('small_cnn'));
    const target = join(dir, 'occupied');
    mkdirSync(join(target, 'child'), { recursive: true });
    await expect(module.save(target)).rejects.toMatchObject({ code: 'ERR_CHECKPOINT_WRITE' });
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    expect(readdirSync(target)).toEqual(['child']);
  });
});

describe('device', () => {
  it('reports cpu and moves to cpu', async () => {
    const module = await load(fixturePath('small_cnn'));
    expect(module.device).toBe('cpu');
    await module.to('cpu');
    expect(module.device).toBe('cpu');
    await expect(module.to('cuda')).rejects.toMatchObject({ code: 'ERR_DEVICE' });
  });
});
