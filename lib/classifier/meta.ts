/**
 * What a checkpoint's `mars/meta.json` holds, as one zod schema: it is
 * validated on every load, so a file edited or damaged by hand is refused
 * with ERR_CHECKPOINT naming the field, never trusted into a TypeError later
 * (or a resume "after undefined epochs"). Unknown fields are kept, so newer
 * checkpoints still load.
 */
import { z } from 'zod';
import { transformSchema } from '../data/options.js';
import { MarsError } from '../errors.js';

const count = z.number().int().nonnegative();
const finite = z.number().finite();

/** Where in its epoch a run stopped when it stopped mid-epoch: what resuming needs to continue exactly. */
export const RunPositionSchema = z.strictObject({
  /** Batches of the epoch after the completed ones already trained. */
  batch: z.number().int().positive(),
  /** The epoch's running sums so far (loss and penalty weighted by batch size). */
  loss: finite,
  penalty: finite,
  correct: count,
  count,
  seconds: z.number().nonnegative(),
});
export type RunPosition = z.output<typeof RunPositionSchema>;

/** The monitored best so far (best.pt holds its weights), the value that breaks its ties, and the epochs since it. */
export const BestSchema = z.strictObject({ value: finite, tie: finite.optional(), epoch: z.number().int().positive(), sinceBest: count });

export const CheckpointMetaSchema = z
  .looseObject({
    format: z.literal(1),
    classNames: z.array(z.string()).min(2),
    method: z.string().min(1),
    /** The regulariser's full settings (defaults filled in), so the bound can read the class a run was trained in. */
    regulariser: z.looseObject({ method: z.string() }).optional(),
    /** Epochs completed. */
    epoch: count,
    featureDim: z.number().int().positive(),
    pool: z.boolean(),
    /** (C, H, W) of one input. */
    itemShape: z.array(z.number().int().positive()).length(3),
    /** The evaluation transforms, so predictions preprocess as training did. */
    evalTransforms: z.array(transformSchema),
    /** Everything in history so far (one entry per completed epoch). */
    history: z
      .array(z.unknown())
      .refine((h) => h.every((e, i) => (e as { epoch?: unknown } | null)?.epoch === i + 1), 'history entries must be numbered 1, 2, ...'),
    /** Set when the run stopped inside an epoch (Ctrl-C, an abort signal). */
    position: RunPositionSchema.optional(),
    /** Set when the run monitors a metric. */
    best: BestSchema.optional(),
  })
  .refine((m) => m.history.length === m.epoch, { message: 'history must hold one entry per completed epoch', path: ['history'] });

/**
 * What fineTune records about the run that made a checkpoint (method,
 * regulariser settings, history), typed. Its fields are declared in lib/train
 * (options.ts), which owns their types and sits above this room, by
 * declaration merging: this room never imports upward, and `meta` is still
 * fully typed wherever the package is used. The schema above checks their shape.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface TrainingRecord {}

/** The schema's fields, without the index signature its kept unknown fields give it. */
type MetaFields = { [K in keyof z.output<typeof CheckpointMetaSchema> as string extends K ? never : K]: z.output<typeof CheckpointMetaSchema>[K] };

export type CheckpointMeta = Omit<MetaFields, keyof TrainingRecord> & TrainingRecord;

/** The meta of a checkpoint file, validated; ERR_CHECKPOINT saying what is wrong. */
export function parseCheckpointMeta(text: string, path: string): CheckpointMeta {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new MarsError('ERR_CHECKPOINT', `${path}: mars/meta.json is not JSON (${(cause as Error).message}); the checkpoint is damaged`, { cause });
  }
  const result = CheckpointMetaSchema.safeParse(value);
  if (result.success) return result.data as CheckpointMeta;
  const problems = result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'meta'}: ${i.message}`);
  throw new MarsError('ERR_CHECKPOINT', `${path}: mars/meta.json is not a valid checkpoint description (${problems.slice(0, 3).join('; ')}); the checkpoint is damaged or was edited`);
}
