/**
 * An experiment's configuration (`mars-ft experiment CONFIG`): one zod schema,
 * the single source of its defaults and checks. Paths in the file are
 * relative to the file.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { MarsError } from '../errors.js';
import { SamplerSchema } from '../search/samplers.js';
import { OptimizerSchema, ScheduleSchema } from '../train/options.js';
import { METHODS } from '../train/regularisers.js';
import { parseOptions } from '../util/parse-options.js';

/** The rows: every regulariser, plus training from scratch and a linear probe (both without a regulariser). */
export const ROWS = [...METHODS, 'scratch', 'linear-probe'] as const;
export type Row = (typeof ROWS)[number];

const positiveInt = z.number().int().positive();

/** How every run of a study trains; `epochs` may depend on n (images per class), keyed by n. */
export const RecipeSchema = z.strictObject({
  optimizer: OptimizerSchema,
  schedule: ScheduleSchema,
  batchSize: positiveInt.default(32),
  epochs: z.union([positiveInt, z.record(z.string().regex(/^\d+$/), positiveInt)]),
});

/** One block of the comparison: a recipe and a BatchNorm mode over sizes and rows. */
export const StudySchema = z.strictObject({
  recipe: z.string().min(1),
  batchNorm: z.enum(['update', 'freeze']).default('update'),
  sizes: z.array(positiveInt).min(1),
  rows: z.array(z.enum(ROWS)).min(1),
});

export const ExperimentSchema = z
  .strictObject({
    name: z.string().regex(/^[\w.-]+$/, 'letters, digits, _ . - only'),
    description: z.string().default(''),
    /** The pre-trained backbone (TorchScript). */
    backbone: z.string().min(1),
    target: z.strictObject({
      /** Data specs as openDataset takes them (`idx:IMAGES,LABELS`, a folder, ...). */
      train: z.string().min(1),
      test: z.string().min(1),
      classes: z.array(z.number().int().nonnegative()).min(2).optional(),
      /** Score on this many test images per class (drawn once, seed 0) instead of all. */
      testPerClass: positiveInt.optional(),
    }),
    recipes: z.record(z.string().min(1), RecipeSchema),
    studies: z.array(StudySchema).min(1),
    /** Paired seeds of the final runs: seed s draws the same n images per class for every row. */
    seeds: z.number().int().min(2).default(5),
    search: z
      .strictObject({
        /** Trials per searched row and cell; every regulariser gets the same number. */
        trials: positiveInt.default(8),
        /** Stratified k-fold cross-validation on the search's own draw of n per class. */
        folds: z.number().int().min(2).default(3),
        sampler: SamplerSchema.prefault({ type: 'tpe' }),
        /** Also search the learning rate on this range (log-uniform), in every row; default: the recipe's. */
        lr: z.tuple([z.number().positive(), z.number().positive()]).optional(),
      })
      .prefault({}),
    bound: z.strictObject({ margin: z.number().positive().default(1), delta: z.number().gt(0).lt(1).default(0.05) }).prefault({}),
    /** MARS-SP and Frobenius-SP with their searched radii scaled by 10^k (issue 13 item 5). */
    sensitivity: z
      .strictObject({
        recipe: z.string().min(1),
        batchNorm: z.enum(['update', 'freeze']).default('update'),
        n: positiveInt,
        methods: z.array(z.enum(['mars-sp', 'frobenius-sp'])).min(1).default(['mars-sp', 'frobenius-sp']),
        exponents: z.array(z.number().int()).min(1).default([-3, -2, -1, 0, 1, 2, 3]),
        seeds: z.number().int().min(1).default(3),
      })
      .optional(),
    threads: positiveInt.optional(),
  })
  .superRefine((c, ctx) => {
    const recipes = [...c.studies.map((s) => s.recipe), ...(c.sensitivity ? [c.sensitivity.recipe] : [])];
    for (const r of recipes) if (!(r in c.recipes)) ctx.addIssue({ code: 'custom', message: `recipe '${r}' is not in recipes (${Object.keys(c.recipes).join(', ')})` });
    for (const s of c.studies) {
      const epochs = c.recipes[s.recipe]?.epochs;
      for (const n of s.sizes) {
        if (typeof epochs === 'object' && !(String(n) in epochs)) ctx.addIssue({ code: 'custom', message: `recipe '${s.recipe}' gives no epochs for n = ${n}` });
      }
    }
    const sens = c.sensitivity;
    if (sens && !c.studies.some((s) => s.recipe === sens.recipe && s.batchNorm === sens.batchNorm && s.sizes.includes(sens.n) && sens.methods.every((m) => s.rows.includes(m)))) {
      ctx.addIssue({ code: 'custom', message: 'sensitivity scales searched radii: a study must have its recipe, batchNorm, n and methods' });
    }
  });
export type ExperimentConfig = z.output<typeof ExperimentSchema>;
export type Recipe = z.output<typeof RecipeSchema>;

/** Reads and checks a configuration file; its paths become absolute (relative to the file). */
export function readConfig(file: string): ExperimentConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new MarsError('ERR_INVALID_ARGUMENT', `cannot read the experiment configuration ${file}: ${(e as Error).message}`);
  }
  const config = parseOptions(ExperimentSchema, raw, `experiment configuration ${file}`);
  const here = dirname(resolve(file));
  const path = (p: string) => (isAbsolute(p) ? p : resolve(here, p));
  // `idx:IMAGES,LABELS` names two files; any other spec is one path (openDataset's grammar).
  const spec = (s: string) => (s.startsWith('idx:') ? `idx:${s.slice('idx:'.length).split(',').map(path).join(',')}` : path(s));
  return { ...config, backbone: path(config.backbone), target: { ...config.target, train: spec(config.target.train), test: spec(config.target.test) } };
}

/** The epochs of a recipe at n images per class. */
export const epochsAt = (recipe: Recipe, n: number): number => (typeof recipe.epochs === 'number' ? recipe.epochs : (recipe.epochs[String(n)] as number));
