// The pure recursion (lib/bound/recursion.ts, generalisation.ts, comparison.ts), without
// LibTorch, against values derived by hand in the comments. Each case is
// chosen so that the rules that are not upper bounds (one max over rows of the
// whole row bound for A; the max of a concatenation's A) give other numbers.
import { describe, expect, it } from 'vitest';
import { spectralBound } from '../../lib/bound/comparison.js';
import { marginBound } from '../../lib/bound/generalisation.js';
import type { BoundPlan, LayerSpec, Step } from '../../lib/bound/plan.js';
import { inputBounds, layerBounds, runRecursion, type LayerClass } from '../../lib/bound/recursion.js';

/** A layer's class from rows [||W0_r||_1, |b0_r|, D_r, Db_r]. */
const cls = (...rows: [number, number, number, number][]): LayerClass => ({
  initNorm: rows.map((r) => r[0]),
  initBias: rows.map((r) => r[1]),
  radius: rows.map((r) => r[2]),
  biasRadius: rows.map((r) => r[3]),
});

const spec = (name: string): LayerSpec => ({ name, kind: 'linear', weight: `${name}.weight`, transpose: false, outputPositions: 1, head: false });

/** Values: 0 is the input; each step makes the next value. */
function plan(steps: Step[], layers: number): BoundPlan {
  return { input: 0, output: (steps[steps.length - 1] as Step).output, steps, layers: Array.from({ length: layers }, (_, j) => spec(`l${j}`)) };
}

describe('layerBounds', () => {
  it('a layer whose largest-weight row is not its largest-bias row', () => {
    // Rows [w0, b0, D, Db]: [2, 0, 1, 0] and [0.5, 3, 0, 1]; A(in) = 10, Q(in) = 4, m = 16 (sqrt m = 4).
    // A = max(2 + 1, 0.5 + 0) * 10 + max(0 + 0, 3 + 1) * 4 = 30 + 16 = 46
    // Q = max(1*10 + 0*4 + 2*4, 0*10 + 1*4 + 0.5*4) = max(18, 6) = 18
    expect(layerBounds(cls([2, 0, 1, 0], [0.5, 3, 0, 1]), { A: 10, Q: 4 }, 16)).toEqual({ A: 46, Q: 18 });
  });

  it('one row: the weight and bias parts add up', () => {
    // [1, 0.5, 0.25, 0.5], A(in) = 2, Q(in) = 1, m = 9: A = 1.25 * 2 + 1 * 3 = 5.5; Q = 0.25 * 2 + 0.5 * 3 + 1 * 1 = 3
    expect(layerBounds(cls([1, 0.5, 0.25, 0.5]), { A: 2, Q: 1 }, 9)).toEqual({ A: 5.5, Q: 3 });
  });
});

describe('runRecursion', () => {
  it('Massart at the input: X sqrt(2 m ln 2d), Q = 0', () => {
    // m = 2, d = 1, X = 3: 3 sqrt(4 ln 2) = 6 sqrt(ln 2)
    expect(inputBounds({ m: 2, d: 1, X: 3 }).A).toBeCloseTo(6 * Math.sqrt(Math.LN2), 14);
    const p = plan([{ op: 'scale', factor: 1, input: 0, output: 1 }], 0);
    expect(runRecursion(p, [], { m: 2, d: 1, X: 3 })).toEqual(inputBounds({ m: 2, d: 1, X: 3 }));
  });

  it('a concatenation adds A and keeps the larger Q', () => {
    // A(in) = 10, Q(in) = 4, m = 16. u = [1, 0, 0.5, 0]: A = 1.5 * 10 = 15, Q = 0.5 * 10 + 1 * 4 = 9.
    // v = [0, 2, 0, 0.25]: A = 0 * 10 + 2.25 * 4 = 9, Q = 0.25 * 4 = 1. cat(u, v): A = 15 + 9 = 24, Q = max(9, 1) = 9.
    const p = plan(
      [
        { op: 'layer', layer: 0, input: 0, output: 1 },
        { op: 'layer', layer: 1, input: 0, output: 2 },
        { op: 'concat', inputs: [1, 2], output: 3 },
      ],
      2,
    );
    expect(runRecursion(p, [cls([1, 0, 0.5, 0]), cls([0, 2, 0, 0.25])], { m: 16, d: 1, X: 1 }, { A: 10, Q: 4 })).toEqual({ A: 24, Q: 9 });
  });

  it('a deep chain with biases, ReLUs and a residual addition', () => {
    // A(in) = 8, Q(in) = 0, m = 4 (sqrt m = 2).
    // l0 rows [1, 0.5, 0.5, 0.25], [2, 0, 0, 0]: A = max(1.5, 2) * 8 + max(0.75, 0) * 2 = 17.5; Q = max(0.5*8 + 0.25*2, 0) = 4.5
    // ReLU: A = 35, Q = 4.5
    // l1 rows [0.5, 1, 0.1, 0], [1, 0, 0.2, 0.5]: A = max(0.6, 1.2) * 35 + max(1, 0.5) * 2 = 44;
    //    Q = max(0.1*35 + 0.5*4.5, 0.2*35 + 0.5*2 + 1*4.5) = max(5.75, 12.5) = 12.5
    // ReLU: A = 88, Q = 12.5; residual add with the first ReLU's output: A = 88 + 35 = 123, Q = 12.5 + 4.5 = 17
    // l2 row [0, 0, 2, 0.5]: A = 2 * 123 + 0.5 * 2 = 247; Q = 2 * 123 + 0.5 * 2 + 0 * 17 = 247
    const p = plan(
      [
        { op: 'layer', layer: 0, input: 0, output: 1 },
        { op: 'scale', factor: 2, input: 1, output: 2 },
        { op: 'layer', layer: 1, input: 2, output: 3 },
        { op: 'scale', factor: 2, input: 3, output: 4 },
        { op: 'sum', inputs: [4, 2], output: 5 },
        { op: 'layer', layer: 2, input: 5, output: 6 },
      ],
      3,
    );
    const classes = [cls([1, 0.5, 0.5, 0.25], [2, 0, 0, 0]), cls([0.5, 1, 0.1, 0], [1, 0, 0.2, 0.5]), cls([0, 0, 2, 0.5])];
    const { A, Q } = runRecursion(p, classes, { m: 4, d: 1, X: 1 }, { A: 8, Q: 0 });
    expect(A).toBeCloseTo(247, 12);
    expect(Q).toBeCloseTo(247, 12);
  });

  it('an in-place step writes its alias too', () => {
    // relu_(v1) holds its output in v1 afterwards: the layer reading v1 sees A = 2 * 3 = 6. [1, 0, 1, 0]: A = 2 * 6 = 12, Q = 6
    const p = plan(
      [
        { op: 'scale', factor: 2, input: 0, output: 1, alias: 0 },
        { op: 'layer', layer: 0, input: 0, output: 2 },
      ],
      1,
    );
    expect(runRecursion(p, [cls([1, 0, 1, 0])], { m: 1, d: 1, X: 1 }, { A: 3, Q: 0 })).toEqual({ A: 12, Q: 6 });
  });
});

describe('the closed form of a chain without biases', () => {
  // x -> W1 -> ReLU -> W2 -> ReLU -> W3: Q(out) = I * sum_j 2^(j-1) D_j prod_{i<j} B_i prod_{i>j} B0_i with I = A(input),
  // B0_i = ||W0_i||_inf, B_i = B0_i + D_i (the recursion uses the largest row of each; rows here share them).
  it.each([
    [0.3, 0.5, 0.7],
    [1, 0, 0],
    [0, 0, 2],
    [0.01, 2, 0.1],
  ])('radii %f, %f, %f', (D1, D2, D3) => {
    const B0 = [1.5, 0.8, 2.5];
    const D = [D1, D2, D3];
    const p = plan(
      [
        { op: 'layer', layer: 0, input: 0, output: 1 },
        { op: 'scale', factor: 2, input: 1, output: 2 },
        { op: 'layer', layer: 1, input: 2, output: 3 },
        { op: 'scale', factor: 2, input: 3, output: 4 },
        { op: 'layer', layer: 2, input: 4, output: 5 },
      ],
      3,
    );
    // Two rows per layer: the larger norm with the radius, a smaller one without.
    const classes = B0.map((b, j) => cls([b, 0, D[j] as number, 0], [b / 2, 0, 0, 0]));
    const size = { m: 30, d: 10, X: 1.7 };
    const I = inputBounds(size).A;
    const B = B0.map((b, i) => b + (D[i] as number));
    const closed = I * [0, 1, 2].reduce((s, j) => s + 2 ** j * (D[j] as number) * B.slice(0, j).reduce((q, b) => q * b, 1) * B0.slice(j + 1).reduce((q, b) => q * b, 1), 0);
    expect(runRecursion(p, classes, size).Q).toBeCloseTo(closed, 10);
  });
});

describe('marginBound', () => {
  it('every term of the multi-class margin bound', () => {
    // Q = 2, m = 8, K = 4, max_y ||f0_y|| = 3, margin loss 0.25, ρ = 2, δ = 0.1:
    // R_S(Π1) = (4 * 2 + 3 sqrt(2 ln 4)) / 8; complexity = (4 * 4 / 2) R_S(Π1); confidence = 3 sqrt(ln(2 / 0.1) / 16)
    const b = marginBound({ Q: 2, m: 8, K: 4, initOutputNorm: 3, marginLoss: 0.25, margin: 2, delta: 0.1 });
    const pi1 = (8 + 3 * Math.sqrt(2 * Math.log(4))) / 8;
    expect(b.rademacherPi1).toBeCloseTo(pi1, 14);
    expect(b.complexity).toBeCloseTo(8 * pi1, 13);
    expect(b.confidence).toBeCloseTo(3 * Math.sqrt(Math.log(20) / 16), 14);
    expect(b.total).toBeCloseTo(0.25 + 8 * pi1 + 3 * Math.sqrt(Math.log(20) / 16), 13);
  });
});

describe('spectralBound (Bartlett et al., M = W0)', () => {
  it('R_A = prod σ_i (sum_i (l_i / σ_i)^(2/3))^(3/2)', () => {
    // σ = (2, 4), l = (1, 2): 8 ((1/2)^(2/3) + (2/4)^(2/3))^(3/2) = 8 (2 (1/2)^(2/3))^(3/2) = 8 * 2^(3/2) / 2 = 8 sqrt(2)
    const b = spectralBound([{ spectral: 2, l21Distance: 1 }, { spectral: 4, l21Distance: 2 }], 3, 0.5, 6);
    expect(b.spectralComplexity).toBeCloseTo(8 * Math.SQRT2, 12);
    // ||X||_2 R_A / (ρ m) = 3 * 8 sqrt(2) / (0.5 * 6)
    expect(b.complexity).toBeCloseTo(8 * Math.SQRT2, 12);
  });

  it('a zero operator gives the limit, not 0: l_j prod_{k≠j} σ_k', () => {
    // σ = (2, ε, 4), l = (1, 3, 0.5): as ε -> 0, ε (... + (3/ε)^(2/3))^(3/2) -> 3, times 2 * 4 = 24.
    expect(spectralBound([{ spectral: 2, l21Distance: 1 }, { spectral: 0, l21Distance: 3 }, { spectral: 4, l21Distance: 0.5 }], 1, 1, 1).spectralComplexity).toBeCloseTo(24, 12);
    expect(spectralBound([{ spectral: 0, l21Distance: 1 }, { spectral: 0, l21Distance: 3 }], 1, 1, 1).spectralComplexity).toBe(0);
  });
});
