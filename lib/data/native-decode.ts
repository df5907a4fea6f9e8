/**
 * The native image path: JPEG and PNG files are read, decoded (libjpeg-turbo,
 * libpng), resampled (Pillow's antialiased bilinear, pixel for pixel what
 * torchvision's Resize gives), cropped, flipped, converted and normalised on
 * the addon's image threads, one per core, into float32 items that are copied
 * into a native batch tensor. The geometry is planned here, between reading
 * the header and decoding, by the same code as sharp's path (geometry.ts).
 * Files it does not decode (WebP, CMYK JPEG, ...) and transforms it lacks
 * (kernels other than `linear`) go to sharp (decode.ts); docs/data.md has the
 * measurements behind the choice.
 */
import { hasCode } from '../errors.js';
import { native } from '../native/loader.js';
import { Tensor } from '../torch/tensor.js';
import { planGeometry } from './geometry.js';
import type { Transform } from './options.js';
import { checkPixelLimit } from './pixel-limit.js';
import type { Rng } from './rng.js';

/** True when every transform in the list can run natively (resampling with the `linear` kernel only). */
export function nativeSupports(transforms: readonly Transform[]): boolean {
  return transforms.every((t) => !('kernel' in t) || t.kernel === 'linear');
}

/**
 * The item at `path` as a float32 [C, H, W] tensor with `channels` channels,
 * each value v of channel c written as table[c * 256 + v]; null when the file
 * is for sharp. Rejects with ERR_DATA_FILE for a missing, corrupt or truncated
 * file, one that is not a regular file, and one whose header claims more than
 * `maxPixels` pixels (checked before the decoder allocates them).
 */
export async function decodeNative(path: string, transforms: readonly Transform[], rng: Rng, channels: 1 | 3, table: Float32Array, maxPixels: number): Promise<Tensor | null> {
  const file = await native().imageOpen(path);
  if ('unsupported' in file) return null;
  checkPixelLimit(file.width, file.height, maxPixels);
  const { stages, crop, flip } = planGeometry(transforms, file.width, file.height, rng);
  try {
    const plan = { stages: stages.map(({ crop, width, height }) => ({ crop, width, height })), crop, flip, channels, table };
    return new Tensor(await native().imageDecode(file.bytes, plan));
  } catch (e) {
    if (hasCode(e, 'ERR_IMAGE_UNSUPPORTED')) return null;
    throw e;
  }
}

/** An uninitialised float32 batch in native memory (page-locked when `pinned` and CUDA is available). */
export function batchTensor(shape: readonly number[], pinned: boolean): Tensor<'float32'> {
  return new Tensor<'float32'>(native().batchTensor([...shape], pinned));
}

/** Copies a decoded item into `batch[slot]`. */
export function copyItem(batch: Tensor, slot: number, item: Tensor): void {
  native().copyItem(batch.handle, slot, item.handle);
}
