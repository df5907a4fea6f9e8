#!/usr/bin/env node
// The distributed benchmark (docs/distributed.md): the same fine-tuning job
// (embedded backbone, MARS-SP, Adam, global batch 64) as one process with 1
// and 2 threads and as two 1-thread ranks over Gloo on loopback, for the
// package (bench/distributed/worker.mjs) and for Python's torch.distributed
// with DistributedDataParallel on the same LibTorch (python_ddp.py). Rounds
// alternate the six contenders so that the shared machine's noise falls on
// all alike; medians and ranges of images/s, the load average before and after.
//   node bench/distributed/run.mjs [--rounds R] [--steps N] [--write]
// --write replaces bench/results/distributed.json.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '../../dist/distributed/index.js';
import { load, manualSeed, runtimeInfo } from '../../dist/index.js';
import { composeClassifier, probeBackbone } from '../../dist/train/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, steps: { type: 'string', default: '40' }, write: { type: 'boolean', default: false } } });
const [rounds, steps] = [Number(values.rounds), Number(values.steps)];
const GLOBAL_BATCH = 64;
const ITEM = [1, 28, 28];

manualSeed(0);
const backbone = await load(join(root, 'assets', 'backbone.pt'));
const head = await probeBackbone(backbone, ITEM);
const model = join(mkdtempSync(join(tmpdir(), 'mars-bench-ddp-')), 'classifier.pt');
await (await composeClassifier(backbone, head, 5)).save(model);

/** Runs `world` processes of `command` (one with no launch variables); rank 0's JSON. */
async function run(command, args, world) {
  const port = await freePort();
  const outputs = await Promise.all(Array.from({ length: world }, (_, rank) => new Promise((done, fail) => {
    const env = world > 1 ? { MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), WORLD_SIZE: String(world), RANK: String(rank), LOCAL_RANK: String(rank), GLOO_SOCKET_IFNAME: 'lo' } : {};
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('exit', (code) => (code === 0 ? done(out) : fail(new Error(`${command} rank ${rank} exited with ${code}`))));
  })));
  return JSON.parse(outputs[0].trim().split('\n').pop());
}

const contenders = [];
for (const [peer, command, script] of [['package', process.execPath, join(root, 'bench', 'distributed', 'worker.mjs')], ['python', '/usr/bin/python3', join(root, 'bench', 'distributed', 'python_ddp.py')]]) {
  for (const [world, threads] of [[1, 1], [1, 2], [2, 1]]) {
    const batch = GLOBAL_BATCH / world;
    const args = [script, model, ...(peer === 'package' ? [head.pool ? '1' : '0'] : []), String(batch), ...ITEM.map(String), String(threads), String(steps)];
    contenders.push({ peer, world, threads, run: () => run(command, args, world), samples: [] });
  }
}

const loadBefore = loadavg();
for (let round = 0; round < rounds; round++) {
  for (const c of contenders) c.samples.push((await c.run()).imagesPerSecond);
}
const loadAfter = loadavg();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = contenders.map(({ peer, world, threads, samples }) => ({
  peer, processes: world, threadsEach: threads, batchEach: GLOBAL_BATCH / world,
  imagesPerSecond: median(samples), range: [Math.min(...samples), Math.max(...samples)], samples,
}));
const find = (peer, world, threads) => rows.find((r) => r.peer === peer && r.processes === world && r.threadsEach === threads).imagesPerSecond;
const summary = Object.fromEntries(['package', 'python'].map((peer) => [peer, {
  // Two 1-thread ranks against one 2-thread process: the same cores, the same global batch.
  twoRanksOverOneProcessTwoThreads: find(peer, 2, 1) / find(peer, 1, 2),
  // Against twice one 1-thread process: what data parallelism keeps of two cores.
  scalingEfficiency: find(peer, 2, 1) / (2 * find(peer, 1, 1)),
}]));
summary.packageOverPythonTwoRanks = find('package', 2, 1) / find('python', 2, 1);
const result = {
  benchmark: 'distributed data-parallel fine-tuning (Gloo, loopback)',
  job: `embedded backbone ${ITEM.join('x')}, MARS-SP, Adam (AMSGrad), global batch ${GLOBAL_BATCH}, ${steps} timed steps after 3`,
  date: new Date().toISOString(), cores: cpus().length, libtorch: runtimeInfo().libtorchVersion,
  python: execFileSync('/usr/bin/python3', ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).trim(),
  rounds, loadAverage: { before: loadBefore, after: loadAfter }, rows, summary,
};
console.log(JSON.stringify(result, null, 2));
if (values.write) writeFileSync(join(root, 'bench', 'results', 'distributed.json'), JSON.stringify(result, null, 2) + '\n');
