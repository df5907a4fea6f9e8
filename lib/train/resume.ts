/**
 * Resuming a run exactly where it stopped. A checkpoint records the completed
 * epochs and, when the run stopped inside an epoch, how many batches of the
 * next one it had trained with that epoch's running sums (meta.position),
 * besides the weights, W0, the optimiser's state, the run's random streams
 * and the monitored best. Each epoch's data order and augmentation are seeded
 * by (seed, epoch), so the resumed run replays the epoch's order, skips the
 * batches already trained and continues: its weights are those of an
 * uninterrupted run. A checkpoint that cannot give that (no optimiser state,
 * other classes, a missing best.pt) is refused with ERR_CHECKPOINT.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint, type CheckpointMeta, type RunPosition, type TrainingState } from '../classifier/checkpoint.js';
import { MarsError } from '../errors.js';
import type { Module } from '../torch/module.js';
import type { EpochEnd } from './options.js';
import type { Trainer } from './trainer.js';

export type { RunPosition } from '../classifier/checkpoint.js';

/**
 * The best epoch so far under `monitor`: its key (the monitored value, then
 * the other metric of the split to break ties), its number (1-based), its
 * weights, and epochs since.
 */
export interface Best {
  key: [number, number];
  epoch: number;
  model: Module | undefined;
  sinceBest: number;
}

export interface Resumed {
  meta: CheckpointMeta;
  model: Module;
  state: TrainingState | Omit<TrainingState, 'rng'>;
  history: EpochEnd[];
  /** Where in the next epoch the run stopped; undefined at an epoch boundary. */
  position: RunPosition | undefined;
  best: Best | undefined;
}

/**
 * The checkpoint a resumed run continues from: `checkpointDir`'s last.pt, or
 * undefined when the folder holds no checkpoint (nothing to resume: a new
 * run). A best.pt without a last.pt (a run stopped while it wrote its first
 * last.pt: a second Ctrl-C) is refused with ERR_CHECKPOINT: it holds the best
 * epoch's weights, not where the run stood, so the run cannot continue exactly.
 */
export function resumePoint(checkpointDir: string): string | undefined {
  const last = join(checkpointDir, 'last.pt');
  if (existsSync(last)) return last;
  if (existsSync(join(checkpointDir, 'best.pt'))) {
    throw new MarsError('ERR_CHECKPOINT', `cannot resume from ${checkpointDir}: it holds best.pt but no last.pt (the run was stopped before it wrote last.pt, or last.pt was removed). best.pt keeps the best epoch's weights, not where the run stood, so the run cannot continue exactly; start it over without resuming (drop --resume; in the API, resume: false), which replaces best.pt`);
  }
  return undefined;
}

/**
 * Opens `last` (and `best` when the run monitors a metric) for resuming a run
 * on data with `classNames`; ERR_CHECKPOINT when it cannot continue exactly.
 */
export async function openResume(
  last: string,
  bestPath: string | undefined,
  device: string,
  data: { classNames: readonly string[]; itemShape: readonly number[] },
): Promise<Resumed> {
  const { classNames, itemShape } = data;
  const { model, meta, state } = await loadCheckpoint(last, device);
  const refuse = (why: string): never => {
    model.dispose();
    throw new MarsError('ERR_CHECKPOINT', `cannot resume from ${last}: ${why}`);
  };
  const missing = [...(state?.init ? [] : ['initial weights (W0)']), ...(state?.optimizer ? [] : ['optimiser state'])];
  if (missing.length) {
    refuse(`it holds no ${missing.join(' and no ')} (a model.pt written for prediction?); resuming without them would not continue the run. Start a new run, or resume from the run's own checkpoints/last.pt`);
  }
  if (meta.classNames.length !== classNames.length || meta.classNames.some((n, i) => n !== classNames[i])) {
    refuse(`it was trained on ${meta.classNames.length} classes (${meta.classNames.join(', ')}) but the data have ${classNames.length} (${classNames.join(', ')}); resume with the same data and classes, or start a new run`);
  }
  if (meta.itemShape.join() !== itemShape.join()) {
    refuse(`it takes inputs of shape [${meta.itemShape.join(', ')}] but the data give [${itemShape.join(', ')}]; resume with the same data and transforms`);
  }
  let best: Best | undefined;
  if (meta.best) {
    if (!bestPath || !existsSync(bestPath)) refuse(`its best epoch (${meta.best.epoch}) is kept in ${bestPath ?? 'best.pt'}, which is missing`);
    const kept = await loadCheckpoint(bestPath!, device);
    best = { key: [meta.best.value, meta.best.tie ?? -Infinity], epoch: meta.best.epoch, sinceBest: meta.best.sinceBest, model: kept.model };
  }
  return {
    meta,
    model,
    state: state as Resumed['state'],
    history: meta.history as EpochEnd[],
    position: meta.position,
    best,
  };
}

/** Puts the optimiser's state and the random streams back into a new trainer. */
export function restoreTrainer(trainer: Trainer, resumed: Resumed): void {
  try {
    trainer.loadOptimizer(resumed.state.optimizer);
    if ('rng' in resumed.state) trainer.setRngState(resumed.state.rng);
  } catch (e) {
    throw new MarsError('ERR_CHECKPOINT', `the checkpoint's optimiser or random state does not fit this run: ${(e as Error).message}`, { cause: e });
  }
}
