/**
 * runExperiment: the comparison of issue 13 in one call. For every study
 * (a recipe and a BatchNorm mode), size n and row: search the row's
 * hyperparameters with the same budget (k-fold cross-validation on a draw of
 * n images per class of its own), then retrain the best setting on `seeds`
 * paired draws and score each on the test set, with the post hoc bound of
 * every run and the a priori bound of MARS-SP's. Then the sensitivity study:
 * MARS-SP's and Frobenius-SP's searched radii scaled by 10^k. Every finished
 * run is journaled, so the same call resumes after any interruption;
 * `results.json` and the figures (`figures/*.svg`) are written at the end.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { select } from '../data/select.js';
import { openDataset } from '../data/spec.js';
import { checkAborted } from '../bound/measure.js';
import { search } from '../search/search.js';
import { runtimeInfo } from '../torch/runtime.js';
import { fineTune } from '../train/finetune.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { ensureOutputDir } from '../util/output-dir.js';
import { RunBounds } from './bounds.js';
import { experimentFigures } from './figures.js';
import { epochsAt, readConfig, type ExperimentConfig, type Row } from './config.js';
import { RunJournal } from './journal.js';
import { methodOf, rowOptions, scaleRadii, spaceOf, type Setting } from './rows.js';
import { summarise } from './stats.js';
import { summariseResults, type ExperimentResults, type ExperimentRun, type SearchSummary } from './summary.js';

/** The search's own draw of n per class: seeded apart from the final runs' draws (100 + s). */
const SEARCH_SEED = 1000;
const drawSeed = (seed: number) => 100 + seed;

export interface ExperimentProgress {
  /** Runs finished (this invocation and before) and planned; a search counts as one. */
  done: number;
  total: number;
  /** What just finished, in words. */
  message: string;
  /** Seconds to go, from this invocation's pace. */
  eta?: number;
}

export interface ExperimentOptions {
  /** The configuration file (or one already read with readConfig). */
  config: string | ExperimentConfig;
  /** The experiment folder: journal, searches, results.json. */
  out: string;
  /** LibTorch threads; default: the configuration's, else PyTorch's default. */
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (p: ExperimentProgress) => void;
}

interface Cell {
  recipe: string;
  batchNorm: 'update' | 'freeze';
  n: number;
  row: Row;
}
const cellId = (c: Cell) => `${c.recipe}-bn${c.batchNorm}-n${c.n}-${c.row}`;

export async function runExperiment(options: ExperimentOptions): Promise<ExperimentResults> {
  const config = typeof options.config === 'string' ? readConfig(options.config) : options.config;
  const threads = options.threads ?? config.threads;
  const backboneSha256 = createHash('sha256').update(readFileSync(config.backbone)).digest('hex');
  // The backbone by name and content, not by path: a checkout elsewhere resumes (or reruns) the same experiment.
  const recorded = { ...config, backbone: basename(config.backbone) };
  const journal = await RunJournal.open(options.out, { format: 1, config: recorded, backboneSha256 });
  // The folder stays locked until the end, whatever happens: one experiment in it at a time.
  try {
    const selectClasses = config.target.classes ? { classes: config.target.classes } : {};
    const pool = await openDataset(config.target.train, selectClasses);
    const test = await openDataset(config.target.test, { ...selectClasses, ...(config.target.testPerClass ? { perClass: config.target.testPerClass, seed: 0 } : {}) });

    const cells: Cell[] = config.studies.flatMap((s) => s.sizes.flatMap((n) => s.rows.map((row) => ({ recipe: s.recipe, batchNorm: s.batchNorm, n, row }))));
    const sens = config.sensitivity;
    const sensitivityRuns = sens ? sens.methods.length * sens.exponents.filter((k) => k !== 0).length * sens.seeds : 0;
    const searched = cells.filter((c) => spaceOf(c.row, config.search.lr));
    const total = searched.length + cells.length * config.seeds + sensitivityRuns;
    let done = 0;
    const started = performance.now();
    let doneHere = 0;
    const report = (message: string, ranHere: boolean) => {
      done++;
      if (ranHere) doneHere++;
      const elapsed = (performance.now() - started) / 1000;
      options.onProgress?.({ done, total, message, ...(doneHere ? { eta: (elapsed / doneHere) * (total - done) } : {}) });
    };

    const recipeOptions = (c: Cell) => {
      const r = config.recipes[c.recipe]!;
      return {
        backbone: config.backbone, optimizer: r.optimizer, schedule: r.schedule, batchSize: r.batchSize, epochs: epochsAt(r, c.n),
        batchNormStatistics: c.batchNorm, ...rowOptions(c.row),
      };
    };

    const bounds = await RunBounds.open(config.backbone, { ...config.bound, signal: options.signal });
    try {
      // The searches: one per searched cell, each resumable in its own folder.
      const settings = new Map<string, Setting>();
      const searches: SearchSummary[] = [];
      for (const c of cells) {
        const space = spaceOf(c.row, config.search.lr);
        const base = recipeOptions(c);
        if (!space) {
          settings.set(cellId(c), { regulariser: { method: 'none' }, optimizer: base.optimizer });
          continue;
        }
        checkAborted(options.signal, 'before a search');
        const result = await search({
          fineTune: { ...base, train: select(pool, { perClass: c.n, seed: SEARCH_SEED }), seed: SEARCH_SEED },
          regulariser: { method: methodOf(c.row) },
          space,
          trials: config.search.trials,
          sampler: config.search.sampler,
          selection: { type: 'cv', folds: config.search.folds },
          out: join(options.out, 'search', cellId(c)),
          ...(threads ? { threads } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        });
        settings.set(cellId(c), { regulariser: result.regulariser, optimizer: result.optimizer });
        searches.push({
          cell: cellId(c), ...c, trials: result.trials.length, params: result.best.params, cvAccuracy: result.best.accuracy,
          setting: settings.get(cellId(c))!, seconds: result.trials.reduce((a, t) => a + t.seconds, 0),
        });
        report(`searched ${cellId(c)}: cv accuracy ${(100 * (result.best.accuracy ?? 0)).toFixed(2)}% with ${JSON.stringify(result.best.params)}`, result.trialsRun > 0);
      }

      /** One final run: train on draw `seed`, score on test, the bounds. */
      const finalRun = async (key: string, c: Cell, setting: Setting, seed: number): Promise<ExperimentRun> => {
        const known = journal.get(key);
        if (known) {
          report(`${key} (journaled)`, false);
          return known;
        }
        checkAborted(options.signal, 'before a run');
        const t0 = performance.now();
        const train = select(pool, { perClass: c.n, seed: drawSeed(seed) });
        const res = await fineTune({
          ...recipeOptions(c), ...setting, train, test, seed,
          ...(threads ? { threads } : {}), ...(options.signal ? { signal: options.signal } : {}),
        });
        const last = res.history.at(-1)!;
        const record: ExperimentRun = {
          key, recipe: c.recipe, batchNorm: c.batchNorm, n: c.n, row: c.row, seed, setting,
          testAccuracy: res.test!.accuracy, testLoss: res.test!.loss, trainAccuracy: last.train.accuracy,
          ...(await bounds.of(res.model.module, train, c.row, setting, seed)),
          distances: last.distances.filter((d) => d.name.endsWith('.weight')).map((d) => ({ name: d.name, mars: d.mars, frobenius: d.frobenius })),
          seconds: (performance.now() - t0) / 1000, loadAverage: loadavg()[0]!,
        };
        res.model.dispose();
        journal.add(record);
        report(`${key}: test ${(100 * record.testAccuracy).toFixed(2)}% in ${record.seconds.toFixed(0)} s`, true);
        return record;
      };

      const runs: ExperimentRun[] = [];
      for (const c of cells) {
        for (let s = 0; s < config.seeds; s++) runs.push(await finalRun(`${cellId(c)}/seed${s}`, c, settings.get(cellId(c))!, s));
      }
      const sensitivity: ExperimentRun[] = [];
      if (sens) {
        for (const method of sens.methods) {
          const c: Cell = { recipe: sens.recipe, batchNorm: sens.batchNorm, n: sens.n, row: method };
          const best = settings.get(cellId(c))!;
          for (const k of sens.exponents) {
            for (let s = 0; s < sens.seeds; s++) {
              // k = 0 is the comparison's own run of that seed when it has one.
              const same = k === 0 && s < config.seeds ? journal.get(`${cellId(c)}/seed${s}`) : undefined;
              const r = same ?? (await finalRun(`sensitivity/${cellId(c)}/k${k}/seed${s}`, c, scaleRadii(best, 10 ** k), s));
              sensitivity.push({ ...r, exponent: k });
            }
          }
        }
      }

      const results = summariseResults(recorded, runs, sensitivity, searches, {
        backboneSha256,
        date: new Date().toISOString(),
        cores: cpus().length,
        cpu: cpus()[0]?.model ?? 'unknown',
        threads: threads ?? null,
        libtorch: runtimeInfo().libtorchVersion,
        secondsThisInvocation: (performance.now() - started) / 1000,
        secondsAllRuns: [...runs, ...sensitivity.filter((r) => r.exponent !== 0)].reduce((a, r) => a + r.seconds, 0) + searches.reduce((a, r) => a + r.seconds, 0),
        loadAverage: summarise(runs.map((r) => r.loadAverage)),
        ...(bounds.refused ? { boundRefused: bounds.refused } : {}),
      });
      await writeFileAtomic(join(options.out, 'results.json'), JSON.stringify(results, null, 2) + '\n', 'ERR_WRITE');
      const figures = join(options.out, 'figures');
      await ensureOutputDir(figures, 'figures folder');
      for (const [name, svg] of Object.entries(await experimentFigures(results))) await writeFileAtomic(join(figures, name), svg, 'ERR_WRITE');
      return results;
    } finally {
      bounds.dispose();
    }
  } finally {
    journal.close();
  }
}
