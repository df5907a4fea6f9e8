/**
 * Stratified k-fold cross-validation, optionally repeated with fresh
 * shuffles, and the stratified hold-out split. Each class's items are
 * shuffled with their own seeded stream. For k folds they are dealt round the
 * folds, continuing where the previous class stopped, so every fold holds
 * ⌊n_c/k⌋ or ⌈n_c/k⌉ items of each class c and the fold sizes differ by at
 * most one. The same seed always gives the same folds.
 */
import { z } from 'zod';
import type { Dataset } from '../data/dataset.js';
import { deriveSeed, Rng, shuffle, Stream } from '../data/rng.js';
import { MarsError } from '../errors.js';
import { parseOptions } from '../util/parse-options.js';

export const KFoldSchema = z.strictObject({
  folds: z.number().int().min(2).default(5),
  /** Whole k-fold rounds, each with its own shuffle. */
  repeats: z.number().int().positive().default(1),
  seed: z.number().int().min(0).max(0xffffffff).default(0),
});
export type KFoldOptions = z.input<typeof KFoldSchema>;

/** One fold: dataset indices (ascending) to train on and to validate on. */
export interface Fold {
  repeat: number;
  fold: number;
  train: Int32Array;
  validation: Int32Array;
}

export const HoldoutSchema = z.strictObject({
  /** Of each class, round(fraction × n_c) items (at least 1, at most n_c − 1) validate. */
  fraction: z.number().gt(0).lt(1).default(0.2),
  seed: z.number().int().min(0).max(0xffffffff).default(0),
});
export type HoldoutOptions = z.input<typeof HoldoutSchema>;

/** Each class's indices, shuffled with the stream of (seed, repeat, class); fails when a class has fewer than `least`. */
function shuffledClasses(dataset: Dataset, seed: number, repeat: number, least: number, why: string): Int32Array[] {
  const byClass = dataset.classNames.map((): number[] => []);
  for (let i = 0; i < dataset.size; i++) byClass[dataset.label(i)]!.push(i);
  return byClass.map((items, label) => {
    if (items.length < least) {
      throw new MarsError('ERR_DATA', `class "${dataset.classNames[label]}" has ${items.length} items, fewer than ${why}; use fewer folds or a validation set`);
    }
    return shuffle(Int32Array.from(items), new Rng(deriveSeed(seed, Stream.folds, repeat, label)));
  });
}

/** Marks: 1 for validation, 0 for train; both parts in dataset order. */
function foldFrom(marks: Uint8Array, repeat: number, fold: number): Fold {
  const train: number[] = [];
  const validation: number[] = [];
  marks.forEach((m, i) => (m ? validation : train).push(i));
  return { repeat, fold, train: Int32Array.from(train), validation: Int32Array.from(validation) };
}

/** The folds of every repeat, repeat by repeat. */
export function stratifiedKFold(dataset: Dataset, options: KFoldOptions = {}): Fold[] {
  const { folds: k, repeats, seed } = parseOptions(KFoldSchema, options, 'k-fold options');
  const out: Fold[] = [];
  for (let r = 0; r < repeats; r++) {
    const foldOf = new Int32Array(dataset.size);
    let next = 0;
    for (const items of shuffledClasses(dataset, seed, r, k, `the ${k} folds`)) for (const i of items) foldOf[i] = next++ % k;
    for (let f = 0; f < k; f++) out.push(foldFrom(Uint8Array.from(foldOf, (g) => Number(g === f)), r, f));
  }
  return out;
}

/** One stratified train/validation split. */
export function stratifiedHoldout(dataset: Dataset, options: HoldoutOptions = {}): Fold {
  const { fraction, seed } = parseOptions(HoldoutSchema, options, 'hold-out options');
  const marks = new Uint8Array(dataset.size);
  for (const items of shuffledClasses(dataset, seed, 0, 2, '2 (one to train on, one to validate)')) {
    const take = Math.min(items.length - 1, Math.max(1, Math.round(fraction * items.length)));
    for (const i of items.subarray(0, take)) marks[i] = 1;
  }
  return foldFrom(marks, 0, 0);
}
