/** In-memory pixels, e.g. from numpy: one Uint8Array of N items, each H×W×C interleaved. */
import { MarsError } from '../../errors.js';
import { Dataset, integerLabels, type ItemStore } from '../dataset.js';
import { parseOptions } from '../../util/parse-options.js';
import { arraySourceSchema, type ArraySource } from '../options.js';

export function fromArrays(source: ArraySource): Dataset {
  const { pixels, width, height, channels, name, classNames, ...rest } = parseOptions(arraySourceSchema, source, 'array source');
  const itemBytes = width * height * channels;
  const count = pixels.length / itemBytes;
  if (!Number.isInteger(count) || count !== rest.labels.length) {
    throw new MarsError(
      'ERR_DATA',
      `${name}: ${pixels.length} bytes of ${width}×${height}×${channels} pixels do not make ${rest.labels.length} items (one per label)`,
    );
  }
  const given = integerLabels(rest.labels, (i) => `${name}#${i}`, classNames);
  const store: ItemStore = {
    channels,
    ref: (row) => ({
      kind: 'pixels',
      // A view, not a copy: the caller's array stays the only copy in memory.
      pixels: { data: pixels.subarray(row * itemBytes, (row + 1) * itemBytes), width, height, channels },
    }),
    key: (row) => `${name}#${row}`,
  };
  return Dataset.fromSource(store, given.labels, given.classNames, name);
}
