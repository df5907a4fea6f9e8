/**
 * The rows of method.md as plans the native session executes: which tensors
 * are projected (with what radius, around which centre) and which are
 * penalised (with what norm and weight). Policy lives here, mechanics in C++.
 *
 * Tensor groups (classifier parameter names):
 * - backbone: the conv and linear weights under `backbone.` (and their biases
 *   with `includeBias`), centred at their starting values W0;
 * - batchnorm: the BatchNorm scales under `backbone.`, clipped as method.md
 *   says, with the backbone radius unless `batchnorm` is given (constraints only);
 * - head: `head.weight` (and `head.bias` with `includeBias`), centred at zero.
 * `overrides` change the radius or weight of the tensors whose names match a
 * glob (`*` any run of characters); the first match wins.
 */
import { z } from 'zod';
import type { ParameterInfo } from '../native/surface.js';

const nonNegative = z.number().finite().nonnegative();
const override = z.strictObject({ pattern: z.string().min(1), value: nonNegative });

const common = { includeBias: z.boolean().default(false), overrides: z.array(override).default([]) };

/** One schema per method; defaults are the package's defaults. */
export const RegulariserSchema = z.discriminatedUnion('method', [
  z.strictObject({ method: z.literal('none') }),
  z.strictObject({
    method: z.literal('mars-sp'),
    /** γ_ext: MARS radius of every backbone row around W0. */
    extractor: nonNegative.default(2),
    /** γ_cls: MARS radius of every head row around zero. */
    classifier: nonNegative.default(10),
    batchnorm: nonNegative.optional(),
    ...common,
  }),
  z.strictObject({
    method: z.literal('frobenius-sp'),
    extractor: nonNegative.default(2),
    classifier: nonNegative.default(10),
    batchnorm: nonNegative.optional(),
    ...common,
  }),
  z.strictObject({
    method: z.literal('mars-penalty'),
    /** λ_ext: weight of Σ ||W − W0||_inf over backbone tensors. */
    extractor: nonNegative.default(0.01),
    /** λ_cls: weight of ||W_head||_inf. */
    classifier: nonNegative.default(0.01),
    ...common,
  }),
  z.strictObject({
    method: z.literal('l2-sp'),
    extractor: nonNegative.default(0.01),
    classifier: nonNegative.default(0.01),
    ...common,
  }),
  z.strictObject({
    method: z.literal('delta'),
    /** α: weight of the channel-weighted feature-map distance. */
    alpha: nonNegative.default(0.01),
    /** λ_cls: weight of ||W_head||_F^2. */
    classifier: nonNegative.default(0.01),
  }),
  z.strictObject({
    method: z.literal('bss'),
    eta: nonNegative.default(0.001),
    k: z.number().int().positive().default(1),
  }),
]);
export type RegulariserOptions = z.input<typeof RegulariserSchema>;
export type Regulariser = z.output<typeof RegulariserSchema>;
export type Method = Regulariser['method'];
export const METHODS = RegulariserSchema.options.map((o) => o.shape.method.value) as Method[];

export interface ConstraintPlan {
  name: string;
  type: 'mars' | 'frobenius' | 'batchnorm';
  radius: number;
  centre: 'init' | 'zero';
}
export interface PenaltyPlan {
  name: string;
  norm: 'mars' | 'l2sq';
  weight: number;
  centre: 'init' | 'zero';
}
export interface RegulariserPlan {
  constraints: ConstraintPlan[];
  penalties: PenaltyPlan[];
  delta?: { alpha: number };
  bss?: { eta: number; k: number };
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

type Group = 'backbone' | 'batchnorm' | 'head';

/** The group a classifier parameter belongs to, or null when no regulariser touches it. */
function groupOf(p: ParameterInfo, includeBias: boolean): Group | null {
  if (p.isBuffer || !p.requiresGrad) return null;
  const isWeight = p.name.endsWith('.weight');
  const isBias = p.name.endsWith('.bias');
  if (p.name === 'head.weight' || (includeBias && p.name === 'head.bias')) return 'head';
  if (!p.name.startsWith('backbone.')) return null;
  if ((p.kind === 'conv' || p.kind === 'linear') && (isWeight || (includeBias && isBias))) return 'backbone';
  if (p.kind === 'batchnorm' && isWeight) return 'batchnorm';
  return null;
}

/** Turns a method and its hyperparameters into the per-tensor plan for `params` (the classifier's). */
export function planRegulariser(reg: Regulariser, params: readonly ParameterInfo[]): RegulariserPlan {
  const plan: RegulariserPlan = { constraints: [], penalties: [] };
  if (reg.method === 'none') return plan;
  if (reg.method === 'bss') return { ...plan, bss: { eta: reg.eta, k: reg.k } };
  if (reg.method === 'delta') {
    plan.penalties.push({ name: 'head.weight', norm: 'l2sq', weight: reg.classifier, centre: 'zero' });
    return { ...plan, delta: { alpha: reg.alpha } };
  }
  const overrides = reg.overrides.map((o) => ({ test: globToRegExp(o.pattern), value: o.value }));
  const valueFor = (name: string, base: number) => overrides.find((o) => o.test.test(name))?.value ?? base;
  for (const p of params) {
    const group = groupOf(p, reg.includeBias);
    if (!group) continue;
    const centre = group === 'head' ? 'zero' : 'init';
    const base = group === 'head' ? reg.classifier : reg.extractor;
    if (reg.method === 'mars-sp' || reg.method === 'frobenius-sp') {
      const radius = valueFor(p.name, group === 'batchnorm' ? (reg.batchnorm ?? reg.extractor) : base);
      const type = group === 'batchnorm' ? 'batchnorm' : reg.method === 'mars-sp' ? 'mars' : 'frobenius';
      plan.constraints.push({ name: p.name, type, radius, centre });
    } else if (group !== 'batchnorm') {
      plan.penalties.push({ name: p.name, norm: reg.method === 'mars-penalty' ? 'mars' : 'l2sq', weight: valueFor(p.name, base), centre });
    }
  }
  return plan;
}
