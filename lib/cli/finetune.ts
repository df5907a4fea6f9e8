/** `mars-ft finetune`: fine-tune a TorchScript backbone on labelled data and write model, metrics and summary. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '../data/dataset.js';
import { hasCode, MarsError } from '../errors.js';
import { runSummary } from '../report/summary.js';
import { fineTune, type FineTuneResult } from '../train/finetune.js';
import { FINE_TUNE_DEFAULTS, FineTuneSchema, type EpochEnd } from '../train/options.js';
import { METHODS } from '../train/regularisers.js';
import { resumePoint } from '../train/resume.js';
import { appendLine } from '../util/append-line.js';
import { removePendingTemporaries, sweepStaleTemporaries, writeFileAtomic } from '../util/atomic-write.js';
import { DirLock, releaseDirLocks } from '../util/dir-lock.js';
import { ensureOutputDir } from '../util/output-dir.js';
import { DistributedSchema, resolveDistributed } from '../distributed/options.js';
import { number, parseFlags, required } from './args.js';
import { dataFlags, openData } from './data.js';
import { classWeightsFlag, optimizerFlags, regulariserFlags, scheduleFlag, transformFlags } from './finetune-flags.js';
import { checked, numberFlag } from './flags.js';
import { Progress } from './progress.js';
import { UsageError } from './usage.js';
import { launchRanks } from './launch.js';

const D = FINE_TUNE_DEFAULTS;
const S = FineTuneSchema.shape;

export const finetuneHelp = `mars-ft finetune --backbone FILE.pt --train DATA --out DIR [options]

Fine-tunes a TorchScript backbone (forward returns (B, C) features or
(B, C, H, W) maps) with a new linear head. DATA is a folder with one
subfolder per class, idx:IMAGES,LABELS (gzipped or not), or a .csv/.jsonl
manifest of path,label.

Data
  --test DATA          test data, scored with the selected and the final weights
  --val DATA           validation data: picks the best epoch (validation
                       accuracy; ties go to the lower validation loss)
  --classes 5,6,7      select these labels and relabel them 0,1,2 (all DATA)
  --per-class N        N training items per class, drawn with the seed
  --class-names a,b,c  names of the classes, in label order
  --resize N|HxW       N: shorter side to N, then the centre NxN; HxW: exactly
                       (images of mixed sizes need it)
  --crop N|HxW         after --resize: the centre to evaluate, a random crop to train
  --flip               random horizontal flips in training
  --class-weights W    balanced (n / (classes x n_c)) or w0,w1,...: weighted
                       training loss for imbalanced classes
Method
  --method NAME        ${METHODS.join(', ')} (default ${D.regulariser.method})
  --extractor X        backbone radius (mars-sp, frobenius-sp), penalty weight
                       (mars-penalty, l2-sp), alpha (delta) or eta (bss)
  --classifier X       head radius (constraints) or head penalty weight
  --freeze-backbone    baseline: a linear probe (only the head trains)
  --reinit             baseline: the same network from random weights
Training
  --epochs N           (default ${D.epochs})      --batch-size B   (default ${D.batchSize})
  --optimizer NAME     adam, adamw or sgd (default ${D.optimizer.name})
  --lr X               (default ${D.optimizer.lr})   --weight-decay X (default ${D.optimizer.weightDecay})
  --schedule NAME      constant, step or cosine (default ${D.schedule.type})
  --warmup N           epochs of linear warm-up (default ${D.schedule.warmupEpochs})
  --patience N         stop after N epochs without a better validation score (needs --val)
  --bound MODE         log the generalisation bound after every epoch: posthoc or apriori
  --seed S             (default ${D.seed})
  --threads T          LibTorch threads (default: one per physical core, as PyTorch)
  --device D           cpu, cuda or cuda:N (default ${S.device.parse(undefined)})
  --precision P        fp32 (default), bf16 (CPU or CUDA) or fp16 (CUDA, with a
                       loss scale): mixed precision; the weights stay fp32
  --on-error skip|fail an unreadable image is skipped and reported (default),
                       or stops the run
  --max-pixels N       an image of more pixels (width × height, from its
                       header) is unreadable (default ${D.maxPixels})
Several processes (docs/distributed.md)
  --nproc N            train as N local processes (data-parallel, Gloo; each
                       with --batch-size items per step); under torchrun or
                       with MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK set,
                       this process is one rank
  --sync-batchnorm     BatchNorm statistics over every rank's batch
  --dist-timeout S     seconds before a dead or hung rank stops the others (60)
Output
  --log-dir DIR        TensorBoard event files and metrics.csv
  --no-checkpoints     write no DIR/checkpoints (then Ctrl-C cannot be resumed)
  --resume             continue from DIR/checkpoints/last.pt, exactly (with no
                       checkpoint there, start from scratch and say so)
  --json               print the summary as JSON
  --json-lines         print one JSON object per epoch on stdout

Writes DIR/model.pt (TorchScript, class names and evaluation transforms
inside), DIR/metrics.jsonl (one line per epoch) and DIR/summary.json (every
setting, the selected and the final epoch's scores, the machine). Ctrl-C
writes DIR/checkpoints/last.pt, where the run stood, and exits (Ctrl-C again
quits at once, without it); --resume continues from it. One run at a time
writes DIR: a second is refused while the first runs (DIR/.mars-ft.lock).
mars-ft report DIR draws the run.`;

/** "train: 300 items, 5 classes (sandal 60, shirt 60, ...) | validation: 100 | test: 500" */
function dataLine(train: Dataset, validation: Dataset | undefined, test: Dataset | undefined): string {
  const counts = train.classCounts().map((n, i) => `${train.classNames[i]} ${n}`).join(', ');
  return `train: ${train.size} items, ${train.classNames.length} classes (${counts})` +
    (validation ? ` | validation: ${validation.size}` : '') + (test ? ` | test: ${test.size}` : ' | no test data') + '\n';
}

/** Items of mixed sizes: say which flag gives them one. */
function withHint(e: unknown): unknown {
  if (!hasCode(e, 'ERR_DATA_SIZE')) return e;
  return new MarsError('ERR_DATA_SIZE', `${e.message.replace(/: add a resize.*$/, '')}; give every image one size with --resize N (e.g. --resize 224), or --resize N --crop C`, { cause: e });
}

export async function finetune(argv: string[]): Promise<void> {
  const { values: v } = parseFlags({
    args: argv,
    options: {
      backbone: { type: 'string' }, train: { type: 'string' }, test: { type: 'string' }, val: { type: 'string' },
      out: { type: 'string' }, method: { type: 'string', default: D.regulariser.method }, extractor: { type: 'string' },
      classifier: { type: 'string' }, classes: { type: 'string' }, 'per-class': { type: 'string' },
      'class-names': { type: 'string' }, epochs: { type: 'string' }, 'batch-size': { type: 'string' },
      lr: { type: 'string' }, optimizer: { type: 'string' }, 'weight-decay': { type: 'string' }, schedule: { type: 'string' },
      warmup: { type: 'string' }, patience: { type: 'string' }, bound: { type: 'string' }, seed: { type: 'string' },
      threads: { type: 'string' }, device: { type: 'string' }, resize: { type: 'string' }, crop: { type: 'string' },
      flip: { type: 'boolean', default: false }, 'class-weights': { type: 'string' },
      'freeze-backbone': { type: 'boolean', default: false }, reinit: { type: 'boolean', default: false },
      'log-dir': { type: 'string' }, 'no-checkpoints': { type: 'boolean', default: false },
      resume: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, 'json-lines': { type: 'boolean', default: false },
      precision: { type: 'string' }, 'on-error': { type: 'string' }, 'max-pixels': { type: 'string' },
      nproc: { type: 'string' }, 'sync-batchnorm': { type: 'boolean', default: false }, 'dist-timeout': { type: 'string' },
    },
  });
  const h = finetuneHelp;
  const timeout = numberFlag('dist-timeout', v['dist-timeout'], DistributedSchema.shape.timeout.unwrap(), h);
  if (v.nproc !== undefined) return launchRanks(argv, numberFlag('nproc', v.nproc, DistributedSchema.shape.worldSize.unwrap(), h)!, v.threads !== undefined, timeout);
  // One rank of a data-parallel job (or the only process): rank 0 alone writes and reports.
  const rank = resolveDistributed(undefined)?.rank ?? 0;
  const distributed = { ...(v['sync-batchnorm'] ? { syncBatchNorm: true } : {}), ...(timeout ? { timeout } : {}) };
  const out = required('out', v.out, h);
  const backbone = required('backbone', v.backbone, h);
  const reg = regulariserFlags(v.method, number('extractor', v.extractor, h), number('classifier', v.classifier, h), h);
  const seed = numberFlag('seed', v.seed, S.seed, h) ?? D.seed;
  const epochs = numberFlag('epochs', v.epochs, S.epochs, h) ?? D.epochs;
  const patience = numberFlag('patience', v.patience, S.patience.unwrap(), h);
  if (patience !== undefined && !v.val) throw new UsageError('--patience needs --val (it watches the validation score)', h);
  if (v['no-checkpoints'] && v.resume) throw new UsageError('--resume needs the checkpoints that --no-checkpoints leaves out', h);
  const bound = v.bound === undefined ? undefined : checked('bound', S.bound, { mode: v.bound }, v.bound, h);
  const batchSize = numberFlag('batch-size', v['batch-size'], S.batchSize, h);
  const threads = numberFlag('threads', v.threads, S.threads.unwrap(), h);
  const options = {
    regulariser: reg,
    optimizer: optimizerFlags(v, h),
    schedule: scheduleFlag(v.schedule, v.warmup, h),
    transforms: transformFlags(v, h),
    classWeights: classWeightsFlag(v['class-weights'], h),
    epochs, seed,
    ...(batchSize === undefined ? {} : { batchSize }),
    ...(threads === undefined ? {} : { threads }),
    ...(v.device === undefined ? {} : { device: checked('device', S.device, v.device, v.device, h) }),
    ...(v.precision === undefined ? {} : { precision: checked('precision', S.precision, v.precision, v.precision, h) }),
    ...(v['on-error'] === undefined ? {} : { onError: checked('on-error', S.onError.unwrap(), v['on-error'], v['on-error'], h) }),
    ...(v['max-pixels'] === undefined ? {} : { maxPixels: numberFlag('max-pixels', v['max-pixels'], S.maxPixels.unwrap(), h) }),
    ...(patience === undefined ? {} : { patience }),
    ...(bound ? { bound } : {}),
    ...(v['log-dir'] ? { logDir: v['log-dir'] } : {}),
    freezeBackbone: v['freeze-backbone'], reinit: v.reinit,
  };
  // Before any data are read: an unusable output folder, or one another run
  // writes, fails in seconds, not after training. Rank 0 alone writes there.
  await ensureOutputDir(out);
  const lock = rank === 0 ? await DirLock.acquire(out) : undefined;
  try {
    if (rank === 0) await sweepStaleTemporaries(out);
    const checkpoints = join(out, 'checkpoints');
    const resumeFrom = v.resume ? resumePoint(checkpoints) : undefined;
    if (v.resume && !resumeFrom && rank === 0) process.stderr.write(`no checkpoint in ${checkpoints}; starting from scratch\n`);
    const flags = dataFlags(v, seed, h);
    const train = await openData(required('train', v.train, h), flags, true);
    const test = v.test ? await openData(v.test, flags, false) : undefined;
    const validation = v.val ? await openData(v.val, flags, false) : undefined;
    if (rank === 0) process.stderr.write(dataLine(train, validation, test));

    const metricsPath = join(out, 'metrics.jsonl');
    if (!resumeFrom && rank === 0) rmSync(metricsPath, { force: true });
    const controller = new AbortController();
    // The first Ctrl-C stops after the current batch and writes last.pt; a
    // second quits at once, removing the temporary file of a save under way.
    // The handler stays until the process exits: a Ctrl-C while it winds down
    // must not kill it with a file half-written.
    process.on('SIGINT', () => {
      if (!controller.signal.aborted) return controller.abort();
      removePendingTemporaries();
      releaseDirLocks();
      // Die by the signal itself, as a program stopped by Ctrl-C does (the shell
      // reports 130): process.exit would run LibTorch's exit handlers while the
      // compute thread may still be writing, and could crash there.
      process.removeAllListeners('SIGINT');
      process.kill(process.pid, 'SIGINT');
    });
    const progress = new Progress(process.stderr, epochs, '', reg.method);
    const started = performance.now();
    const startedAt = new Date();
    let result: FineTuneResult;
    try {
      result = await fineTune({
        backbone,
        train, ...(test ? { test } : {}), ...(validation ? { validation, monitor: 'validation.accuracy' as const } : {}),
        ...options,
        ...(v['no-checkpoints'] ? {} : { checkpointDir: checkpoints }),
        resume: resumeFrom !== undefined, signal: controller.signal,
        ...(Object.keys(distributed).length > 0 ? { distributed } : {}),
        onBatchEnd: (b) => rank === 0 && progress.batch(b),
        onEpochEnd: (e: EpochEnd) => {
          if (rank !== 0) return;
          appendLine(metricsPath, JSON.stringify(e), 'ERR_WRITE');
          if (v['json-lines']) process.stdout.write(JSON.stringify(e) + '\n');
          progress.epoch(e);
        },
      });
    } catch (e) {
      throw withHint(e);
    }
    if (rank !== 0) return;
    await result.model.save(join(out, 'model.pt'));
    const summary = runSummary(result, { train, validation, test }, { checkpoints: !v['no-checkpoints'], seconds: (performance.now() - started) / 1000, startedAt });
    await writeFileAtomic(join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n', 'ERR_WRITE');
    const done = `${summary.method}: ${summary.testAccuracy === undefined ? 'no test data' : `test accuracy ${(100 * summary.testAccuracy).toFixed(2)}%`} ` +
      `(epoch ${summary.bestEpoch} of ${summary.epochs}, ${summary.seconds.toFixed(1)} s); wrote ${join(out, 'model.pt')}\n`;
    if (v.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    else if (v['json-lines']) process.stderr.write(done);
    else process.stdout.write(done);
  } finally {
    lock?.release();
  }
}
