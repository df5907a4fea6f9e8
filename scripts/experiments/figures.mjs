#!/usr/bin/env node
// Draws docs/figures/regime.svg from bench/results/regime-6.json (issue 13, item 3):
// test accuracy against n for fine-tuning and training from scratch, with the
// 95% intervals over the seeds, by the package's Vega-Lite charts. The
// experiment's own figures come with its results (DIR/figures, written by
// `mars-ft experiment`). Needs `npm run build`.
//   node scripts/experiments/figures.mjs [--regime bench/results/regime-6.json] [--out docs/figures/regime.svg]
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { accuracyBySizeSpec } from '../../dist/experiment/figures.js';
import { svgOf } from '../../dist/report/charts.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({ options: { regime: { type: 'string', default: 'bench/results/regime-6.json' }, out: { type: 'string', default: 'docs/figures/regime.svg' } } });
const regime = JSON.parse(readFileSync(resolve(root, values.regime), 'utf8'));
const point = (series, n, s) => ({ series, n, mean: s.mean, low: s.mean - s.ci95, high: s.mean + s.ci95 });
const points = regime.groups.filter((g) => g.headline).flatMap((g) => [point('fine-tuned source backbone', g.n, g.fineTune), point('same network from scratch', g.n, g.scratch)]);
const svg = await svgOf(accuracyBySizeSpec(points, `Fashion-MNIST, 10 classes: fine-tuning vs scratch (${regime.date.slice(0, 10)})`));
const out = resolve(root, values.out);
writeFileSync(`${out}.tmp`, svg);
renameSync(`${out}.tmp`, out);
console.log(`wrote ${values.out}`);
