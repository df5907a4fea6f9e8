import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  centerCrop,
  DataLoader,
  horizontalFlip,
  IMAGENET,
  normalize,
  openImageFolder,
  randomCrop,
  randomResizedCrop,
  resize,
  toChannels,
  type Transform,
} from '../../lib/data/index.js';
import { planGeometry } from '../../lib/data/geometry.js';
import { Rng } from '../../lib/data/rng.js';
import { collect } from './helpers/collect.js';
import { python } from './helpers/python.js';
import { tempDir } from './helpers/tmp.js';

const root = tempDir();
// A smooth image (for resampling, where kernels may differ in detail), 2×2-block noise (for exact geometry), a square one.
python(
  `
import json, os, sys, numpy as np
from PIL import Image
root = json.load(sys.stdin)
rng = np.random.default_rng(0)
yy, xx = np.mgrid[0:30, 0:40]
smooth = np.stack([xx * 6, yy * 8, 120 + 60 * np.sin(xx / 5.0) * np.cos(yy / 4.0)], -1)
noise = np.repeat(np.repeat(rng.integers(0, 256, (15, 20, 3)), 2, 0), 2, 1)
for name, pixels in [('smooth', smooth), ('noise', noise), ('square', noise[:30, :30])]:
    os.makedirs(f'{root}/{name}/c')
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(f'{root}/{name}/c/image.png')
print('null')
`,
  root,
);
const image = (name: string) => join(root, name, 'c', 'image.png');

/** The first item of a one-image folder after `transforms`, as [C, H, W] and values; `auto` decodes these PNGs natively. */
async function ours(name: string, transforms: Transform[], seed = 0, decoder: 'auto' | 'sharp' = 'auto') {
  const [batch] = await collect(new DataLoader(await openImageFolder(join(root, name)), { transforms, seed, decoder }).epoch(0));
  return { shape: batch!.shape.slice(1), values: [...batch!.inputs] };
}

// torchvision 0.14 on PIL images, the reference for every transform.
const tv = python<Record<string, { shape: number[]; values: number[] }>>(
  `
import json, sys, numpy as np, torch
import torchvision.transforms as T
from PIL import Image
paths = json.load(sys.stdin)
smooth, noise = Image.open(paths['smooth']).convert('RGB'), Image.open(paths['noise']).convert('RGB')
def out(t, image):
    x = T.Compose([t, T.ToTensor()])(image) if not isinstance(t, T.Normalize) else t(T.ToTensor()(image))
    return dict(shape=list(x.shape), values=x.reshape(-1).tolist())
cases = dict(
    flip=(T.RandomHorizontalFlip(p=1), noise),
    centerCrop=(T.CenterCrop((15, 21)), noise),
    flipThenCrop=(T.Compose([T.RandomHorizontalFlip(p=1), T.CenterCrop((15, 21))]), noise),
    cropThenFlip=(T.Compose([T.CenterCrop((15, 21)), T.RandomHorizontalFlip(p=1)]), noise),
    grey=(T.Grayscale(1), noise),
    normalize=(T.Normalize(${JSON.stringify(IMAGENET.mean)}, ${JSON.stringify(IMAGENET.std)}), noise),
    shorterSide=(T.Resize(20), smooth),
    exact=(T.Resize((12, 9)), smooth),
    resizeCrop=(T.Compose([T.Resize(24), T.CenterCrop(20)]), smooth),
    upscale=(T.Resize((45, 60)), smooth),
    wholeResizedCrop=(T.RandomResizedCrop((20, 26), scale=(1, 1), ratio=(40 / 30, 40 / 30)), smooth),
)
print(json.dumps({k: out(t, image) for k, (t, image) in cases.items()}))
`,
  { smooth: image('smooth'), noise: image('noise') },
);

const maxAbs = (a: number[], b: number[]) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
const meanAbs = (a: number[], b: number[]) => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;

describe.each(['auto', 'sharp'] as const)('exact transforms equal torchvision (decoder %s)', (decoder) => {
  it.each([
    ['flip', [horizontalFlip(1)]],
    ['centerCrop', [centerCrop([15, 21])]], // odd margins: Python's round-half-even picks the offset
    ['flipThenCrop', [horizontalFlip(1), centerCrop([15, 21])]],
    ['cropThenFlip', [centerCrop([15, 21]), horizontalFlip(1)]],
    ['grey', [toChannels(1)]], // PIL's convert('L') luma
    ['normalize', [normalize(IMAGENET)]],
  ] as [string, Transform[]][])('%s', async (name, transforms) => {
    const got = await ours('noise', transforms, 0, decoder);
    expect(got.shape).toEqual(tv[name]!.shape);
    expect(maxAbs(got.values, tv[name]!.values)).toBeLessThanOrEqual(name === 'normalize' ? 1e-6 : 0);
  });
});

describe('native resizing is torchvision\'s (Pillow\'s antialiased bilinear, pixel for pixel)', () => {
  it.each([
    ['shorterSide', [resize(20)]],
    ['exact', [resize([12, 9])]],
    ['resizeCrop', [resize(24), centerCrop(20)]],
    ['upscale', [resize([45, 60])]],
    ['wholeResizedCrop', [randomResizedCrop([20, 26], { scale: [1, 1], ratio: [40 / 30, 40 / 30] })]],
  ] as [string, Transform[]][])('%s', async (name, transforms) => {
    const got = await ours('smooth', transforms);
    expect(got.shape).toEqual(tv[name]!.shape);
    expect(maxAbs(got.values, tv[name]!.values)).toBe(0);
  });
});

describe('sharp\'s resizing, within a stated tolerance of torchvision (antialiased bilinear)', () => {
  // Downscaling: libvips' linear reduce and PIL's bilinear filter agree to within rounding.
  it.each([
    ['shorterSide', [resize(20)]], // 40×30 → 26×20: the longer side truncated as torchvision does
    ['exact', [resize([12, 9])]],
    ['resizeCrop', [resize(24), centerCrop(20)]],
    ['wholeResizedCrop', [randomResizedCrop([20, 26], { scale: [1, 1], ratio: [40 / 30, 40 / 30] })]],
  ] as [string, Transform[]][])('%s: within 2/255, mean under 0.5/255', async (name, transforms) => {
    const got = await ours('smooth', transforms, 0, 'sharp');
    expect(got.shape).toEqual(tv[name]!.shape);
    expect(maxAbs(got.values, tv[name]!.values)).toBeLessThanOrEqual(2 / 255 + 1e-6);
    expect(meanAbs(got.values, tv[name]!.values)).toBeLessThan(0.5 / 255);
  });

  // Upscaling: libvips samples output x at x·in/out − 0.5, PIL at (x + 0.5)·in/out − 0.5: half an output pixel apart.
  it('upscale: bilinear at libvips sample positions exactly, torchvision within half an output pixel', async () => {
    const got = await ours('smooth', [resize([45, 60])], 0, 'sharp');
    const shifted = python<number[]>(
      `
import json, sys, numpy as np
from PIL import Image
src = np.asarray(Image.open(json.load(sys.stdin)), np.float64)
def positions(n_in, n_out):
    x = np.clip(np.arange(n_out) * n_in / n_out - 0.5, 0, n_in - 1)
    lo = np.floor(x).astype(int); hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, x - lo
(ylo, yhi, fy), (xlo, xhi, fx) = positions(30, 45), positions(40, 60)
rows = src[ylo] * (1 - fy)[:, None, None] + src[yhi] * fy[:, None, None]
out = rows[:, xlo] * (1 - fx)[None, :, None] + rows[:, xhi] * fx[None, :, None]
print(json.dumps((out.transpose(2, 0, 1) / 255).reshape(-1).tolist()))
`,
      image('smooth'),
    );
    expect(got.shape).toEqual([3, 45, 60]);
    expect(maxAbs(got.values, shifted)).toBeLessThanOrEqual(1 / 255 + 1e-6);
    // Half an output pixel is a third of a source pixel here, and the image changes by at most 15 levels a pixel.
    expect(maxAbs(got.values, tv.upscale!.values)).toBeLessThanOrEqual((15 / 3 + 1) / 255 + 1e-6);
  });
});

describe('random crops are true crops at varying offsets', () => {
  /** Where in the source (possibly mirrored) each of our outputs occurs; null when it is not a crop of it. */
  const locate = (name: string, crops: { shape: number[]; values: number[] }[]) =>
    python<([number, number, boolean] | null)[]>(
      `
import json, sys, numpy as np
from PIL import Image
path, crops = json.load(sys.stdin)
src = np.asarray(Image.open(path).convert('RGB'))
found = []
for crop in crops:
    c, h, w = crop['shape']
    x = np.rint(np.array(crop['values']) * 255).astype(np.uint8).reshape(c, h, w).transpose(1, 2, 0)
    hits = [[t, l, flip] for flip in (False, True) for t in range(src.shape[0] - h + 1) for l in range(src.shape[1] - w + 1)
            if np.array_equal((src[:, ::-1] if flip else src)[t:t + h, l:l + w], x)]
    found.append(hits[0] if hits else None)
print(json.dumps(found))
`,
      [image(name), crops],
    );

  it('randomCrop with a random flip', async () => {
    const outs = await Promise.all(Array.from({ length: 12 }, (_, seed) => ours('noise', [randomCrop([11, 17]), horizontalFlip()], seed)));
    const where = locate('noise', outs);
    expect(where.every((w) => w !== null)).toBe(true);
    expect(new Set(where.map((w) => `${w![0]},${w![1]}`)).size).toBeGreaterThan(6);
    expect(new Set(where.map((w) => w![2])).size).toBe(2);
  });

  it('randomResizedCrop at a fixed area and aspect keeps the crop size, so it must be an exact crop', async () => {
    const outs = await Promise.all(
      Array.from({ length: 8 }, (_, seed) => ours('square', [randomResizedCrop(15, { scale: [0.25, 0.25], ratio: [1, 1] })], seed)),
    );
    const where = locate('square', outs);
    expect(where.every((w) => w !== null && !w[2])).toBe(true);
    expect(new Set(where.map((w) => `${w![0]},${w![1]}`)).size).toBeGreaterThan(4);
  });
});

describe('randomResizedCrop parameters', () => {
  it('follow the distribution of torchvision get_params', () => {
    const n = 4000;
    const rrc = randomResizedCrop(8);
    const rng = new Rng(1);
    const ourStats = Array.from({ length: n }, () => {
      const { stages } = planGeometry([rrc], 40, 30, rng);
      const crop = stages[0]!.crop!;
      return [(crop.width * crop.height) / 1200, Math.log(crop.width / crop.height)] as const;
    });
    const theirs = python<[number, number][]>(`
import json, torch
import torchvision.transforms as T
torch.manual_seed(0)
image = torch.zeros(3, 30, 40)
params = [T.RandomResizedCrop.get_params(image, (0.08, 1.0), (3 / 4, 4 / 3)) for _ in range(${n})]
print(json.dumps([[h * w / 1200, float(torch.log(torch.tensor(w / h)))] for _, _, h, w in params]))
`);
    const mean = (xs: readonly (readonly [number, number])[], k: 0 | 1) => xs.reduce((s, x) => s + x[k], 0) / xs.length;
    // Standard errors are under 0.005 for the area fraction and the log-aspect; allow six of them.
    expect(Math.abs(mean(ourStats, 0) - mean(theirs, 0))).toBeLessThan(0.03);
    expect(Math.abs(mean(ourStats, 1) - mean(theirs, 1))).toBeLessThan(0.03);
    expect(Math.min(...ourStats.map((s) => s[0]))).toBeGreaterThanOrEqual(0.07);
  });
});
