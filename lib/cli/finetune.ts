/** `mars-ft finetune`: fine-tune a TorchScript backbone on labelled data and write model, metrics and summary. */
import { appendFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fineTune, type FineTuneResult } from '../train/finetune.js';
import { FINE_TUNE_DEFAULTS, type EpochEnd } from '../train/options.js';
import { METHODS, type RegulariserOptions } from '../train/regularisers.js';
import { removePendingTemporaries, sweepStaleTemporaries, writeFileAtomic } from '../util/atomic-write.js';
import { ensureOutputDir } from '../util/output-dir.js';
import { choice, integer, number, parseFlags, positive, required } from './args.js';
import { dataFlags, openData } from './data.js';
import { Progress } from './progress.js';
import { UsageError } from './usage.js';
import { launchRanks } from './launch.js';
import { resolveDistributed } from '../distributed/options.js';

const D = FINE_TUNE_DEFAULTS;

export const finetuneHelp = `mars-ft finetune --backbone FILE.pt --train DATA --test DATA --out DIR [options]

Fine-tunes a TorchScript backbone (forward returns (B, C) features or
(B, C, H, W) maps) with a new linear head. DATA is a folder with one
subfolder per class, idx:IMAGES,LABELS (gzipped or not), or a .csv/.jsonl
manifest of path,label.

  --method NAME        ${METHODS.join(', ')} (default ${D.regulariser.method})
  --extractor X        backbone radius (mars-sp, frobenius-sp), penalty weight
                       (mars-penalty, l2-sp), alpha (delta) or eta (bss)
  --classifier X       head radius (constraints) or head penalty weight
  --val DATA           validation data: picks the best epoch (validation accuracy)
  --classes 5,6,7      select these labels and relabel them 0,1,2 (all DATA)
  --per-class N        N training items per class, drawn with the seed
  --class-names a,b,c  names of the classes, in label order
  --epochs N           (default ${D.epochs})      --batch-size B   (default ${D.batchSize})
  --lr X               (default ${D.optimizer.lr})    --optimizer adam|adamw|sgd (default ${D.optimizer.name})
  --seed S             (default ${D.seed})       --threads T      LibTorch threads
  --device D           cpu (default), cuda or cuda:N (a CUDA LibTorch)
  --precision P        fp32 (default), bf16 (CPU or CUDA) or fp16 (CUDA, with a
                       loss scale): mixed precision; the weights stay fp32
  --resume             continue from DIR/checkpoints/last.pt, exactly
  --on-error skip|fail an unreadable image is skipped and reported (default),
                       or stops the run
  --json               print the summary as JSON
  --nproc N            train as N local processes (data-parallel, Gloo; each
                       with --batch-size items per step); under torchrun or
                       with MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK set,
                       this process is one rank (docs/distributed.md)
  --sync-batchnorm     BatchNorm statistics over every rank's batch
  --dist-timeout S     seconds before a dead or hung rank stops the others (60)

Writes DIR/model.pt (TorchScript, class names inside), DIR/metrics.jsonl
(one line per epoch) and DIR/summary.json. Ctrl-C writes a checkpoint to
DIR/checkpoints/last.pt, where the run stood, and exits (Ctrl-C again quits
at once, without it); --resume continues from it.`;

function regulariser(method: string, extractor: number | undefined, classifier: number | undefined): RegulariserOptions {
  const given = <K extends string>(key: K, v: number | undefined) => (v === undefined ? {} : ({ [key]: v } as Record<K, number>));
  switch (method) {
    case 'none':
      if (extractor !== undefined || classifier !== undefined) throw new UsageError('--extractor and --classifier do not apply to --method none', finetuneHelp);
      return { method };
    case 'mars-sp':
    case 'frobenius-sp':
    case 'mars-penalty':
    case 'l2-sp':
      return { method, ...given('extractor', extractor), ...given('classifier', classifier) };
    case 'delta':
      return { method, ...given('alpha', extractor), ...given('classifier', classifier) };
    case 'bss':
      return { method, ...given('eta', extractor) };
    default:
      throw new UsageError(`unknown --method '${method}'; expected one of ${METHODS.join(', ')}`, finetuneHelp);
  }
}

export async function finetune(argv: string[]): Promise<void> {
  const { values: v } = parseFlags({
    args: argv,
    options: {
      backbone: { type: 'string' }, train: { type: 'string' }, test: { type: 'string' }, val: { type: 'string' },
      out: { type: 'string' }, method: { type: 'string', default: D.regulariser.method }, extractor: { type: 'string' },
      classifier: { type: 'string' }, classes: { type: 'string' }, 'per-class': { type: 'string' },
      'class-names': { type: 'string' }, epochs: { type: 'string' }, 'batch-size': { type: 'string' },
      lr: { type: 'string' }, optimizer: { type: 'string' }, seed: { type: 'string' }, threads: { type: 'string' },
      resume: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, 'on-error': { type: 'string' },
      nproc: { type: 'string' }, 'sync-batchnorm': { type: 'boolean', default: false }, 'dist-timeout': { type: 'string' },
      device: { type: 'string' }, precision: { type: 'string' },
    },
  });
  const h = finetuneHelp;
  const timeout = positive('dist-timeout', v['dist-timeout'], h);
  if (v.nproc !== undefined) return launchRanks(argv, integer('nproc', v.nproc, h)!, v.threads !== undefined, timeout);
  // One rank of a data-parallel job (or the only process): rank 0 alone writes and reports.
  const rank = resolveDistributed(undefined)?.rank ?? 0;
  const distributed = { ...(v['sync-batchnorm'] ? { syncBatchNorm: true } : {}), ...(timeout ? { timeout } : {}) };
  const out = required('out', v.out, h);
  const backbone = required('backbone', v.backbone, h);
  const onError = choice('on-error', v['on-error'], ['skip', 'fail'] as const, h);
  const epochs = integer('epochs', v.epochs, h) ?? D.epochs;
  const optimizer = {
    ...(v.optimizer ? { name: v.optimizer as 'adam' } : {}),
    ...(v.lr ? { lr: positive('lr', v.lr, h)! } : {}),
  };
  const batchSize = integer('batch-size', v['batch-size'], h);
  const threads = integer('threads', v.threads, h);
  // Before any data are read: an unusable output folder fails in seconds, not after training.
  await ensureOutputDir(out);
  if (rank === 0) await sweepStaleTemporaries(out);
  const reg = regulariser(v.method, number('extractor', v.extractor, h), number('classifier', v.classifier, h));
  const seed = integer('seed', v.seed, h, 0) ?? D.seed;
  const flags = dataFlags(v, seed, h);
  const train = await openData(required('train', v.train, h), flags, true);
  const test = await openData(required('test', v.test, h), flags, false);
  const validation = v.val ? await openData(v.val, flags, false) : undefined;
  const metricsPath = join(out, 'metrics.jsonl');
  if (!v.resume && rank === 0) rmSync(metricsPath, { force: true });
  const controller = new AbortController();
  // The first Ctrl-C stops after the current batch and writes last.pt; a
  // second quits at once, removing the temporary file of a save under way.
  // The handler stays until the process exits: a Ctrl-C while it winds down
  // must not kill it with a file half-written.
  process.on('SIGINT', () => {
    if (!controller.signal.aborted) return controller.abort();
    removePendingTemporaries();
    process.exit(130);
  });
  const progress = new Progress(process.stderr, epochs);
  const started = performance.now();
  const result: FineTuneResult = await fineTune({
    backbone,
    train, test, ...(validation ? { validation, monitor: 'validation.accuracy' as const } : {}),
    regulariser: reg,
    optimizer, epochs, seed,
    ...(batchSize ? { batchSize } : {}),
    ...(threads ? { threads } : {}),
    ...(onError ? { onError } : {}),
    ...(v.device ? { device: v.device } : {}),
    ...(v.precision ? { precision: choice('precision', v.precision, ['fp32', 'bf16', 'fp16'] as const, h)! } : {}),
    checkpointDir: join(out, 'checkpoints'), resume: v.resume, signal: controller.signal,
    ...(Object.keys(distributed).length > 0 ? { distributed } : {}),
    onBatchEnd: (b) => rank === 0 && progress.batch(b),
    onEpochEnd: (e: EpochEnd) => {
      if (rank !== 0) return;
      appendFileSync(metricsPath, JSON.stringify(e) + '\n');
      progress.epoch(e);
    },
  });
  if (rank !== 0) return;
  await result.model.save(join(out, 'model.pt'));
  const summary = {
    method: v.method,
    regulariser: result.model.meta.regulariser,
    testAccuracy: result.test?.accuracy,
    testLoss: result.test?.loss,
    epochs: result.history.length,
    bestEpoch: result.bestEpoch,
    device: v.device ?? 'cpu',
    precision: v.precision ?? 'fp32',
    seconds: (performance.now() - started) / 1000,
    classNames: result.model.classNames,
    trainItems: train.size,
    testItems: test.size,
  };
  await writeFileAtomic(join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n', 'ERR_WRITE');
  if (v.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  else process.stdout.write(`${v.method}: test accuracy ${(100 * (summary.testAccuracy ?? NaN)).toFixed(2)}% after ${summary.epochs} epochs (${summary.seconds.toFixed(1)} s); wrote ${join(out, 'model.pt')}\n`);
}
