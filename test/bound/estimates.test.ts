// The bound against estimates of what it bounds: a Monte Carlo value (one
// linear layer, where the class's complexity is exactly D E||sum_i eps_i x_i||_inf / m)
// and gradient-ascent lower estimates of the supremum (two-layer ReLU net).
import { beforeAll, describe, expect, it } from 'vitest';
import { computeBound } from '../../lib/index.js';
import { loadCase, runPython } from './helpers.js';

describe('single linear layer vs Monte Carlo', () => {
  let mc: { mean: number; stderr: number };
  beforeAll(() => {
    mc = runPython('estimates.py', { kind: 'montecarlo', case: 'linear1', draws: 20000 });
  });

  it.each([0.3, 1, 2.5])('radius %f: above the estimate, within sqrt(2 ln 2d) of it', async (D) => {
    // The class {W : ||W_r||_1 <= D} around MARS-SP's centre of a head, zero (which lies in it).
    const c = loadCase('linear1');
    const r = await computeBound({ model: c.centre, init: c.centre, data: c.data, mode: 'apriori', radii: { backbone: D, head: D } });
    const exact = (D * mc.mean) / r.m;
    expect(r.rademacher).toBeGreaterThan(exact + (4 * D * mc.stderr) / r.m);
    // For ±1 data E|S_k| >= sqrt(m/2) (Khintchine), so the ratio is at most sqrt(2) sqrt(2 ln 2d).
    expect(r.rademacher / exact).toBeLessThan(Math.sqrt(2) * Math.sqrt(2 * Math.log(2 * r.d)));
  });
});

describe('two-layer ReLU net vs gradient ascent', () => {
  it.each([
    [0.5, 0.8],
    [1.5, 0.2],
  ])('radii %f, %f: the lower estimates never exceed Q and A', async (D1, D2) => {
    // The class around MARS-SP's centre (l1 at W0, the head l2 at zero); the centre lies in it, nothing else moved.
    const c = loadCase('two_layer');
    const r = await computeBound({ model: c.centre, init: c.centre, data: c.data, mode: 'apriori', radii: { backbone: D1, head: D2 } });
    const est = runPython<{ signed: number; absolute: number }>('estimates.py', { kind: 'ascent', case: 'two_layer', init: 'two_layer.centre.pt', radii: [D1, D2], draws: 6, steps: 120, restarts: 2 });
    expect(est.signed).toBeGreaterThan(0);
    expect(est.signed).toBeLessThanOrEqual(r.recursion.Q);
    expect(est.absolute).toBeLessThanOrEqual(r.recursion.A);
  });
});
