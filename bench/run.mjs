#!/usr/bin/env node
// `npm run bench`: every benchmark in its quick form, one after another, each
// printing its summary (never part of `npm test`; run `npm run build` first,
// and `npm run build:bench` for the projection kernels). Arguments pass on to
// each, e.g. `npm run bench -- --write` to replace the committed results.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './lib/report.mjs';

const extra = process.argv.slice(2);
const BENCHMARKS = [
  { name: 'end to end (CLI, API, Python)', args: ['bench/e2e/run.mjs', '--quick'] },
  { name: 'fine-tuning step', args: ['bench/step/run.mjs', '--quick'] },
  { name: 'data streaming', args: ['bench/data/run.mjs', '--quick'] },
  {
    name: 'projection kernels',
    args: ['bench/projection/run.mjs', '--rounds', '1', '--reps', '2', '--models', 'resnet18'],
    needs: join(root, 'build-bench', 'Release', 'mars_bench.node'),
  },
];
let failed = 0;
for (const b of BENCHMARKS) {
  console.log(`\n== ${b.name}: node ${b.args.join(' ')}`);
  if (b.needs && !existsSync(b.needs)) {
    console.log(`skipped: ${b.needs} is missing (npm run build:bench)`);
    continue;
  }
  const r = spawnSync(process.execPath, [...b.args, ...extra], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
