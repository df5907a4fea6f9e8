/** `mars-ft predict --model FILE.pt IMAGE...`: top-k classes of image files or folders, by name. */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Dataset } from '../data/dataset.js';
import { DataLoader } from '../data/loader.js';
import { transformSchema } from '../data/options.js';
import { fileStore } from '../data/sources/files.js';
import { Classifier } from '../classifier/classifier.js';
import { tensor } from '../torch/tensor.js';
import { number, required } from './args.js';
import { UsageError } from './usage.js';

export const predictHelp = `mars-ft predict --model FILE.pt IMAGE... [--top K] [--json]

Classifies image files (JPEG, PNG, WebP), or every image in the folders
given, with a model written by mars-ft finetune, and prints the K most
probable classes of each by name. Images are preprocessed as the model's
evaluation data was (resized to its input size when it recorded no transforms).`;

const IMAGE = /\.(jpe?g|png|webp|gif|tiff?|avif)$/i;

function expand(paths: string[]): string[] {
  return paths.flatMap((p) =>
    statSync(p, { throwIfNoEntry: false })?.isDirectory()
      ? readdirSync(p).filter((f) => IMAGE.test(f)).sort().map((f) => join(p, f))
      : [p],
  );
}

export async function predict(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { model: { type: 'string' }, top: { type: 'string' }, json: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  const classifier = await Classifier.load(required('model', values.model, predictHelp));
  const files = expand(positionals);
  if (files.length === 0) throw new UsageError('give at least one IMAGE or folder of images', predictHelp);
  const topK = number('top', values.top, predictHelp) ?? 3;
  const [, height, width] = classifier.itemShape as [number, number, number];
  const recorded = classifier.meta.evalTransforms.map((t) => transformSchema.parse(t));
  const dataset = Dataset.fromSource(fileStore(files), new Int32Array(files.length), ['?'], 'images');
  const loader = new DataLoader(dataset, {
    batchSize: 32,
    shuffle: false,
    onError: 'fail',
    transforms: recorded.length ? recorded : [{ op: 'resize', size: [height, width] }],
    backbone: classifier.module.parameters(),
  });
  const results: { file: string; predictions: Awaited<ReturnType<Classifier['predict']>>[number] }[] = [];
  for await (const b of loader.epoch(0)) {
    const predictions = await classifier.predict(tensor(b.inputs, b.shape), { topK });
    predictions.forEach((p, i) => results.push({ file: files[b.indices[i]!]!, predictions: p }));
  }
  if (values.json) {
    process.stdout.write(JSON.stringify(results, null, 2) + '\n');
    return;
  }
  for (const r of results) {
    const ranked = r.predictions.map((p) => `${p.className} ${(100 * p.probability).toFixed(1)}%`).join(', ');
    process.stdout.write(`${r.file}: ${ranked}\n`);
  }
}
