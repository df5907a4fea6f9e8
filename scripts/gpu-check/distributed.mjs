// GPU smoke check of the distributed path (docs/distributed.md), with the
// addon built against the machine's CUDA LibTorch (distributed.sh):
//  1. a one-process NCCL group on cuda:0: metric sums, a few MARS-SP steps of
//     a data-parallel session against the same steps without a group (a world
//     of one must change nothing), syncBatchNorm likewise, the replica check;
//  2. where this build has Gloo, a two-rank Gloo job on the CPU in two child
//     processes (the LibTorch 2.x c10d path of the CPU backend).
// Prints a JSON report; exits 1 when a check fails.
import { spawnSync } from 'node:child_process';
import { ProcessGroup, freePort, resolveDistributed } from '../../dist/distributed/index.js';
import { composeClassifier, probeBackbone } from '../../dist/train/head.js';
import { Trainer } from '../../dist/train/trainer.js';
import { load, manualSeed, runtimeInfo, tensor } from '../../dist/torch/index.js';

const [mode, portArg, rankArg] = process.argv.slice(2);
let s = 1;
const rand = (n) => Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1);
const maxAbsDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const batches = Array.from({ length: 4 }, () => [tensor(rand(32 * 784), [32, 1, 28, 28]), tensor(Int32Array.from({ length: 32 }, (_, i) => i % 5))]);

/** Trains a fresh classifier on `device` for the batches; its tensors. */
async function train(device, parallel) {
  manualSeed(0);
  const backbone = await load('assets/backbone.pt', { device });
  const head = await probeBackbone(backbone, [1, 28, 28]);
  const model = await composeClassifier(backbone, head, 5);
  const trainer = await Trainer.create(model, { regulariser: { method: 'mars-sp', extractor: 0.5, classifier: 1 }, optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9 }, pool: head.pool, ...(parallel ? { parallel } : {}) });
  for (const [x, y] of batches) await trainer.step(await x.to({ device }), await y.to({ device }));
  return Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, t.toArray()]));
}
const worst = (a, b) => Math.max(...Object.keys(a).map((k) => maxAbsDiff(a[k], b[k])));

if (mode === 'gloo-rank') {
  // One rank of the two-rank Gloo job: sums and a few data-parallel steps.
  const settings = resolveDistributed({ masterPort: Number(portArg), worldSize: 2, rank: Number(rankArg), host: '127.0.0.1', timeout: 30 });
  const group = await ProcessGroup.join(settings, 'cpu');
  const sum = await group.sum([group.rank + 1]);
  const tensors = await train('cpu', { group, syncBatchNorm: true, checkEvery: 1 });
  await group.leave(true);
  console.log(JSON.stringify({ sum: sum[0], firstWeight: tensors['head.weight'].slice(0, 4) }));
} else {
  const report = { info: runtimeInfo() };
  const checks = [];
  const settings = resolveDistributed({ masterPort: await freePort(), worldSize: 1, rank: 0, host: '127.0.0.1', timeout: 60 });
  const group = await ProcessGroup.join(settings, 'cuda');
  report.nccl = { device: group.device, sum: await group.sum([1.5, 2]) };
  checks.push(report.nccl.sum[0] === 1.5 && report.nccl.sum[1] === 2);
  const plain = await train('cuda:0');
  for (const syncBatchNorm of [false, true]) {
    const ranked = await train('cuda:0', { group, syncBatchNorm, checkEvery: 1 });
    report.nccl[syncBatchNorm ? 'syncBatchNormMaxAbsDiff' : 'stepMaxAbsDiff'] = worst(ranked, plain);
    checks.push(worst(ranked, plain) < (syncBatchNorm ? 1e-4 : 1e-6));
  }
  await group.leave(true);
  const port = await freePort();
  const ranks = [0, 1].map((r) => spawnSync(process.execPath, [process.argv[1], 'gloo-rank', String(port), String(r)], { encoding: 'utf8', timeout: 240_000 }));
  report.gloo = ranks.map((r) => (r.status === 0 ? JSON.parse(r.stdout.trim().split('\n').pop()) : { status: r.status, stderr: r.stderr.slice(-2000) }));
  const glooMissing = ranks.some((r) => /no Gloo/.test(r.stderr));
  report.gloo.available = !glooMissing;
  if (!glooMissing) checks.push(report.gloo.every((r) => r.sum === 3) && maxAbsDiff(report.gloo[0].firstWeight, report.gloo[1].firstWeight) === 0);
  report.passed = checks.every(Boolean);
  console.log(JSON.stringify(report, null, 2));
  process.exit(report.passed ? 0 : 1);
}
