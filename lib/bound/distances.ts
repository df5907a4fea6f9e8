/**
 * Per-tensor distances from the initial weights, cheap enough to log after
 * every epoch: what MARS-SP and Frobenius-SP constrain, tensor by tensor
 * (unfolded, no data needed). The bound itself, with BatchNorm folded and the
 * data's part, is `computeBound`.
 */
import type { Module } from '../torch/module.js';
import { native } from '../native/loader.js';
import type { LayerKind, TensorDistance } from '../native/surface.js';
import { matchInit, resolveModule } from './init.js';
import { maxOf, pick } from './measure.js';

/** A parameter's TensorDistance with what the bound needs beside it (for a vector, `mars` is max |w - w0|). */
export interface ParameterDistance extends TensorDistance {
  kind: LayerKind;
  shape: number[];
  /** ||W||_inf and ||W0||_inf */
  norm: number;
  initNorm: number;
  /** True when the initial network lacks it, so it is measured from zero. */
  fromZero: boolean;
}

/**
 * The distance of every parameter of `model` from `init` (matched by name as in
 * computeBound: the same names, or the backbone alone with the missing head at zero).
 * A trainer logs these per epoch; call `computeBound` for the bound itself.
 */
export async function layerDistances(model: Module | string, init: Module | string): Promise<ParameterDistance[]> {
  const [m, i] = [await resolveModule(model), await resolveModule(init)];
  const params = m.parameters();
  const { pairs } = matchInit([...params, ...m.buffers()], [...i.parameters(), ...i.buffers()]);
  const source = new Map(pairs);
  const [current, initial] = [m.stateDict(), i.stateDict()];
  const out: ParameterDistance[] = [];
  for (const p of params) {
    const from = source.get(p.name) ?? null;
    const rows = await native().measureLayer({
      weight: pick(current, p.name),
      initWeight: from === null ? null : pick(initial, from),
      bias: null,
      initBias: null,
      transpose: false,
      batchnorm: null,
      initBatchnorm: null,
      op: '',
      conv: null,
    });
    out.push({
      name: p.name,
      kind: p.kind,
      shape: p.shape,
      mars: maxOf(rows.distance),
      frobenius: rows.frobeniusDistance,
      norm: maxOf(rows.norm),
      initNorm: maxOf(rows.initNorm),
      fromZero: from === null,
    });
  }
  return out;
}
