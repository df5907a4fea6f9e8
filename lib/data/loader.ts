/**
 * Streams a dataset as batches: a seeded order per epoch, `concurrency` items
 * decoding at once (off the main thread: JPEG and PNG files on the addon's
 * image threads, see native-decode.ts, other files in sharp), at most
 * `prefetch` finished batches waiting for the consumer. Memory is bounded by
 * those two numbers, not by the dataset; a full queue stops decoding
 * (backpressure). Batches of natively decoded files are LibTorch tensors
 * (`batch.tensor`); the others are typed arrays, reused once the consumer
 * hands them back with `release`.
 */
import { Readable } from 'node:stream';
import { MarsError } from '../errors.js';
import { inferInputChannels } from './channels.js';
import type { Dataset } from './dataset.js';
import { decodeItem, type Decoded } from './decode.js';
import { parseOptions } from '../util/parse-options.js';
import { loaderOptionsSchema, type LoaderOptions, type ParsedLoaderOptions, type SkippedItem, type SkipSummary } from './options.js';
import { mapOrdered } from './ordered.js';
import { batchTensor, copyItem, decodeNative, nativeSupports } from './native-decode.js';
import { convertChannels, valueTable, writeItem } from './pixels.js';
import { deriveSeed, Rng, shuffle, Stream } from './rng.js';
import { shardLength, shardOrder } from './shard.js';
import type { Tensor } from '../torch/tensor.js';

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
  /**
   * The inputs as a LibTorch tensor when the loader built the batch in native
   * memory (natively decoded image files): `inputs` is a view of it. Give it
   * to a step as it is; `tensor(inputs)` would copy it.
   */
  tensor?: Tensor<'float32'>;
}

type Loaded = { index: number; decoded: Decoded } | { index: number; item: Tensor } | { index: number; error: unknown };

export class DataLoader {
  readonly options: ParsedLoaderOptions;
  /** Channels of every batch: a toChannels transform's, else the backbone's input channels, else the dataset's. */
  readonly channels: 1 | 3;
  private readonly table: Float32Array;
  /** [C, H, W] of the first item; every later item must match it. */
  private itemShape: [number, number, number] | null = null;
  /** Files go to the native image path (JPEG and PNG; sharp for the rest). */
  private readonly native: boolean;
  /** Inputs arrays handed back by `release`, for the next batches. */
  private readonly spare: Float32Array[] = [];

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
    this.native = this.options.decoder === 'auto' && nativeSupports(this.options.transforms) && dataset.size > 0 && dataset.ref(0).kind === 'file';
  }

  /**
   * Hands a batch back once you are done with it (its arrays and tensor must
   * not be used afterwards): its memory serves the next batches instead of
   * waiting for the garbage collector. Optional.
   */
  release(batch: Batch): void {
    if (batch.tensor) batch.tensor.dispose();
    else if (batch.shape[0] === this.options.batchSize && this.spare.length < this.options.prefetch + 2) this.spare.push(batch.inputs);
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
    const order = this.order(epoch);
    let batch: Batch | null = null;
    let count = 0;
    let taken = 0;
    try {
      for await (const item of mapOrdered(order, concurrency, (i) => this.load(i, epoch))) {
        // This item and those after it, skipped ones included: a new batch needs room for no more.
        const remaining = order.length - taken++;
        if (this.options.signal?.aborted) throw new MarsError('ERR_ABORTED', `data loading aborted in epoch ${epoch}`, { cause: this.options.signal.reason });
        if ('error' in item) {
          const key = this.dataset.key(item.index);
          const reason = item.error instanceof Error ? item.error.message : String(item.error);
          if (onError === 'fail') throw new MarsError('ERR_DATA_FILE', `cannot load ${key}: ${reason}`, { cause: item.error });
          skipped.push({ index: item.index, key, reason });
          continue;
        }
        if ('item' in item) {
          const [, h, w] = item.item.shape as [number, number, number];
          this.checkShape(h, w, item.index);
          batch ??= this.newBatch(remaining);
          copyItem(batch.tensor!, count, item.item);
          item.item.dispose();
        } else {
          const { pixels, crop, flip } = item.decoded;
          const rect = crop ?? { left: 0, top: 0, width: pixels.width, height: pixels.height };
          const size = this.checkShape(rect.height, rect.width, item.index);
          batch ??= this.newBatch(remaining);
          writeItem(convertChannels(pixels, this.channels), rect, flip, this.table, batch.inputs, count * size);
        }
        batch.labels[count] = this.dataset.label(item.index);
        batch.indices[count] = item.index;
        if (++count === batchSize) {
          yield batch;
          [batch, count] = [null, 0];
        }
      }
      if (batch && !dropLast) yield trim(batch, count, this.options.pinMemory);
      if (skipped.length > 0 && skipped.length === this.dataset.size) {
        // Nothing to learn from or score: a coded error, not an epoch of NaN.
        const why = skipped.slice(0, 3).map((s) => `${s.key} (${s.reason})`).join(', ');
        throw new MarsError('ERR_DATA', `every one of the ${skipped.length} items was skipped in epoch ${epoch}, e.g. ${why}; check the data and the transforms`);
      }
    } finally {
      if (skipped.length > 0) this.report({ epoch, count: skipped.length, items: skipped });
    }
  }

  /**
   * An empty batch for items of `itemShape`: a native tensor for native items, else (reused) arrays. It holds
   * `batchSize` items, or the `remaining` items of the epoch when fewer: a batch size far above the dataset's
   * (1e9 for "everything at once") costs the dataset's memory, not the batch size's.
   */
  private newBatch(remaining: number): Batch {
    const { batchSize, pinMemory } = this.options;
    const slots = Math.min(batchSize, remaining);
    const shape: Batch['shape'] = [slots, ...this.itemShape!];
    const labels = new Int32Array(slots);
    const indices = new Int32Array(slots);
    if (this.native) {
      const tensor = batchTensor(shape, pinMemory);
      let view: Float32Array | undefined;
      // The view is made only when asked for: a consumer that takes `tensor` never holds the memory through it.
      return { get inputs() { return (view ??= tensor.data()); }, shape, labels, indices, tensor };
    }
    const size = this.itemShape!.reduce((a, b) => a * b, 1);
    const spare = slots === batchSize ? this.spare.pop() : undefined;
    return { inputs: spare ?? new Float32Array(slots * size), shape, labels, indices };
  }

  /** Never rejects: a failure is a value, judged in order by the skip/fail policy. */
  private async load(index: number, epoch: number): Promise<Loaded> {
    // The item's random choices come from its own stream: a file sharp decodes after all draws the same ones.
    const rng = () => new Rng(deriveSeed(this.options.seed, Stream.augment, epoch, index));
    try {
      const ref = this.dataset.ref(index);
      if (this.native && ref.kind === 'file') {
        const item = await decodeNative(ref.path, this.options.transforms, rng(), this.channels, this.table, this.options.maxPixels);
        if (item) return { index, item };
      }
      return { index, decoded: await decodeItem(ref, this.options.transforms, rng(), this.options.maxPixels) };
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

/** The last batch, in arrays (or a tensor) of its own size when short: a native consumer may use the whole buffer. */
function trim(batch: Batch, count: number, pinned: boolean): Batch {
  const [slots, c, h, w] = batch.shape;
  if (count === slots) return batch;
  const shape: Batch['shape'] = [count, c, h, w];
  const kept = batch.inputs.subarray(0, count * c * h * w);
  const rest = { shape, labels: batch.labels.slice(0, count), indices: batch.indices.slice(0, count) };
  if (!batch.tensor) return { inputs: kept.slice(), ...rest };
  const tensor = batchTensor(shape, pinned);
  const inputs = tensor.data();
  inputs.set(kept);
  batch.tensor.dispose();
  return { inputs, tensor, ...rest };
}
