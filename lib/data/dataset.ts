/**
 * A labelled set of items and its views. Sources (folders, IDX, arrays,
 * manifests) build one from an ItemStore; selections and splits are views
 * that share the store and keep only an index map, so they cost 8 bytes an item.
 */
import { MarsError } from '../errors.js';

/** Decoded pixels: uint8, interleaved HWC. */
export interface Pixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

/** Where an item's pixels come from: an encoded image file, or pixels already in memory. */
export type ItemRef = { kind: 'file'; path: string } | { kind: 'pixels'; pixels: Pixels };

/** A source's items, addressed by their index in the source. */
export interface ItemStore {
  /** Channels batches get when neither a transform nor the backbone decides. */
  readonly channels: 1 | 3;
  ref(row: number): ItemRef;
  /** Names the item in messages and reproducibility checks: a path, or `file#index`. */
  key(row: number): string;
}

export class Dataset {
  private constructor(
    private readonly store: ItemStore,
    /** Dataset index → source index. */
    private readonly rows: Int32Array,
    private readonly labels: Int32Array,
    readonly classNames: readonly string[],
  ) {}

  /**
   * The dataset of a whole source. Checks, before any training starts, that
   * every label names a class and that no class is empty.
   */
  static fromSource(store: ItemStore, labels: Int32Array, classNames: readonly string[], origin: string): Dataset {
    const counts = new Array<number>(classNames.length).fill(0);
    labels.forEach((label, row) => {
      if (!(label >= 0 && label < classNames.length)) {
        throw new MarsError(
          'ERR_DATA_LABEL',
          `label ${label} of ${store.key(row)} is outside 0..${classNames.length - 1} (${origin})`,
        );
      }
      counts[label]!++;
    });
    const empty = counts.indexOf(0);
    if (empty >= 0) {
      throw new MarsError('ERR_DATA_EMPTY_CLASS', `class "${classNames[empty]}" (label ${empty}) has no items in ${origin}`);
    }
    const rows = new Int32Array(labels.length).map((_, i) => i);
    return new Dataset(store, rows, labels, classNames);
  }

  get size(): number {
    return this.rows.length;
  }

  /** Channels of the source's items (1 for IDX digits, 3 for image files). */
  get channels(): 1 | 3 {
    return this.store.channels;
  }

  label(index: number): number {
    return this.labels[this.check(index)]!;
  }

  ref(index: number): ItemRef {
    return this.store.ref(this.rows[this.check(index)]!);
  }

  key(index: number): string {
    return this.store.key(this.rows[this.check(index)]!);
  }

  /** Number of items of each class, indexed by label. */
  classCounts(): number[] {
    const counts = new Array<number>(this.classNames.length).fill(0);
    for (const label of this.labels) counts[label]!++;
    return counts;
  }

  /** The items at `indices` of this dataset, in that order; `relabel.labelMap[old]` gives each new label. */
  subset(indices: ArrayLike<number>, relabel?: { labelMap: Int32Array; classNames: readonly string[] }): Dataset {
    const rows = new Int32Array(indices.length);
    const labels = new Int32Array(indices.length);
    for (let i = 0; i < indices.length; i++) {
      const index = this.check(indices[i]!);
      rows[i] = this.rows[index]!;
      labels[i] = relabel ? relabel.labelMap[this.labels[index]!]! : this.labels[index]!;
    }
    return new Dataset(this.store, rows, labels, relabel?.classNames ?? this.classNames);
  }

  private check(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.rows.length) {
      throw new MarsError('ERR_INVALID_ARGUMENT', `item index ${index} is outside 0..${this.rows.length - 1}`);
    }
    return index;
  }
}

/** The largest label a dataset can hold (labels are stored as int32). */
const MAX_LABEL = 0x7fffffff;

/**
 * Integer labels checked and stored, with their class names: `names` when
 * given (every label must index one), else "0".."max". Every label must be a
 * whole number in 0..2^31-1; without names, since every class must have an
 * item, the largest label must be below the item count, so one absurd label
 * (99999999999) is refused at once, not after building an array of a billion
 * class names. `where(i)` names item i in messages.
 */
export function integerLabels(
  labels: ArrayLike<number>,
  where: (i: number) => string,
  names?: readonly string[],
): { labels: Int32Array; classNames: readonly string[] } {
  const limit = names ? names.length - 1 : MAX_LABEL;
  let max = -1;
  let at = -1;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (!Number.isInteger(label) || label < 0 || label > limit) {
      throw new MarsError('ERR_DATA_LABEL', `${where(i)}: label ${label} is not an integer in 0..${limit}${names ? ` (${names.length} class names)` : ''}`);
    }
    if (label > max) [max, at] = [label, i];
  }
  if (!names && max >= labels.length) {
    throw new MarsError(
      'ERR_DATA_EMPTY_CLASS',
      `${where(at)}: label ${max} means at least ${max + 1} classes, but there are only ${labels.length} items, so some class has none; labels must number the classes 0..k-1`,
    );
  }
  return { labels: Int32Array.from(labels), classNames: names ?? Array.from({ length: max + 1 }, (_, i) => String(i)) };
}
