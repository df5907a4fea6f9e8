#!/usr/bin/env node
// The headline benchmark (benchmarks.md B, "end to end"): one fine-tuning job
// from process start to saved model — the embedded backbone, Fashion-MNIST
// classes 5–9, `--per-class` images each, MARS-SP with the package's defaults,
// then test accuracy and the saved TorchScript model — run by the package's
// CLI, by its API (bench/e2e/api_finetune.mjs) and by the same job written as
// a plain PyTorch script (python_finetune.py), alternating contenders round
// by round, at each thread count. Reports images/s (trained images over the
// wall time of the whole process) and peak RSS with medians, ranges, samples
// and the load average, and the ratios ours / Python per round.
//   npm run bench:e2e -- [--quick] [--rounds N] [--epochs E] [--per-class N] [--threads 1,2] [--write]
// Prints one JSON line: ratio (the worst of ours over Python, images/s, medians)
// and rssRatio (the worst of our peak RSS over Python's). --write replaces
// bench/results/e2e.json; otherwise the result goes to the temporary folder.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDataset, runtimeInfo } from '../../dist/index.js';
import { load, machine, root, saveResult, summary } from '../lib/report.mjs';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    epochs: { type: 'string' },
    'per-class': { type: 'string' },
    threads: { type: 'string', default: '1,2' },
    contenders: { type: 'string', default: 'api,cli,python' },
    write: { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds ?? (values.quick ? 3 : 7));
const epochs = Number(values.epochs ?? (values.quick ? 2 : 5));
// --quick (under 5 minutes on 2 cores): 1,000 images for 2 epochs, 3 rounds; the full run 2,000 images for 5 epochs, 7 rounds.
const perClass = Number(values['per-class'] ?? (values.quick ? 200 : 400));
const threadCounts = values.threads.split(',').map(Number);
const contenders = values.contenders.split(',');
const FMNIST = '/usr/share/datasets/fashion-mnist';
const work = mkdtempSync(join(tmpdir(), 'mars-bench-e2e-'));
const began = performance.now();

try {
  const base = {
    backbone: join(root, 'assets', 'backbone.pt'),
    trainImages: join(FMNIST, 'train-images-idx3-ubyte.gz'),
    trainLabels: join(FMNIST, 'train-labels-idx1-ubyte.gz'),
    testImages: join(FMNIST, 't10k-images-idx3-ubyte.gz'),
    testLabels: join(FMNIST, 't10k-labels-idx1-ubyte.gz'),
    classes: [5, 6, 7, 8, 9],
    perClass,
    seed: 0,
    epochs,
    batchSize: 128,
  };
  // The Python script trains on exactly the items the package's selection picks (keys are `file#row`).
  const selected = await openDataset(`idx:${base.trainImages},${base.trainLabels}`, { classes: base.classes, perClass: base.perClass, seed: base.seed });
  const trainRows = Array.from({ length: selected.size }, (_, i) => Number(selected.key(i).split('#').pop()));
  const trainedImages = epochs * trainRows.length;

  const command = (who, job, jobFile) => {
    switch (who) {
      case 'python':
        return ['/usr/bin/python3', join(root, 'bench', 'e2e', 'python_finetune.py'), jobFile];
      case 'api':
        return [process.execPath, join(root, 'bench', 'e2e', 'api_finetune.mjs'), jobFile];
      case 'cli':
        return [process.execPath, join(root, 'dist', 'cli', 'main.js'), 'finetune', '--backbone', job.backbone,
          '--train', `idx:${job.trainImages},${job.trainLabels}`, '--test', `idx:${job.testImages},${job.testLabels}`,
          '--classes', job.classes.join(','), '--per-class', String(job.perClass), '--epochs', String(job.epochs),
          '--batch-size', String(job.batchSize), '--seed', String(job.seed), '--threads', String(job.threads), '--out', job.out];
      default:
        throw new Error(`unknown contender ${who}`);
    }
  };

  /** One run of one contender in a fresh process: wall seconds, peak RSS and faults as the kernel counts them. */
  const runOnce = (who, threads) => {
    const dir = mkdtempSync(join(work, `${who}-`));
    const job = { ...base, threads, trainRows, out: join(dir, 'model.pt') };
    const jobFile = join(dir, 'job.json');
    writeFileSync(jobFile, JSON.stringify(job));
    const stats = join(dir, 'stats.json');
    const output = execFileSync('/usr/bin/python3', [join(root, 'bench', 'e2e', 'measure.py'), stats, ...command(who, job, jobFile)], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26,
    });
    const m = JSON.parse(readFileSync(stats, 'utf8'));
    if (m.status !== 0) throw new Error(`${who} exited with ${m.status}:\n${output}`);
    const accuracy = who === 'cli' ? Number(/test accuracy ([\d.]+)%/.exec(output)?.[1]) / 100 : JSON.parse(output.trim().split('\n').pop()).testAccuracy;
    rmSync(dir, { recursive: true, force: true });
    return { ...m, imagesPerSecond: trainedImages / m.seconds, testAccuracy: accuracy };
  };

  const loadBefore = load();
  const byThreads = {};
  // Warm-up, once (every run is a fresh process): page cache, Python's bytecode cache, the dynamic loader's, for every contender.
  for (const who of contenders) runOnce(who, threadCounts[0]);
  for (const threads of threadCounts) {
    const runs = Object.fromEntries(contenders.map((w) => [w, []]));
    const loads = [];
    for (let r = 0; r < rounds; r++) {
      // Rotate the order each round, so no contender always runs first (or after the same one).
      const order = contenders.map((_, i) => contenders[(i + r) % contenders.length]);
      for (const who of order) runs[who].push(runOnce(who, threads));
      loads.push(load()[0]);
    }
    const entry = { loadAverage1m: summary(loads), contenders: {} };
    for (const who of contenders) {
      const rs = runs[who];
      entry.contenders[who] = {
        seconds: summary(rs.map((x) => x.seconds)),
        imagesPerSecond: summary(rs.map((x) => x.imagesPerSecond)),
        peakRssMb: summary(rs.map((x) => x.maxRssMb)),
        cpuSeconds: summary(rs.map((x) => x.cpuSeconds)),
        minorFaults: summary(rs.map((x) => x.minorFaults)),
        testAccuracy: summary(rs.map((x) => x.testAccuracy)),
      };
    }
    if (runs.python) {
      for (const who of contenders.filter((w) => w !== 'python')) {
        // Per round: the contenders of one round ran side by side, under the same load.
        entry.contenders[who].ratio = summary(runs[who].map((x, i) => runs.python[i].seconds / x.seconds));
        entry.contenders[who].rssRatio = summary(runs[who].map((x, i) => x.maxRssMb / runs.python[i].maxRssMb));
        // CPU time is steadier than wall time on a loaded machine (it still counts OpenMP's spin-waits).
        entry.contenders[who].cpuRatio = summary(runs[who].map((x, i) => runs.python[i].cpuSeconds / x.cpuSeconds));
      }
    }
    byThreads[threads] = entry;
  }
  const ours = Object.values(byThreads).flatMap((t) => Object.values(t.contenders).filter((c) => c.ratio));
  const result = {
    benchmark: 'end to end: fine-tune the embedded backbone on Fashion-MNIST, process start to saved model',
    date: new Date().toISOString(),
    machine: { ...machine(), libtorch: runtimeInfo().libtorchVersion, loadAverage: { before: loadBefore, after: load() } },
    job: { ...base, trainItems: trainRows.length, trainedImages },
    quick: values.quick,
    rounds,
    byThreads,
    ratio: Math.min(...ours.map((c) => c.ratio.median)),
    rssRatio: Math.max(...ours.map((c) => c.rssRatio.median)),
    benchmarkSeconds: Math.round((performance.now() - began) / 1000),
  };
  const file = saveResult('e2e', result, values.write);
  const brief = Object.fromEntries(Object.entries(byThreads).map(([t, e]) => [t, Object.fromEntries(
    Object.entries(e.contenders).map(([w, c]) => [w, { imagesPerSecond: Math.round(c.imagesPerSecond.median), peakRssMb: Math.round(c.peakRssMb.median),
      ...(c.ratio ? { ratio: +c.ratio.median.toFixed(3), rssRatio: +c.rssRatio.median.toFixed(3), cpuRatio: +c.cpuRatio.median.toFixed(3) } : {}) }]))]));
  console.log(JSON.stringify({ ratio: +result.ratio.toFixed(3), rssRatio: +result.rssRatio.toFixed(3), threads: brief, loadAverage: result.machine.loadAverage, rounds, epochs, perClass, seconds: result.benchmarkSeconds, file }));
} finally {
  rmSync(work, { recursive: true, force: true });
}
