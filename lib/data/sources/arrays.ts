/** In-memory pixels: a Uint8Array of N items, each H×W×C interleaved (numpy's NHWC uint8 layout). */
import { MarsError } from '../../errors.js';
import { Dataset, integerClassNames, type ItemStore } from '../dataset.js';

export interface ArraySource {
  pixels: Uint8Array;
  labels: ArrayLike<number>;
  width: number;
  height: number;
  channels: 1 | 3;
  /** Label i is classNames[i]; default "0".."max label". */
  classNames?: readonly string[];
  /** Names items in messages as `name#index`; default "array". */
  name?: string;
}

export function fromArrays(source: ArraySource): Dataset {
  const { pixels, width, height, channels, name = 'array' } = source;
  const itemBytes = width * height * channels;
  if (!(Number.isInteger(itemBytes) && itemBytes > 0) || ![1, 3].includes(channels)) {
    throw new MarsError('ERR_INVALID_ARGUMENT', `${name}: width, height must be positive integers and channels 1 or 3`);
  }
  const count = pixels.length / itemBytes;
  if (!Number.isInteger(count) || count !== source.labels.length) {
    throw new MarsError(
      'ERR_DATA',
      `${name}: ${pixels.length} bytes of ${width}×${height}×${channels} pixels do not make ${source.labels.length} items (one per label)`,
    );
  }
  const labels = Int32Array.from(source.labels, (label, i) => {
    if (!Number.isInteger(label)) throw new MarsError('ERR_DATA_LABEL', `${name}#${i}: label ${label} is not an integer`);
    return label;
  });
  const store: ItemStore = {
    channels,
    ref: (row) => ({
      kind: 'pixels',
      // A view, not a copy: the source stays the only copy in memory.
      pixels: { data: pixels.subarray(row * itemBytes, (row + 1) * itemBytes), width, height, channels },
    }),
    key: (row) => `${name}#${row}`,
  };
  return Dataset.fromSource(store, labels, source.classNames ?? integerClassNames(labels), name);
}
