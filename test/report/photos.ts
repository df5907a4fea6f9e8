// A folder of JPEG photographs of mixed sizes, made from Fashion-MNIST with
// sharp: each item enlarged to its own width and height (28 to 90 pixels,
// aspect ratios 0.6 to 1.6), stored as RGB JPEG in class subfolders, as
// torchvision's ImageFolder expects.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { openDataset } from '../../lib/index.js';

const FMNIST = '/usr/share/datasets/fashion-mnist';
const spec = (split: string) => `idx:${FMNIST}/${split}-images-idx3-ubyte.gz,${FMNIST}/${split}-labels-idx1-ubyte.gz`;

/** Writes `root/<class>/<n>.jpg` for the Fashion-MNIST `classes` (label → folder name), `perClass` each. */
export async function photoFolder(root: string, split: 'train' | 't10k', classes: Record<number, string>, perClass: number, seed: number): Promise<void> {
  const labels = Object.keys(classes).map(Number);
  const data = await openDataset(spec(split), { classes: labels, perClass, seed });
  for (let i = 0; i < data.size; i++) {
    const ref = data.ref(i);
    if (ref.kind !== 'pixels') throw new Error('IDX items are pixels');
    const dir = join(root, classes[labels[data.label(i)]!]!);
    mkdirSync(dir, { recursive: true });
    const width = 28 + ((i * 37 + seed * 11) % 63);
    const height = Math.max(28, Math.min(90, Math.round(width * (0.6 + ((i * 53) % 11) / 10))));
    const { data: pixels, width: w, height: h, channels } = ref.pixels;
    await sharp(Buffer.from(pixels), { raw: { width: w, height: h, channels } }).resize(width, height).toColourspace('srgb').jpeg({ quality: 90 }).toFile(join(dir, `${i}.jpg`));
  }
}
