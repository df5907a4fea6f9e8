/** `mars-ft predict --model FILE.pt IMAGE...`: top-k classes of image files or folders, by name. */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Dataset } from '../data/dataset.js';
import { DataLoader } from '../data/loader.js';
import { transformSchema } from '../data/options.js';
import type { SkippedItem } from '../data/options.js';
import { fileStore } from '../data/sources/files.js';
import { Classifier } from '../classifier/classifier.js';
import { tensor } from '../torch/tensor.js';
import { choice, integer, parseFlags, required } from './args.js';
import { UsageError } from './usage.js';

export const predictHelp = `mars-ft predict --model FILE.pt IMAGE... [--top K] [--on-error skip|fail] [--json]

Classifies image files (JPEG, PNG, WebP), or every image in the folders
given, with a model written by mars-ft finetune, and prints the K most
probable classes of each by name (K at least 1; default 3). Images are
preprocessed as the model's evaluation data was (resized to its input size
when it recorded no transforms). An image that cannot be read is skipped and
reported on stderr (and, with --json, listed with its error), the others are
still classified; --on-error fail stops at the first one instead (exit 1).`;

const IMAGE = /\.(jpe?g|png|webp|gif|tiff?|avif)$/i;

function expand(paths: string[]): string[] {
  return paths.flatMap((p) =>
    statSync(p, { throwIfNoEntry: false })?.isDirectory()
      ? readdirSync(p).filter((f) => IMAGE.test(f)).sort().map((f) => join(p, f))
      : [p],
  );
}

type Result =
  | { file: string; predictions: Awaited<ReturnType<Classifier['predict']>>[number] }
  | { file: string; error: { code: 'ERR_DATA_FILE'; message: string } };

export async function predict(argv: string[]): Promise<void> {
  const { values, positionals } = parseFlags({
    args: argv,
    options: { model: { type: 'string' }, top: { type: 'string' }, json: { type: 'boolean', default: false }, 'on-error': { type: 'string' } },
    allowPositionals: true,
  });
  const topK = integer('top', values.top, predictHelp) ?? 3;
  const onError = choice('on-error', values['on-error'], ['skip', 'fail'] as const, predictHelp) ?? 'skip';
  const classifier = await Classifier.load(required('model', values.model, predictHelp));
  const files = expand(positionals);
  if (files.length === 0) throw new UsageError('give at least one IMAGE or folder of images', predictHelp);
  const [, height, width] = classifier.itemShape as [number, number, number];
  const recorded = classifier.meta.evalTransforms.map((t) => transformSchema.parse(t));
  const dataset = Dataset.fromSource(fileStore(files), new Int32Array(files.length), ['?'], 'images');
  const skipped: SkippedItem[] = [];
  const loader = new DataLoader(dataset, {
    batchSize: 32,
    shuffle: false,
    onError,
    onSkipped: (summary) => skipped.push(...summary.items),
    transforms: recorded.length ? recorded : [{ op: 'resize', size: [height, width] }],
    backbone: classifier.module.parameters(),
  });
  // By input position; when every image is unreadable the loader rejects with ERR_DATA.
  const results: Result[] = new Array(files.length);
  for await (const b of loader.epoch(0)) {
    const predictions = await classifier.predict(tensor(b.inputs, b.shape), { topK });
    predictions.forEach((p, i) => (results[b.indices[i]!] = { file: files[b.indices[i]!]!, predictions: p }));
  }
  for (const s of skipped) {
    results[s.index] = { file: files[s.index]!, error: { code: 'ERR_DATA_FILE', message: s.reason } };
    process.stderr.write(`mars-ft predict: skipped ${files[s.index]}: ${s.reason}\n`);
  }
  if (values.json) {
    process.stdout.write(JSON.stringify(results, null, 2) + '\n');
    return;
  }
  for (const r of results) {
    if ('error' in r) continue;
    const ranked = r.predictions.map((p) => `${p.className} ${(100 * p.probability).toFixed(1)}%`).join(', ');
    process.stdout.write(`${r.file}: ${ranked}\n`);
  }
}
