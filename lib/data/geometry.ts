/**
 * Turns an item's transform list into concrete geometry once its size is
 * known: random choices drawn from the item's own stream, sizes and offsets
 * rounded exactly as torchvision 0.14 rounds them.
 *
 * The plan is normalised for execution: flips are moved to the end (mirroring
 * the crops that follow them, and resizing commutes with a flip), consecutive
 * crops merge, and each resize becomes a sharp pass that may crop first.
 * Whatever crop follows the last resize, and the flip, are done for free
 * while copying pixels into the batch.
 */
import { MarsError } from '../errors.js';
import type { Kernel, Transform } from './options.js';
import type { Rng } from './rng.js';

export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** One sharp pass over the previous result: crop (if any), then resize to width × height. */
export interface Stage {
  crop: Rect | null;
  width: number;
  height: number;
  kernel: Kernel;
}

export interface ItemGeometry {
  stages: Stage[];
  /** Applied to the last stage's output (or the source when there is no stage). */
  crop: Rect | null;
  flip: boolean;
}

export function planGeometry(transforms: readonly Transform[], width: number, height: number, rng: Rng): ItemGeometry {
  let w = width;
  let h = height;
  let flip = false;
  let crop: Rect | null = null;
  const stages: Stage[] = [];

  /** `r` is in the coordinates of the image as the user's transforms see it, i.e. flipped when `flip`. */
  const cropTo = (r: Rect): void => {
    const left = flip ? w - r.left - r.width : r.left;
    crop = { left: (crop?.left ?? 0) + left, top: (crop?.top ?? 0) + r.top, width: r.width, height: r.height };
    [w, h] = [r.width, r.height];
  };
  const fit = (op: string, [ch, cw]: [number, number]): [number, number] => {
    if (ch > h || cw > w) {
      throw new MarsError('ERR_DATA', `${op} ${ch}×${cw} does not fit the ${h}×${w} image (height×width)`);
    }
    return [ch, cw];
  };
  const resizeTo = (width: number, height: number, kernel: Kernel): void => {
    // PIL returns the image unchanged when the size does not change; so do we.
    if (width === w && height === h) return;
    stages.push({ crop, width, height, kernel });
    crop = null;
    [w, h] = [width, height];
  };

  for (const t of transforms) {
    switch (t.op) {
      case 'resize': {
        const [width, height] = resizedSize(w, h, t.size);
        resizeTo(width, height, t.kernel);
        break;
      }
      case 'centerCrop': {
        const [ch, cw] = fit(t.op, t.size);
        cropTo({ top: roundHalfEven((h - ch) / 2), left: roundHalfEven((w - cw) / 2), width: cw, height: ch });
        break;
      }
      case 'randomCrop': {
        const [ch, cw] = fit(t.op, t.size);
        cropTo({ top: rng.int(0, h - ch), left: rng.int(0, w - cw), width: cw, height: ch });
        break;
      }
      case 'randomResizedCrop':
        cropTo(resizedCropRect(w, h, t.scale, t.ratio, rng));
        resizeTo(t.size[1], t.size[0], t.kernel);
        break;
      case 'horizontalFlip':
        if (rng.next() < t.p) flip = !flip;
        break;
      case 'toChannels':
      case 'normalize':
        break;
    }
  }
  return { stages, crop, flip };
}

/** [width, height] after torchvision's Resize: an int sets the shorter side, the longer one is truncated. */
function resizedSize(w: number, h: number, size: number | [number, number]): [number, number] {
  if (typeof size !== 'number') return [size[1], size[0]];
  const long = Math.trunc((size * Math.max(w, h)) / Math.min(w, h));
  return w <= h ? [size, long] : [long, size];
}

/** torchvision's RandomResizedCrop.get_params: ten tries at a random area and aspect, then a central fallback. */
function resizedCropRect(w: number, h: number, scale: [number, number], ratio: [number, number], rng: Rng): Rect {
  const area = w * h;
  const [logLo, logHi] = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const cw = roundHalfEven(Math.sqrt(target * aspect));
    const ch = roundHalfEven(Math.sqrt(target / aspect));
    if (cw > 0 && cw <= w && ch > 0 && ch <= h) {
      return { top: rng.int(0, h - ch), left: rng.int(0, w - cw), width: cw, height: ch };
    }
  }
  let [cw, ch] = [w, h];
  if (w / h < ratio[0]) ch = roundHalfEven(w / ratio[0]);
  else if (w / h > ratio[1]) cw = roundHalfEven(h * ratio[1]);
  return { top: Math.floor((h - ch) / 2), left: Math.floor((w - cw) / 2), width: cw, height: ch };
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
