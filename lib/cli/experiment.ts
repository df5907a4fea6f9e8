/** `mars-ft experiment CONFIG`: every regulariser compared with the same search budget, resumably (lib/experiment). */
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { readConfig, runExperiment, type CellSummary } from '../experiment/index.js';
import { number } from './args.js';
import { duration } from './progress.js';
import { formatTable } from './table.js';
import { UsageError } from './usage.js';

export const experimentHelp = `mars-ft experiment CONFIG.json [--out DIR] [--threads T] [--json]

Runs the comparison a configuration describes (experiments/quick.json and
experiments/full.json are examples; docs/results.md explains the fields):
for every study (recipe, BatchNorm statistics updated or frozen), size n
(images per class) and row (none, mars-sp, frobenius-sp, mars-penalty,
l2-sp, delta, bss, scratch, linear-probe), the row's hyperparameters are
searched with the same number of trials and k-fold cross-validation on a
draw of n per class of its own; the best setting is then retrained on the
paired seeds (seed s draws the same images for every row) and scored on
the test set, with the post hoc bound of every run and the a priori bound
of MARS-SP's. Then the sensitivity study, if configured: MARS-SP's and
Frobenius-SP's searched radii scaled by 10^k.

Every finished run is kept in DIR/runs.jsonl and every search in DIR/search/:
the same command resumes after any interruption (one at a time: a second
is refused while the first runs). At the end it writes
DIR/results.json (every run; per cell the mean, std and 95% interval over
the seeds, the paired difference to plain fine-tuning, the bounds, times)
and prints the table.

  --out DIR       default: experiments/results/NAME beside the current folder
  --threads T     LibTorch threads (default: the configuration's, else one per core)
  --json          print results.json's cells as JSON`;

const pct = (x: number) => (100 * x).toFixed(2);

function table(cells: CellSummary[]): string {
  const rows = cells.map((c) => [
    c.recipe, c.batchNorm, String(c.n), c.row,
    `${pct(c.testAccuracy.mean)} ± ${pct(c.testAccuracy.ci95)}`,
    c.differenceToNone ? `${c.differenceToNone.mean >= 0 ? '+' : ''}${pct(c.differenceToNone.mean)} (${pct(c.differenceToNone.low)}, ${pct(c.differenceToNone.high)})` : '',
    c.posthocBound ? c.posthocBound.mean.toExponential(2) : '', c.aprioriBound ? c.aprioriBound.mean.toExponential(2) : '',
  ]);
  return formatTable(['recipe', 'BatchNorm', 'n', 'row', 'test % (95%)', 'vs none (95%)', 'post hoc', 'a priori'], rows);
}

export async function experiment(argv: string[]): Promise<void> {
  const h = experimentHelp;
  const { values: v, positionals } = parseArgs({
    args: argv,
    options: { out: { type: 'string' }, threads: { type: 'string' }, json: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new UsageError('give one configuration file', h);
  const config = readConfig(positionals[0]!);
  const out = v.out ?? join('experiments', 'results', config.name);
  const threads = number('threads', v.threads, h);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    process.stderr.write(`experiment ${config.name} (${basename(positionals[0]!)}) -> ${out}\n`);
    const results = await runExperiment({
      config, out, ...(threads === undefined ? {} : { threads }), signal: controller.signal,
      onProgress: (p) => process.stderr.write(`[${p.done}/${p.total}] ${p.message}; ETA ${duration(p.eta ?? NaN)}\n`),
    });
    if (v.json) process.stdout.write(JSON.stringify(results.cells, null, 2) + '\n');
    else process.stdout.write(`${table(results.cells)}\nwrote ${join(out, 'results.json')}\n`);
  } finally {
    process.off('SIGINT', onSigint);
  }
}
