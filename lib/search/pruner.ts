/**
 * Pruners: stop a hopeless trial early from its per-epoch validation scores.
 * A trial's curve is its objective (higher is better: accuracy, or minus the
 * loss) after every epoch of every fold in turn; step s of two trials is the
 * same fold and epoch, so their values compare.
 *
 * - `median` (Vizier's median stopping rule, Optuna's MedianPruner): stop at
 *   step s when the value is below the median of the complete trials' values
 *   at s, once `startup` trials are complete and from epoch `warmup` of a fold.
 * - `halving` (asynchronous successive halving, Li et al., 2020): rungs at
 *   `minEpochs`·factor^r epochs trained; at a rung the trial goes on only if
 *   it is in the top 1/factor of the values every known trial had there
 *   (the best one, while fewer than `factor` trials reached it).
 *
 * The last step is never pruned: there is nothing left to save.
 */
import { z } from 'zod';

export const PrunerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({
    type: z.literal('median'),
    startup: z.number().int().nonnegative().default(5),
    warmup: z.number().int().nonnegative().default(1),
  }),
  z.strictObject({
    type: z.literal('halving'),
    minEpochs: z.number().int().positive().default(1),
    factor: z.number().int().min(2).default(3),
  }),
]);
export type PrunerOptions = z.input<typeof PrunerSchema>;
export type PrunerConfig = z.output<typeof PrunerSchema>;

/** What a pruner knows of another trial: its curve, and whether it ran to the end. */
export interface KnownCurve {
  complete: boolean;
  curve: readonly number[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Whether to stop a trial whose curve so far is `curve` (its last value is
 * step s = curve.length − 1), with `epochs` per fold and `steps` in all.
 */
export function shouldPrune(config: PrunerConfig, curve: readonly number[], known: readonly KnownCurve[], epochs: number, steps: number): boolean {
  const s = curve.length - 1;
  if (config.type === 'none' || s < 0 || s >= steps - 1) return false;
  const value = curve[s]!;
  if (config.type === 'median') {
    const complete = known.filter((k) => k.complete);
    if (complete.length < Math.max(1, config.startup) || s % epochs < config.warmup) return false;
    return value < median(complete.map((k) => k.curve[s]!));
  }
  const trained = s + 1;
  const rung = Math.round(Math.log(trained / config.minEpochs) / Math.log(config.factor));
  if (trained !== config.minEpochs * config.factor ** rung || rung < 0) return false;
  const competing = [value, ...known.filter((k) => k.curve.length > s).map((k) => k.curve[s]!)].sort((a, b) => b - a);
  const cut = Math.max(0, Math.floor(competing.length / config.factor) - 1);
  return value < competing[cut]!;
}
