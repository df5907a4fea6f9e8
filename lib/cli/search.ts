/** `mars-ft search`: choose a method's hyperparameters by cross-validation (or a validation set), resumably. */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { search, type SearchOptions, type SearchProgress, type TrialEpoch, type TrialRecord } from '../search/index.js';
import { METHODS, type Method } from '../train/regularisers.js';
import { number, required } from './args.js';
import { dataFlags, openData } from './data.js';
import { duration, pct } from './progress.js';
import { UsageError } from './usage.js';

export const searchHelp = `mars-ft search --backbone FILE.pt --train DATA --method M --out DIR [options]

Searches the method's hyperparameters (radii log-uniform on [e^0.5, e^3.5],
penalty weights log-uniform on [e^-10, e^-1], as the reference did): each
trial fine-tunes with one setting and is scored on validation accuracy after
its last epoch (ties go to the lower loss). Without --val, the training data
is cross-validated (5 stratified folds when some class has fewer than 50
items, else a 20% stratified hold-out). Running the same command with the
same --out resumes; a larger --trials adds trials.

  --method NAME        ${METHODS.join(', ')} (default mars-sp)
  --trials N           (default 20)    --jobs J       trials at once (default 1)
  --folds K            K-fold cross-validation   --repeats R   K-fold rounds (default 1)
  --val DATA           validate on this data instead
  --sampler tpe|random (default tpe)   --startup N    random trials before TPE (default 5)
  --pruner none|median|halving (default none)
  --objective accuracy|loss (default accuracy)
  --space JSON         e.g. '{"extractor":{"type":"logUniform","low":1,"high":8}}'
  --epochs N           per trial (default 30)    --batch-size B (default 128)
  --lr X  --optimizer adam|adamw|sgd   --seed S (default 0)
  --threads T          LibTorch threads in all, divided among the jobs
  --classes 5,6,7  --per-class N  --class-names a,b,c   as for finetune
  --refit              train on all the data with the best setting: DIR/model.pt
  --test DATA          score the refitted model
  --json               print the result as JSON

Writes DIR/search.json (the settings), DIR/trials.jsonl (one line per
finished trial: id, status, params, score, per-fold scores, seconds) and
DIR/best.json (method, params, score). Ctrl-C stops; the finished trials stay.
One search at a time in DIR: a second is refused while the first runs.`;

/**
 * One line per finished trial; on a terminal, below them, a status line
 * redrawn as epochs end: best so far, ETA, and each running trial (i of N).
 */
class SearchDisplay {
  private readonly tty = Boolean(process.stderr.isTTY);
  private readonly width = Math.min(process.stderr.columns || 120, 160) - 1;
  private progress?: SearchProgress;
  private readonly running = new Map<number, string>();

  private draw(): void {
    if (!this.tty) return;
    const p = this.progress;
    const head = [
      ...(p?.best ? [`best ${pct(p.best.accuracy)} (trial ${p.best.id})`] : []),
      `${p?.done ?? 0} done, ETA ${duration(p?.eta ?? NaN)}`,
    ];
    process.stderr.write(`\r${[...head, ...this.running.values()].join(' | ').slice(0, this.width).padEnd(this.width)}`);
  }

  /** Clears the status line. */
  clear(): void {
    if (this.tty) process.stderr.write(`\r${' '.repeat(this.width)}\r`);
  }

  start(id: number, p: SearchProgress): void {
    this.progress = p;
    this.running.set(id, `trial ${id} of ${p.total}`);
    this.draw();
  }

  epoch(e: TrialEpoch): void {
    this.running.set(e.trial, `trial ${e.trial} of ${this.progress!.total}: split ${e.split + 1}/${e.splits} epoch ${e.epoch}/${e.epochs} val ${pct(e.validation.accuracy)}`);
    this.draw();
  }

  trial(t: TrialRecord, p: SearchProgress): void {
    this.running.delete(t.id);
    this.progress = p;
    const params = Object.entries(t.params).map(([k, v]) => `${k} ${typeof v === 'number' ? v.toPrecision(4) : v}`).join(', ');
    const line = `trial ${t.id} of ${p.total} ${t.status}: ${params} -> val acc ${pct(t.accuracy)} loss ${t.loss?.toFixed(4) ?? '-'} (${t.seconds.toFixed(1)} s)` +
      (p.best ? ` | best ${pct(p.best.accuracy)} (trial ${p.best.id})` : '') + ` | ETA ${duration(p.eta ?? NaN)}`;
    this.clear();
    process.stderr.write(`${line}\n`);
    this.draw();
  }
}

function choiceOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}, got '${value}'`, searchHelp);
  return value as T;
}

function spaceOf(json: string | undefined): SearchOptions['space'] {
  if (json === undefined) return undefined;
  try {
    return JSON.parse(json) as SearchOptions['space'];
  } catch (e) {
    throw new UsageError(`--space is not JSON: ${(e as Error).message}`, searchHelp);
  }
}

export async function searchCommand(argv: string[]): Promise<void> {
  const s = { type: 'string' } as const;
  const { values: v } = parseArgs({
    args: argv,
    options: {
      backbone: s, train: s, val: s, test: s, out: s, method: { type: 'string', default: 'mars-sp' }, trials: s, folds: s, repeats: s,
      jobs: s, sampler: s, startup: s, pruner: s, objective: s, space: s, epochs: s, 'batch-size': s, lr: s, optimizer: s,
      seed: s, threads: s, classes: s, 'per-class': s, 'class-names': s,
      refit: { type: 'boolean', default: false }, json: { type: 'boolean', default: false },
    },
  });
  const h = searchHelp;
  const out = required('out', v.out, h);
  const method = choiceOf<Method>('method', v.method, METHODS)!;
  const seed = number('seed', v.seed, h) ?? 0;
  const flags = dataFlags(v, seed, h);
  if (v.val && v.folds) throw new UsageError('give --val or --folds, not both', h);
  if (v.test && !v.refit) throw new UsageError('--test scores the refitted model; add --refit', h);
  const train = await openData(required('train', v.train, h), flags, true);
  const validation = v.val ? await openData(v.val, flags, false) : undefined;
  const test = v.test ? await openData(v.test, flags, false) : undefined;
  const sampler = choiceOf('sampler', v.sampler, ['tpe', 'random'] as const);
  const pruner = choiceOf('pruner', v.pruner, ['none', 'median', 'halving'] as const);
  const optional = <K extends string, T>(key: K, value: T | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, T>));
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  const display = new SearchDisplay();
  try {
    const result = await search({
      fineTune: {
        backbone: required('backbone', v.backbone, h), train, seed,
        ...optional('epochs', number('epochs', v.epochs, h)),
        ...optional('batchSize', number('batch-size', v['batch-size'], h)),
        optimizer: { ...optional('name', choiceOf('optimizer', v.optimizer, ['adam', 'adamw', 'sgd'] as const)), ...optional('lr', number('lr', v.lr, h)) },
      },
      regulariser: { method },
      ...optional('space', spaceOf(v.space)),
      ...optional('trials', number('trials', v.trials, h)),
      ...(sampler === 'random' ? { sampler: { type: 'random' as const } } : { sampler: { type: 'tpe' as const, ...optional('startup', number('startup', v.startup, h)) } }),
      ...(validation ? { selection: { type: 'validation' as const, data: validation } } : {}),
      ...(v.folds ? { selection: { type: 'cv' as const, folds: number('folds', v.folds, h)!, ...optional('repeats', number('repeats', v.repeats, h)) } } : {}),
      ...optional('objective', choiceOf('objective', v.objective, ['accuracy', 'loss'] as const)),
      ...optional('pruner', pruner && { type: pruner }),
      ...optional('jobs', number('jobs', v.jobs, h)),
      ...optional('threads', number('threads', v.threads, h)),
      out, refit: v.refit, ...optional('test', test), signal: controller.signal,
      onTrialStart: (t, p) => display.start(t.id, p),
      onEpochEnd: (e) => display.epoch(e),
      onTrialEnd: (t, p) => display.trial(t, p),
    });
    display.clear();
    if (result.model) await result.model.save(join(out, 'model.pt'));
    const summary = {
      method, params: result.best.params, score: result.best.score, accuracy: result.best.accuracy, loss: result.best.loss, trial: result.best.id,
      trials: result.trials.length, ...(result.model ? { model: join(out, 'model.pt') } : {}), ...(result.test ? { testAccuracy: result.test.accuracy, testLoss: result.test.loss } : {}),
    };
    if (v.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    else {
      const params = Object.entries(result.best.params).map(([k, x]) => `${k} ${x}`).join(', ');
      process.stdout.write(`${method}: best of ${result.trials.length} trials is trial ${result.best.id} (${params}), validation accuracy ${pct(result.best.accuracy)}` +
        (result.test ? `; refitted, test accuracy ${pct(result.test.accuracy)}` : '') + `; wrote ${join(out, 'best.json')}${result.model ? ` and ${join(out, 'model.pt')}` : ''}\n`);
    }
  } finally {
    display.clear();
    process.off('SIGINT', onSigint);
  }
}
