/**
 * Zod schemas for every data option. They are the one source of defaults:
 * code reads parsed options and never restates a default.
 */
import { z } from 'zod';
import type { ParameterInfo } from '../native/surface.js';

const positiveInt = z.number().int().positive();
const seed = z.number().int().min(0).max(0xffffffff).default(0);
const fraction = z.number().gt(0).lt(1);
/** `n` means n×n; a pair is [height, width], as in torchvision. */
const size2d = z
  .union([positiveInt, z.tuple([positiveInt, positiveInt])])
  .transform((s): [number, number] => (typeof s === 'number' ? [s, s] : s));
const range = (lo: number, hi: number) =>
  z.tuple([z.number().positive(), z.number().positive()]).default([lo, hi]).refine(([a, b]) => a <= b, 'range must be [low, high]');

/** sharp's kernels; `linear` is the default because it is what torchvision's Resize uses (antialiased bilinear). */
export const kernelSchema = z
  .enum(['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3', 'mks2013', 'mks2021'])
  .default('linear');

export const transformSchema = z.discriminatedUnion('op', [
  z.strictObject({
    op: z.literal('resize'),
    /** A number sets the shorter side (aspect kept, longer side truncated like torchvision); a pair is exact [h, w]. */
    size: z.union([positiveInt, z.tuple([positiveInt, positiveInt])]),
    kernel: kernelSchema,
  }),
  z.strictObject({ op: z.literal('centerCrop'), size: size2d }),
  z.strictObject({ op: z.literal('randomCrop'), size: size2d }),
  z.strictObject({
    op: z.literal('randomResizedCrop'),
    size: size2d,
    scale: range(0.08, 1).refine(([, hi]) => hi <= 1, 'scale must be within (0, 1]'),
    ratio: range(3 / 4, 4 / 3),
    kernel: kernelSchema,
  }),
  z.strictObject({ op: z.literal('horizontalFlip'), p: z.number().min(0).max(1).default(0.5) }),
  z.strictObject({ op: z.literal('toChannels'), channels: z.union([z.literal(1), z.literal(3)]) }),
  z.strictObject({
    op: z.literal('normalize'),
    mean: z.array(z.number()).min(1),
    std: z.array(z.number().positive()).min(1),
  }),
]);

/** Select classes (relabelled 0..k-1 in the given order), then sample n per class or a fraction of each. */
export const selectOptionsSchema = z
  .strictObject({
    classes: z.array(z.number().int()).min(1).optional(),
    perClass: positiveInt.optional(),
    fraction: fraction.optional(),
    /** New names of the classes, in label order after `classes` (e.g. for IDX data, whose classes are "0".."9"). */
    classNames: z.array(z.string().min(1)).min(1).optional(),
    seed,
  })
  .refine((o) => o.perClass === undefined || o.fraction === undefined, 'give perClass or fraction, not both');

/** In-memory pixels: N items of height × width × channels uint8, interleaved (numpy's NHWC). */
export const arraySourceSchema = z.strictObject({
  pixels: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'pixels must be a Uint8Array'),
  labels: z.custom<ArrayLike<number>>((v) => typeof (v as ArrayLike<number> | null)?.length === 'number', 'labels must be array-like'),
  width: positiveInt,
  height: positiveInt,
  channels: z.union([z.literal(1), z.literal(3)]),
  /** Label i is classNames[i]; without them, "0".."max label". */
  classNames: z.array(z.string()).min(1).optional(),
  /** Names items in messages as `name#index`. */
  name: z.string().default('array'),
});

export const splitOptionsSchema = z.strictObject({ validation: fraction, seed });

/** What a skipped item was and why; `index` is the dataset index, `key` the file (or file#item). */
export interface SkippedItem {
  index: number;
  key: string;
  reason: string;
}
export interface SkipSummary {
  epoch: number;
  count: number;
  items: SkippedItem[];
}

export const loaderOptionsSchema = z.strictObject({
  batchSize: positiveInt.default(32),
  shuffle: z.boolean().default(true),
  seed,
  dropLast: z.boolean().default(false),
  /** Batches decoded ahead of the consumer; memory is bounded by this, not by the dataset. */
  prefetch: positiveInt.default(2),
  /**
   * Items decoding at once. sharp works on libuv's thread pool; twice its
   * size keeps it busy across each item's hops (read, header, decode), as
   * measured in docs/data.md. Set UV_THREADPOOL_SIZE to use more cores.
   */
  concurrency: positiveInt.default(() => 2 * (Number(process.env.UV_THREADPOOL_SIZE) || 4)),
  onError: z.enum(['skip', 'fail']).default('skip'),
  /**
   * `auto`: JPEG and PNG files on the native image path when every transform
   * has it (resampling with the `linear` kernel), other files in sharp;
   * `sharp`: every file in sharp. See docs/data.md for what each measures.
   */
  decoder: z.enum(['auto', 'sharp']).default('auto'),
  /**
   * The most pixels (width × height) an image file may have: a larger one is
   * skipped as unreadable, judged from its header before any memory is
   * allocated for it. The default is sharp's limitInputPixels (16383²), about
   * 800 MB of decoded RGB.
   */
  maxPixels: positiveInt.max(Number.MAX_SAFE_INTEGER).default(0x3fff * 0x3fff),
  /** Natively built batches in page-locked memory (CUDA LibTorch only), for asynchronous copies to the GPU. */
  pinMemory: z.boolean().default(false),
  transforms: z.array(transformSchema).default([]),
  /** The backbone's parameter listing; without a `toChannels` transform, batches get its input channels. */
  backbone: z.custom<readonly ParameterInfo[]>((v) => Array.isArray(v), 'backbone must be a parameter listing').optional(),
  /** Stops the epoch: the next batch rejects with ERR_ABORTED and decoding stops. */
  signal: z.instanceof(AbortSignal).optional(),
  /**
   * This rank's share of every epoch's order in a data-parallel job
   * (DistributedSampler semantics, see shard.ts): `remainder` pads (default)
   * or drops the items past a multiple of `count`, or (`none`) leaves the
   * shards uneven so that every item is seen once (evaluation).
   */
  shard: z
    .strictObject({
      rank: z.number().int().nonnegative(),
      count: positiveInt,
      remainder: z.enum(['pad', 'drop', 'none']).default('pad'),
    })
    .refine((s) => s.rank < s.count, 'shard.rank must be below shard.count')
    .optional(),
  /** Called once per epoch when items were skipped; the default emits a process warning. */
  onSkipped: z.custom<(summary: SkipSummary) => void>((v) => typeof v === 'function').optional(),
});

export type Transform = z.output<typeof transformSchema>;
export type TransformInput = z.input<typeof transformSchema>;
export type Kernel = z.output<typeof kernelSchema>;
export type SelectOptions = z.input<typeof selectOptionsSchema>;
export type SplitOptions = z.input<typeof splitOptionsSchema>;
export type ArraySource = z.input<typeof arraySourceSchema>;
export type LoaderOptions = z.input<typeof loaderOptionsSchema>;
export type ParsedLoaderOptions = z.output<typeof loaderOptionsSchema>;

