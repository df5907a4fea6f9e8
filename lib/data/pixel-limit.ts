/**
 * The largest image the loader decodes. Both decoders allocate the pixels a
 * file's header claims before they find out whether the data are there, so a
 * 68-byte PNG claiming 28×200,000,000 pixels would take gigabytes. The header
 * is checked against the limit (the loader option `maxPixels`, sharp's
 * limitInputPixels by default) before anything is allocated for the image.
 */
import { MarsError } from '../errors.js';

/** Refuses (ERR_DATA_FILE, so the item is skipped as unreadable) an image of more than `maxPixels` pixels. */
export function checkPixelLimit(width: number, height: number, maxPixels: number): void {
  if (width * height <= maxPixels) return;
  const count = (n: number) => n.toLocaleString('en-US');
  throw new MarsError(
    'ERR_DATA_FILE',
    `the image is ${width}×${height} = ${count(width * height)} pixels, over the limit of ${count(maxPixels)}; the option maxPixels (mars-ft: --max-pixels) raises it`,
  );
}
