/**
 * Samplers: where the next trial goes. `random` draws every dimension
 * uniformly on its own scale. `tpe` (tree-structured Parzen estimator,
 * Bergstra et al., 2011, independent per dimension as hyperopt and Optuna do
 * by default) draws at random until `startup` trials are known, then splits
 * the known trials into the best ⌈0.1 n⌉ (at most 25, Optuna's rule) and the
 * rest, fits a Parzen estimator l to the first and g to the second (each in
 * trial order, for linear forgetting), draws `candidates` points from l and
 * keeps the one with the largest l/g.
 *
 * A sampler is a pure function of the space, the known trials and the
 * trial's own random stream, so a resumed search suggests what the first run
 * would have.
 */
import { z } from 'zod';
import type { Rng } from '../data/rng.js';
import { logDensity, parzen, sample } from './parzen.js';
import { contains, fromInterval, interval, toInterval, type Dimension, type ParamValue, type Params, type Space } from './space.js';

export const SamplerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('random') }),
  z.strictObject({
    type: z.literal('tpe'),
    /** Trials drawn at random before the model is used. */
    startup: z.number().int().positive().default(5),
    /** Draws from l scored per suggestion (hyperopt's and Optuna's 24). */
    candidates: z.number().int().positive().default(24),
  }),
]);
export type SamplerOptions = z.input<typeof SamplerSchema>;
export type SamplerConfig = z.output<typeof SamplerSchema>;

type Numeric = Exclude<Dimension, { type: 'choice' }>;

function randomValue(d: Dimension, rng: Rng): ParamValue {
  if (d.type === 'choice') return d.values[rng.int(0, d.values.length - 1)]!;
  const [a, b] = interval(d);
  return fromInterval(d, rng.uniform(a, b));
}

/** Uniform draws of every dimension. */
export function randomParams(space: Space, rng: Rng): Params {
  return Object.fromEntries(Object.entries(space).map(([key, d]) => [key, randomValue(d, rng)]));
}

/** The number of known trials that form l: ⌈0.1 n⌉, at least 1, at most 25. */
export const goodCount = (n: number) => Math.max(1, Math.min(Math.ceil(0.1 * n), 25));

function tpeNumeric(d: Numeric, good: number[], bad: number[], candidates: number, rng: Rng): number {
  const [a, b] = interval(d);
  const l = parzen(good.map((v) => toInterval(d, v)), a, b);
  const g = parzen(bad.map((v) => toInterval(d, v)), a, b);
  let best = NaN;
  let bestScore = -Infinity;
  for (let c = 0; c < candidates; c++) {
    // Score the value as it will be used (integers rounded, bounds clamped).
    const value = fromInterval(d, sample(l, rng));
    const x = toInterval(d, value);
    const score = logDensity(l, x) - logDensity(g, x);
    if (score > bestScore || Number.isNaN(best)) (best = value), (bestScore = score);
  }
  return best;
}

function tpeChoice(values: readonly ParamValue[], good: ParamValue[], bad: ParamValue[], candidates: number, rng: Rng): ParamValue {
  // One pseudo-count per value: the categorical prior.
  const weights = (seen: ParamValue[]) => values.map((v) => 1 + seen.filter((s) => s === v).length);
  const l = weights(good);
  const g = weights(bad);
  const lTotal = l.reduce((x, y) => x + y, 0);
  const gTotal = g.reduce((x, y) => x + y, 0);
  let best = 0;
  let bestScore = -Infinity;
  for (let c = 0; c < candidates; c++) {
    let u = rng.next() * lTotal;
    let i = 0;
    while (u >= l[i]! && i < l.length - 1) u -= l[i++]!;
    const score = Math.log(l[i]! / lTotal) - Math.log(g[i]! / gTotal);
    if (score > bestScore) (best = i), (bestScore = score);
  }
  return values[best]!;
}

/** A known trial: its parameters and id (its place in time, for forgetting). */
export interface Known {
  id: number;
  params: Params;
}

/**
 * The parameters of the next trial. `known` holds the known trials ranked
 * best first; values outside the space (an edited space) are ignored.
 */
export function suggest(config: SamplerConfig, space: Space, known: readonly Known[], rng: Rng): Params {
  if (config.type === 'random' || known.length < config.startup) return randomParams(space, rng);
  const split = goodCount(known.length);
  const out: Params = {};
  for (const [key, d] of Object.entries(space)) {
    const column = (trials: readonly Known[]) =>
      [...trials].sort((a, b) => a.id - b.id).map((t) => t.params[key]).filter((v): v is ParamValue => v !== undefined && contains(d, v));
    const good = column(known.slice(0, split));
    const bad = column(known.slice(split));
    out[key] = d.type === 'choice'
      ? tpeChoice(d.values, good, bad, config.candidates, rng)
      : tpeNumeric(d, good as number[], bad as number[], config.candidates, rng);
  }
  return out;
}
