/**
 * What a line of trials.jsonl must be for the search reading it: a trial of
 * this search (its id one of 1..trials, its params a point of the space), with
 * the scores its status implies and a fold per split it finished. A journal
 * line that is not is refused when the search opens (journal.ts), instead of
 * crashing, or running every remaining trial, before failing.
 */
import { z } from 'zod';
import { contains, type Space } from './space.js';
import type { TrialRecord } from './trial.js';

const finite = z.number().finite();
const fraction = finite.min(0).max(1);
const EpochScoreSchema = z.strictObject({ accuracy: fraction, loss: finite.nonnegative() });
const FoldScoreSchema = EpochScoreSchema.extend({
  repeat: z.number().int().nonnegative(),
  fold: z.number().int().nonnegative(),
  count: z.number().int().positive(),
  epochs: z.array(EpochScoreSchema).min(1),
});

/** What shapes a record: the search's space, its trial count, splits per trial and epochs per split. */
export interface RecordShape {
  space: Space;
  trials: number;
  splits: number;
  epochs: number;
}

export function trialRecordSchema({ space, trials, splits, epochs }: RecordShape) {
  const keys = Object.keys(space).sort();
  return z
    .strictObject({
      id: z.number().int().min(1).max(trials, `a trial of this search is numbered 1..${trials} (a larger --trials keeps the trials beyond)`),
      status: z.enum(['complete', 'pruned', 'failed']),
      params: z.record(z.string(), z.union([finite, z.string(), z.boolean()])),
      score: finite.nullable(),
      accuracy: fraction.nullable(),
      loss: finite.nonnegative().nullable(),
      folds: z.array(FoldScoreSchema.refine((f) => f.epochs.length <= epochs, `a fold has at most ${epochs} epochs`)).max(splits),
      seconds: finite.nonnegative(),
      threads: z.number().int().positive(),
      error: z.strictObject({ code: z.string(), message: z.string() }).optional(),
    })
    .superRefine((r, ctx) => {
      const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
      const given = Object.keys(r.params).sort();
      if (given.join() !== keys.join()) issue('params', `has ${given.join(', ') || 'no keys'}; the space has ${keys.join(', ')}`);
      for (const [key, value] of Object.entries(r.params)) {
        if (space[key] && !contains(space[key], value)) issue('params', `${key} = ${JSON.stringify(value)} is not a point of the space`);
      }
      const scored = r.score !== null && r.accuracy !== null && r.loss !== null;
      if (r.status !== 'failed' && !scored) issue('score', `a ${r.status} trial has a score, an accuracy and a loss`);
      if (r.status === 'failed' && !r.error) issue('error', 'a failed trial says why');
      if (r.status === 'complete' && (r.folds.length !== splits || r.folds.some((f) => f.epochs.length !== epochs))) {
        issue('folds', `a complete trial has ${splits} folds of ${epochs} epochs`);
      }
    }) satisfies z.ZodType<TrialRecord>;
}
