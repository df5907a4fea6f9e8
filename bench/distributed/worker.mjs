// One process of the distributed benchmark (the package): with WORLD_SIZE set
// (by run.mjs) one rank of a Gloo job, else the only process. Trains the
// classifier file with MARS-SP on a fixed per-process batch; rank 0 prints the
// global images/s of the timed steps as JSON.
//   node bench/distributed/worker.mjs MODEL.pt POOL BATCH C H W THREADS STEPS   (POOL: the head averages maps, 1 or 0)
import { ProcessGroup, resolveDistributed } from '../../dist/distributed/index.js';
import { load, manualSeed, setNumThreads, tensor } from '../../dist/index.js';
import { Trainer } from '../../dist/train/index.js';

const [path, ...numbers] = process.argv.slice(2);
const [pool, batch, c, h, w, threads, steps] = numbers.map(Number);
setNumThreads(threads);
manualSeed(0);
const settings = resolveDistributed(undefined);
const group = settings && (await ProcessGroup.join({ ...settings, host: '127.0.0.1' }, 'cpu'));
const parallel = group && { group, syncBatchNorm: false, checkEvery: 0 };
const model = await load(path);
const trainer = await Trainer.create(model, { regulariser: { method: 'mars-sp', extractor: 2, classifier: 10 }, pool: pool === 1, ...(parallel ? { parallel } : {}) });
const x = tensor(Float32Array.from({ length: batch * c * h * w }, () => Math.random() * 2 - 1), [batch, c, h, w]);
const y = tensor(Int32Array.from({ length: batch }, (_, i) => i % 5));
for (let i = 0; i < 3; i++) await trainer.step(x, y);
const start = performance.now();
for (let i = 0; i < steps; i++) await trainer.step(x, y);
const seconds = (performance.now() - start) / 1000;
const world = group?.worldSize ?? 1;
if (!group?.rank) console.log(JSON.stringify({ imagesPerSecond: (batch * world * steps) / seconds, secondsPerStep: seconds / steps }));
await group?.leave(true);
