/**
 * The bound's graph walk, second half: docs/bound.md's recursion over a plan,
 * in float64. For every value v of the dataflow graph it keeps
 *   A(v) >= E_eps sup_net max_coord |sum_i eps_i v(x_i)|
 *   Q(v) >= max_coord E_eps sup_net sum_i eps_i v(x_i)
 * over every network in the class (each layer's rows within their radii of
 * the initial weights). Pure arithmetic: the class enters only through W0's
 * row norms and the radii, never through the fine-tuned weights.
 */
import type { BoundPlan, Step } from './plan.js';

/** m inputs in R^d with X = max_i ||x_i||_inf. */
export interface SampleSize {
  m: number;
  d: number;
  X: number;
}

/** A layer's class, row by row (folded with its BatchNorm where there is one). */
export interface LayerClass {
  /** ||W0_r||_1 */
  initNorm: ArrayLike<number>;
  /** |b0_r| */
  initBias: ArrayLike<number>;
  /** D_r: how far row r's weights may move (l1). */
  radius: ArrayLike<number>;
  /** Db_r: how far row r's bias may move. */
  biasRadius: ArrayLike<number>;
}

export interface Bounds {
  A: number;
  Q: number;
}

/** Massart's lemma on the 2d vectors ±(x_1k, ..., x_mk), each of l2 norm at most X sqrt(m). */
export function inputBounds({ m, d, X }: SampleSize): Bounds {
  return { A: X * Math.sqrt(2 * m * Math.log(2 * d)), Q: 0 };
}

/**
 * A(out) = max_r (||W0_r||_1 + D_r) A(in) + max_r (|b0_r| + Db_r) sqrt(m)
 * Q(out) = max_r (D_r A(in) + Db_r sqrt(m) + ||W0_r||_1 Q(in))
 * A takes the two maxima apart: max_r sits inside the expectation there, and
 * E max_r (a_r U + c_r V) <= max_r a_r E U + max_r c_r E V, while the max of the
 * sums could fall below it. Q's max over rows is outside the expectation.
 */
export function layerBounds(c: LayerClass, input: Bounds, m: number): Bounds {
  let weights = 0;
  let biases = 0;
  let Q = 0;
  for (let r = 0; r < c.radius.length; r++) {
    const [w0, b0, D, Db] = [c.initNorm[r] as number, c.initBias[r] as number, c.radius[r] as number, c.biasRadius[r] as number];
    weights = Math.max(weights, w0 + D);
    biases = Math.max(biases, b0 + Db);
    Q = Math.max(Q, D * input.A + Db * Math.sqrt(m) + w0 * input.Q);
  }
  return { A: weights * input.A + biases * Math.sqrt(m), Q };
}

function apply(step: Step, get: (v: number) => Bounds, classes: readonly LayerClass[], m: number): Bounds {
  switch (step.op) {
    case 'layer':
      return layerBounds(classes[step.layer] as LayerClass, get(step.input), m);
    case 'scale': {
      const b = get(step.input);
      return { A: step.factor * b.A, Q: b.Q };
    }
    case 'sum':
      return step.inputs.map(get).reduce((s, b) => ({ A: s.A + b.A, Q: s.Q + b.Q }), { A: 0, Q: 0 });
    case 'concat':
      // The max over coordinates is inside A's expectation (E max(U, V) <= E U + E V for U, V >= 0), outside Q's.
      return step.inputs.map(get).reduce((s, b) => ({ A: s.A + b.A, Q: Math.max(s.Q, b.Q) }), { A: 0, Q: 0 });
  }
}

/**
 * A and Q of the network's output; `classes[j]` is the class of `plan.layers[j]`.
 * `input` replaces Massart's bounds on the input by other valid ones (an exact
 * value, where it can be computed: the tests check each rule that way).
 */
export function runRecursion(plan: BoundPlan, classes: readonly LayerClass[], size: SampleSize, input: Bounds = inputBounds(size)): Bounds {
  const bounds = new Map<number, Bounds>([[plan.input, input]]);
  const get = (v: number): Bounds => {
    const b = bounds.get(v);
    if (!b) throw new Error(`bound recursion: value ${v} is used before it is computed`);
    return b;
  };
  for (const step of plan.steps) {
    const out = apply(step, get, classes, size.m);
    bounds.set(step.output, out);
    if (step.alias !== undefined) bounds.set(step.alias, out);
  }
  return get(plan.output);
}
