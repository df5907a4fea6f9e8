/**
 * The last step of every item, on the main thread: channel conversion, the
 * trailing crop and flip, uint8 → float32 and normalisation, written straight
 * into the batch in CHW order. Normalisation is a 256-entry table per
 * channel, so each output value costs one lookup (see docs/data.md for why
 * this does not pay to move to worker threads).
 */
import { MarsError } from '../errors.js';
import type { Pixels } from './dataset.js';
import type { Rect } from './geometry.js';

/**
 * table[c * 256 + v] is what value v of channel c becomes: (v/255 − mean)/std,
 * rounded to float32 after each step exactly as torchvision's ToTensor and
 * Normalize compute it in float32.
 */
export function valueTable(channels: 1 | 3, stats?: { mean: number[]; std: number[] }): Float32Array {
  const { mean = [0], std = [1] } = stats ?? {};
  for (const [name, values] of [['mean', mean], ['std', std]] as const) {
    if (values.length !== 1 && values.length !== channels) {
      throw new MarsError('ERR_INVALID_ARGUMENT', `normalize: ${name} has ${values.length} values for ${channels}-channel batches`);
    }
  }
  const f = Math.fround;
  const table = new Float32Array(256 * channels);
  for (let c = 0; c < channels; c++) {
    const m = f(mean[c] ?? mean[0]!);
    const s = f(std[c] ?? std[0]!);
    for (let v = 0; v < 256; v++) table[c * 256 + v] = f(f(f(v / 255) - m) / s);
  }
  return table;
}

/** Grey→RGB repeats the value; RGB→grey is PIL's convert('L'): ITU-R 601-2 luma in 16-bit fixed point. */
export function convertChannels(src: Pixels, channels: 1 | 3): Pixels {
  if (src.channels === channels) return src;
  const n = src.width * src.height;
  const data = new Uint8Array(n * channels);
  const s = src.data;
  if (channels === 3) for (let i = 0; i < n; i++) data[3 * i] = data[3 * i + 1] = data[3 * i + 2] = s[i]!;
  else for (let i = 0; i < n; i++) data[i] = (s[3 * i]! * 19595 + s[3 * i + 1]! * 38470 + s[3 * i + 2]! * 7471 + 0x8000) >>> 16;
  return { data, width: src.width, height: src.height, channels };
}

/** Writes `src` (already in the batch's channels), cropped and maybe mirrored, as CHW floats at dst[offset]. */
export function writeItem(src: Pixels, crop: Rect, flip: boolean, table: Float32Array, dst: Float32Array, offset: number): void {
  const { data, width, channels } = src;
  const step = flip ? -channels : channels;
  let o = offset;
  for (let c = 0; c < channels; c++) {
    const base = c * 256;
    for (let y = 0; y < crop.height; y++) {
      let s = ((crop.top + y) * width + crop.left + (flip ? crop.width - 1 : 0)) * channels + c;
      for (let x = 0; x < crop.width; x++, s += step) dst[o++] = table[base + data[s]!]!;
    }
  }
}
