// One rank of a two-rank job for the equivalence tests (run from dist/, so
// `npm run build:ts` first): joins the job, trains every case of the job file
// on its shard of each batch (items rank, rank + 2, ..., as DistributedSampler
// deals them) in float64, as the tests' model files are, and rank 0
// writes each case's final tensors as JSON.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [root, jobFile, rankArg] = process.argv.slice(2);
const rank = Number(rankArg);
const dist = (p) => import(join(root, 'dist', p));
const { ProcessGroup } = await dist('distributed/group.js');
const { Trainer } = await dist('train/trainer.js');
const { load } = await dist('torch/module.js');
const { tensor } = await dist('torch/tensor.js');
const { setNumThreads, manualSeed } = await dist('torch/runtime.js');

const job = JSON.parse(readFileSync(jobFile, 'utf8'));
setNumThreads(1);
const settings = { masterAddr: '127.0.0.1', masterPort: job.port, worldSize: 2, rank, localRank: rank, host: '127.0.0.1', timeout: 30, joinTimeout: 60, syncBatchNorm: job.syncBatchNorm, checkEvery: 1, remainder: 'pad' };
const group = await ProcessGroup.join(settings, 'cpu');
const itemSize = job.xshape.slice(1).reduce((a, b) => a * b, 1);
for (const c of job.cases) {
  manualSeed(7);
  const model = await load(c.model);
  const parallel = { group, syncBatchNorm: job.syncBatchNorm, checkEvery: 1 };
  const channelWeights = c.channelWeights && Float32Array.from(c.channelWeights);
  const trainer = await Trainer.create(model, { regulariser: c.regulariser, optimizer: c.optimizer, pool: c.pool, parallel, ...(channelWeights ? { channelWeights } : {}) });
  for (const [xFile, yFile] of job.batches) {
    const xb = readFileSync(xFile), yb = readFileSync(yFile);
    const x = new Float32Array(xb.buffer, xb.byteOffset, xb.byteLength / 4);
    const y = new Int32Array(yb.buffer, yb.byteOffset, yb.byteLength / 4);
    const mine = Array.from({ length: y.length / 2 }, (_, i) => rank + 2 * i);
    const xs = new Float64Array(mine.length * itemSize);
    mine.forEach((item, i) => xs.set(x.subarray(item * itemSize, (item + 1) * itemSize), i * itemSize));
    await trainer.step(tensor(xs, [mine.length, ...job.xshape.slice(1)]), tensor(Int32Array.from(mine, (item) => y[item])));
  }
  if (rank === 0) writeFileSync(c.out, JSON.stringify(Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, t.toArray()]))));
}
await group.leave(true);
