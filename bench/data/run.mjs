#!/usr/bin/env node
// Data streaming throughput (benchmarks.md B, "data streaming"): images/s
// decoding a folder of images, resized to 224 (shorter side), normalised
// (ImageNet), batched (32): our DataLoader with its default decoder (JPEG and
// PNG on the native image path), the same loader with every file in sharp,
// and torchvision ImageFolder + DataLoader(num_workers=2) on the same files,
// epochs alternating in the same run. Folder sets: random-noise 256×256 JPEGs
// (the headline), 256×256 PNGs, and 1600×1200 JPEGs (shrink-on-load). Also
// the CPU each side spends per image and how busy our main thread is.
//   npm run build && node bench/data/run.mjs [--quick] [--images 500] [--rounds 6] [--sets jpeg256,png256,jpeg1600] [--write]
// --write replaces bench/results/data.json; otherwise the result goes to the temporary folder.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { DataLoader, IMAGENET, normalize, openDataset, resize } from '../../dist/index.js';
import { load, machine, root, saveResult, summary } from '../lib/report.mjs';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    images: { type: 'string' },
    rounds: { type: 'string' },
    sets: { type: 'string' },
    write: { type: 'boolean', default: false },
  },
});
const IMAGES = Number(values.images ?? (values.quick ? 300 : 500));
const ROUNDS = Number(values.rounds ?? (values.quick ? 3 : 6));
const BATCH = 32;
const WORKERS = 2;

/** Random pixels in `width` × `height`, smoothed by `blur` (0: pure noise, the worst case for JPEG decoding). */
async function picture(width, height, blur) {
  const noise = Buffer.alloc(width * height * 3);
  for (let k = 0; k < noise.length; k++) noise[k] = Math.floor(Math.random() * 256);
  const image = sharp(noise, { raw: { width, height, channels: 3 } });
  return blur ? image.blur(blur) : image;
}
const SETS = {
  jpeg256: { describe: 'random-noise 256×256 JPEGs (quality 90)', count: IMAGES, write: async (file) => (await picture(256, 256, 0)).jpeg({ quality: 90 }).toFile(`${file}.jpg`) },
  png256: { describe: 'blurred-noise 256×256 PNGs', count: IMAGES, write: async (file) => (await picture(256, 256, 1.5)).png().toFile(`${file}.png`) },
  jpeg1600: { describe: 'blurred-noise 1600×1200 JPEGs (quality 90): shrink-on-load', count: Math.round(IMAGES / 5), write: async (file) => (await picture(1600, 1200, 1.5)).jpeg({ quality: 90 }).toFile(`${file}.jpg`) },
};
const sets = (values.sets ?? (values.quick ? 'jpeg256' : Object.keys(SETS).join(','))).split(',');

/** One timed epoch of ours: wall seconds, CPU cores used by the process, and the main thread's busy share. */
async function oursEpoch(loader, epoch) {
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const start = performance.now();
  let items = 0;
  for await (const batch of loader.epoch(epoch)) {
    items += batch.shape[0];
    loader.release(batch);
  }
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return { items, seconds, cpuSeconds: (used.user + used.system) / 1e6, mainThreadBusy: performance.eventLoopUtilization(elu).utilization };
}

const loadBefore = load();
const work = mkdtempSync(join(tmpdir(), 'mars-bench-data-'));
const results = {};
let versions = {};
try {
  for (const name of sets) {
    const set = SETS[name];
    // Two classes; files written a few at a time (sharp holds each decoded picture until it is written).
    const folder = join(work, name);
    for (const c of ['a', 'b']) mkdirSync(join(folder, c), { recursive: true });
    for (let i = 0; i < set.count; i += 8) {
      await Promise.all(Array.from({ length: Math.min(8, set.count - i) }, (_, k) => set.write(join(folder, (i + k) % 2 ? 'b' : 'a', String(i + k).padStart(5, '0')))));
    }
    const dataset = await openDataset(folder);
    const transforms = [resize(224), normalize(IMAGENET)];
    const loaders = {
      native: new DataLoader(dataset, { batchSize: BATCH, shuffle: true, seed: 0, transforms }),
      sharp: new DataLoader(dataset, { batchSize: BATCH, shuffle: true, seed: 0, transforms, decoder: 'sharp' }),
    };
    const python = () => {
      const p = JSON.parse(execFileSync('/usr/bin/python3', [join(root, 'bench', 'data', 'torchvision_folder.py'), folder, '1', String(WORKERS), String(BATCH)], { encoding: 'utf8' }));
      versions = { torch: p.torch, torchvision: p.torchvision };
      return { items: p.items, seconds: p.seconds[0], cpuSeconds: p.cpuSeconds[0] };
    };
    // Warm every contender (page cache, lazy initialisation, Python's imports), then alternate them round by round.
    await oursEpoch(loaders.native, 0);
    await oursEpoch(loaders.sharp, 0);
    python();
    const runs = { native: [], sharp: [], torchvision: [] };
    const loads = [];
    for (let r = 1; r <= ROUNDS; r++) {
      const order = r % 2 ? ['native', 'sharp', 'torchvision'] : ['torchvision', 'sharp', 'native'];
      for (const who of order) runs[who].push(who === 'torchvision' ? python() : await oursEpoch(loaders[who], r));
      loads.push(load()[0]);
    }
    const report = (rs) => ({
      imagesPerSecond: summary(rs.map((x) => x.items / x.seconds)),
      epochSeconds: summary(rs.map((x) => x.seconds)),
      cpuMillisecondsPerImage: summary(rs.map((x) => (1000 * x.cpuSeconds) / x.items)),
      ...(rs[0].mainThreadBusy === undefined ? {} : { mainThreadBusy: summary(rs.map((x) => x.mainThreadBusy)) }),
    });
    results[name] = {
      files: set.describe,
      images: set.count,
      loadAverage1m: summary(loads),
      native: report(runs.native),
      sharp: report(runs.sharp),
      torchvision: { workers: WORKERS, ...report(runs.torchvision) },
      // Ours over torchvision in images/s, per round (the contenders of a round ran under the same load).
      ratio: summary(runs.native.map((x, i) => runs.torchvision[i].seconds / x.seconds)),
      sharpRatio: summary(runs.sharp.map((x, i) => runs.torchvision[i].seconds / x.seconds)),
      nativeOverSharp: summary(runs.native.map((x, i) => runs.sharp[i].seconds / x.seconds)),
    };
    const r = results[name];
    const f = (x) => Math.round(x.imagesPerSecond.median);
    console.log(`${name} (${set.count} ${set.describe}): native ${f(r.native)} img/s, sharp ${f(r.sharp)}, torchvision ${f(r.torchvision)}; ` +
      `native/torchvision ${r.ratio.median.toFixed(2)} (${r.ratio.min.toFixed(2)}–${r.ratio.max.toFixed(2)}), native/sharp ${r.nativeOverSharp.median.toFixed(2)}; ` +
      `CPU ms/image: native ${r.native.cpuMillisecondsPerImage.median.toFixed(2)}, sharp ${r.sharp.cpuMillisecondsPerImage.median.toFixed(2)}, torchvision ${r.torchvision.cpuMillisecondsPerImage.median.toFixed(2)}; load ${r.loadAverage1m.median}`);
    rmSync(folder, { recursive: true, force: true });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const result = {
  benchmark: 'data streaming: image folder → resize 224 → normalise → batch 32',
  date: new Date().toISOString(),
  machine: { ...machine(), loadAverage: { before: loadBefore, after: load() } },
  versions: { sharp: sharp.versions.sharp, libvips: sharp.versions.vips, sharpConcurrency: sharp.concurrency(), ...versions },
  rounds: ROUNDS,
  sets: results,
  /** The headline: the JPEG set, ours (default decoder) over torchvision, images/s. */
  ratio: results.jpeg256?.ratio.median,
};
console.log(JSON.stringify({ ratio: result.ratio === undefined ? null : +result.ratio.toFixed(3), loadAverage: result.machine.loadAverage, file: saveResult('data', result, values.write) }));
