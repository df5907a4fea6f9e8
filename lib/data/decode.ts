/**
 * Gets an item's pixels and runs its geometry's resize passes in sharp, on
 * libuv's thread pool. Files are read first and decoded from memory, which
 * measured faster than letting libvips open them, and keeps a missing file
 * apart from a corrupt one in the reason given. sharp is loaded on first use
 * (about 40 MB of RSS): in-memory data without resizing and files the native
 * path decodes never need it.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Sharp, SharpOptions } from 'sharp';
import { MarsError } from '../errors.js';
import type { ItemRef, Pixels } from './dataset.js';
import { planGeometry, type Rect, type Stage } from './geometry.js';
import type { Transform } from './options.js';
import { checkPixelLimit } from './pixel-limit.js';
import type { Rng } from './rng.js';

const FORMATS = new Set(['jpeg', 'png', 'webp']);

let loaded: Promise<typeof import('sharp')> | undefined;
async function sharp(input: Buffer | Uint8Array, options?: SharpOptions): Promise<Sharp> {
  const { default: make } = await (loaded ??= import('sharp'));
  return make(input, options);
}

/** Pixels after the sharp passes; `crop` and `flip` are still to apply (by writeItem). */
export interface Decoded {
  pixels: Pixels;
  crop: Rect | null;
  flip: boolean;
}

/** Files of more than `maxPixels` pixels are refused from their header (pixel-limit.ts). */
export async function decodeItem(ref: ItemRef, transforms: readonly Transform[], rng: Rng, maxPixels: number): Promise<Decoded> {
  if (ref.kind === 'pixels') {
    const { stages, crop, flip } = planGeometry(transforms, ref.pixels.width, ref.pixels.height, rng);
    return { pixels: await runStages(ref.pixels, stages), crop, flip };
  }
  // The limit is checked on the header below: sharp's own (limitInputPixels) would refuse
  // the same images already in metadata(), in words that do not name the option raising it.
  const image = await sharp(await readRegularFile(ref.path), { limitInputPixels: false });
  const meta = await image.metadata();
  if (!FORMATS.has(meta.format)) {
    throw new MarsError('ERR_DATA_FILE', `${meta.format} images are not supported (JPEG, PNG, WebP are)`);
  }
  checkPixelLimit(meta.width, meta.height, maxPixels);
  // Grey files stay one channel, so that grey batches need no conversion at all.
  const channels = meta.space === 'b-w' || meta.space === 'grey16' ? 1 : 3;
  const { stages, crop, flip } = planGeometry(transforms, meta.width, meta.height, rng);
  const [first, ...rest] = stages;
  return { pixels: await runStages(await run(image, first, channels), rest), crop, flip };
}

/**
 * The whole file, refusing anything but a regular file. O_NONBLOCK: opening a
 * FIFO without it waits for a writer for ever, holding a thread of libuv's
 * pool that nothing can interrupt. The opened handle is what is checked, so
 * the path cannot be swapped for another file in between.
 */
async function readRegularFile(path: string): Promise<Buffer> {
  const file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!(await file.stat()).isFile()) {
      throw new MarsError('ERR_DATA_FILE', `'${path}' is not a regular file (a FIFO, a socket or a device), so it is not read`);
    }
    return await file.readFile();
  } finally {
    await file.close();
  }
}

async function runStages(pixels: Pixels, stages: readonly Stage[]): Promise<Pixels> {
  let out = pixels;
  for (const stage of stages) {
    const raw = await sharp(out.data, { raw: { width: out.width, height: out.height, channels: out.channels } });
    out = await run(raw, stage, out.channels);
  }
  return out;
}

/** One sharp pass: crop, resize, then 8-bit interleaved output without alpha, in `channels` channels. */
async function run(image: Sharp, stage: Stage | undefined, channels: 1 | 3): Promise<Pixels> {
  if (stage?.crop) image.extract(stage.crop);
  if (stage) image.resize(stage.width, stage.height, { fit: 'fill', kernel: stage.kernel });
  const { data, info } = await image
    .removeAlpha()
    .toColourspace(channels === 1 ? 'b-w' : 'srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels };
}
