/**
 * One trial: fine-tune with one setting on every split (the folds, or the
 * training set against the validation set) and score it. The same code runs
 * in the search's own process and in its child processes, so a trial's
 * result does not depend on where it ran.
 */
import type { Dataset } from '../data/dataset.js';
import { codeOf, hasCode, MarsError } from '../errors.js';
import { fineTune } from '../train/finetune.js';
import type { EpochEnd, OptimizerOptions } from '../train/options.js';
import type { BaseFineTune } from './options.js';
import type { RegulariserOptions } from '../train/regularisers.js';
import { shouldPrune, type KnownCurve, type PrunerConfig } from './pruner.js';
import type { Params } from './space.js';

export type Objective = 'accuracy' | 'loss';

/** One split: indices into the training set, validated on `from` at `validation`. */
export interface Split {
  repeat: number;
  fold: number;
  train: Int32Array;
  validation: Int32Array;
  from: 'train' | 'validation';
}

/** Validation after one epoch of one split. */
export interface EpochScore {
  accuracy: number;
  loss: number;
}

export interface FoldScore extends EpochScore {
  repeat: number;
  fold: number;
  /** Validation items. */
  count: number;
  /** Validation after every epoch (the last is the fold's score). */
  epochs: EpochScore[];
}

/** One line of trials.jsonl. */
export interface TrialRecord {
  /** 1, 2, ...: trial i draws from its own random stream and knows the trials 1..i−jobs. */
  id: number;
  /** `pruned`: stopped early by the pruner; `failed`: the loss became NaN or infinite. */
  status: 'complete' | 'pruned' | 'failed';
  params: Params;
  /** The objective's value: `accuracy` (higher is better) or `loss` (lower is better); null when failed. */
  score: number | null;
  /** Over every validation item of every split (pooled), after the last epoch; for a pruned trial, where it stopped. */
  accuracy: number | null;
  loss: number | null;
  folds: FoldScore[];
  seconds: number;
  /** LibTorch threads the trial ran on. */
  threads: number;
  error?: { code: string; message: string };
}

/** Everything every trial shares. Serialisable except the datasets (and a Module backbone). */
export interface TrialContext {
  /** fineTune's options (parsed) less data, regulariser, threads and callbacks. */
  base: BaseFineTune;
  regulariser: RegulariserOptions;
  train: Dataset;
  validation?: Dataset;
  splits: Split[];
  objective: Objective;
  pruner: PrunerConfig;
  threads: number;
}

export interface TrialTask {
  id: number;
  params: Params;
  /** The known trials' curves, for the pruner. */
  known: KnownCurve[];
}

/** Progress of a trial after one epoch of one split. */
export interface TrialEpoch {
  trial: number;
  split: number;
  splits: number;
  epoch: number;
  epochs: number;
  validation: EpochScore;
}

/** The value the pruner and the curves use: higher is better. */
export const curveValue = (objective: Objective, s: EpochScore) => (objective === 'accuracy' ? s.accuracy : -s.loss);

/** A trial's curve: its values after every epoch of every split, in order. */
export const curveOf = (objective: Objective, r: TrialRecord) => r.folds.flatMap((f) => f.epochs.map((e) => curveValue(objective, e)));

/** Whether `a` beats `b`: higher accuracy, ties to the lower loss; or lower loss. */
export function better(objective: Objective, a: EpochScore, b: EpochScore): boolean {
  return objective === 'accuracy' ? a.accuracy > b.accuracy || (a.accuracy === b.accuracy && a.loss < b.loss) : a.loss < b.loss;
}

/** The regulariser and optimiser of a setting: the space's keys over the base's fields. */
export function applyParams(regulariser: RegulariserOptions, optimizer: OptimizerOptions | undefined, params: Params) {
  const reg: Record<string, unknown> = { ...regulariser };
  const opt: Record<string, unknown> = { ...optimizer };
  for (const [key, value] of Object.entries(params)) {
    if (key.startsWith('optimizer.')) opt[key.slice('optimizer.'.length)] = value;
    else reg[key] = value;
  }
  return { regulariser: reg as RegulariserOptions, optimizer: opt as OptimizerOptions };
}

function pooled(folds: FoldScore[], last?: EpochScore & { count: number }): EpochScore {
  const parts = last ? [...folds, last] : folds;
  const count = parts.reduce((a, f) => a + f.count, 0);
  return {
    accuracy: parts.reduce((a, f) => a + f.accuracy * f.count, 0) / count,
    loss: parts.reduce((a, f) => a + f.loss * f.count, 0) / count,
  };
}

/** Runs one trial; rejects only on an abort of `signal` or an error that every trial would meet. */
export async function runTrial(ctx: TrialContext, task: TrialTask, onEpoch?: (e: TrialEpoch) => void, signal?: AbortSignal): Promise<TrialRecord> {
  const started = performance.now();
  const { regulariser, optimizer } = applyParams(ctx.regulariser, ctx.base.optimizer, task.params);
  const epochs = ctx.base.epochs;
  const steps = epochs * ctx.splits.length;
  const folds: FoldScore[] = [];
  const curve: number[] = [];
  const record = (status: TrialRecord['status'], score: EpochScore | null, error?: TrialRecord['error']): TrialRecord => ({
    id: task.id, status, params: task.params, score: score && (ctx.objective === 'accuracy' ? score.accuracy : score.loss),
    accuracy: score && score.accuracy, loss: score && score.loss, folds, seconds: (performance.now() - started) / 1000,
    threads: ctx.threads, ...(error ? { error } : {}),
  });
  for (const [index, split] of ctx.splits.entries()) {
    const pruner = new AbortController();
    const validation = (split.from === 'train' ? ctx.train : ctx.validation!).subset(split.validation);
    const scores: EpochScore[] = [];
    const onEpochEnd = (e: EpochEnd) => {
      const v = { accuracy: e.validation!.accuracy, loss: e.validation!.loss };
      scores.push(v);
      curve.push(curveValue(ctx.objective, v));
      onEpoch?.({ trial: task.id, split: index, splits: ctx.splits.length, epoch: e.epoch, epochs, validation: v });
      if (shouldPrune(ctx.pruner, curve, task.known, epochs, steps)) pruner.abort();
    };
    const partial = () => ({ repeat: split.repeat, fold: split.fold, count: validation.size, epochs: scores, ...scores.at(-1)! });
    try {
      const fitted = await fineTune({
        ...ctx.base, regulariser, optimizer, threads: ctx.threads,
        train: ctx.train.subset(split.train), validation,
        signal: signal ? AbortSignal.any([signal, pruner.signal]) : pruner.signal,
        onEpochEnd,
      });
      fitted.model.dispose();  // a trial keeps its scores, not its weights
    } catch (e) {
      if (signal?.aborted) throw e;
      if (pruner.signal.aborted && hasCode(e, 'ERR_ABORTED')) return record('pruned', pooled(folds, partial()));
      if (hasCode(e, 'ERR_NONFINITE_LOSS')) {
        return record('failed', null, { code: codeOf(e)!, message: (e as Error).message });
      }
      throw e;
    }
    if (scores.length !== epochs) throw new MarsError('ERR_TRAINING', `trial ${task.id} trained ${scores.length} of ${epochs} epochs`);
    // Pruned after the fold's last epoch: fineTune had no batch left to stop at.
    if (pruner.signal.aborted) return record('pruned', pooled(folds, partial()));
    folds.push(partial());
  }
  return record('complete', pooled(folds));
}
