/**
 * zod schemas for every public option: the single source of defaults and
 * validation. `parseOptions` turns a zod failure into ERR_INVALID_ARGUMENT
 * naming the field and what it accepts.
 */
import { z } from 'zod';
import { MarsError } from './errors.js';

export const DtypeSchema = z.enum(['float32', 'float64', 'int64', 'int32', 'uint8', 'bool', 'float16', 'bfloat16']);

/** `cpu`, `cuda` or `cuda:N`. */
export const DeviceSchema = z
  .string()
  .regex(/^(cpu|cuda(:\d+)?)$/, "expected 'cpu', 'cuda' or 'cuda:N'");

export const LoadOptionsSchema = z
  .object({
    /** Where parameters live after loading. */
    device: DeviceSchema.default('cpu'),
    /** `eval` (the default, for inference and as a fine-tuning start), `train`, or `as-saved`. */
    mode: z.enum(['eval', 'train', 'as-saved']).default('eval'),
    /** Names of extra files stored in the checkpoint to read back (see `Module.extraFiles`). */
    extraFiles: z.array(z.string().min(1)).default([]),
  })
  .strict();
export type LoadOptions = z.input<typeof LoadOptionsSchema>;

export const SaveOptionsSchema = z
  .object({
    /** Extra files stored inside the TorchScript archive (Python reads them with `_extra_files`). */
    extraFiles: z.record(z.string(), z.string()).default({}),
  })
  .strict();
export type SaveOptions = z.input<typeof SaveOptionsSchema>;

export const TensorOptionsSchema = z
  .object({
    /** Element type; defaults to the typed array's own (Float32Array → float32). */
    dtype: DtypeSchema.optional(),
  })
  .strict();
export type TensorOptions = z.input<typeof TensorOptionsSchema>;

export const ToOptionsSchema = z
  .object({ device: DeviceSchema.optional(), dtype: DtypeSchema.optional() })
  .strict();
export type ToOptions = z.input<typeof ToOptionsSchema>;

/** Validates `value` against `schema`; throws ERR_INVALID_ARGUMENT naming `what` and the field. */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.length ? `${what}.${issue.path.join('.')}` : what;
    return `${field}: ${issue.message}`;
  });
  throw new MarsError('ERR_INVALID_ARGUMENT', `invalid ${what}: ${problems.join('; ')}`);
}

/** LibTorch's optimisers. The defaults are the reference's: Adam with AMSGrad, learning rate 1e-4. */
export const OptimizerSchema = z
  .object({
    name: z.enum(['sgd', 'adam', 'adamw']).default('adam'),
    lr: z.number().finite().positive().default(1e-4),
    /** SGD only. */
    momentum: z.number().finite().min(0).max(1).default(0.9),
    /** SGD only: Nesterov momentum. */
    nesterov: z.boolean().default(false),
    weightDecay: z.number().finite().nonnegative().default(0),
    beta1: z.number().finite().min(0).lt(1).default(0.9),
    beta2: z.number().finite().min(0).lt(1).default(0.999),
    eps: z.number().finite().positive().default(1e-8),
    /** Adam/AdamW only. */
    amsgrad: z.boolean().default(true),
  })
  .strict();
export type OptimizerOptions = z.input<typeof OptimizerSchema>;

/** Learning-rate schedules, evaluated per epoch; `warmupEpochs` ramps up linearly first. */
export const ScheduleSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('constant'), warmupEpochs: z.number().int().nonnegative().default(0) }),
    z.strictObject({
      type: z.literal('step'),
      /** The reference halves the rate every 20 epochs. */
      every: z.number().int().positive().default(20),
      factor: z.number().finite().positive().default(0.5),
      warmupEpochs: z.number().int().nonnegative().default(0),
    }),
    z.strictObject({
      type: z.literal('cosine'),
      /** The rate at the last epoch, as a fraction of the initial one. */
      floor: z.number().finite().min(0).max(1).default(0),
      warmupEpochs: z.number().int().nonnegative().default(0),
    }),
  ]);
export type ScheduleOptions = z.input<typeof ScheduleSchema>;
export type Schedule = z.output<typeof ScheduleSchema>;
