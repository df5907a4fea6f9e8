/** zod schemas of the bound's public options: the single source of their defaults and checks. */
import { z } from 'zod';
import { Module } from '../torch/module.js';
import type { BoundData } from './data.js';

export const RadiiSchema = z
  .object({
    /** γ_ext: radius of every backbone layer's rows. */
    backbone: z.number().nonnegative().finite(),
    /** γ_cls: radius of the head's rows (the layer(s) that produce the output). */
    head: z.number().nonnegative().finite(),
    /** Radius of BatchNorm scales; defaults to `backbone`. */
    batchnorm: z.number().nonnegative().finite().optional(),
    /** Overrides by module path (`layer1.0.conv1`, `layer1.0.bn1`, `head`). */
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
  })
  .strict()
  .refine((o) => o.mode !== 'apriori' || o.radii !== undefined, { message: "mode 'apriori' needs radii: { backbone, head }", path: ['radii'] })
  .refine((o) => o.mode !== 'posthoc' || o.radii === undefined, { message: "radii are only used in mode 'apriori'", path: ['radii'] });

export type BoundOptions = z.input<typeof BoundOptionsSchema>;
export type Radii = z.output<typeof RadiiSchema>;
