// Summary statistics of a few seeds' scores: mean, sample standard deviation
// and the half-width of the 95% confidence interval of the mean (Student's t).

/** Two-sided 95% quantiles of Student's t by degrees of freedom; 1.96 beyond the table. */
const T95 = { 1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228, 14: 2.145, 19: 2.093 };

export function summary(xs) {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { n, mean, std, ci95: n > 1 ? ((T95[n - 1] ?? 1.96) * std) / Math.sqrt(n) : null, min: Math.min(...xs), max: Math.max(...xs) };
}
