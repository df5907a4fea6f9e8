/**
 * The hypothesis class each layer's rows range over, in the two modes of
 * docs/bound.md: post hoc (the distances measured on the fine-tuned network)
 * or a priori (MARS-SP's radii, fixed before training). A priori, the class
 * is only claimed after checking that the network lies in it: every projected
 * row within its radius, every BatchNorm scale within its clip, the head
 * centred at zero and the rest at their initial values; what MARS-SP never
 * projects (biases unless `includeBias`, BatchNorm shifts, running statistics)
 * enters with its measured distance and is listed.
 */
import { MarsError } from '../errors.js';
import type { ParameterInfo } from '../native/surface.js';
import type { BatchNormState, LayerMeasure } from './measure.js';
import type { Radii } from './options.js';
import type { LayerSpec } from './plan.js';
import type { LayerClass } from './recursion.js';

export type BoundMode = 'posthoc' | 'apriori';

/** A part of the a priori class read off the fine-tuned network (its largest distance). */
export interface MeasuredPart {
  layer: string;
  part: string;
  distance: number;
}

/** The fine-tuned network's tensors, as the a priori checks need them. */
export interface NetworkTensors {
  /** Parameters and buffers by name. */
  tensors: ReadonlyMap<string, ParameterInfo>;
  /** Parameters the initial network lacks (they start at zero). */
  zeroed: ReadonlySet<string>;
}

/** MARS-SP computes BatchNorm scales with this eps, whatever the module's (method.md). */
export const CLIP_EPS = 1e-6;
/** Relative tolerance of the membership checks. */
const TOLERANCE = 1e-5;
/** Float32 rounding of the projected values, relative to their size (16 units in the last place). */
const ROUNDING = 2 ** -20;

const within = (distance: number, radius: number, scale: number) => distance <= radius * (1 + TOLERANCE) + ROUNDING * scale;

const outside = (what: string) => new MarsError('ERR_BOUND_OUTSIDE_CLASS', `a priori: ${what}; the network is not in the class the bound would be about (use mode 'posthoc', or the radii it was trained with)`);

/** Post hoc: the class is read off the network, every part measured. */
export function posthocClass(m: LayerMeasure): LayerClass {
  return { initNorm: m.rows.initNorm, initBias: m.rows.initBias, radius: m.rows.distance, biasRadius: m.rows.biasDistance };
}

/** The parameters MARS-SP's projections can constrain: conv/linear weights (and biases with includeBias) and BatchNorm scales. */
function projectable(p: ParameterInfo, includeBias: boolean): boolean {
  const leaf = p.name.slice(p.name.lastIndexOf('.') + 1);
  if (p.isBuffer) return false;
  if (leaf === 'weight') return p.kind === 'conv' || p.kind === 'linear' || p.kind === 'batchnorm';
  return includeBias && leaf === 'bias' && (p.kind === 'conv' || p.kind === 'linear');
}

/**
 * Every key of `radii.layers` must name a tensor of the network
 * (ERR_INVALID_ARGUMENT) that MARS-SP projects (ERR_BOUND_OUTSIDE_CLASS).
 */
export function checkRadiiKeys(radii: Radii, net: NetworkTensors): void {
  for (const key of Object.keys(radii.layers ?? {})) {
    const p = net.tensors.get(key);
    if (!p) {
      const example = [...net.tensors.values()].find((t) => projectable(t, false))?.name ?? 'conv1.weight';
      throw new MarsError('ERR_INVALID_ARGUMENT', `radii.layers: the network has no parameter '${key}'; keys are parameter names, such as '${example}'`);
    }
    if (!projectable(p, radii.includeBias)) {
      const why = p.isBuffer
        ? 'a running statistic'
        : (p.name === 'bias' || p.name.endsWith('.bias')) && (p.kind === 'conv' || p.kind === 'linear')
          ? 'a bias, projected only with includeBias'
          : p.kind === 'batchnorm'
            ? 'a BatchNorm shift'
            : `a parameter of a ${p.moduleType} module`;
      throw outside(`radii.layers gives '${key}' a radius, but MARS-SP never projects it (${why}), so nothing kept it within one`);
    }
  }
}

/** Per channel: the radius of the module's BatchNorm scale s = γ / sqrt(var + eps), and its initial |s0|. */
function batchNormScales(name: string, bn: BatchNormState, clip: number, measured: MeasuredPart[]): { radius: Float64Array; initScale: Float64Array } {
  const channels = bn.runningVar.length;
  const radius = new Float64Array(channels);
  const initScale = new Float64Array(channels);
  let drift = 0;
  for (let r = 0; r < channels; r++) {
    const [v, v0] = [bn.runningVar[r] as number, bn.initRunningVar[r] as number];
    const [g, g0] = bn.gamma && bn.initGamma ? [bn.gamma[r] as number, bn.initGamma[r] as number] : [1, 1];
    initScale[r] = Math.abs(g0) / Math.sqrt(v0 + bn.eps);
    if (!bn.gamma) {
      // No affine scale: only the running variance moves s, and nothing projects it.
      radius[r] = Math.abs(1 / Math.sqrt(v + bn.eps) - 1 / Math.sqrt(v0 + bn.eps));
      drift = Math.max(drift, radius[r] as number);
      continue;
    }
    // MARS-SP clips t = γ/sqrt(var + 1e-6) - γ0/sqrt(var0 + 1e-6) to [-clip, clip].
    const [clipped, clipped0] = [g / Math.sqrt(v + CLIP_EPS), g0 / Math.sqrt(v0 + CLIP_EPS)];
    const moved = Math.abs(clipped - clipped0);
    if (!within(moved, clip, Math.abs(clipped0) + clip)) {
      throw outside(`BatchNorm ${name}, channel ${r}: its scale γ/sqrt(var + 1e-6) moved ${moved} from its initial value, outside its clip ${clip}`);
    }
    // The module divides by sqrt(var + eps): s = c·clipped with c = sqrt((var + 1e-6)/(var + eps)), so
    // |s - s0| <= c·clip + |c - c0|·|clipped0|; the second term comes from the running variances.
    const [c, c0] = [Math.sqrt((v + CLIP_EPS) / (v + bn.eps)), Math.sqrt((v0 + CLIP_EPS) / (v0 + bn.eps))];
    const fromVariance = Math.abs(c - c0) * Math.abs(clipped0);
    radius[r] = c * clip + fromVariance;
    drift = Math.max(drift, fromVariance);
  }
  if (drift > 0) measured.push({ layer: name, part: 'running variance (through the BatchNorm scale)', distance: drift });
  return { radius, initScale };
}

function checkRows(what: string, distances: ArrayLike<number>, radius: number, scales: ArrayLike<number>): void {
  for (let r = 0; r < distances.length; r++) {
    const d = distances[r] as number;
    if (!within(d, radius, (scales[r] as number) + radius)) throw outside(`${what}, row ${r}, is ${d} from its centre, outside its radius ${radius}`);
  }
}

/** The class of one layer a priori, or ERR_BOUND_OUTSIDE_CLASS; what enters measured is appended to `measured`. */
export function aprioriClass(spec: LayerSpec, m: LayerMeasure, radii: Radii, net: NetworkTensors, measured: MeasuredPart[]): LayerClass {
  const own = (name: string, fallback: number) => radii.layers?.[name] ?? fallback;
  const base = spec.head ? radii.head : radii.backbone;
  const rows = m.rows.distance.length;
  let gamma = 0;
  if (spec.weight) {
    const p = net.tensors.get(spec.weight);
    if (!p || !projectable(p, false) || p.kind === 'batchnorm') {
      throw outside(`layer ${spec.name} multiplies by '${spec.weight}'${p ? `, a parameter of a ${p.moduleType} module` : ''}, which MARS-SP never projects, so no radius bounds it`);
    }
    if (spec.head && m.unfolded.initNorm.some((w) => w !== 0)) {
      throw outside(`the head ${spec.name} is centred at initial weights of l1 row norm up to ${Math.max(...m.unfolded.initNorm)}, where MARS-SP centres a new head at zero (pass the backbone alone as the initial network)`);
    }
    if (!spec.head && net.zeroed.has(spec.weight)) {
      throw outside(`'${spec.weight}' is missing from the initial network, so it would be centred at zero, where MARS-SP centres it at its starting weights`);
    }
    gamma = own(spec.weight, base);
    checkRows(`layer ${spec.name} (${spec.weight})`, m.unfolded.distance, gamma, m.unfolded.initNorm);
  }

  let biasRadius: ArrayLike<number> = m.rows.biasDistance;
  if (spec.bias && radii.includeBias && !spec.batchnorm) {
    const radius = own(spec.bias, base);
    if (spec.head && m.unfolded.initBias.some((b) => b !== 0)) throw outside(`the head's bias '${spec.bias}' is not centred at zero, where MARS-SP centres it`);
    checkRows(`the bias ${spec.bias}`, m.unfolded.biasDistance, radius, m.unfolded.initBias);
    biasRadius = new Float64Array(rows).fill(radius);
  } else if (spec.batchnorm) {
    measured.push({ layer: spec.name, part: `bias with ${spec.batchnorm.name}'s shift and running mean folded in`, distance: Math.max(0, ...m.rows.biasDistance) });
  } else if (spec.bias) {
    measured.push({ layer: spec.name, part: `bias ${spec.bias} (not projected)`, distance: Math.max(0, ...m.rows.biasDistance) });
  }

  if (!spec.batchnorm) return { initNorm: m.rows.initNorm, initBias: m.rows.initBias, radius: new Float64Array(rows).fill(gamma), biasRadius };
  const bn = spec.batchnorm;
  const gammaParam = bn.weight === undefined ? undefined : net.tensors.get(bn.weight);
  if (gammaParam && gammaParam.kind !== 'batchnorm') {
    throw outside(`BatchNorm ${bn.name} scales by '${bn.weight}', a parameter of a ${gammaParam.moduleType} module, which MARS-SP never clips`);
  }
  const clip = bn.weight ? own(bn.weight, radii.batchnorm ?? radii.backbone) : 0;
  const s = batchNormScales(bn.name, m.batchnorm as BatchNormState, clip, measured);
  // Row r of the folded layer is s_r W_r: ||s_r W_r - s0_r W0_r||_1 <= |s_r| γ + |s_r - s0_r| ||W0_r||_1
  // <= (|s0_r| + ρ_r) γ + ρ_r ||W0_r||_1. A lone BatchNorm has W = W0 = [1] and γ = 0.
  const w0 = spec.weight ? m.unfolded.initNorm : new Float64Array(rows).fill(1);
  const radius = Float64Array.from({ length: rows }, (_, r) => ((s.initScale[r] as number) + (s.radius[r] as number)) * gamma + (s.radius[r] as number) * (w0[r] as number));
  return { initNorm: m.rows.initNorm, initBias: m.rows.initBias, radius, biasRadius };
}
