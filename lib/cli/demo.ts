/**
 * `mars-ft demo`: README's main job. Fine-tunes the embedded default backbone
 * on the embedded target set with MARS-SP and with standard fine-tuning, and
 * reports both test accuracies side by side.
 */
import { parseArgs } from 'node:util';
import { defaultBackbone, targetSet } from '../assets/index.js';
import { fineTune } from '../train/finetune.js';
import type { RegulariserOptions } from '../train/regularisers.js';
import { number, parseFlags } from './args.js';
import { openData } from './data.js';
import { Progress } from './progress.js';
import { formatTable } from './table.js';

export const demoHelp = `mars-ft demo [--epochs N] [--seed S] [--json]

Fine-tunes the embedded default backbone (a small ResNet pre-trained by this
package on Fashion-MNIST classes 0-4) on the embedded target set (classes 5-9:
sandal, shirt, sneaker, bag, ankle boot; 60 training and 100 test images per
class), once with MARS-SP and once with standard fine-tuning, and prints both
test accuracies with how far each moved from the pre-trained weights.`;

/** The two runs: MARS-SP with the package's default radii, and plain fine-tuning. */
const RUNS: { label: string; regulariser: RegulariserOptions }[] = [
  { label: 'mars-sp', regulariser: { method: 'mars-sp' } },
  { label: 'none (standard fine-tuning)', regulariser: { method: 'none' } },
];

export async function demo(argv: string[]): Promise<void> {
  const { values } = parseFlags({ args: argv, options: { epochs: { type: 'string' }, seed: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const epochs = number('epochs', values.epochs, demoHelp) ?? 20;
  const seed = number('seed', values.seed, demoHelp) ?? 0;
  const classNames = [...targetSet.classNames];
  const train = await openData(targetSet.train, { classNames }, true);
  const test = await openData(targetSet.test, { classNames }, false);
  process.stderr.write(`Fine-tuning the embedded backbone on ${train.size} images of ${classNames.join(', ')}; testing on ${test.size}.\n`);
  const rows = [];
  for (const run of RUNS) {
    const progress = new Progress(process.stderr, epochs, `${run.label}: `, run.regulariser.method);
    const started = performance.now();
    const result = await fineTune({
      backbone: defaultBackbone,
      train,
      test,
      regulariser: run.regulariser,
      optimizer: { name: 'adam', lr: 1e-3 },
      epochs,
      batchSize: 32,
      seed,
      onBatchEnd: (b) => progress.batch(b),
      onEpochEnd: (e) => progress.epoch(e),
    });
    const last = result.history.at(-1);
    const backbone = last?.distances.filter((d) => d.name.startsWith('backbone.')) ?? [];
    rows.push({
      method: run.label,
      testAccuracy: result.test?.accuracy ?? NaN,
      maxBackboneMarsDistance: backbone.length ? Math.max(...backbone.map((d) => d.mars)) : null,
      seconds: (performance.now() - started) / 1000,
    });
  }
  if (values.json) {
    process.stdout.write(JSON.stringify({ epochs, seed, trainItems: train.size, testItems: test.size, runs: rows }, null, 2) + '\n');
    return;
  }
  process.stdout.write('\n' + formatTable(
    ['method', 'test accuracy', 'max MARS distance (backbone)', 'seconds'],
    rows.map((r) => [r.method, `${(100 * r.testAccuracy).toFixed(2)}%`, r.maxBackboneMarsDistance === null ? 'n/a (not measured)' : r.maxBackboneMarsDistance.toFixed(3), r.seconds.toFixed(1)]),
    [1, 2, 3],
  ) + '\n');
}
