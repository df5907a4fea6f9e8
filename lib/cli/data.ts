/** The CLI's data arguments: a DATA spec with --classes, --per-class and --class-names. */
import type { Dataset } from '../data/dataset.js';
import { openDataset } from '../data/spec.js';

export interface DataFlags {
  classes?: number[];
  perClass?: number;
  classNames?: string[];
  seed?: number;
}

/** Opens DATA; --per-class applies to training data only (`sample`). */
export async function openData(spec: string, flags: DataFlags, sample: boolean): Promise<Dataset> {
  return openDataset(spec, {
    ...(flags.classes ? { classes: flags.classes } : {}),
    ...(sample && flags.perClass !== undefined ? { perClass: flags.perClass } : {}),
    ...(flags.classNames ? { classNames: flags.classNames } : {}),
    ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
  });
}
