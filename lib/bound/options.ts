/** zod schemas of the bound's public options: the single source of their defaults and checks. */
import { z } from 'zod';
import { Module } from '../torch/module.js';
import type { BoundData } from './data.js';

/**
 * The a priori class in MARS-SP's own terms (see `marsSpRadii` for a run's
 * regulariser settings): what its projections keep every constrained tensor
 * within. Keys of `layers` are parameter names, as the regulariser's overrides match them.
 */
export const RadiiSchema = z
  .object({
    /** γ_ext: MARS radius of every conv/linear weight row around its initial value (not the head's). */
    backbone: z.number().nonnegative().finite(),
    /** γ_cls: MARS radius of the head's weight rows around zero (the layer(s) that produce the output). */
    head: z.number().nonnegative().finite(),
    /** The clip of BatchNorm scales γ / sqrt(var + 1e-6) around their initial values; defaults to `backbone`. */
    batchnorm: z.number().nonnegative().finite().optional(),
    /** Biases were projected too (MARS-SP's `includeBias`), each entry within its layer's radius (`backbone` or `head`). */
    includeBias: z.boolean().default(false),
    /** Radii by parameter name (`layer1.0.conv1.weight`, `layer1.0.bn1.weight`, `head.bias`), over the defaults above. */
    layers: z.record(z.string(), z.number().nonnegative().finite()).optional(),
  })
  .strict();

const ModelSchema = z.union([z.string().min(1), z.instanceof(Module)], { error: 'expected a loaded Module or the path of a TorchScript file' });

export const BoundOptionsSchema = z
  .object({
    /** The fine-tuned network, loaded or a TorchScript path. */
    model: ModelSchema,
    /** The initial network: the full pre-trained network, or the backbone alone (a missing head starts at zero). */
    init: ModelSchema,
    /** The m training inputs with labels. */
    data: z.custom<BoundData>((v) => typeof v === 'object' && v !== null, {
      error: 'expected { inputs: Tensor, labels } or an (async) iterable of { inputs, shape, labels } batches',
    }),
    /** ρ of the margin loss. */
    margin: z.number().positive().finite().default(1),
    /** The bound holds with probability at least 1 - δ. */
    delta: z.number().gt(0).lt(1).default(0.05),
    /** `posthoc`: the class is set by the measured distances; `apriori`: by the radii MARS-SP projected onto. */
    mode: z.enum(['posthoc', 'apriori']).default('posthoc'),
    radii: RadiiSchema.optional(),
    /** Also compute spectral norms and the spectral comparison bound (the slow part on large networks). */
    spectral: z.boolean().default(true),
    /** Inputs per forward pass when `data` is in memory. */
    batchSize: z.number().int().positive().default(256),
    /** Aborts the computation between batches and layers (rejects with ERR_ABORTED). */
    signal: z.instanceof(AbortSignal).optional(),
  })
  .strict()
  .refine((o) => o.mode !== 'apriori' || o.radii !== undefined, { message: "mode 'apriori' needs radii: { backbone, head }", path: ['radii'] })
  .refine((o) => o.mode !== 'posthoc' || o.radii === undefined, { message: "radii are only used in mode 'apriori'", path: ['radii'] });

export type BoundOptions = z.input<typeof BoundOptionsSchema>;
export type Radii = z.output<typeof RadiiSchema>;
