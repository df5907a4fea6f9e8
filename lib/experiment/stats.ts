/** Summaries of a few seeds' scores: mean, sample standard deviation, the 95% interval of the mean (Student's t). */
import jstat from 'jstat';

export interface Summary {
  n: number;
  mean: number;
  std: number;
  /** Half-width of the 95% interval of the mean; 0 with one value. */
  ci95: number;
  low: number;
  high: number;
  min: number;
  max: number;
}

export function summarise(xs: readonly number[]): Summary {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  const ci95 = n > 1 ? (jstat.jStat.studentt.inv(0.975, n - 1) * std) / Math.sqrt(n) : 0;
  return { n, mean, std, ci95, low: mean - ci95, high: mean + ci95, min: Math.min(...xs), max: Math.max(...xs) };
}

/** The paired difference a − b, seed by seed. */
export const pairedDifference = (a: readonly number[], b: readonly number[]): Summary => summarise(a.map((x, i) => x - (b[i] as number)));
