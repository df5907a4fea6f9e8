/** Data: sources, selection, transforms and batch streaming for fine-tuning. */
export { inferInputChannels } from './channels.js';
export { Dataset, type ItemRef, type ItemStore, type Pixels } from './dataset.js';
export { DataLoader, type Batch, type InputBatch } from './loader.js';
export type { ArraySource, Kernel, LoaderOptions, SelectOptions, SkippedItem, SkipSummary, SplitOptions, Transform, TransformInput } from './options.js';
export { renameClasses, select, selectClasses, splitDataset } from './select.js';
export { shardLength, shardOrder, type Shard, type ShardRemainder } from './shard.js';
export { fromArrays } from './sources/arrays.js';
export { openImageFolder } from './sources/folder.js';
export { openIdx } from './sources/idx.js';
export { openManifest } from './sources/manifest.js';
export { openDataset, parseDataSpec, type DataSpec } from './spec.js';
export {
  centerCrop,
  horizontalFlip,
  IMAGENET,
  normalize,
  randomCrop,
  randomResizedCrop,
  resize,
  toChannels,
  type Size,
} from './transforms.js';
