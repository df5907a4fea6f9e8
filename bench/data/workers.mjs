#!/usr/bin/env node
// Does moving the raw-pixel step (uint8 HWC → normalised float32 CHW in the
// batch) to worker_threads pay? The same per-image pipeline as the loader
// (read, sharp header, resize to 224, raw) with that step done three ways,
// interleaved: on the main thread (what the loader does), in 2 workers
// writing into a SharedArrayBuffer batch, and not at all (the most any
// offloading could gain). Prints images/s; docs/data.md quotes the result.
//   node bench/data/workers.mjs [--images 500] [--rounds 4]
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import sharp from 'sharp';
import { median } from '../lib/report.mjs';

const { values } = parseArgs({ options: { images: { type: 'string', default: '500' }, rounds: { type: 'string', default: '4' } } });
const IMAGES = Number(values.images);
const ROUNDS = Number(values.rounds);
const SIZE = 224;
const ITEM = 3 * SIZE * SIZE;
const BATCH = 32;
const CONCURRENCY = 8;

const folder = mkdtempSync(join(tmpdir(), 'mars-bench-workers-'));
mkdirSync(join(folder, 'a'));
await Promise.all(
  Array.from({ length: IMAGES }, (_, i) => {
    const noise = Buffer.alloc(256 * 256 * 3);
    for (let k = 0; k < noise.length; k++) noise[k] = Math.floor(Math.random() * 256);
    return sharp(noise, { raw: { width: 256, height: 256, channels: 3 } }).jpeg({ quality: 90 }).toFile(join(folder, 'a', `${i}.jpg`));
  }),
);
const files = readdirSync(join(folder, 'a')).map((f) => join(folder, 'a', f));

// The step itself, as lib/data/pixels.ts writes it: a 256-entry table per channel, CHW order.
const writeSource = `
const table = new Float32Array(768).map((_, i) => ((i % 256) / 255 - 0.45) / 0.225);
function write(data, dst, offset) {
  let o = offset;
  for (let c = 0; c < 3; c++) {
    const base = c * 256;
    for (let y = 0; y < ${SIZE}; y++) {
      let s = y * ${SIZE} * 3 + c;
      for (let x = 0; x < ${SIZE}; x++, s += 3) dst[o++] = table[base + data[s]];
    }
  }
}`;
const write = new Function(`${writeSource}; return write;`)();
const workers = Array.from(
  { length: 2 },
  () =>
    new Worker(
      `const { parentPort } = require('node:worker_threads'); ${writeSource}
       parentPort.on('message', ({ id, data, buffer, offset }) => { write(data, new Float32Array(buffer), offset); parentPort.postMessage(id); });`,
      { eval: true },
    ),
);
const waiting = new Map();
for (const w of workers) w.on('message', (id) => waiting.get(id)());
let nextId = 0;

async function epoch(mode) {
  const batches = Array.from({ length: Math.ceil(files.length / BATCH) }, () =>
    mode === 'workers' ? new SharedArrayBuffer(BATCH * ITEM * 4) : new ArrayBuffer(BATCH * ITEM * 4),
  );
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < files.length) {
        const i = next++;
        const image = sharp(await readFile(files[i]));
        await image.metadata();
        const data = await image.resize(SIZE, SIZE, { kernel: 'linear', fit: 'fill' }).removeAlpha().toColourspace('srgb').raw().toBuffer();
        const [buffer, offset] = [batches[Math.floor(i / BATCH)], (i % BATCH) * ITEM];
        if (mode === 'main') write(data, new Float32Array(buffer), offset);
        else if (mode === 'workers') {
          const id = nextId++;
          await new Promise((done) => {
            waiting.set(id, done);
            workers[id % workers.length].postMessage({ id, data, buffer, offset }, [data.buffer]);
          });
          waiting.delete(id);
        }
      }
    }),
  );
  return files.length / ((performance.now() - start) / 1000);
}

const modes = ['main', 'workers', 'none'];
const results = Object.fromEntries(modes.map((m) => [m, []]));
for (const m of modes) await epoch(m); // warm-up
for (let r = 0; r < ROUNDS; r++) for (const m of modes) results[m].push(await epoch(m));
for (const w of workers) await w.terminate();
rmSync(folder, { recursive: true, force: true });
console.log(
  `${availableParallelism()} cores, median of ${ROUNDS}: ` +
    modes.map((m) => `${m} ${median(results[m]).toFixed(0)} img/s`).join(', ') +
    `; workers vs main ${(100 * (median(results.workers) / median(results.main) - 1)).toFixed(1)}%`,
);
