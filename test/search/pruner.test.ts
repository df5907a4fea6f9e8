// The pruning rules on curves whose answers are worked out by hand.
import { describe, expect, it } from 'vitest';
import { shouldPrune, type KnownCurve } from '../../lib/search/pruner.js';

const done = (...curve: number[]): KnownCurve => ({ complete: true, curve });
const median = { type: 'median' as const, startup: 2, warmup: 1 };

describe('median rule', () => {
  const known = [done(0.2, 0.5, 0.6, 0.9), done(0.3, 0.7, 0.8, 0.9)];
  it('stops a trial below the median of the complete trials at the same step (median 0.6 at step 1)', () => {
    expect(shouldPrune(median, [0.1, 0.55], known, 4, 4)).toBe(true);
    expect(shouldPrune(median, [0.1, 0.65], known, 4, 4)).toBe(false);
  });
  it('waits for `startup` complete trials, skips warm-up epochs of each fold and never stops at the last step', () => {
    expect(shouldPrune(median, [0.1, 0.55], [known[0]!, { complete: false, curve: [0.9, 0.9] }], 4, 4)).toBe(false);
    expect(shouldPrune(median, [0.0], known, 4, 4)).toBe(false);
    // Two folds of two epochs: step 2 is epoch 1 of fold 2, a warm-up epoch.
    expect(shouldPrune(median, [0.9, 0.9, 0.0], known, 2, 4)).toBe(false);
    expect(shouldPrune(median, [0.9, 0.9, 0.9, 0.0], known, 4, 4)).toBe(false);
  });
});

describe('successive halving', () => {
  const halving = { type: 'halving' as const, minEpochs: 1, factor: 3 };
  // Six trials reached the first rung (1 epoch) with these values.
  const known = [0.9, 0.8, 0.7, 0.6, 0.5].map((v) => ({ complete: false, curve: [v] }));
  it('keeps the top third at a rung: with 6 values, the best 2', () => {
    expect(shouldPrune(halving, [0.85], known, 10, 10)).toBe(false);
    expect(shouldPrune(halving, [0.75], known, 10, 10)).toBe(true);
  });
  it('decides only at rungs (1, 3, 9 epochs) and keeps the best while fewer than `factor` reached one', () => {
    expect(shouldPrune(halving, [0.85, 0.0], known, 10, 10)).toBe(false);
    expect(shouldPrune(halving, [0.1], [{ complete: false, curve: [0.9] }], 10, 10)).toBe(true);
    expect(shouldPrune(halving, [0.95], [{ complete: false, curve: [0.9] }], 10, 10)).toBe(false);
    expect(shouldPrune(halving, [0.9, 0.9, 0.1], [done(0.9, 0.9, 0.9, 0.9), done(0.9, 0.9, 0.8, 0.9)], 10, 10)).toBe(true);
  });
});
