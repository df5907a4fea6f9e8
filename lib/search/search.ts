/**
 * search(): choose a method's hyperparameters. Each trial fine-tunes with one
 * setting on every split of the selection data and is scored on validation
 * after its last epoch; the sampler proposes the next setting from the
 * trials it knows. Trial i (from 1) knows exactly the trials 1..i−jobs (it waits for
 * them), so a search is reproducible for a given seed and job count whatever
 * the timing, and a resumed one proposes what an unbroken one would have.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Classifier } from '../classifier/classifier.js';
import type { Dataset } from '../data/dataset.js';
import { deriveSeed, Rng, Stream } from '../data/rng.js';
import { MarsError } from '../errors.js';
import { fineTune } from '../train/finetune.js';
import { OptimizerSchema, type OptimizerOptions, type SplitMetrics } from '../train/options.js';
import { RegulariserSchema, type Regulariser, type RegulariserOptions } from '../train/regularisers.js';
import { parseOptions } from '../util/parse-options.js';
import { stratifiedHoldout, stratifiedKFold } from './folds.js';
import { Journal } from './journal.js';
import { CV_BELOW_PER_CLASS, SearchSchema, SelectionSchema, type ParsedSearchOptions, type SearchOptions, type SearchProgress } from './options.js';
import { runPool, type Scheduler } from './runner.js';
import { suggest } from './samplers.js';
import { defaultSpace, type Space } from './space.js';
import { applyParams, better, curveOf, type Objective, type Split, type TrialContext, type TrialRecord } from './trial.js';
import { concatDatasets } from './transfer.js';

export interface SearchResult {
  /** The best complete trial. */
  best: TrialRecord;
  /** The best setting as fineTune takes it. */
  regulariser: RegulariserOptions;
  optimizer: OptimizerOptions;
  /** Every finished trial (this run and before), by id. */
  trials: TrialRecord[];
  /** How many of them this call ran; the rest came from the journal in `out`. */
  trialsRun: number;
  /** With `refit`: trained on all the data with the best setting. */
  model?: Classifier;
  /** With `refit` and `test`: the refitted model's score. */
  test?: SplitMetrics;
}

type Selection = NonNullable<ParsedSearchOptions['selection']>;

/** Fails early, naming the key, when a value of the space is not one the method or the optimiser accepts. */
function checkSpace(space: Space, regulariser: Regulariser, optimizer: OptimizerOptions): void {
  for (const [key, d] of Object.entries(space)) {
    if (key === 'method') throw new MarsError('ERR_INVALID_ARGUMENT', "search space: 'method' cannot be searched; run one search per method");
    for (const value of d.type === 'choice' ? d.values : [d.low, d.high]) {
      const probe = applyParams(regulariser, optimizer, { [key]: value });
      parseOptions(RegulariserSchema, probe.regulariser, `search space '${key}' (${regulariser.method})`);
      parseOptions(OptimizerSchema, probe.optimizer, `search space '${key}'`);
    }
  }
}

function defaultSelection(train: Dataset): Selection {
  const few = Math.min(...train.classCounts()) < CV_BELOW_PER_CLASS;
  return parseOptions(SelectionSchema, { type: few ? 'cv' : 'holdout' }, 'selection');
}

function splitsOf(selection: Selection, train: Dataset, seed: number): Split[] {
  const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
  if (selection.type === 'validation') return [{ repeat: 0, fold: 0, train: all(train.size), validation: all(selection.data.size), from: 'validation' }];
  if (selection.type === 'holdout') return [{ ...stratifiedHoldout(train, { fraction: selection.fraction, seed }), from: 'train' }];
  return stratifiedKFold(train, { folds: selection.folds, repeats: selection.repeats, seed }).map((f) => ({ ...f, from: 'train' }));
}

/** Names a dataset by its items and labels, so a resumed search notices other data. */
function identity(d: Dataset) {
  const hash = createHash('sha1');
  for (let i = 0; i < d.size; i++) hash.update(`${d.key(i)}\t${d.label(i)}\n`);
  return { items: d.size, classes: d.classNames, sha1: hash.digest('hex') };
}

/** The settings that make trials comparable: search.json. Job and thread counts may change between runs. */
function settingsOf(o: ParsedSearchOptions, space: Space, selection: Selection) {
  const { train, backbone, ...base } = o.fineTune;
  return {
    format: 1,
    regulariser: o.regulariser,
    space,
    selection: selection.type === 'validation' ? { type: selection.type, data: identity(selection.data) } : selection,
    objective: o.objective,
    sampler: o.sampler,
    pruner: o.pruner,
    fineTune: {
      backbone: typeof backbone === 'string' ? { sha1: createHash('sha1').update(readFileSync(backbone)).digest('hex') } : 'a loaded Module (not identified)',
      ...base,
    },
    train: identity(train),
  };
}

/** Known trials, best first: complete ones by the objective, then pruned, then failed (each by id). */
function ranked(objective: Objective, records: readonly TrialRecord[]): TrialRecord[] {
  const order = { complete: 0, pruned: 1, failed: 2 };
  return [...records].sort((a, b) => {
    if (a.status !== b.status) return order[a.status] - order[b.status];
    if (a.status === 'complete') {
      const [sa, sb] = [{ accuracy: a.accuracy!, loss: a.loss! }, { accuracy: b.accuracy!, loss: b.loss! }];
      if (better(objective, sa, sb)) return -1;
      if (better(objective, sb, sa)) return 1;
    }
    return a.id - b.id;
  });
}

/** Searches a method's hyperparameters; resumes from `out` when it holds the same search. */
export async function search(options: SearchOptions): Promise<SearchResult> {
  const o = parseOptions(SearchSchema, options, 'search options');
  const { train, ...base } = o.fineTune;
  const space = o.space ?? defaultSpace(o.regulariser.method);
  checkSpace(space, o.regulariser, base.optimizer);
  const selection = o.selection ?? defaultSelection(train);
  const validation = selection.type === 'validation' ? selection.data : undefined;
  const ctx: TrialContext = {
    base, regulariser: o.regulariser, train, ...(validation ? { validation } : {}), splits: splitsOf(selection, train, base.seed),
    objective: o.objective, pruner: o.pruner, threads: Math.max(1, Math.floor(o.threads / o.jobs)),
  };
  const shape = { space, trials: o.trials, splits: ctx.splits.length, epochs: base.epochs };
  const journal = o.out ? await Journal.open(o.out, settingsOf(o, space, selection), shape) : Journal.memory();
  try {
    return await runSearch(o, ctx, space, journal);
  } finally {
    journal.close();
  }
}

/** The search proper, its journal open (and its folder locked). */
async function runSearch(o: ParsedSearchOptions, ctx: TrialContext, space: Space, journal: Journal): Promise<SearchResult> {
  const { base, train, validation } = ctx;
  const finished = new Map(journal.records.map((r) => [r.id, r]));
  const usesKnown = o.sampler.type === 'tpe' || o.pruner.type !== 'none';
  const bestOf = () => ranked(o.objective, journal.records).find((r) => r.status === 'complete');
  const settingOf = (r: TrialRecord) => applyParams(o.regulariser, base.optimizer, r.params);
  const writeBest = (best: TrialRecord) => {
    const { regulariser, optimizer } = settingOf(best);
    return journal.writeBest({
      method: o.regulariser.method, params: best.params, score: best.score, objective: o.objective,
      accuracy: best.accuracy, loss: best.loss, trial: best.id, regulariser: parseOptions(RegulariserSchema, regulariser, 'best setting'),
      optimizer, folds: best.folds.map(({ repeat, fold, accuracy, loss, count }) => ({ repeat, fold, accuracy, loss, count })),
    });
  };
  const started = performance.now();
  let finishedHere = 0;
  const progress = (): SearchProgress => {
    const best = bestOf();
    const remaining = Math.max(0, o.trials - journal.records.length);
    return {
      done: journal.records.length, total: o.trials, ...(best ? { best } : {}),
      ...(finishedHere ? { eta: ((performance.now() - started) / 1000 / finishedHere) * remaining } : {}),
    };
  };

  const scheduler: Scheduler = {
    pending: Array.from({ length: o.trials }, (_, i) => i + 1).filter((id) => !finished.has(id)),
    prepare(id) {
      const last = id - o.jobs;
      if (usesKnown) for (let j = 1; j <= last; j++) if (!finished.has(j)) return undefined;
      const known = usesKnown ? ranked(o.objective, [...finished.values()].filter((r) => r.id <= last)) : [];
      const params = suggest(o.sampler, space, known, new Rng(deriveSeed(base.seed, Stream.search, id)));
      return { id, params, known: known.map((r) => ({ complete: r.status === 'complete', curve: curveOf(o.objective, r) })) };
    },
    started: (task) => o.onTrialStart?.({ id: task.id, params: task.params }, progress()),
    epoch: (e) => o.onEpochEnd?.(e),
    async finished(record) {
      finished.set(record.id, record);
      journal.append(record);
      finishedHere++;
      const best = bestOf();
      if (best?.id === record.id) await writeBest(best);
      o.onTrialEnd?.(record, progress());
    },
  };
  await runPool(ctx, o.jobs, scheduler, o.signal);

  const best = bestOf();
  if (!best) {
    const failed = journal.records.find((r) => r.error);
    throw new MarsError('ERR_TRAINING', `no trial completed${failed ? `; trial ${failed.id} failed: ${failed.error!.message}` : ''}`);
  }
  await writeBest(best);
  const { regulariser, optimizer } = settingOf(best);
  const result: SearchResult = { best, regulariser, optimizer, trials: [...journal.records].sort((a, b) => a.id - b.id), trialsRun: finishedHere };
  if (o.refit) {
    const refit = await fineTune({
      ...base, regulariser, optimizer, threads: o.threads,
      train: validation ? concatDatasets(train, validation) : train,
      ...(o.test ? { test: o.test } : {}), ...(o.signal ? { signal: o.signal } : {}),
    });
    result.model = refit.model;
    if (refit.test) result.test = refit.test;
  }
  return result;
}
