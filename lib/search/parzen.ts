/**
 * The Parzen estimator of the tree-structured Parzen estimator (Bergstra et
 * al., 2011), as hyperopt and Optuna build it: a mixture of normals truncated
 * to the interval, one per observation plus a prior as wide as the interval
 * in its middle, each as wide as the larger gap to its neighbours, clipped to
 * [width/min(100, n+1), width]; the prior weighs 1, and so do the last 25
 * observations, older ones less (linear forgetting).
 */
import type { Rng } from '../data/rng.js';

export interface Mixture {
  low: number;
  high: number;
  mus: number[];
  sigmas: number[];
  weights: number[];
  /** log of each component's share of the weight divided by its mass inside [low, high]. */
  logScales: number[];
}

/** Linear forgetting: weights of n observations, oldest first; the last 25 weigh 1, the others ramp from 1/n up. */
export function forgettingWeights(n: number): number[] {
  const old = Math.max(0, n - 25);
  const ramp = Array.from({ length: old }, (_, i) => (old === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (old - 1)));
  return [...ramp, ...new Array<number>(n - old).fill(1)];
}

const SQRT2 = Math.SQRT2;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** erf(x), Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7). */
function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign * (1 - poly * Math.exp(-x * x));
}

const normalCdf = (z: number) => 0.5 * (1 + erf(z / SQRT2));

/** The estimator of `observations` (points of [low, high], oldest first). */
export function parzen(observations: readonly number[], low: number, high: number): Mixture {
  const width = high - low;
  const forgetting = forgettingWeights(observations.length);
  const components = [...observations.map((mu, i) => ({ mu, weight: forgetting[i]!, prior: false })), { mu: (low + high) / 2, weight: 1, prior: true }];
  components.sort((a, b) => a.mu - b.mu);
  const points = components.map((c) => c.mu);
  const weights = components.map((c) => c.weight);
  const total = weights.reduce((a, w) => a + w, 0);
  const minSigma = width / Math.min(100, points.length + 1);
  const sigmas = points.map((mu, i) => {
    if (components[i]!.prior || points.length === 1) return width;
    const left = i > 0 ? mu - points[i - 1]! : 0;
    const right = i < points.length - 1 ? points[i + 1]! - mu : 0;
    return Math.min(width, Math.max(minSigma, left, right));
  });
  const logScales = points.map((mu, i) => {
    const s = sigmas[i]!;
    return Math.log(weights[i]! / total) - Math.log(normalCdf((high - mu) / s) - normalCdf((low - mu) / s));
  });
  return { low, high, mus: points, sigmas, weights, logScales };
}

/** log density of the truncated mixture at x (log-sum-exp, so far tails do not underflow to -Infinity). */
export function logDensity(m: Mixture, x: number): number {
  const terms = m.mus.map((mu, i) => {
    const z = (x - mu) / m.sigmas[i]!;
    return m.logScales[i]! - 0.5 * z * z - LOG_SQRT_2PI - Math.log(m.sigmas[i]!);
  });
  const max = Math.max(...terms);
  return max + Math.log(terms.reduce((a, t) => a + Math.exp(t - max), 0));
}

/** One standard normal draw (Box–Muller). */
function gaussian(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

/**
 * One draw from the mixture: a component chosen by weight, then its normal
 * redrawn until inside [low, high]. Every centre lies inside and no sigma
 * exceeds the width, so a draw lands inside with probability ≥ 0.34.
 */
export function sample(m: Mixture, rng: Rng): number {
  let u = rng.next() * m.weights.reduce((a, w) => a + w, 0);
  let i = 0;
  while (i < m.weights.length - 1 && u >= m.weights[i]!) u -= m.weights[i++]!;
  for (;;) {
    const x = m.mus[i]! + m.sigmas[i]! * gaussian(rng);
    if (x >= m.low && x <= m.high) return x;
  }
}
