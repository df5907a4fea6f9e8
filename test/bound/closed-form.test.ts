// On a chain x -> W1 -> σ -> W2 -> σ -> W3 without biases the recursion unrolls to
//   R <= X sqrt(2 ln(2d) / m) sum_j 2^(j-1) D_j prod_{i<j} B_i prod_{i>j} B0_i,
// B0_i = ||W0_i||_inf, B_i = B0_i + D_i. The B0_i come from PyTorch (the reference),
// X, m and d from the raw data.
import { beforeAll, expect, it } from 'vitest';
import { computeBound } from '../../lib/index.js';
import { loadCase, reference, relativeError } from './helpers.js';

const c = loadCase('chain_nobias');
let B0: number[];
beforeAll(() => {
  B0 = (reference([{ case: 'chain_nobias', mode: 'posthoc' }])[0]?.layers ?? []).map((l) => l.initNorm);
});

function closedForm(D: number[]): number {
  const [m = 0, d = 0] = c.shape;
  const X = c.inputs.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  const B = B0.map((b, i) => b + (D[i] as number));
  const sum = D.reduce((s, Dj, j) => s + 2 ** j * Dj * B.slice(0, j).reduce((p, b) => p * b, 1) * B0.slice(j + 1).reduce((p, b) => p * b, 1), 0);
  return X * Math.sqrt((2 * Math.log(2 * d)) / m) * sum;
}

it.each([
  [0.3, 0.5, 0.7],
  [1, 0, 0],
  [0, 0, 2],
  [0.01, 2, 0.1],
])('radii %f, %f, %f: the recursion equals the closed form', async (D1, D2, D3) => {
  const r = await computeBound({ model: c.model, init: c.init, data: c.data, mode: 'apriori', radii: { backbone: 0, head: D3, layers: { l1: D1, l2: D2 } } });
  expect(B0).toHaveLength(3);
  expect(relativeError(r.rademacher, closedForm([D1, D2, D3]))).toBeLessThan(1e-12);
});

it('goes to 0 with the radii and is 0 when they are', async () => {
  const values = [];
  for (const t of [1, 1e-3, 1e-6, 0]) {
    const r = await computeBound({ model: c.model, init: c.init, data: c.data, mode: 'apriori', radii: { backbone: 0.5 * t, head: t } });
    values.push(r.rademacher);
  }
  expect(values[1]).toBeLessThan((values[0] as number) * 2e-3);
  expect(values[2]).toBeLessThan((values[1] as number) * 2e-3);
  expect(values[3]).toBe(0);
});
