/**
 * From the recursion's per-output complexity to a multi-class margin bound
 * (Mohri, Rostamizadeh & Talwalkar, Foundations of ML, 2nd ed., Thm 9.2 with
 * the empirical Rademacher complexity): with probability at least 1 - δ,
 *   error <= marginLoss_ρ + (4K/ρ) R_S(Π1) + 3 sqrt(ln(2/δ) / (2m)),
 *   m R_S(Π1) <= K Q(output) + max_y ||f0_y(x_1..m)||_2 sqrt(2 ln K).
 */
export interface MarginBound {
  margin: number;
  delta: number;
  marginLoss: number;
  /** R_S(Π1), Π1 = {x -> f_y(x) : y, f}. */
  rademacherPi1: number;
  /** (4K/ρ) R_S(Π1) */
  complexity: number;
  /** 3 sqrt(ln(2/δ) / (2m)) */
  confidence: number;
  total: number;
}

export function marginBound(p: { Q: number; m: number; K: number; initOutputNorm: number; marginLoss: number; margin: number; delta: number }): MarginBound {
  const rademacherPi1 = (p.K * p.Q + p.initOutputNorm * Math.sqrt(2 * Math.log(p.K))) / p.m;
  const complexity = ((4 * p.K) / p.margin) * rademacherPi1;
  const confidence = 3 * Math.sqrt(Math.log(2 / p.delta) / (2 * p.m));
  return { margin: p.margin, delta: p.delta, marginLoss: p.marginLoss, rademacherPi1, complexity, confidence, total: p.marginLoss + complexity + confidence };
}

/**
 * The bound's total in words: an error rate is at most 1, so a bound above 1
 * is vacuous (true, but it says nothing), and readers should be told so rather than left to notice.
 */
export function boundInWords(total: number): string {
  const shown = total.toPrecision(3);
  return total > 1
    ? `vacuous: the bound ${shown} is above 1, so it says nothing about the error rate (an error rate is at most 1)`
    : `the error rate is at most ${shown} with the stated probability`;
}
