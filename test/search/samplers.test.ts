// The samplers against what must hold whatever the code: densities integrate
// to 1, draws follow the density, uniform draws are uniform on their scale,
// and TPE beats random search on a bowl with a known optimum.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../lib/data/rng.js';
import { logDensity, parzen, sample } from '../../lib/search/parzen.js';
import { randomParams, suggest } from '../../lib/search/samplers.js';
import { choice, int, logUniform, uniform, type Params, type Space } from '../../lib/search/space.js';

/** ∫ exp(logDensity) over [low, high] by the midpoint rule. */
function integral(m: ReturnType<typeof parzen>, from = m.low, to = m.high, n = 20000): number {
  const h = (to - from) / n;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(logDensity(m, from + (i + 0.5) * h));
  return s * h;
}

describe('Parzen estimator', () => {
  const cases: [number[], number, number][] = [[[], 0, 1], [[0.3], 0, 1], [[0.1, 0.12, 0.9], 0, 1], [[-9.5, -9.4, -2, -1.1], -10, -1], [[0.5, 0.5, 0.5], 0.5, 3.5],
    // More than 25: the older observations weigh less (linear forgetting).
    [Array.from({ length: 40 }, (_, i) => 0.5 + (3 * ((i * 7) % 40)) / 40), 0.5, 3.5]];
  it.each(cases)('integrates to 1 on its interval (observations %j on [%d, %d])', (obs, low, high) => {
    expect(integral(parzen(obs, low, high))).toBeCloseTo(1, 4);
  });

  it('draws follow the density: empirical and integrated CDFs agree (Kolmogorov–Smirnov, 20000 draws)', () => {
    const m = parzen([0.1, 0.15, 0.7], 0, 1);
    const rng = new Rng(7);
    const draws = Array.from({ length: 20000 }, () => sample(m, rng)).sort((a, b) => a - b);
    expect(draws[0]).toBeGreaterThanOrEqual(0);
    expect(draws.at(-1)).toBeLessThanOrEqual(1);
    let d = 0;
    for (const q of [0.05, 0.1, 0.125, 0.2, 0.4, 0.6, 0.7, 0.8, 0.95]) {
      const empirical = draws.filter((x) => x <= q).length / draws.length;
      d = Math.max(d, Math.abs(empirical - integral(m, 0, q, 4000)));
    }
    // The 99.9% KS critical value for n = 20000 is 1.95/sqrt(n) ≈ 0.0138.
    expect(d).toBeLessThan(0.0138);
  });
});

describe('random sampler', () => {
  const space: Space = { r: logUniform(Math.exp(0.5), Math.exp(3.5)), u: uniform(-1, 1), k: int(1, 3), c: choice(['a', 'b']) };
  const draws = Array.from({ length: 4000 }, (_, i) => randomParams(space, new Rng(i)));

  it('keeps every value inside its dimension', () => {
    for (const p of draws) {
      expect(p.r).toBeGreaterThanOrEqual(Math.exp(0.5));
      expect(p.r).toBeLessThanOrEqual(Math.exp(3.5));
      expect(Math.abs(p.u as number)).toBeLessThanOrEqual(1);
      expect([1, 2, 3]).toContain(p.k);
      expect(['a', 'b']).toContain(p.c);
    }
  });

  it('is uniform on each scale: log r below its midpoint e^2, u below 0, each k and c about equally often', () => {
    const share = (f: (p: Params) => boolean) => draws.filter(f).length / draws.length;
    // 4 binomial standard errors at n = 4000: 0.032 for p = 1/2, 0.030 for p = 1/3.
    expect(Math.abs(share((p) => (p.r as number) < Math.exp(2)) - 0.5)).toBeLessThan(0.032);
    expect(Math.abs(share((p) => (p.u as number) < 0) - 0.5)).toBeLessThan(0.032);
    for (const k of [1, 2, 3]) expect(Math.abs(share((p) => p.k === k) - 1 / 3)).toBeLessThan(0.03);
    expect(Math.abs(share((p) => p.c === 'a') - 0.5)).toBeLessThan(0.032);
  });
});

describe('TPE', () => {
  // A bowl in log space with its optimum at (e^2.7, e^-6): the reference's two kinds of range.
  const space: Space = { radius: logUniform(Math.exp(0.5), Math.exp(3.5)), weight: logUniform(Math.exp(-10), Math.exp(-1)) };
  const regret = (p: Params) => ((Math.log(p.radius as number) - 2.7) / 3) ** 2 + ((Math.log(p.weight as number) + 6) / 9) ** 2;

  /** The best regret after each of `n` trials of one sequential search. */
  function curve(type: 'random' | 'tpe', seed: number, n: number): number[] {
    const known: { id: number; params: Params; r: number }[] = [];
    const best: number[] = [];
    for (let i = 1; i <= n; i++) {
      const ranked = [...known].sort((a, b) => a.r - b.r);
      const params = suggest(type === 'tpe' ? { type, startup: 5, candidates: 24 } : { type }, space, ranked, new Rng(seed * 1000 + i));
      known.push({ id: i, params, r: regret(params) });
      best.push(Math.min(...known.map((k) => k.r)));
    }
    return best;
  }

  it('keeps every suggestion inside the space', () => {
    for (let seed = 0; seed < 10; seed++) {
      const known: { id: number; params: Params }[] = [];
      for (let i = 0; i < 30; i++) {
        const p = suggest({ type: 'tpe', startup: 3, candidates: 24 }, space, known, new Rng(seed * 100 + i));
        expect(p.radius).toBeGreaterThanOrEqual(Math.exp(0.5));
        expect(p.radius).toBeLessThanOrEqual(Math.exp(3.5));
        expect(p.weight).toBeGreaterThanOrEqual(Math.exp(-10));
        expect(p.weight).toBeLessThanOrEqual(Math.exp(-1));
        known.unshift({ id: i, params: p });
      }
    }
  });

  it('reaches a lower regret than random search after 30 trials, over 40 seeds', () => {
    const seeds = Array.from({ length: 40 }, (_, s) => s);
    const final = (type: 'random' | 'tpe') => seeds.map((s) => curve(type, s, 30).at(-1)!).sort((a, b) => a - b);
    const [tpe, random] = [final('tpe'), final('random')];
    const median = (xs: number[]) => (xs[19]! + xs[20]!) / 2;
    expect(median(tpe)).toBeLessThan(0.5 * median(random));
    // Paired by seed: TPE ahead in most runs.
    const wins = seeds.filter((s) => curve('tpe', s, 30).at(-1)! < curve('random', s, 30).at(-1)!).length;
    expect(wins).toBeGreaterThan(25);
  });

  it('prefers the choice that the best trials share', () => {
    const c: Space = { c: choice(['x', 'y', 'z']) };
    const known = [...Array(5).fill('y'), ...Array(20).fill('x'), ...Array(20).fill('z')].map((c, id) => ({ id, params: { c } }));
    const picks = Array.from({ length: 200 }, (_, i) => suggest({ type: 'tpe', startup: 5, candidates: 24 }, c, known, new Rng(i)).c);
    expect(picks.filter((p) => p === 'y').length).toBeGreaterThan(190);
  });
});
