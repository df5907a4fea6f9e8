/** `mars-ft report RUN_DIR [--out FILE]`: the run's HTML report. */
import { parseArgs } from 'node:util';
import { writeReport } from '../report/write.js';
import { UsageError } from './usage.js';

export const reportHelp = `mars-ft report RUN_DIR [--out FILE.html]

Draws the run that mars-ft finetune wrote to RUN_DIR (metrics.jsonl and
summary.json) as one self-contained HTML file (default RUN_DIR/report.html):
training curves, each layer's distance from its pre-trained weights against
its radius, the bound's terms when they were logged (--bound), the
configuration and the environment.`;

export async function report(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, options: { out: { type: 'string' } }, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError('report takes exactly one RUN_DIR', reportHelp);
  const path = await writeReport(positionals[0] as string, values.out);
  process.stdout.write(`wrote ${path}\n`);
}
