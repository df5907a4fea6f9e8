/**
 * The CLI's DATA argument: a folder with one subfolder per class,
 * `idx:IMAGES,LABELS` (gzipped or not), or a `.csv` / `.jsonl` manifest.
 */
import { extname } from 'node:path';
import { MarsError } from '../errors.js';
import type { Dataset } from './dataset.js';
import type { SelectOptions } from './options.js';
import { select } from './select.js';
import { openImageFolder } from './sources/folder.js';
import { openIdx } from './sources/idx.js';
import { openManifest } from './sources/manifest.js';

export type DataSpec =
  | { kind: 'folder'; path: string }
  | { kind: 'idx'; images: string; labels: string }
  | { kind: 'manifest'; path: string };

/** Paths in an idx: spec cannot contain commas; use a manifest or a folder for such paths. */
export function parseDataSpec(spec: string): DataSpec {
  if (spec.startsWith('idx:')) {
    const parts = spec.slice('idx:'.length).split(',');
    if (parts.length !== 2 || parts.some((p) => p === '')) {
      throw new MarsError('ERR_INVALID_ARGUMENT', `data spec "${spec}" must be idx:IMAGES,LABELS`);
    }
    return { kind: 'idx', images: parts[0]!, labels: parts[1]! };
  }
  if (spec === '') throw new MarsError('ERR_INVALID_ARGUMENT', 'data spec is empty');
  const ext = extname(spec).toLowerCase();
  return ext === '.csv' || ext === '.jsonl' ? { kind: 'manifest', path: spec } : { kind: 'folder', path: spec };
}

/** Opens the data a spec names, then selects classes and samples as `options` say. */
export async function openDataset(spec: string | DataSpec, options: SelectOptions = {}): Promise<Dataset> {
  const parsed = typeof spec === 'string' ? parseDataSpec(spec) : spec;
  const dataset =
    parsed.kind === 'idx'
      ? await openIdx(parsed.images, parsed.labels)
      : parsed.kind === 'manifest'
        ? await openManifest(parsed.path)
        : await openImageFolder(parsed.path);
  return select(dataset, options);
}
