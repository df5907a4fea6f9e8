/** `mars-ft predict --model FILE.pt IMAGE...`: top-k classes of image files or folders, by name. */
import { ApplyOptionsSchema, classify, expandImagePaths } from '../classifier/apply.js';
import { Classifier } from '../classifier/classifier.js';
import { choice, parseFlags, required } from './args.js';
import { numberFlag } from './flags.js';
import { UsageError } from './usage.js';

export const predictHelp = `mars-ft predict --model FILE.pt IMAGE... [--top K] [--on-error skip|fail] [--max-pixels N] [--json]

Classifies image files (JPEG, PNG, WebP), or every image in the folders
given, with a model written by mars-ft finetune, and prints the K most
probable classes of each by name (default 3). Images are preprocessed with
the evaluation transforms recorded in the model (finetune's --resize and
--crop), or resized to its input size when it recorded none. An image that
cannot be read is skipped and reported on stderr (and, with --json, listed
with its error), the others are still classified; --on-error fail stops at
the first one instead (exit 1). An image of more than --max-pixels pixels
(width × height, read from its header; default 268402689, 16383²) is
unreadable.`;

export async function predict(argv: string[]): Promise<void> {
  const { values, positionals } = parseFlags({
    args: argv,
    options: { model: { type: 'string' }, top: { type: 'string' }, 'on-error': { type: 'string' }, 'max-pixels': { type: 'string' }, json: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  const topK = numberFlag('top', values.top, ApplyOptionsSchema.shape.topK, predictHelp) ?? 3;
  const onError = choice('on-error', values['on-error'], ['skip', 'fail'] as const, predictHelp) ?? 'skip';
  const classifier = await Classifier.load(required('model', values.model, predictHelp));
  if (expandImagePaths(positionals).length === 0) throw new UsageError('give at least one IMAGE or folder of images', predictHelp);
  const maxPixels = numberFlag('max-pixels', values['max-pixels'], ApplyOptionsSchema.shape.maxPixels.unwrap(), predictHelp);
  const classified = await classify(classifier, positionals, { topK, onError, ...(maxPixels === undefined ? {} : { maxPixels }) });
  for (const r of classified) if (r.error) process.stderr.write(`mars-ft predict: skipped ${r.key}: ${r.error.message}\n`);
  const results = classified.map((r) => (r.error ? { file: r.key, error: r.error } : { file: r.key, predictions: r.predictions }));
  if (values.json) {
    process.stdout.write(JSON.stringify(results, null, 2) + '\n');
    return;
  }
  for (const r of results) {
    if (!r.predictions) continue;
    const ranked = r.predictions.map((p) => `${p.className} ${(100 * p.probability).toFixed(1)}%`).join(', ');
    process.stdout.write(`${r.file}: ${ranked}\n`);
  }
}
