/**
 * Search spaces: named dimensions (logUniform, uniform, int, choice) and the
 * default space of each regulariser, as the reference searched them: radii
 * log-uniform on [e^0.5, e^3.5], penalty weights (and DELTA's and BSS's
 * weights) log-uniform on [e^-10, e^-1].
 *
 * A key names a field of the method's regulariser (`extractor`, `alpha`,
 * `eta`, ...) or, with the prefix `optimizer.`, a field of the optimiser
 * (`optimizer.lr`).
 */
import { z } from 'zod';
import { MarsError } from '../errors.js';
import type { Method } from '../train/regularisers.js';

const finite = z.number().finite();

/** One dimension. Numeric ones sample in their own scale: `logUniform` uniformly in log(value). */
export const DimensionSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('logUniform'), low: finite.positive(), high: finite.positive() }).refine((d) => d.low < d.high, 'low must be below high'),
  z.strictObject({ type: z.literal('uniform'), low: finite, high: finite }).refine((d) => d.low < d.high, 'low must be below high'),
  z.strictObject({ type: z.literal('int'), low: z.number().int(), high: z.number().int() }).refine((d) => d.low <= d.high, 'low must not exceed high'),
  z.strictObject({ type: z.literal('choice'), values: z.array(z.union([finite, z.string(), z.boolean()])).min(1) }),
]);
export type Dimension = z.output<typeof DimensionSchema>;
export type ParamValue = number | string | boolean;
export type Params = Record<string, ParamValue>;

const keyPattern = /^(optimizer\.)?[A-Za-z][A-Za-z0-9]*$/;
export const SpaceSchema = z
  .record(z.string().regex(keyPattern, 'a key is a regulariser field or optimizer.FIELD'), DimensionSchema)
  .refine((s) => Object.keys(s).length > 0, 'the space has no dimensions');
export type Space = Record<string, Dimension>;

export const logUniform = (low: number, high: number): Dimension => ({ type: 'logUniform', low, high });
export const uniform = (low: number, high: number): Dimension => ({ type: 'uniform', low, high });
export const int = (low: number, high: number): Dimension => ({ type: 'int', low, high });
export const choice = (values: ParamValue[]): Dimension => ({ type: 'choice', values });

const RADIUS = logUniform(Math.exp(0.5), Math.exp(3.5));
const WEIGHT = logUniform(Math.exp(-10), Math.exp(-1));

/** The reference's space for each method; `none` has no hyperparameters of its own. */
export function defaultSpace(method: Method): Space {
  switch (method) {
    case 'mars-sp':
    case 'frobenius-sp':
      return { extractor: RADIUS, classifier: RADIUS };
    case 'mars-penalty':
    case 'l2-sp':
      return { extractor: WEIGHT, classifier: WEIGHT };
    case 'delta':
      return { alpha: WEIGHT, classifier: WEIGHT };
    case 'bss':
      return { eta: WEIGHT };
    case 'none':
      throw new MarsError('ERR_INVALID_ARGUMENT', "method 'none' has no hyperparameters; give a space, e.g. { 'optimizer.lr': logUniform(1e-4, 1e-2) }");
  }
}

/**
 * A numeric dimension as an interval on the scale it is sampled in (log for
 * logUniform; integers widened by half a step so each gets an equal share).
 */
export function interval(d: Exclude<Dimension, { type: 'choice' }>): [number, number] {
  if (d.type === 'logUniform') return [Math.log(d.low), Math.log(d.high)];
  if (d.type === 'int') return [d.low - 0.5, d.high + 0.5];
  return [d.low, d.high];
}

/** The value of a point `x` of `interval(d)`, always inside [low, high] (exp(log(high)) may round above high). */
export function fromInterval(d: Exclude<Dimension, { type: 'choice' }>, x: number): number {
  const v = d.type === 'logUniform' ? Math.exp(x) : d.type === 'int' ? Math.round(x) : x;
  return Math.min(d.high, Math.max(d.low, v));
}

/** The inverse of fromInterval, for observed values. */
export function toInterval(d: Exclude<Dimension, { type: 'choice' }>, v: number): number {
  return d.type === 'logUniform' ? Math.log(v) : v;
}

/** True when `value` is a point of the dimension. */
export function contains(d: Dimension, value: ParamValue): boolean {
  if (d.type === 'choice') return d.values.includes(value);
  if (typeof value !== 'number' || value < d.low || value > d.high) return false;
  return d.type !== 'int' || Number.isInteger(value);
}
