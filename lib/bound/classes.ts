/**
 * The hypothesis class each layer's rows range over, in the two modes of
 * docs/bound.md: a priori (the projection radii of MARS-SP, fixed before
 * training) or post hoc (the distances measured on the fine-tuned network).
 */
import type { NativeLayerMeasure } from '../native/surface.js';
import type { LayerClass } from './recursion.js';
import type { Radii } from './options.js';
import type { LayerSpec } from './plan.js';

export type BoundMode = 'posthoc' | 'apriori';

/** The class of one layer. Biases (and BatchNorm shifts) are never projected, so they always enter measured. */
export function layerClass(spec: LayerSpec, measure: NativeLayerMeasure, mode: BoundMode, radii?: Radii): LayerClass {
  const base = { initNorm: measure.initNorm, initBias: measure.initBias, biasRadius: measure.biasDistance };
  if (mode === 'posthoc') return { ...base, radius: measure.distance };
  if (!radii) throw new Error('a priori mode needs radii');
  const rows = measure.distance.length;
  const gammaBn = spec.batchnorm ? (radii.layers?.[spec.batchnorm.name] ?? radii.batchnorm ?? radii.backbone) : 0;
  if (spec.kind === 'batchnorm') return { ...base, radius: new Float64Array(rows).fill(gammaBn) };
  const gamma = radii.layers?.[spec.name] ?? (spec.head ? radii.head : radii.backbone);
  if (!spec.batchnorm) return { ...base, radius: new Float64Array(rows).fill(gamma) };
  // ||s_r W_r - s0_r W0_r||_1 <= |s_r| ||W_r - W0_r||_1 + |s_r - s0_r| ||W0_r||_1 <= (|s0_r| + γ_bn) γ + γ_bn ||W0_r||_1
  const s0 = measure.initScale as Float64Array;
  const w0 = measure.unfoldedInitNorm as Float64Array;
  return { ...base, radius: Float64Array.from({ length: rows }, (_, r) => ((s0[r] as number) + gammaBn) * gamma + gammaBn * (w0[r] as number)) };
}
