#!/usr/bin/env node
// Data streaming throughput: images/s decoding a folder of JPEGs (random
// 256×256 RGB), resized to 224, normalised (ImageNet), batched (32): our
// DataLoader against torchvision ImageFolder + DataLoader(num_workers=2) on
// the same files, interleaved in the same run. Also our decode concurrency
// sweep and how busy our main thread is (the share worker threads could take
// over). Writes bench/results/data.json. Never part of `npm test`.
//   npm run build:ts && node bench/data/run.mjs [--images 500] [--rounds 5] [--lib dist/data/index.js]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '500' },
    rounds: { type: 'string', default: '5' },
    lib: { type: 'string', default: join(root, 'dist', 'data', 'index.js') },
  },
});
const IMAGES = Number(values.images);
const ROUNDS = Number(values.rounds);
const BATCH = 32;
const WORKERS = 2;
const { DataLoader, IMAGENET, normalize, openDataset, resize } = await import(pathToFileURL(resolve(values.lib)).href);

// The files: random noise (the worst case for JPEG decoding), two classes.
const folder = mkdtempSync(join(tmpdir(), 'mars-bench-data-'));
for (const c of ['a', 'b']) mkdirSync(join(folder, c));
await Promise.all(
  Array.from({ length: IMAGES }, (_, i) => {
    const noise = Buffer.alloc(256 * 256 * 3);
    for (let k = 0; k < noise.length; k++) noise[k] = Math.floor(Math.random() * 256);
    return sharp(noise, { raw: { width: 256, height: 256, channels: 3 } })
      .jpeg({ quality: 90 })
      .toFile(join(folder, i % 2 ? 'b' : 'a', `${String(i).padStart(5, '0')}.jpg`));
  }),
);

const dataset = await openDataset(folder);
// Other work on the machine skews both sides; the 1-minute load average before and after says how much there was.
const loadBefore = loadavg()[0];
const transforms = [resize(224), normalize(IMAGENET)];

/** One timed epoch of ours: wall seconds, CPU cores used by the process, and the main thread's busy share. */
async function oursEpoch(loader, epoch) {
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const start = performance.now();
  let items = 0;
  for await (const batch of loader.epoch(epoch)) items += batch.shape[0];
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    items,
    seconds,
    cores: (used.user + used.system) / 1e6 / seconds,
    mainThreadBusy: performance.eventLoopUtilization(elu).utilization,
  };
}

const python = () =>
  JSON.parse(
    execFileSync('/usr/bin/python3', [join(root, 'bench', 'data', 'torchvision_folder.py'), folder, '1', String(WORKERS), String(BATCH)], {
      encoding: 'utf8',
    }),
  );

// Warm both (page cache, lazy initialisation), then alternate so that drift in machine load hits both alike.
const loader = new DataLoader(dataset, { batchSize: BATCH, shuffle: true, seed: 0, transforms });
await oursEpoch(loader, 0);
python();
const ours = [];
const theirs = [];
const theirCpu = [];
let versions = {};
for (let r = 1; r <= ROUNDS; r++) {
  ours.push(await oursEpoch(loader, r));
  const p = python();
  theirs.push(p.seconds[0]);
  theirCpu.push(p.cpuSeconds[0]);
  versions = { torch: p.torch, torchvision: p.torchvision };
}

// Decode concurrency: items in flight at once (the default is twice libuv's pool size).
const sweep = [];
for (const concurrency of [1, 2, 4, 8, 16]) {
  const l = new DataLoader(dataset, { batchSize: BATCH, shuffle: true, seed: 0, transforms, concurrency });
  const runs = [await oursEpoch(l, 0), await oursEpoch(l, 1)];
  sweep.push({ concurrency, imagesPerSecond: Math.max(...runs.map((x) => x.items / x.seconds)) });
}
rmSync(folder, { recursive: true, force: true });

// Medians, and bests: on a shared machine the best epoch is the one least disturbed by other load.
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const oursSeconds = median(ours.map((o) => o.seconds));
const theirSeconds = median(theirs);
const oursBest = Math.min(...ours.map((o) => o.seconds));
const theirBest = Math.min(...theirs);
const result = {
  benchmark: 'data streaming: JPEG folder → resize 224 → normalise → batch 32',
  date: new Date().toISOString(),
  machine: { cores: availableParallelism(), cpu: cpus()[0]?.model, node: process.version, loadAverage: [loadBefore, loadavg()[0]] },
  versions: { sharp: sharp.versions.sharp, libvips: sharp.versions.vips, sharpConcurrency: sharp.concurrency(), ...versions },
  images: IMAGES,
  rounds: ROUNDS,
  ours: {
    medianEpochSeconds: oursSeconds,
    imagesPerSecond: IMAGES / oursSeconds,
    bestImagesPerSecond: IMAGES / oursBest,
    epochSeconds: ours.map((o) => o.seconds),
    coresUsed: median(ours.map((o) => o.cores)),
    cpuMillisecondsPerImage: (1000 * median(ours.map((o) => o.cores * o.seconds))) / IMAGES,
    mainThreadBusy: median(ours.map((o) => o.mainThreadBusy)),
    mainThreadMillisecondsPerImage: (1000 * median(ours.map((o) => o.mainThreadBusy * o.seconds))) / IMAGES,
    concurrency: loader.options.concurrency,
  },
  torchvision: {
    workers: WORKERS,
    medianEpochSeconds: theirSeconds,
    imagesPerSecond: IMAGES / theirSeconds,
    bestImagesPerSecond: IMAGES / theirBest,
    cpuMillisecondsPerImage: (1000 * median(theirCpu)) / IMAGES,
    epochSeconds: theirs,
  },
  /** Ours over torchvision in images/s: above 1 means ours is faster. */
  ratio: theirSeconds / oursSeconds,
  bestRatio: theirBest / oursBest,
  concurrencySweep: sweep,
};
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'data.json'), JSON.stringify(result, null, 2) + '\n');
const f = (x) => x.toFixed(0);
console.log(
  `${IMAGES} JPEGs 256×256 → 224, ${availableParallelism()} cores: ours ${f(result.ours.imagesPerSecond)} img/s (${oursSeconds.toFixed(2)} s/epoch), ` +
    `torchvision ${f(result.torchvision.imagesPerSecond)} img/s (${theirSeconds.toFixed(2)} s/epoch), ratio ${result.ratio.toFixed(2)}; ` +
    `best epochs: ours ${f(result.ours.bestImagesPerSecond)}, torchvision ${f(result.torchvision.bestImagesPerSecond)} img/s, ratio ${result.bestRatio.toFixed(2)}; ` +
    `CPU per image: ours ${result.ours.cpuMillisecondsPerImage.toFixed(2)} ms (main thread ${result.ours.mainThreadMillisecondsPerImage.toFixed(2)} ms), ` +
    `torchvision ${result.torchvision.cpuMillisecondsPerImage.toFixed(2)} ms`,
);
console.log('concurrency sweep:', sweep.map((s) => `${s.concurrency}: ${f(s.imagesPerSecond)}`).join(', '));
