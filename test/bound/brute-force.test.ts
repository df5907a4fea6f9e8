// The rules against the quantities they bound, computed exactly: for m = 8
// inputs every one of the 2^8 sign vectors is enumerated. A tiny network of
// one layer with biases, x -> [W x + b], where row 0 carries the weight and
// row 1 the bias; over its class (rows within their radii) the supremum has a
// closed form, sup |W_r.S + b_r T| = |W0_r.S + b0_r T| + D_r ||S||_inf + Db_r |T|
// (S = sum_i eps_i x_i, T = sum_i eps_i), so
//   A(out) = E max_r sup |...|   and   Q(out) = max_r E sup (...)
// are exact. Given the exact A(in) = E ||S||_inf, a valid rule must give at
// least these values. The rules that take one max over rows of the whole row
// bound (linear) or the max of the inputs' A (concatenation) give less here.
import { describe, expect, it } from 'vitest';
import type { BoundPlan, LayerSpec, Step } from '../../lib/bound/plan.js';
import { layerBounds, runRecursion, type LayerClass } from '../../lib/bound/recursion.js';

const m = 8;
/** One input coordinate, alternating: S and T then move independently (S = U - V, T = U + V over the two halves). */
const x = Array.from({ length: m }, (_, i) => (i % 2 === 0 ? 1 : -1));
/** Rows [W0_r (d = 1), b0_r, D_r, Db_r]. */
const ROWS: [number, number, number, number][] = [
  [1, 0, 0.25, 0],
  [0, 1, 0, 0.25],
];

/** E over all 2^m sign vectors of f(S, T). */
function expectation(f: (S: number, T: number) => number): number {
  let sum = 0;
  for (let bits = 0; bits < 2 ** m; bits++) {
    let [S, T] = [0, 0];
    for (let i = 0; i < m; i++) {
      const eps = (bits >> i) & 1 ? 1 : -1;
      S += eps * (x[i] as number);
      T += eps;
    }
    sum += f(S, T);
  }
  return sum / 2 ** m;
}

const sup = ([w0, b0, D, Db]: (typeof ROWS)[number], S: number, T: number, absolute: boolean) =>
  (absolute ? Math.abs(w0 * S + b0 * T) : w0 * S + b0 * T) + D * Math.abs(S) + Db * Math.abs(T);

const exactInput = { A: expectation((S) => Math.abs(S)), Q: 0 };
const exactA = expectation((S, T) => Math.max(...ROWS.map((r) => sup(r, S, T, true))));
const exactQ = Math.max(...ROWS.map((r) => expectation((S, T) => sup(r, S, T, false))));
const classOf = (rows: typeof ROWS): LayerClass => ({
  initNorm: rows.map((r) => Math.abs(r[0])),
  initBias: rows.map((r) => Math.abs(r[1])),
  radius: rows.map((r) => r[2]),
  biasRadius: rows.map((r) => r[3]),
});

it('the enumeration gives the hand values: E|S| = E|T| = 35/16, E max(|S|, |T|) = E|U| + E|V| = 3', () => {
  expect(exactInput.A).toBe(35 / 16);
  expect(expectation((_, T) => Math.abs(T))).toBe(35 / 16);
  expect(exactA).toBe(1.25 * 3);
  // The example discriminates: the largest single row bound, max_r ((w0 + D) E|S| + (b0 + Db) sqrt(m)), is below the truth.
  expect(Math.max(...ROWS.map(([w0, b0, D, Db]) => (w0 + D) * exactInput.A + (b0 + Db) * Math.sqrt(m)))).toBeLessThan(exactA);
});

describe('each rule is at least the exact value', () => {
  it('linear layer with biases', () => {
    const b = layerBounds(classOf(ROWS), exactInput, m);
    expect(b.A).toBeGreaterThanOrEqual(exactA);
    expect(b.Q).toBeGreaterThanOrEqual(exactQ);
  });

  it('concatenation of the two rows as two layers', () => {
    const spec = (name: string): LayerSpec => ({ name, kind: 'linear', weight: name, transpose: false, outputPositions: 1, head: false });
    const steps: Step[] = [
      { op: 'layer', layer: 0, input: 0, output: 1 },
      { op: 'layer', layer: 1, input: 0, output: 2 },
      { op: 'concat', inputs: [1, 2], output: 3 },
    ];
    const plan: BoundPlan = { input: 0, output: 3, steps, layers: [spec('u'), spec('v')] };
    const b = runRecursion(plan, [classOf([ROWS[0]!]), classOf([ROWS[1]!])], { m, d: 1, X: 1 }, exactInput);
    expect(b.A).toBeGreaterThanOrEqual(exactA);
    expect(b.Q).toBeGreaterThanOrEqual(exactQ);
  });
});
