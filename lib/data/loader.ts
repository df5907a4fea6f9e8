/**
 * Streams a dataset as batches: a seeded order per epoch, `concurrency` items
 * decoding at once (in sharp, off the main thread), at most `prefetch`
 * finished batches waiting for the consumer. Memory is bounded by those two
 * numbers, not by the dataset; a full queue stops decoding (backpressure).
 */
import { Readable } from 'node:stream';
import { MarsError } from '../errors.js';
import { inferInputChannels } from './channels.js';
import type { Dataset } from './dataset.js';
import { decodeItem, type Decoded } from './decode.js';
import { parseOptions } from '../util/parse-options.js';
import { loaderOptionsSchema, type LoaderOptions, type ParsedLoaderOptions, type SkippedItem, type SkipSummary } from './options.js';
import { mapOrdered } from './ordered.js';
import { convertChannels, valueTable, writeItem } from './pixels.js';
import { deriveSeed, Rng, shuffle, Stream } from './rng.js';
import { shardLength, shardOrder } from './shard.js';

/** Float32 inputs of `shape` ([B, C, H, W], or [B, F] for feature vectors), row-major, with their labels. */
export interface InputBatch {
  inputs: Float32Array;
  shape: readonly number[];
  labels: Int32Array;
}

/** A loader's batch: NCHW float32 inputs with their labels and the dataset indices they came from. */
export interface Batch extends InputBatch {
  shape: [number, number, number, number];
  indices: Int32Array;
}

type Loaded = { index: number; decoded: Decoded } | { index: number; error: unknown };

export class DataLoader {
  readonly options: ParsedLoaderOptions;
  /** Channels of every batch: a toChannels transform's, else the backbone's input channels, else the dataset's. */
  readonly channels: 1 | 3;
  private readonly table: Float32Array;
  /** [C, H, W] of the first item; every later item must match it. */
  private itemShape: [number, number, number] | null = null;

  constructor(
    readonly dataset: Dataset,
    options: LoaderOptions = {},
  ) {
    this.options = parseOptions(loaderOptionsSchema, options, 'loader options');
    const pixelOp = <Op extends 'toChannels' | 'normalize'>(op: Op) => {
      const found = this.options.transforms.filter((t) => t.op === op);
      if (found.length > 1) throw new MarsError('ERR_INVALID_ARGUMENT', `transforms: give ${op} at most once`);
      return found[0] as Extract<ParsedLoaderOptions['transforms'][number], { op: Op }> | undefined;
    };
    const backbone = this.options.backbone ? inferInputChannels(this.options.backbone) : null;
    if (backbone !== null && backbone !== 1 && backbone !== 3) {
      throw new MarsError('ERR_INVALID_ARGUMENT', `the backbone takes ${backbone} input channels; batches can have 1 or 3 (add toChannels)`);
    }
    this.channels = pixelOp('toChannels')?.channels ?? backbone ?? dataset.channels;
    this.table = valueTable(this.channels, pixelOp('normalize'));
  }

  /** Batches in an epoch when no item is skipped. */
  get batchesPerEpoch(): number {
    const { batchSize, dropLast, shard } = this.options;
    const items = shard ? shardLength(this.dataset.size, shard) : this.dataset.size;
    return (dropLast ? Math.floor : Math.ceil)(items / batchSize);
  }

  /** Dataset indices in the order epoch `epoch` visits them: a seeded permutation, or dataset order; this rank's shard of it. */
  order(epoch: number): Int32Array {
    const all = Int32Array.from({ length: this.dataset.size }, (_, i) => i);
    const order = this.options.shuffle ? shuffle(all, new Rng(deriveSeed(this.options.seed, Stream.shuffle, epoch))) : all;
    return this.options.shard ? shardOrder(order, this.options.shard) : order;
  }

  /** One epoch's batches. Breaking out of the loop stops decoding. */
  epoch(epoch = 0): AsyncIterable<Batch> {
    return Readable.from(this.batches(epoch), { objectMode: true, highWaterMark: this.options.prefetch });
  }

  private async *batches(epoch: number): AsyncGenerator<Batch> {
    const { batchSize, dropLast, concurrency, onError } = this.options;
    const skipped: SkippedItem[] = [];
    let batch: Batch | null = null;
    let count = 0;
    try {
      for await (const item of mapOrdered(this.order(epoch), concurrency, (i) => this.load(i, epoch))) {
        if (this.options.signal?.aborted) throw new MarsError('ERR_ABORTED', `data loading aborted in epoch ${epoch}`, { cause: this.options.signal.reason });
        if ('error' in item) {
          const key = this.dataset.key(item.index);
          const reason = item.error instanceof Error ? item.error.message : String(item.error);
          if (onError === 'fail') throw new MarsError('ERR_DATA_FILE', `cannot load ${key}: ${reason}`, { cause: item.error });
          skipped.push({ index: item.index, key, reason });
          continue;
        }
        const { pixels, crop, flip } = item.decoded;
        const rect = crop ?? { left: 0, top: 0, width: pixels.width, height: pixels.height };
        const size = this.checkShape(rect.height, rect.width, item.index);
        batch ??= {
          inputs: new Float32Array(batchSize * size),
          shape: [batchSize, ...this.itemShape!],
          labels: new Int32Array(batchSize),
          indices: new Int32Array(batchSize),
        };
        writeItem(convertChannels(pixels, this.channels), rect, flip, this.table, batch.inputs, count * size);
        batch.labels[count] = this.dataset.label(item.index);
        batch.indices[count] = item.index;
        if (++count === batchSize) {
          yield batch;
          [batch, count] = [null, 0];
        }
      }
      if (batch && !dropLast) yield trim(batch, count);
      if (skipped.length > 0 && skipped.length === this.dataset.size) {
        // Nothing to learn from or score: a coded error, not an epoch of NaN.
        const why = skipped.slice(0, 3).map((s) => `${s.key} (${s.reason})`).join(', ');
        throw new MarsError('ERR_DATA', `every one of the ${skipped.length} items was skipped in epoch ${epoch}, e.g. ${why}; check the data and the transforms`);
      }
    } finally {
      if (skipped.length > 0) this.report({ epoch, count: skipped.length, items: skipped });
    }
  }

  /** Never rejects: a failure is a value, judged in order by the skip/fail policy. */
  private async load(index: number, epoch: number): Promise<Loaded> {
    try {
      const rng = new Rng(deriveSeed(this.options.seed, Stream.augment, epoch, index));
      return { index, decoded: await decodeItem(this.dataset.ref(index), this.options.transforms, rng) };
    } catch (error) {
      return { index, error };
    }
  }

  /** Items of different sizes cannot share a batch: that is a missing transform, not a bad file. */
  private checkShape(height: number, width: number, index: number): number {
    this.itemShape ??= [this.channels, height, width];
    const [c, h, w] = this.itemShape;
    if (h !== height || w !== width) {
      throw new MarsError('ERR_DATA_SIZE', `${this.dataset.key(index)} is ${height}×${width} after transforms but earlier items are ${h}×${w}: add a resize or crop so that all items have one size`);
    }
    return c * h * w;
  }

  private report(summary: SkipSummary): void {
    if (this.options.onSkipped) return this.options.onSkipped(summary);
    const shown = summary.items.slice(0, 5).map((s) => `${s.key} (${s.reason})`);
    const more = summary.count > shown.length ? `, and ${summary.count - shown.length} more` : '';
    process.emitWarning(`epoch ${summary.epoch}: skipped ${summary.count} unreadable items: ${shown.join(', ')}${more}`, { code: 'MARS_DATA_SKIPPED' });
  }
}

/** The last, short batch, in arrays of its own size (a native consumer may use the whole buffer). */
function trim(batch: Batch, count: number): Batch {
  const size = batch.inputs.length / batch.shape[0];
  const [, c, h, w] = batch.shape;
  return {
    inputs: batch.inputs.slice(0, count * size),
    shape: [count, c, h, w],
    labels: batch.labels.slice(0, count),
    indices: batch.indices.slice(0, count),
  };
}
