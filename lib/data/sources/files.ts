/** The store behind folders and manifests: one encoded image file per item. */
import type { ItemStore } from '../dataset.js';

/** Files decode to RGB by default, as torchvision's ImageFolder loader does. */
export function fileStore(paths: readonly string[]): ItemStore {
  return {
    channels: 3,
    ref: (row) => ({ kind: 'file', path: paths[row]! }),
    key: (row) => paths[row]!,
  };
}
