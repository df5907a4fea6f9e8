/**
 * computeBound: the distance-based generalisation bound of docs/bound.md for a
 * fine-tuned network, with every term, beside the spectral comparison bound
 * and the Graf et al. reconstruction of Gouk et al.'s Theorem 1.
 */
import { parseOptions } from '../util/parse-options.js';
import { native } from '../native/loader.js';
import type { NativeLayerMeasure } from '../native/surface.js';
import { layerClass, type BoundMode } from './classes.js';
import { grafReconstruction, spectralBound, type GrafReconstruction, type SpectralBound } from './comparison.js';
import { summarise } from './data.js';
import { marginBound, type MarginBound } from './generalisation.js';
import { initialNetwork, resolveModule } from './init.js';
import { maxOf, measureLayers } from './measure.js';
import { BoundOptionsSchema, type BoundOptions } from './options.js';
import { buildPlan, type LayerSpec } from './plan.js';
import { runRecursion, type LayerClass } from './recursion.js';

/** One layer as the bound sees it (BatchNorm folded in); rows join weights and bias. */
export interface LayerReport {
  /** Module path of the weight (`layer1.0.conv1`), or of a lone BatchNorm. */
  name: string;
  kind: LayerSpec['kind'];
  /** The BatchNorm folded into this layer. */
  batchnorm?: string;
  /** True for the layer(s) producing the output. */
  head: boolean;
  rows: number;
  /** ||[W0 b0]||_inf, the initial network's MARS norm. */
  initNorm: number;
  /** ||[W b]||_inf */
  norm: number;
  /** ||[W b] - [W0 b0]||_inf, the MARS distance. */
  distance: number;
  /** ||W_r - W0_r||_1 + |b_r - b0_r| for every row r. */
  rowDistances: number[];
  /** max_r ||W_r - W0_r||_1 */
  weightDistance: number;
  /** max_r |b_r - b0_r| */
  biasDistance: number;
  /** ||[W b] - [W0 b0]||_F */
  frobeniusDistance: number;
  /** max_r D_r, the weight radius the recursion used (the measured distance post hoc). */
  radius: number;
  /** max_r Db_r, the bias radius the recursion used (always measured). */
  biasRadius: number;
  /** Spectral norm of the layer's operator at its input size (absent with `spectral: false`). */
  spectralNorm?: number;
  /** ||A^T - M^T||_{2,1} of the operator: row l2 distances times output positions. */
  operatorL21Distance: number;
  outputPositions: number;
}

export interface BoundReport {
  mode: BoundMode;
  /** Things to know to read the figures (what the class is, what started at zero). */
  notes: string[];
  m: number;
  d: number;
  X: number;
  K: number;
  layers: LayerReport[];
  /** Q(output) / m: the Rademacher complexity bound of any single output unit. */
  rademacher: number;
  /** A(output) and Q(output) of the recursion. */
  recursion: { A: number; Q: number };
  generalisation: MarginBound;
  /** Bartlett et al. (2017) with M_i = W0_i; absent with `spectral: false`. */
  spectral?: SpectralBound;
  graf: GrafReconstruction;
  init: { prefix: string; zeroed: string[] };
}

const rowSums = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a, (x, r) => x + (b[r] as number));

function layerReport(spec: LayerSpec, m: NativeLayerMeasure, c: LayerClass): LayerReport {
  const rowDistances = rowSums(m.distance, m.biasDistance);
  return {
    name: spec.name,
    kind: spec.kind,
    ...(spec.batchnorm && spec.kind !== 'batchnorm' ? { batchnorm: spec.batchnorm.name } : {}),
    head: spec.head,
    rows: m.norm.length,
    initNorm: maxOf(rowSums(m.initNorm, m.initBias)),
    norm: maxOf(rowSums(m.norm, m.bias)),
    distance: maxOf(rowDistances),
    rowDistances,
    weightDistance: maxOf(m.distance),
    biasDistance: maxOf(m.biasDistance),
    frobeniusDistance: m.frobeniusDistance,
    radius: maxOf(c.radius),
    biasRadius: maxOf(c.biasRadius),
    ...(m.spectral !== undefined ? { spectralNorm: m.spectral } : {}),
    operatorL21Distance: m.l21Distance * spec.outputPositions,
    outputPositions: spec.outputPositions,
  };
}

function notes(mode: BoundMode, zeroed: string[], spectral: boolean): string[] {
  const out =
    mode === 'posthoc'
      ? [
          'post hoc: the class is read off the fine-tuned network (its measured distances); strictly that needs a union bound over a grid of radii, whose ln(grid size) is not added to the confidence term',
        ]
      : ['a priori: weights range over the given radii; biases and BatchNorm shifts, which MARS-SP does not project, enter with their measured distances'];
  if (zeroed.length) out.push(`missing from the initial network, so starting at zero: ${zeroed.join(', ')}`);
  if (spectral) out.push("the spectral comparison follows Bartlett et al.'s chain formula over all layers; their Theorem 1.1's log factors and constants are left out");
  return out;
}

/**
 * The bound for a fine-tuned network (see docs/bound.md). Runs both networks
 * over the data once in eval mode (a module passed in keeps its mode afterwards),
 * reads the forward graph, measures every layer and applies the recursion.
 * Rejects with ERR_BOUND_UNSUPPORTED naming the first node without a rule.
 */
export async function computeBound(options: BoundOptions): Promise<BoundReport> {
  const o = parseOptions(BoundOptionsSchema, options, 'bound options');
  const [model, init] = [await resolveModule(o.model), await resolveModule(o.init)];
  const wasTraining = model.training;
  model.eval();
  try {
    const initial = await initialNetwork(model, init);
    const sample = await summarise(o.data, model, initial.network, o.margin, o.batchSize);
    const plan = buildPlan(await native().boundGraph(model.handle, (await sample.sample.to({ device: model.device })).handle));
    const measures = await measureLayers(plan.layers, model, initial.network, o.spectral);
    const classes = plan.layers.map((spec, j) => layerClass(spec, measures[j] as NativeLayerMeasure, o.mode, o.radii));
    const { A, Q } = runRecursion(plan, classes, sample);
    const layers = plan.layers.map((spec, j) => layerReport(spec, measures[j] as NativeLayerMeasure, classes[j] as LayerClass));
    const { m, d, X, K } = sample;
    return {
      mode: o.mode,
      notes: notes(o.mode, initial.zeroed, o.spectral),
      m,
      d,
      X,
      K,
      layers,
      rademacher: Q / m,
      recursion: { A, Q },
      generalisation: marginBound({ Q, m, K, initOutputNorm: sample.initOutputNorm, marginLoss: sample.marginLoss, margin: o.margin, delta: o.delta }),
      ...(o.spectral
        ? { spectral: spectralBound(layers.map((l) => ({ spectral: l.spectralNorm as number, l21Distance: l.operatorL21Distance })), sample.dataFrobenius, o.margin, m) }
        : {}),
      graf: grafReconstruction(
        measures.map((me, j) => ({ norm: maxOf(me.norm), distance: maxOf((classes[j] as LayerClass).radius) })),
        { X, d, m, K },
      ),
      init: { prefix: initial.prefix, zeroed: initial.zeroed },
    };
  } finally {
    model.train(wasTraining);
  }
}
