/**
 * The experiment's folder: `experiment.json` (the configuration it runs, so
 * that a resumed run continues the same one), `runs.jsonl` (one whole line
 * per finished run; a line cut by a crash is dropped on reading) and
 * `search/` (one resumable search per searched cell). The folder is locked
 * while the experiment runs; every run read back must be a whole record, and
 * a run recorded twice with different results (two experiments at once) is
 * refused, before anything is written.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { MarsError } from '../errors.js';
import { OptimizerSchema } from '../train/options.js';
import { RegulariserSchema } from '../train/regularisers.js';
import { appendLine } from '../util/append-line.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { DirLock } from '../util/dir-lock.js';
import { journalError, readJournal } from '../util/journal-file.js';
import { ensureOutputDir } from '../util/output-dir.js';
import { ROWS } from './config.js';
import type { ExperimentRun } from './summary.js';

const finite = z.number().finite();
const fraction = finite.min(0).max(1);
/** Kept as written (fineTune parses it again); only checked. */
const valid = <T>(schema: z.ZodType, what: string) => z.custom<T>((v) => schema.safeParse(v).success, `not a valid ${what}`);
/** JSON writes an infinite bound (a product of norms past 1e308) as null. */
const bound = z.union([finite, z.null().transform(() => Infinity)]).optional();

const RunSchema = z.strictObject({
  key: z.string().min(1),
  recipe: z.string().min(1),
  batchNorm: z.enum(['update', 'freeze']),
  n: z.number().int().positive(),
  row: z.enum(ROWS),
  seed: z.number().int().nonnegative(),
  setting: z.strictObject({ regulariser: valid<ExperimentRun['setting']['regulariser']>(RegulariserSchema, 'regulariser'), optimizer: valid<ExperimentRun['setting']['optimizer']>(OptimizerSchema, 'optimizer') }),
  testAccuracy: fraction,
  testLoss: finite.nonnegative(),
  trainAccuracy: fraction,
  posthocBound: bound,
  marginLoss: finite.optional(),
  aprioriBound: bound,
  distances: z.array(z.strictObject({ name: z.string(), mars: finite, frobenius: finite })),
  seconds: finite.nonnegative(),
  loadAverage: finite.nonnegative(),
}) satisfies z.ZodType<ExperimentRun>;

export class RunJournal {
  private constructor(
    readonly dir: string,
    private readonly done: Map<string, ExperimentRun>,
    private readonly lock: DirLock,
  ) {}

  /** Opens `dir` for `settings` and locks it until close(); a folder holding another experiment is refused. */
  static async open(dir: string, settings: unknown): Promise<RunJournal> {
    await ensureOutputDir(dir, 'experiment folder');
    const lock = await DirLock.acquire(dir);
    try {
      const file = join(dir, 'experiment.json');
      const text = JSON.stringify(settings, null, 2) + '\n';
      const known = existsSync(file);
      if (known && readFileSync(file, 'utf8') !== text) {
        throw new MarsError('ERR_INVALID_ARGUMENT', `${dir} holds another experiment (its experiment.json differs from this configuration and backbone): give another --out, or remove it`);
      }
      const path = join(dir, 'runs.jsonl');
      const done = new Map<string, ExperimentRun>();
      readJournal(path, RunSchema, (lines) => {
        const first = new Map<string, number>();
        for (const { line, record } of lines) {
          const earlier = done.get(record.key);
          if (earlier && JSON.stringify(earlier) !== JSON.stringify(record)) {
            throw journalError(path, `run ${record.key} appears twice with different results (lines ${first.get(record.key)} and ${line}): two experiments ran in this folder at once?`);
          }
          done.set(record.key, record);
          if (!first.has(record.key)) first.set(record.key, line);
        }
      });
      if (!known) await writeFileAtomic(file, text, 'ERR_WRITE');
      return new RunJournal(dir, done, lock);
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  get(key: string): ExperimentRun | undefined {
    return this.done.get(key);
  }

  /** Appends a finished run as one whole line; ERR_WRITE (and the file as it was) when it cannot. */
  add(record: ExperimentRun): void {
    appendLine(join(this.dir, 'runs.jsonl'), JSON.stringify(record), 'ERR_WRITE');
    this.done.set(record.key, record);
  }

  /** Unlocks the folder. */
  close(): void {
    this.lock.release();
  }
}
