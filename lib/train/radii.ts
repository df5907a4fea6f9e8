/**
 * One vocabulary for radii: a MARS-SP configuration (as `fineTune` takes it,
 * globs and overrides included) as the bound's a priori radii, resolved
 * against the classifier's parameters by the same plan the trainer projects with.
 */
import { MarsError } from '../errors.js';
import type { Radii } from '../bound/options.js';
import type { ParameterInfo } from '../native/surface.js';
import { parseOptions } from '../util/parse-options.js';
import { planRegulariser, RegulariserSchema, type RegulariserOptions } from './regularisers.js';

/**
 * The class MARS-SP's projections keep a classifier in (`params`: its
 * parameters, named `backbone.*` and `head.*`): every constrained tensor with
 * its own radius in `layers`, under the run's γ_ext, γ_cls and BatchNorm clip.
 * ERR_INVALID_ARGUMENT for another method: it does not project onto MARS balls.
 */
export function marsSpRadii(regulariser: RegulariserOptions, params: readonly ParameterInfo[]): Radii {
  const reg = parseOptions(RegulariserSchema, regulariser, 'regulariser');
  if (reg.method !== 'mars-sp') {
    throw new MarsError('ERR_INVALID_ARGUMENT', `the a priori bound is about MARS-SP's class; a '${reg.method}' run was not projected onto MARS balls (use the post hoc bound)`);
  }
  const { constraints } = planRegulariser(reg, params);
  return {
    backbone: reg.extractor,
    head: reg.classifier,
    batchnorm: reg.batchnorm ?? reg.extractor,
    includeBias: reg.includeBias,
    layers: Object.fromEntries(constraints.map((c) => [c.name, c.radius])),
  };
}
