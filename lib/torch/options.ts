/** zod schemas of the LibTorch layer's options (load, save, tensors, devices): the one source of their defaults. */
import { z } from 'zod';

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
