/**
 * Class subsets, per-class samples, fractions and train/validation splits.
 * Sampling is stratified (decided class by class) and seeded, and keeps
 * dataset order, so the same seed always picks the same items.
 */
import { MarsError } from '../errors.js';
import type { Dataset } from './dataset.js';
import { parseOptions } from '../util/parse-options.js';
import { selectOptionsSchema, splitOptionsSchema, type SelectOptions, type SplitOptions } from './options.js';
import { deriveSeed, Rng, shuffle, Stream } from './rng.js';

/** Keeps the given classes and relabels them 0..k-1 in the given order (e.g. [5..9] → 0..4). */
export function selectClasses(dataset: Dataset, classes: readonly number[]): Dataset {
  const labelMap = new Int32Array(dataset.classNames.length).fill(-1);
  classes.forEach((c, i) => {
    if (!(Number.isInteger(c) && c >= 0 && c < labelMap.length)) {
      throw new MarsError('ERR_DATA_LABEL', `class ${c} does not exist; labels are 0..${labelMap.length - 1}`);
    }
    if (labelMap[c] !== -1) throw new MarsError('ERR_INVALID_ARGUMENT', `class ${c} is selected twice`);
    labelMap[c] = i;
  });
  const indices: number[] = [];
  for (let i = 0; i < dataset.size; i++) if (labelMap[dataset.label(i)]! >= 0) indices.push(i);
  return dataset.subset(indices, { labelMap, classNames: classes.map((c) => dataset.classNames[c]!) });
}

/** Gives the classes new names, in label order. */
export function renameClasses(dataset: Dataset, names: readonly string[]): Dataset {
  if (names.length !== dataset.classNames.length) {
    throw new MarsError('ERR_INVALID_ARGUMENT', `classNames gives ${names.length} names for ${dataset.classNames.length} classes (${dataset.classNames.join(', ')})`);
  }
  if (new Set(names).size !== names.length) throw new MarsError('ERR_INVALID_ARGUMENT', `classNames must be distinct, got ${names.join(', ')}`);
  return dataset.subset(Int32Array.from({ length: dataset.size }, (_, i) => i), { labelMap: Int32Array.from(names, (_, i) => i), classNames: names });
}

/** Applies `classes`, then `classNames`, then `perClass` or `fraction`, as validated by selectOptionsSchema. */
export function select(dataset: Dataset, options: SelectOptions = {}): Dataset {
  const o = parseOptions(selectOptionsSchema, options, 'data selection');
  const selected = o.classes ? selectClasses(dataset, o.classes) : dataset;
  const chosen = o.classNames ? renameClasses(selected, o.classNames) : selected;
  if (o.perClass !== undefined) {
    const n = o.perClass;
    chosen.classCounts().forEach((count, label) => {
      if (count < n) {
        throw new MarsError('ERR_DATA', `class "${chosen.classNames[label]}" has ${count} items, fewer than perClass ${n}`);
      }
    });
    return chosen.subset(stratify(chosen, () => n, o.seed, Stream.perClass).taken);
  }
  if (o.fraction !== undefined) {
    const f = o.fraction;
    return chosen.subset(stratify(chosen, (count) => Math.round(count * f), o.seed, Stream.fraction).taken);
  }
  return chosen;
}

/** Stratified split: round(validation × count) items of each class go to validation, the rest to train. */
export function splitDataset(dataset: Dataset, options: SplitOptions): { train: Dataset; validation: Dataset } {
  const o = parseOptions(splitOptionsSchema, options, 'split options');
  const { taken, rest } = stratify(dataset, (count) => Math.round(count * o.validation), o.seed, Stream.split);
  return { train: dataset.subset(rest), validation: dataset.subset(taken) };
}

/** Takes `take(count)` random items of each class; both parts come back in dataset order. */
function stratify(dataset: Dataset, take: (count: number) => number, seed: number, stream: number) {
  const byClass = dataset.classNames.map((): number[] => []);
  for (let i = 0; i < dataset.size; i++) byClass[dataset.label(i)]!.push(i);
  const chosen = new Uint8Array(dataset.size);
  byClass.forEach((indices, label) => {
    const picked = shuffle(Int32Array.from(indices), new Rng(deriveSeed(seed, stream, label)));
    for (const i of picked.subarray(0, take(indices.length))) chosen[i] = 1;
  });
  const taken: number[] = [];
  const rest: number[] = [];
  chosen.forEach((c, i) => (c ? taken : rest).push(i));
  return { taken, rest };
}
