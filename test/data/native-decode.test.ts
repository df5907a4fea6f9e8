import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  centerCrop,
  DataLoader,
  horizontalFlip,
  IMAGENET,
  normalize,
  openImageFolder,
  randomResizedCrop,
  resize,
  type Transform,
} from '../../lib/data/index.js';
import { planGeometry } from '../../lib/data/geometry.js';
import { deriveSeed, Rng, Stream } from '../../lib/data/rng.js';
import { collect, toBytes } from './helpers/collect.js';
import { python } from './helpers/python.js';
import { tempDir } from './helpers/tmp.js';

// One folder per file kind, each holding one image written by PIL: smooth colour plus noise, so that
// JPEG's chroma subsampling, DCT rounding and the resampler's weights all show in the pixels.
const root = tempDir();
const KINDS = ['jpeg420', 'jpeg444', 'jpegGrey', 'jpegProgressive', 'png', 'pngGrey', 'pngRGBA', 'pngLA', 'pngPalette'] as const;
python(
  `
import json, os, sys, numpy as np
from PIL import Image
root = json.load(sys.stdin)
rng = np.random.default_rng(3)
def picture(h, w):
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 / w, yy * 255 / h, 128 + 90 * np.sin(xx / 7.0) * np.cos(yy / 5.0)], -1)
    return (base + rng.normal(0, 20, (h, w, 3))).clip(0, 255).astype(np.uint8)
rgb = Image.fromarray(picture(47, 61))
alpha = Image.fromarray(rng.integers(0, 256, (47, 61), dtype=np.uint8))
cases = {
    'jpeg420': (rgb, 'JPEG', dict(quality=90)),
    'jpeg444': (rgb, 'JPEG', dict(quality=90, subsampling=0)),
    'jpegGrey': (rgb.convert('L'), 'JPEG', dict(quality=90)),
    'jpegProgressive': (rgb, 'JPEG', dict(quality=85, progressive=True)),
    'png': (rgb, 'PNG', {}),
    'pngGrey': (rgb.convert('L'), 'PNG', {}),
    'pngRGBA': (Image.merge('RGBA', (*rgb.split(), alpha)), 'PNG', {}),
    'pngLA': (Image.merge('LA', (rgb.convert('L'), alpha)), 'PNG', {}),
    'pngPalette': (rgb.quantize(64), 'PNG', {}),
    'large': (Image.fromarray(picture(600, 800)), 'JPEG', dict(quality=90)),
    'mixed': (rgb, 'WEBP', dict(lossless=True)),
}
for name, (image, fmt, options) in cases.items():
    os.makedirs(f'{root}/{name}/c')
    image.save(f'{root}/{name}/c/image.{fmt.lower()}', fmt, **options)
# Files the native path leaves to sharp beside one it decodes: WebP (above) and CMYK JPEG.
rgb.convert('CMYK').save(f'{root}/mixed/c/cmyk.jpg', 'JPEG', quality=90)
rgb.save(f'{root}/mixed/c/plain.jpg', 'JPEG', quality=90)
# 16-bit grey: libpng scales to 8 bits (round(v / 257)), as sharp does.
grey16 = (rng.integers(0, 65536, (9, 13))).astype(np.uint16)
os.makedirs(f'{root}/png16/c')
Image.fromarray(grey16.astype(np.int32), 'I').convert('I;16').save(f'{root}/png16/c/image.png')
json.dump(grey16.tolist(), open(f'{root}/png16.json', 'w'))
print('null')
`,
  root,
);
const file = (kind: string) => join(root, kind, 'c', `image.${kind.startsWith('jpeg') || kind === 'large' ? 'jpeg' : 'png'}`);

async function ours(kind: string, transforms: Transform[], seed = 0) {
  const [batch] = await collect(new DataLoader(await openImageFolder(join(root, kind)), { transforms, seed }).epoch(0));
  return { batch: batch!, shape: batch!.shape.slice(1), values: [...batch!.inputs] };
}

/** torchvision 0.14 on `Image.open(path).convert('RGB')`, as ImageFolder loads it; `ops` name transforms and their arguments. */
function torchvision(cases: Record<string, { path: string; ops: [string, ...unknown[]][] }>) {
  return python<Record<string, { shape: number[]; values: number[] }>>(
    `
import json, sys
import torchvision.transforms as T
import torchvision.transforms.functional as F
from PIL import Image
cases = json.load(sys.stdin)
def apply(image, ops):
    for op, *args in ops:
        if op == 'resize': image = F.resize(image, args[0])
        elif op == 'centerCrop': image = F.center_crop(image, args[0])
        elif op == 'resizedCrop': image = F.resized_crop(image, *args)
        elif op == 'flip': image = F.hflip(image)
    x = T.ToTensor()(image)
    return T.Normalize(${JSON.stringify(IMAGENET.mean)}, ${JSON.stringify(IMAGENET.std)})(x)
out = {}
for name, c in cases.items():
    x = apply(Image.open(c['path']).convert('RGB'), c['ops'])
    out[name] = dict(shape=list(x.shape), values=x.reshape(-1).tolist())
print(json.dumps(out))
`,
    cases,
  );
}

const maxAbs = (a: number[], b: number[]) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
const meanAbs = (a: number[], b: number[]) => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;

describe('the native path gives torchvision\'s pixels exactly (same libjpeg-turbo decode, Pillow\'s resampling)', () => {
  const pipelines: Record<string, { ours: Transform[]; ops: [string, ...unknown[]][] }> = {
    down: { ours: [resize(20), normalize(IMAGENET)], ops: [['resize', 20]] },
    exact: { ours: [resize([23, 31]), normalize(IMAGENET)], ops: [['resize', [23, 31]]] },
    up: { ours: [resize([70, 90]), normalize(IMAGENET)], ops: [['resize', [70, 90]]] },
    cropped: { ours: [resize(30), centerCrop(24), normalize(IMAGENET)], ops: [['resize', 30], ['centerCrop', 24]] },
  };
  const cases = Object.fromEntries(
    KINDS.flatMap((kind) => Object.entries(pipelines).map(([p, { ops }]) => [`${kind}/${p}`, { path: file(kind), ops }])),
  );
  const tv = torchvision(cases);

  it.each(Object.keys(cases))('%s', async (name) => {
    const [kind, p] = name.split('/') as [string, string];
    const got = await ours(kind, pipelines[p]!.ours);
    expect(got.batch.tensor).toBeDefined(); // built natively
    expect(got.shape).toEqual(tv[name]!.shape);
    expect(maxAbs(got.values, tv[name]!.values)).toBe(0);
  });

  it('random resized crops and flips: the crop our stream draws, applied by torchvision, is ours exactly', async () => {
    const transforms = [randomResizedCrop([16, 20]), horizontalFlip(), normalize(IMAGENET)];
    const seeds = [0, 1, 2, 3, 4, 5, 6, 7];
    const got = await Promise.all(seeds.map((seed) => ours('jpeg420', transforms, seed)));
    const replay = Object.fromEntries(
      seeds.map((seed) => {
        const { stages, flip } = planGeometry(transforms, 61, 47, new Rng(deriveSeed(seed, Stream.augment, 0, 0)));
        const c = stages[0]!.crop!;
        const ops: [string, ...unknown[]][] = [['resizedCrop', c.top, c.left, c.height, c.width, [16, 20]], ...(flip ? [['flip'] as [string]] : [])];
        return [String(seed), { path: file('jpeg420'), ops }];
      }),
    );
    const tv = torchvision(replay);
    seeds.forEach((seed, i) => expect(maxAbs(got[i]!.values, tv[String(seed)]!.values)).toBe(0));
    expect(new Set(Object.values(replay).map((r) => JSON.stringify(r.ops))).size).toBe(seeds.length);
  });
});

describe('shrink-on-load', () => {
  it('an 800×600 JPEG resized to 96 decodes at half size (DCT scaling) and stays within 4/255 of torchvision, mean under 0.75/255', async () => {
    const got = await ours('large', [resize(96), normalize(IMAGENET)]);
    const tv = torchvision({ large: { path: file('large'), ops: [['resize', 96]] } }).large!;
    expect(got.shape).toEqual([3, 96, 128]);
    // One level (1/255) in normalised units is at most 1/(255 · the smallest std). Measured on this noisy
    // picture (σ = 20 levels of noise per pixel): 3 levels at most, 0.47 on average.
    const level = 1 / (255 * Math.min(...IMAGENET.std));
    expect(maxAbs(got.values, tv.values)).toBeLessThanOrEqual(4 * level);
    expect(meanAbs(got.values, tv.values)).toBeLessThan(0.75 * level);
  });
});

describe('what the native path leaves to sharp, and bad files', () => {
  it('WebP and CMYK JPEG go to sharp in the same batch as a natively decoded JPEG', async () => {
    const ds = await openImageFolder(join(root, 'mixed'));
    const skipped: string[] = [];
    const [batch] = await collect(new DataLoader(ds, { transforms: [resize([12, 16])], onSkipped: (s) => skipped.push(...s.items.map((i) => i.reason)) }).epoch(0));
    expect(skipped).toEqual([]);
    expect(batch!.shape).toEqual([3, 3, 12, 16]);
    expect(batch!.tensor).toBeDefined();
    // The lossless WebP and the plain JPEG hold the same picture: after resizing they differ by JPEG's loss only.
    const order = [...batch!.indices].map((i) => ds.key(i).split('/').pop());
    const item = (name: string) => [...batch!.inputs.subarray(order.indexOf(name) * 576, (order.indexOf(name) + 1) * 576)];
    expect(meanAbs(item('image.webp'), item('plain.jpg'))).toBeLessThan(4 / 255);
    // sharp reads CMYK through libvips' colour management where PIL wrote it with a naive formula (docs/data.md):
    // the same picture, not the same values.
    expect(meanAbs(item('image.webp'), item('cmyk.jpg'))).toBeLessThan(0.15);
  });

  it('16-bit PNG samples are scaled to 8 bits (round(v / 257))', async () => {
    const got = await ours('png16', []);
    const grey16 = JSON.parse(readFileSync(join(root, 'png16.json'), 'utf8')) as number[][];
    const expected = grey16.flat().map((v) => Math.round(v / 257));
    const bytes = [...toBytes(got.batch.inputs)];
    expect(got.shape).toEqual([3, 9, 13]);
    expect(bytes.slice(0, 117)).toEqual(expected);
    expect(bytes.slice(117, 234)).toEqual(expected);
  });

  it('truncated and corrupt files are skipped with a reason; a file that only looks like an image too', async () => {
    const dir = join(root, 'bad');
    python(
      `
import json, os, sys
from PIL import Image
dir = json.load(sys.stdin)
os.makedirs(f'{dir}/c')
Image.new('RGB', (40, 30), (200, 10, 10)).save(f'{dir}/c/good.png')
print('null')
`,
      dir,
    );
    const jpeg = readFileSync(file('jpeg420'));
    const png = readFileSync(file('png'));
    writeFileSync(join(dir, 'c', 'half.jpg'), jpeg.subarray(0, jpeg.length >> 1));
    writeFileSync(join(dir, 'c', 'half.png'), png.subarray(0, png.length >> 1));
    writeFileSync(join(dir, 'c', 'header.png'), png.subarray(0, 40));
    writeFileSync(join(dir, 'c', 'text.jpg'), 'not an image');
    const skipped: { key: string; reason: string }[] = [];
    const batches = await collect(new DataLoader(await openImageFolder(dir), { onSkipped: (s) => skipped.push(...s.items) }).epoch(0));
    expect(batches.map((b) => b.shape[0])).toEqual([1]);
    expect(skipped.map((s) => s.key.split('/').pop()).sort()).toEqual(['half.jpg', 'half.png', 'header.png', 'text.jpg']);
    expect(skipped.find((s) => s.key.endsWith('half.jpg'))!.reason).toMatch(/JPEG/);
    expect(skipped.find((s) => s.key.endsWith('half.png'))!.reason).toMatch(/PNG/);
  });
});

describe('interlaced PNG', () => {
  it('decodes, row by row in each Adam7 pass, to the pixels PIL reads', async () => {
    // PIL cannot write an interlaced PNG; sharp (libspng) can.
    mkdirSync(join(root, 'interlaced', 'c'), { recursive: true });
    const path = join(root, 'interlaced', 'c', 'image.png');
    writeFileSync(path, await sharp(file('png')).png({ progressive: true }).toBuffer());
    expect(readFileSync(path)[28]).toBe(1); // IHDR's interlace method: Adam7
    const got = await ours('interlaced', []);
    expect(got.batch.tensor).toBeDefined(); // built natively
    const pil = python<number[]>(
      `import json, sys, numpy as np
from PIL import Image
print(json.dumps(np.asarray(Image.open(json.load(sys.stdin)).convert('RGB')).transpose(2, 0, 1).reshape(-1).tolist()))`,
      path,
    );
    expect([...toBytes(got.batch.inputs)]).toEqual(pil);
  });
});
