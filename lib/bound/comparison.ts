/**
 * The bounds the MARS figure is shown beside, never mixed into it:
 * - Bartlett, Foster & Telgarsky (2017), with reference matrices M_i = W0_i:
 *     R_A = prod_i ||A_i||_σ (sum_i (||A_i^T - M_i^T||_{2,1} / ||A_i||_σ)^{2/3})^{3/2},
 *   complexity term ||X||_2 R_A / (ρ m) (their Theorem 1.1's log factors and
 *   constants left out; biases are not part of their layers).
 * - Gouk et al.'s Theorem 1 as Graf et al. (NeurIPS 2022, rkwitt/excess_capacity,
 *   `gouk_1inf`) evaluate it: 2^(L+1) K prod_j B_j sum_j (D_j / B_j) X ln(d) / sqrt(m),
 *   with B_j the fine-tuned layer's MARS norm. A reconstruction, labelled so.
 */
export interface SpectralLayer {
  /** ||A_i||_σ of the fine-tuned (folded) operator. */
  spectral: number;
  /** ||A_i^T - M_i^T||_{2,1}: the sum over output units of the l2 norm of their row of A_i - M_i. */
  l21Distance: number;
}

export interface SpectralBound {
  /** R_A, the spectral complexity. */
  spectralComplexity: number;
  dataFrobenius: number;
  /** ||X||_2 R_A / (ρ m) */
  complexity: number;
}

/**
 * R_A written without division: prod_i σ_i (sum_i (l_i / σ_i)^{2/3})^{3/2} =
 * (sum_i (l_i prod_{k≠i} σ_k)^{2/3})^{3/2}. Equal where every σ_i > 0, and
 * continuous where some σ_j = 0: the limit l_j prod_{k≠j} σ_k with one zero
 * operator (not 0: A_j = 0 still moved l_j from M_j), 0 with two.
 */
export function spectralBound(layers: SpectralLayer[], dataFrobenius: number, margin: number, m: number): SpectralBound {
  const before = [1];
  for (const l of layers) before.push((before[before.length - 1] as number) * l.spectral);
  let after = 1;
  let sum = 0;
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i] as SpectralLayer;
    sum += (l.l21Distance * (before[i] as number) * after) ** (2 / 3);
    after *= l.spectral;
  }
  const spectralComplexity = sum ** 1.5;
  return { spectralComplexity, dataFrobenius, complexity: (dataFrobenius * spectralComplexity) / (margin * m) };
}

export interface GrafReconstruction {
  label: string;
  /** Parametrised layers, L. */
  layers: number;
  value: number;
}

/** `layers`: each layer's MARS norm B_j and distance D_j (the class's, in the bound's mode). */
export function grafReconstruction(layers: { norm: number; distance: number }[], p: { X: number; d: number; m: number; K: number }): GrafReconstruction {
  const L = layers.length;
  const product = layers.reduce((q, l) => q * l.norm, 1);
  const sum = layers.reduce((s, l) => s + l.distance / l.norm, 0);
  return {
    label: "Gouk et al. (2021) Theorem 1, as reconstructed by Graf et al. (2022, gouk_1inf); not this project's recursion",
    layers: L,
    value: 2 ** (L + 1) * p.K * product * sum * p.X * (Math.log(p.d) / Math.sqrt(p.m)),
  };
}
