/**
 * computeBound: the distance-based generalisation bound of docs/bound.md for a
 * fine-tuned network, with every term, beside the spectral comparison bound
 * and the Graf et al. reconstruction of Gouk et al.'s Theorem 1.
 */
import { MarsError } from '../errors.js';
import { Owned } from '../util/owned.js';
import { parseOptions } from '../util/parse-options.js';
import { native } from '../native/loader.js';
import type { ModuleGraph } from '../native/surface.js';
import type { Module } from '../torch/module.js';
import { aprioriClass, checkRadiiKeys, posthocClass, type BoundMode, type MeasuredPart, type NetworkTensors } from './classes.js';
import { grafReconstruction, spectralBound, type GrafReconstruction, type SpectralBound } from './comparison.js';
import { openData, probeInputs, summarise, withInputs, type OpenedData } from './data.js';
import { marginBound, type MarginBound } from './generalisation.js';
import { initialNetwork, resolveModule } from './init.js';
import { checkAborted, maxOf, measureLayers, spectralNorms, type LayerMeasure } from './measure.js';
import { BoundOptionsSchema, type BoundOptions } from './options.js';
import { buildPlan, type BoundPlan, type LayerSpec } from './plan.js';
import { runRecursion, type LayerClass } from './recursion.js';
import type { InputBatch } from '../data/loader.js';

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
  /** max_r Db_r, the bias radius the recursion used. */
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
  /** A priori: the parts of the class read off the fine-tuned network (MARS-SP does not project them). */
  measured: MeasuredPart[];
  m: number;
  d: number;
  X: number;
  K: number;
  layers: LayerReport[];
  /** Q(output) / m: the Rademacher complexity bound of any single output unit. */
  rademacher: number;
  /** A(output) and Q(output) of the recursion. */
  recursion: { A: number; Q: number };
  /** The margin bound; its `complexity` (4K/ρ) R_S(Π1) carries every constant. */
  generalisation: MarginBound;
  /** Bartlett et al. (2017) with M_i = W0_i, without their constants and log factors; absent with `spectral: false`. */
  spectral?: SpectralBound;
  graf: GrafReconstruction;
  init: { prefix: string; zeroed: string[] };
}

const rowSums = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a, (x, r) => x + (b[r] as number));

function layerReport(spec: LayerSpec, m: LayerMeasure, c: LayerClass, spectral: number | undefined): LayerReport {
  const rows = m.rows;
  const rowDistances = rowSums(rows.distance, rows.biasDistance);
  return {
    name: spec.name,
    kind: spec.kind,
    ...(spec.batchnorm && spec.kind !== 'batchnorm' ? { batchnorm: spec.batchnorm.name } : {}),
    head: spec.head,
    rows: rows.norm.length,
    initNorm: maxOf(rowSums(rows.initNorm, rows.initBias)),
    norm: maxOf(rowSums(rows.norm, rows.bias)),
    distance: maxOf(rowDistances),
    rowDistances,
    weightDistance: maxOf(rows.distance),
    biasDistance: maxOf(rows.biasDistance),
    frobeniusDistance: rows.frobeniusDistance,
    radius: maxOf(c.radius),
    biasRadius: maxOf(c.biasRadius),
    ...(spectral !== undefined ? { spectralNorm: spectral } : {}),
    operatorL21Distance: rows.l21Distance * spec.outputPositions,
    outputPositions: spec.outputPositions,
  };
}

const UNION_BOUND = 'strictly that needs a union bound over a grid of radii, whose ln(grid size) is not added to the confidence term';

function notes(mode: BoundMode, measured: MeasuredPart[], zeroed: string[], spectral: boolean): string[] {
  const out =
    mode === 'posthoc'
      ? [`post hoc: the class is read off the fine-tuned network (its measured distances); ${UNION_BOUND}`]
      : [
          'a priori: the network was checked to lie in the class of the given radii (projected rows within their radii, BatchNorm scales within their clip, the head centred at zero)',
          ...(measured.length
            ? [`a priori, but ${measured.length} part(s) MARS-SP does not project enter with their measured distances (see measured): for them the class is read off the network; ${UNION_BOUND}`]
            : []),
        ];
  if (zeroed.length) out.push(`missing from the initial network, so starting at zero: ${zeroed.join(', ')}`);
  if (spectral) out.push("the spectral comparison follows Bartlett et al.'s chain formula over all layers, without their Theorem 1.1's constants and log factors; the MARS term carries all of its constants");
  return out;
}

/** Odd primes for the shape run's batch, so that no axis swap keeps the batch size by chance. */
const PROBE_BATCHES = [13, 17, 19, 23, 29, 31, 37, 41, 43, 47];

/** The forward graph with shapes from a run on a batch size that no other axis of the data has. */
async function exportGraph(model: Module, first: InputBatch): Promise<{ graph: ModuleGraph; batch: number }> {
  for (const batch of PROBE_BATCHES) {
    const graph = await withInputs(probeInputs(first, batch), model.device, (x) => native().boundGraph(model.handle, x.handle));
    if (!graph.values.some((v) => v.param === undefined && v.shape?.slice(1).includes(batch))) return { graph, batch };
  }
  throw new MarsError('ERR_BOUND_UNSUPPORTED', `bound not available: every probe batch size (${PROBE_BATCHES.join(', ')}) is also the size of another axis of the network's values`);
}

/** The plan, refused before the data pass: nodes without a rule, and fewer than 2 outputs. */
async function planFor(model: Module, first: InputBatch): Promise<BoundPlan> {
  const { graph, batch } = await exportGraph(model, first);
  const plan = buildPlan(graph);
  const [rows, K = 1, ...more] = graph.values[plan.output]?.shape ?? [];
  if (rows !== batch || more.length > 0) throw new MarsError('ERR_BOUND_UNSUPPORTED', 'bound not available: the network must return logits of shape [batch, classes]');
  if (K < 2) throw new MarsError('ERR_BOUND_UNSUPPORTED', `bound not available: the margin bound needs at least 2 classes, the network has ${K} output`);
  return plan;
}

/**
 * The bound for a fine-tuned network (see docs/bound.md). Reads the forward
 * graph (refusing nodes without a rule before anything else), measures every
 * layer, checks a priori that the network lies in the class, then runs both
 * networks over the data once in eval mode (a module passed in keeps its mode
 * afterwards) and applies the recursion. Rejects with ERR_BOUND_UNSUPPORTED
 * naming the first node without a rule, ERR_BOUND_OUTSIDE_CLASS a priori when
 * the network is not in the class, ERR_ABORTED when `signal` fires.
 */
export async function computeBound(options: BoundOptions): Promise<BoundReport> {
  const o = parseOptions(BoundOptionsSchema, options, 'bound options');
  // Networks it loaded from files, and the initial network it builds, are its own to free.
  const owned = new Owned();
  const model = typeof o.model === 'string' ? owned.add(await resolveModule(o.model)) : o.model;
  const init = typeof o.init === 'string' ? owned.add(await resolveModule(o.init)) : o.init;
  const wasTraining = model.training;
  model.eval();
  let data: OpenedData | undefined;
  try {
    const initial = await initialNetwork(model, init);
    owned.add(initial.network);
    const net: NetworkTensors = { tensors: new Map([...model.parameters(), ...model.buffers()].map((p) => [p.name, p])), zeroed: new Set(initial.zeroed) };
    if (o.radii) checkRadiiKeys(o.radii, net);
    data = await openData(o.data, o.batchSize);
    const plan = await planFor(model, data.first);
    const measures = await measureLayers(plan.layers, model, initial.network, o.signal);
    const measured: MeasuredPart[] = [];
    const classes = plan.layers.map((spec, j) =>
      o.mode === 'apriori' && o.radii ? aprioriClass(spec, measures[j] as LayerMeasure, o.radii, net, measured) : posthocClass(measures[j] as LayerMeasure),
    );
    const sigma = o.spectral ? await spectralNorms(plan.layers, model, initial.network, o.signal) : undefined;
    const sample = await summarise(data, model, initial.network, o.margin, o.signal);
    checkAborted(o.signal, 'before the recursion');
    const { A, Q } = runRecursion(plan, classes, sample);
    const layers = plan.layers.map((spec, j) => layerReport(spec, measures[j] as LayerMeasure, classes[j] as LayerClass, sigma?.[j]));
    const { m, d, X, K } = sample;
    return {
      mode: o.mode,
      notes: notes(o.mode, measured, initial.zeroed, o.spectral),
      measured,
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
        measures.map((me, j) => ({ norm: maxOf(me.rows.norm), distance: maxOf((classes[j] as LayerClass).radius) })),
        { X, d, m, K },
      ),
      init: { prefix: initial.prefix, zeroed: initial.zeroed },
    };
  } finally {
    await data?.close();
    model.train(wasTraining);
    owned.dispose();
  }
}
