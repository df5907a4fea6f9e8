/** The options of search(): one zod schema, the single source of their defaults. */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { Dataset } from '../data/dataset.js';
import { FineTuneSchema } from '../train/options.js';
import { RegulariserSchema } from '../train/regularisers.js';
import { HoldoutSchema, KFoldSchema } from './folds.js';
import { PrunerSchema } from './pruner.js';
import { SamplerSchema } from './samplers.js';
import { SpaceSchema, type Params } from './space.js';
import type { TrialEpoch, TrialRecord } from './trial.js';

/** Below this many training items in some class (and without a validation set), the default selection is k-fold. */
export const CV_BELOW_PER_CLASS = 50;

/** What every trial runs: fineTune's options less what the search decides (validation, regulariser, threads, callbacks). */
export const BaseFineTuneSchema = FineTuneSchema.omit({
  validation: true, test: true, regulariser: true, threads: true, checkpointDir: true, resume: true,
  monitor: true, patience: true, bound: true, onBatchEnd: true, onEpochEnd: true, signal: true,
});
export type BaseFineTune = Omit<z.output<typeof BaseFineTuneSchema>, 'train'>;

const dataset = z.custom<Dataset>((v) => v instanceof Dataset, 'must be a Dataset (see openDataset)');
const fn = <T>(what: string) => z.custom<T>((v) => typeof v === 'function', `${what} must be a function`);

/** How a setting is scored: on a given validation set, by (repeated) stratified k-fold, or on one stratified hold-out split. */
export const SelectionSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('validation'), data: dataset }),
  KFoldSchema.omit({ seed: true }).extend({ type: z.literal('cv') }),
  HoldoutSchema.omit({ seed: true }).extend({ type: z.literal('holdout') }),
]);
export type SelectionOptions = z.input<typeof SelectionSchema>;

/** Where a search stands after a trial. */
export interface SearchProgress {
  /** Trials finished, this run and before. */
  done: number;
  total: number;
  /** The best complete trial so far. */
  best?: TrialRecord;
  /** Seconds to go, from this run's pace; undefined before a trial of this run finished. */
  eta?: number;
}

export const SearchSchema = z.strictObject({
  /** fineTune's options, the same for every trial (`train` is the data to search on). */
  fineTune: BaseFineTuneSchema,
  /** The method and the fields the search leaves alone; the space's keys override its fields. */
  regulariser: RegulariserSchema.prefault({ method: 'mars-sp' }),
  /** Default: the method's (space.ts). */
  space: SpaceSchema.optional(),
  trials: z.number().int().positive().default(20),
  sampler: SamplerSchema.prefault({ type: 'tpe' }),
  /** Default: `validation` data if given; else 5-fold when some class has fewer than 50 items, else a 20% hold-out. */
  selection: SelectionSchema.optional(),
  /** `accuracy` (ties to the lower loss) or `loss`, on validation after the last epoch. */
  objective: z.enum(['accuracy', 'loss']).default('accuracy'),
  pruner: PrunerSchema.prefault({ type: 'none' }),
  /** Trials at once, each in a child process when more than one. */
  jobs: z.number().int().positive().default(1),
  /** LibTorch threads in all, divided among the jobs. */
  threads: z.number().int().positive().default(() => availableParallelism()),
  /** The folder of trials.jsonl, best.json and search.json; the same folder resumes. Without it nothing is kept. */
  out: z.string().min(1).optional(),
  /** Train on all the data (train, and validation when given) with the best setting; return the model. */
  refit: z.boolean().default(false),
  /** Scored by the refitted model. */
  test: dataset.optional(),
  signal: z.instanceof(AbortSignal).optional(),
  onTrialStart: fn<(t: { id: number; params: Params }, p: SearchProgress) => void>('onTrialStart').optional(),
  onEpochEnd: fn<(e: TrialEpoch) => void>('onEpochEnd').optional(),
  onTrialEnd: fn<(t: TrialRecord, p: SearchProgress) => void>('onTrialEnd').optional(),
});
export type SearchOptions = z.input<typeof SearchSchema>;
export type ParsedSearchOptions = z.output<typeof SearchSchema>;
