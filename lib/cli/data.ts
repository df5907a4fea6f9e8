/** The CLI's data arguments: a DATA spec with --classes, --per-class and --class-names. */
import { Dataset } from '../data/dataset.js';
import { openDataset } from '../data/spec.js';
import { MarsError } from '../errors.js';
import { integer, integerList } from './args.js';

export interface DataFlags {
  classes?: number[];
  perClass?: number;
  classNames?: string[];
  seed?: number;
}

/** The data flags as given on the command line (--classes, --per-class, --class-names) with the run's seed. */
export function dataFlags(v: { classes?: string; 'per-class'?: string; 'class-names'?: string }, seed: number, help: string): DataFlags {
  return {
    seed,
    ...(v.classes ? { classes: integerList('classes', v.classes, help)! } : {}),
    ...(v['per-class'] ? { perClass: integer('per-class', v['per-class'], help)! } : {}),
    ...(v['class-names'] ? { classNames: v['class-names'].split(',').map((s) => s.trim()) } : {}),
  };
}

/** Gives the classes new names, in label order. */
export function renameClasses(dataset: Dataset, names: readonly string[]): Dataset {
  if (names.length !== dataset.classNames.length) {
    throw new MarsError('ERR_INVALID_ARGUMENT', `--class-names gives ${names.length} names for ${dataset.classNames.length} classes`);
  }
  const labelMap = Int32Array.from(names, (_, i) => i);
  return dataset.subset(Int32Array.from({ length: dataset.size }, (_, i) => i), { labelMap, classNames: names });
}

/** Opens DATA; --per-class applies to training data only (`sample`). */
export async function openData(spec: string, flags: DataFlags, sample: boolean): Promise<Dataset> {
  const dataset = await openDataset(spec, {
    ...(flags.classes ? { classes: flags.classes } : {}),
    ...(sample && flags.perClass !== undefined ? { perClass: flags.perClass } : {}),
    ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
  });
  return flags.classNames ? renameClasses(dataset, flags.classNames) : dataset;
}
