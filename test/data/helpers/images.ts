/** Test images written by PIL, so that what sharp decodes is checked against another codec's encoder. */
import { python } from './python.js';

export interface ImageSpec {
  /** Relative to the root given to writeImages; folders are created. */
  path: string;
  /** PIL mode: 'RGB', 'L' or 'RGBA'. */
  mode: 'RGB' | 'L' | 'RGBA';
  width: number;
  height: number;
  /** PIL format: 'PNG', 'WEBP' (written lossless) or 'JPEG' (quality 95). */
  format: 'PNG' | 'WEBP' | 'JPEG';
  seed: number;
}

/** Writes random-noise images; smooth enough (upsampled noise) that JPEG keeps them recognisable. */
export function writeImages(root: string, specs: ImageSpec[]): void {
  python(
    `
import json, os, sys, numpy as np
from PIL import Image
root, specs = json.load(sys.stdin)
for s in specs:
    rng = np.random.default_rng(s['seed'])
    bands = {'RGB': 3, 'L': 1, 'RGBA': 4}[s['mode']]
    small = rng.integers(0, 256, (s['height'] // 2 + 1, s['width'] // 2 + 1, bands), dtype=np.uint8)
    pixels = np.repeat(np.repeat(small, 2, 0), 2, 1)[: s['height'], : s['width']]
    image = Image.fromarray(pixels[:, :, 0] if bands == 1 else pixels, s['mode'])
    path = os.path.join(root, s['path'])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image.save(path, s['format'], **({'lossless': True} if s['format'] == 'WEBP' else {'quality': 95} if s['format'] == 'JPEG' else {}))
print('null')
`,
    [root, specs],
  );
}
