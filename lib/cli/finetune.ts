/** `mars-ft finetune`: fine-tune a TorchScript backbone on labelled data and write model, metrics and summary. */
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fineTune, type FineTuneResult } from '../train/finetune.js';
import { FINE_TUNE_DEFAULTS, type EpochEnd } from '../train/options.js';
import { METHODS, type RegulariserOptions } from '../train/regularisers.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { integerList, number, required } from './args.js';
import { openData } from './data.js';
import { Progress } from './progress.js';
import { UsageError } from './usage.js';

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
  --seed S             (default ${D.seed})
  --threads T          LibTorch threads (default: one per physical core, as PyTorch)
  --resume             continue from DIR/checkpoints/last.pt
  --json               print the summary as JSON

Writes DIR/model.pt (TorchScript, class names inside), DIR/metrics.jsonl
(one line per epoch) and DIR/summary.json. Ctrl-C writes a checkpoint to
DIR/checkpoints/last.pt and exits; --resume continues from it.`;

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
  const { values: v } = parseArgs({
    args: argv,
    options: {
      backbone: { type: 'string' }, train: { type: 'string' }, test: { type: 'string' }, val: { type: 'string' },
      out: { type: 'string' }, method: { type: 'string', default: D.regulariser.method }, extractor: { type: 'string' },
      classifier: { type: 'string' }, classes: { type: 'string' }, 'per-class': { type: 'string' },
      'class-names': { type: 'string' }, epochs: { type: 'string' }, 'batch-size': { type: 'string' },
      lr: { type: 'string' }, optimizer: { type: 'string' }, seed: { type: 'string' }, threads: { type: 'string' },
      resume: { type: 'boolean', default: false }, json: { type: 'boolean', default: false },
    },
  });
  const h = finetuneHelp;
  const out = required('out', v.out, h);
  const backbone = required('backbone', v.backbone, h);
  const reg = regulariser(v.method, number('extractor', v.extractor, h), number('classifier', v.classifier, h));
  const seed = number('seed', v.seed, h) ?? D.seed;
  const flags = {
    seed,
    ...(v.classes ? { classes: integerList('classes', v.classes, h)! } : {}),
    ...(v['per-class'] ? { perClass: number('per-class', v['per-class'], h)! } : {}),
    ...(v['class-names'] ? { classNames: v['class-names'].split(',').map((s) => s.trim()) } : {}),
  };
  const train = await openData(required('train', v.train, h), flags, true);
  const test = await openData(required('test', v.test, h), flags, false);
  const validation = v.val ? await openData(v.val, flags, false) : undefined;
  const epochs = number('epochs', v.epochs, h) ?? D.epochs;
  const optimizer = {
    ...(v.optimizer ? { name: v.optimizer as 'adam' } : {}),
    ...(v.lr ? { lr: number('lr', v.lr, h)! } : {}),
  };
  mkdirSync(out, { recursive: true });
  const metricsPath = join(out, 'metrics.jsonl');
  if (!v.resume) rmSync(metricsPath, { force: true });
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  const progress = new Progress(process.stderr, epochs);
  const started = performance.now();
  let result: FineTuneResult;
  try {
    result = await fineTune({
      backbone,
      train, test, ...(validation ? { validation, monitor: 'validation.accuracy' as const } : {}),
      regulariser: reg,
      optimizer, epochs, seed,
      ...(v['batch-size'] ? { batchSize: number('batch-size', v['batch-size'], h)! } : {}),
      ...(v.threads ? { threads: number('threads', v.threads, h)! } : {}),
      checkpointDir: join(out, 'checkpoints'), resume: v.resume, signal: controller.signal,
      onBatchEnd: (b) => progress.batch(b),
      onEpochEnd: (e: EpochEnd) => {
        appendFileSync(metricsPath, JSON.stringify(e) + '\n');
        progress.epoch(e);
      },
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
  await result.model.save(join(out, 'model.pt'));
  const summary = {
    method: v.method,
    regulariser: result.model.meta.regulariser,
    testAccuracy: result.test?.accuracy,
    testLoss: result.test?.loss,
    epochs: result.history.length,
    bestEpoch: result.bestEpoch,
    seconds: (performance.now() - started) / 1000,
    classNames: result.model.classNames,
    trainItems: train.size,
    testItems: test.size,
  };
  await writeFileAtomic(join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n', 'ERR_WRITE');
  if (v.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  else process.stdout.write(`${v.method}: test accuracy ${(100 * (summary.testAccuracy ?? NaN)).toFixed(2)}% after ${summary.epochs} epochs (${summary.seconds.toFixed(1)} s); wrote ${join(out, 'model.pt')}\n`);
}
