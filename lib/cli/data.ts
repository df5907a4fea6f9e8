/** The CLI's data arguments: a DATA spec with --classes, --per-class and --class-names. */
import type { Dataset } from '../data/dataset.js';
import { renameClasses } from '../data/select.js';
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

/** Opens DATA; --per-class applies to training data only (`sample`). */
export async function openData(spec: string, flags: DataFlags, sample: boolean): Promise<Dataset> {
  const data = await openDataset(spec, {
    ...(flags.classes ? { classes: flags.classes } : {}),
    ...(sample && flags.perClass !== undefined ? { perClass: flags.perClass } : {}),
    ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
  });
  if (!flags.classNames) return data;
  if (flags.classNames.length !== data.classNames.length) {
    throw new MarsError('ERR_INVALID_ARGUMENT', `--class-names gives ${flags.classNames.length} names for the ${data.classNames.length} classes of ${spec}`);
  }
  return renameClasses(data, flags.classNames);
}
