// Stratified k-fold and hold-out against their definitions, counted item by item.
import { describe, expect, it } from 'vitest';
import { fromArrays, type Dataset } from '../../lib/index.js';
import { stratifiedHoldout, stratifiedKFold } from '../../lib/search/index.js';

/** Classes of 7, 12 and 5 items, interleaved. */
function data(): Dataset {
  const labels = [...Array(7).fill(0), ...Array(12).fill(1), ...Array(5).fill(2)].map((l, i, all) => all[(i * 7) % all.length]!);
  return fromArrays({ pixels: new Uint8Array(labels.length * 4), labels, width: 2, height: 2, channels: 1 });
}
const countsOf = (d: Dataset, idx: Int32Array) => d.classNames.map((_, c) => Array.from(idx).filter((i) => d.label(i) === c).length);

describe('stratifiedKFold', () => {
  const d = data();
  const folds = stratifiedKFold(d, { folds: 3, repeats: 2, seed: 4 });

  it('each repeat validates every item exactly once and trains on the rest', () => {
    expect(folds).toHaveLength(6);
    for (const r of [0, 1]) {
      const seen = new Array<number>(d.size).fill(0);
      for (const f of folds.filter((x) => x.repeat === r)) {
        for (const i of f.validation) seen[i]!++;
        expect(new Set([...f.train, ...f.validation]).size).toBe(d.size);
        expect(f.train.length + f.validation.length).toBe(d.size);
      }
      expect(seen.every((n) => n === 1)).toBe(true);
    }
  });

  it('every fold holds floor or ceil of n_c/k of each class, and fold sizes differ by at most one', () => {
    const n = d.classCounts();
    for (const f of folds) {
      countsOf(d, f.validation).forEach((c, label) => expect([Math.floor(n[label]! / 3), Math.ceil(n[label]! / 3)]).toContain(c));
    }
    for (const r of [0, 1]) {
      const sizes = folds.filter((x) => x.repeat === r).map((f) => f.validation.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });

  it('is the same for the same seed, and repeats and seeds shuffle differently', () => {
    expect(stratifiedKFold(d, { folds: 3, repeats: 2, seed: 4 })).toEqual(folds);
    expect(Array.from(folds[3]!.validation)).not.toEqual(Array.from(folds[0]!.validation));
    expect(Array.from(stratifiedKFold(d, { folds: 3, seed: 5 })[0]!.validation)).not.toEqual(Array.from(folds[0]!.validation));
  });

  it('refuses more folds than a class has items, naming the class', () => {
    expect(() => stratifiedKFold(d, { folds: 6 })).toThrow(/class "2" has 5 items, fewer than the 6 folds/);
  });
});

describe('stratifiedHoldout', () => {
  it('validates round(fraction × n_c) of each class, at least one, never all', () => {
    const d = data();
    const f = stratifiedHoldout(d, { fraction: 0.25, seed: 1 });
    expect(countsOf(d, f.validation)).toEqual([2, 3, 1]);
    expect(countsOf(d, f.train)).toEqual([5, 9, 4]);
    expect(countsOf(d, stratifiedHoldout(d, { fraction: 0.01 }).validation)).toEqual([1, 1, 1]);
    expect(countsOf(d, stratifiedHoldout(d, { fraction: 0.99 }).train)).toEqual([1, 1, 1]);
  });
});
