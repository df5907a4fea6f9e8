/**
 * Typed constructors for transforms, composed as a list like torchvision's
 * Compose. Geometry (resize, crops, flip) runs in list order; the pixel
 * operations (toChannels, normalize) act on the final pixels wherever they
 * appear, which is equivalent because they commute with the geometry.
 */
import { parseOptions } from '../util/parse-options.js';
import { transformSchema, type Kernel, type Transform } from './options.js';

/** torchvision's ImageNet statistics, for backbones trained on ImageNet. */
export const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/** [height, width] or n for n×n. */
export type Size = number | [number, number];

const make = (t: unknown): Transform => parseOptions(transformSchema, t, 'transform');

/** A number sets the shorter side (aspect kept); a pair is the exact [height, width]. */
export const resize = (size: Size, options: { kernel?: Kernel } = {}) => make({ op: 'resize', size, ...options });

export const centerCrop = (size: Size) => make({ op: 'centerCrop', size });

export const randomCrop = (size: Size) => make({ op: 'randomCrop', size });

/** torchvision's RandomResizedCrop: a random area fraction `scale` and aspect `ratio`, resized to `size`. */
export const randomResizedCrop = (
  size: Size,
  options: { scale?: [number, number]; ratio?: [number, number]; kernel?: Kernel } = {},
) => make({ op: 'randomResizedCrop', size, ...options });

export const horizontalFlip = (p?: number) => make({ op: 'horizontalFlip', p });

/** Grey→RGB repeats the channel; RGB→grey uses PIL's ITU-R 601-2 luma, as torchvision's Grayscale does. */
export const toChannels = (channels: 1 | 3) => make({ op: 'toChannels', channels });

/** (x/255 − mean) / std per channel, as ToTensor then Normalize; one value applies to every channel. */
export const normalize = (stats: { mean: number[]; std: number[] } = IMAGENET) => make({ op: 'normalize', ...stats });
