// The smaller faults of issue 11: each a coded error (or a quiet exit), none a
// crash, a hang, a silent NaN or a misleading message.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { Classifier, fineTune, load, openDataset, openImageFolder, type Dataset } from '../../lib/index.js';
import { composeClassifier, probeBackbone } from '../../lib/train/head.js';
import { fixturePath, python } from '../helpers/fixtures.js';
import { CLI } from '../helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'mars-small-'));
const FMNIST = '/usr/share/datasets/fashion-mnist';
const spec = (split: string) => `idx:${FMNIST}/${split}-images-idx3-ubyte.gz,${FMNIST}/${split}-labels-idx1-ubyte.gz`;
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
let train: Dataset;
let modelFile: string;
let images: string;

beforeAll(async () => {
  train = await openDataset(spec('train'), { classes: [7, 8], perClass: 8, seed: 1 });
  // A classifier file for predict: the fixture backbone with a fresh head, as fineTune writes it.
  const backbone = await load(fixturePath('bn_resnet'));
  const head = await probeBackbone(backbone, [1, 28, 28]);
  const model = await composeClassifier(backbone, head, 2, 0);
  modelFile = join(dir, 'model.pt');
  await new Classifier(model, {
    format: 1, classNames: ['sneaker', 'bag'], method: 'none', epoch: 0, featureDim: head.featureDim, pool: head.pool,
    itemShape: [1, 28, 28], evalTransforms: [], history: [],
  }).save(modelFile);
  images = join(dir, 'images');
  mkdirSync(images);
  for (let i = 0; i < 3; i++) {
    writeFileSync(join(images, `good${i}.png`), await sharp({ create: { width: 28, height: 28, channels: 3, background: { r: 40 * i, g: 90, b: 200 } } }).png().toBuffer());
  }
  writeFileSync(join(images, 'broken.png'), Buffer.from('not a png at all'));
});

describe('loading', () => {
  it('a LibTorch load error that mentions "size" is ERR_TORCHSCRIPT_LOAD, not ERR_SHAPE', async () => {
    // The network's code (CRC-valid, rewritten by Python) refers to a name that does not exist.
    const broken = join(dir, 'undefined-name.pt');
    python(`
import json, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, 'w') as b:
    for info in a.infolist():
        data = a.read(info.filename)
        if info.filename.endswith('code/__torch__/networks.py'):
            data = data.replace(b'    x0 = ', b'    x0 = size_of_nothing\\n    x00 = ', 1)
        b.writestr(zipfile.ZipInfo(info.filename, (1980, 1, 1, 0, 0, 0)), data, compress_type=info.compress_type)
print(json.dumps(True))`, [fixturePath('small_cnn'), broken]);
    await expect(load(broken)).rejects.toMatchObject({ code: 'ERR_TORCHSCRIPT_LOAD', message: expect.stringMatching(/size_of_nothing/) });
  });
});

describe('fineTune', () => {
  const base = { backbone: fixturePath('bn_resnet'), epochs: 1, batchSize: 8, regulariser: { method: 'none' as const } };

  it('with every item dropped by a transform rejects with ERR_DATA, not NaN after 0 steps', async () => {
    await expect(fineTune({ ...base, train, transforms: { train: [{ op: 'randomCrop', size: 100 }], eval: [] } }))
      .rejects.toMatchObject({ code: 'ERR_DATA', message: expect.stringMatching(/every one of the 16 items was skipped/) });
  });

  it("onError: 'fail' stops at an unreadable image with ERR_DATA_FILE; 'skip' trains on the rest", async () => {
    const root = join(dir, 'folder');
    for (const c of ['a', 'b']) {
      mkdirSync(join(root, c), { recursive: true });
      for (let i = 0; i < 4; i++) writeFileSync(join(root, c, `${i}.png`), await sharp({ create: { width: 28, height: 28, channels: 3, background: { r: 60 * i, g: 60 * i, b: 60 * i } } }).png().toBuffer());
    }
    writeFileSync(join(root, 'a', 'bad.png'), 'not an image');
    const folder = await openImageFolder(root);
    await expect(fineTune({ ...base, train: folder, onError: 'fail' })).rejects.toMatchObject({ code: 'ERR_DATA_FILE' });
    const skipped = await fineTune({ ...base, train: folder, onError: 'skip' });
    expect(skipped.history[0]!.train.count).toBe(8);
  });

  it('a rejecting async callback rejects fineTune (no unhandled rejection)', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(fineTune({ ...base, train, onBatchEnd: async () => { throw new Error('callback failed'); } })).rejects.toThrow('callback failed');
      await expect(fineTune({ ...base, train, onEpochEnd: async () => { throw new Error('epoch callback failed'); } })).rejects.toThrow('epoch callback failed');
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('mars-ft', () => {
  it('--lr -1 is refused naming --lr (not "ambiguous argument")', () => {
    const r = cli('finetune', '--backbone', 'x.pt', '--train', 'a', '--test', 'b', '--out', join(dir, 'out-lr'), '--lr', '-1');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--lr -1: Too small: expected number to be >0/);
  });

  it('--top 0 is an error, not 1', () => {
    const r = cli('predict', '--model', modelFile, images, '--top', '0');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--top 0: Too small: expected number to be >0/);
  });

  it('predict on a folder with one bad image classifies the others and reports it', () => {
    const r = cli('predict', '--model', modelFile, images, '--json', '--top', '1');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as ({ file: string; predictions: unknown[] } | { file: string; error: { code: string } })[];
    expect(out.map((o) => o.file.split('/').pop())).toEqual(['broken.png', 'good0.png', 'good1.png', 'good2.png']);
    expect(out[0]).toMatchObject({ error: { code: 'ERR_DATA_FILE' } });
    for (const o of out.slice(1)) expect('predictions' in o && o.predictions.length).toBe(1);
    expect(r.stderr).toMatch(/skipped .*broken\.png/);
    const strict = cli('predict', '--model', modelFile, images, '--on-error', 'fail');
    expect(strict.status).toBe(1);
    expect(strict.stderr).toMatch(/\[ERR_DATA_FILE\].*broken\.png/);
  });

  it('piped into a reader that stops early, it exits quietly (no EPIPE stack trace)', async () => {
    const many = join(dir, 'many');
    mkdirSync(many);
    const png = await sharp({ create: { width: 28, height: 28, channels: 3, background: { r: 128, g: 128, b: 128 } } }).png().toBuffer();
    // Enough output (about 80 kB of JSON) to overflow the pipe after the reader has gone.
    for (let i = 0; i < 400; i++) writeFileSync(join(many, `${String(i).padStart(3, '0')}.png`), png);
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${CLI}" predict --model "${modelFile}" "${many}" --json | head -c 100 > /dev/null`], { encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
