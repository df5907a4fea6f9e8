/**
 * Hyperparameter search: `search` picks a regulariser's hyperparameters (and
 * optimiser fields) by fine-tuning one setting per trial and scoring it on a
 * validation set, a hold-out split or (repeated) stratified k-fold
 * cross-validation; its room holds the search spaces and the reference's
 * default spaces (space.ts), the random and tree-structured Parzen estimator
 * samplers (samplers.ts, parzen.ts), the folds, the pruners that stop
 * hopeless trials from their per-epoch validation scores, one trial's run
 * (trial.ts), the pool that runs trials in this process or in child
 * processes (runner.ts, worker.ts, transfer.ts), and the append-only journal
 * that makes a search resumable (journal.ts, its records checked by record.ts).
 */
export { search, type SearchResult } from './search.js';
export { SearchSchema, SelectionSchema, type SearchOptions, type SearchProgress, type SelectionOptions } from './options.js';
export { choice, defaultSpace, int, logUniform, uniform, type Dimension, type ParamValue, type Params, type Space } from './space.js';
export { suggest, type SamplerOptions } from './samplers.js';
export { stratifiedHoldout, stratifiedKFold, type Fold, type HoldoutOptions, type KFoldOptions } from './folds.js';
export type { PrunerOptions } from './pruner.js';
export type { EpochScore, FoldScore, Objective, TrialEpoch, TrialRecord } from './trial.js';
