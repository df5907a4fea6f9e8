// GPU smoke test of the addon itself, built against the machine's CUDA
// LibTorch (see run.sh): forward on cuda equals forward on cpu, a MARS-SP
// training step on cuda equals the same steps on cpu and keeps the
// invariant, and the step's speed. Imports the compiled modules directly
// (dist/), not the package entry, so that sharp (data decoding) is not needed.
import { execFileSync } from 'node:child_process';
import { composeClassifier, probeBackbone } from '../../dist/train/head.js';
import { Trainer } from '../../dist/train/trainer.js';
import { load, manualSeed, runtimeInfo, tensor } from '../../dist/torch/index.js';

const report = { info: runtimeInfo() };
const maxAbsDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
let s = 1;
const rand = (n) => Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1);

const cpuNet = await load('assets/backbone.pt');
const gpuNet = await load('assets/backbone.pt', { device: 'cuda' });
const x = tensor(rand(16 * 784), [16, 1, 28, 28]);
const outCpu = (await cpuNet.forward(x)).toArray();
const outGpu = (await gpuNet.forward(await x.to({ device: 'cuda' }))).toArray();
report.forward = { device: gpuNet.device, maxAbsDiff: maxAbsDiff(outGpu, outCpu) };

manualSeed(0);
const head = await probeBackbone(cpuNet, [1, 28, 28]);
const modelCpu = await composeClassifier(cpuNet, head, 5);
await modelCpu.save('/tmp/classifier.pt');
const modelGpu = await (await modelCpu.clone()).to('cuda');
const reg = { method: 'mars-sp', extractor: 0.5, classifier: 1 };
const opt = { name: 'sgd', lr: 0.05, momentum: 0.9 };
const trainers = [await Trainer.create(modelCpu, { regulariser: reg, optimizer: opt, pool: head.pool }), await Trainer.create(modelGpu, { regulariser: reg, optimizer: opt, pool: head.pool })];
const batches = Array.from({ length: 5 }, () => [tensor(rand(32 * 784), [32, 1, 28, 28]), tensor(Int32Array.from({ length: 32 }, (_, i) => i % 5))]);
for (const [bx, by] of batches) for (const t of trainers) await t.step(bx, by);
const [a, b] = [modelCpu.stateDict(), modelGpu.stateDict()];
const worst = Math.max(...Object.keys(a).map((k) => maxAbsDiff(b[k].toArray(), a[k].toArray())));
const d = trainers[1].distances();
report.training = {
  maxAbsDiffCpuVsCuda: worst,
  invariantHolds: d.every((t) => t.radius === undefined || t.mars <= t.radius * (1 + 1e-5)),
  rowsOnBoundary: d.filter((t) => t.radius !== undefined && t.mars >= t.radius * (1 - 1e-4)).length,
};

// Step speed on the GPU, batch 64, the embedded backbone.
const big = await Promise.all([tensor(rand(64 * 784), [64, 1, 28, 28]), tensor(Int32Array.from({ length: 64 }, (_, i) => i % 5))].map((t) => t.to({ device: 'cuda' })));
for (let i = 0; i < 5; i++) await trainers[1].step(...big);
const t0 = performance.now();
const steps = 50;
for (let i = 0; i < steps; i++) await trainers[1].step(...big);
report.stepImagesPerSecond = (64 * steps) / ((performance.now() - t0) / 1000);
// The same step in Python with PyTorch on the same GPU and classifier file.
const python = execFileSync('python3', ['bench/step/python_step.py', '/tmp/classifier.pt', '64', '1', '28', '28', '16', String(steps), 'cuda'], { encoding: 'utf8' });
report.pythonStepImagesPerSecond = JSON.parse(python).imagesPerSecond;
report.stepRatioOursOverPython = report.stepImagesPerSecond / report.pythonStepImagesPerSecond;
console.log(JSON.stringify(report, null, 2));
// cuDNN convolutions use TF32 by default (as in PyTorch): about 1e-3 relative.
const scale = Math.max(...outCpu.map(Math.abs));
report.forward.relDiff = report.forward.maxAbsDiff / scale;
if (!(report.forward.relDiff < 5e-3 && worst < 1e-3 && report.training.invariantHolds)) process.exit(1);
