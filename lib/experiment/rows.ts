/**
 * What a row of the comparison trains with: its fineTune options besides the
 * recipe, its search space, and the setting it runs with when nothing is
 * searched. Scratch and the linear probe are plain fine-tuning (method
 * 'none') from re-drawn weights, or of the head alone.
 */
import type { OptimizerOptions } from '../train/options.js';
import { defaultSpace, logUniform, type Space } from '../search/space.js';
import { RegulariserSchema, type Method, type RegulariserOptions } from '../train/regularisers.js';
import { parseOptions } from '../util/parse-options.js';
import type { Row } from './config.js';

export const methodOf = (row: Row): Method => (row === 'scratch' || row === 'linear-probe' ? 'none' : row);

/** fineTune options that make the row what it is. */
export const rowOptions = (row: Row): { reinit?: boolean; freezeBackbone?: boolean } =>
  row === 'scratch' ? { reinit: true } : row === 'linear-probe' ? { freezeBackbone: true } : {};

/** The row's search space, or null when it has nothing to search. */
export function spaceOf(row: Row, lr: readonly [number, number] | undefined): Space | null {
  const method = methodOf(row);
  const own = method === 'none' ? {} : defaultSpace(method);
  const space: Space = { ...own, ...(lr ? { 'optimizer.lr': logUniform(lr[0], lr[1]) } : {}) };
  return Object.keys(space).length ? space : null;
}

/** A setting as the final runs take it. */
export interface Setting {
  regulariser: RegulariserOptions;
  optimizer: OptimizerOptions;
}

/** The searched radii of a MARS-SP or Frobenius-SP setting scaled by `factor` (the sensitivity study). */
export function scaleRadii(setting: Setting, factor: number): Setting {
  const r = parseOptions(RegulariserSchema, setting.regulariser, 'regulariser');
  if (r.method !== 'mars-sp' && r.method !== 'frobenius-sp') throw new Error(`scaleRadii: ${r.method} has no radii`);
  return { ...setting, regulariser: { ...r, extractor: r.extractor * factor, classifier: r.classifier * factor } };
}
