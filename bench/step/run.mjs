#!/usr/bin/env node
// benchmarks.md B row 2: the whole fine-tuning step (forward, loss, backward,
// Adam, MARS-SP projection), images/s at batch 64, the Node package against
// the same step in Python with PyTorch on the same TorchScript classifier file
// and the same thread count, measured in one run. Also the share of a step
// the projection takes. Writes bench/results/step.json.
//   node bench/step/run.mjs [--threads T] [--steps N]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { load, manualSeed, runtimeInfo, setNumThreads, tensor } from '../../dist/index.js';
import { composeClassifier, probeBackbone, Trainer } from '../../dist/train/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({ options: { threads: { type: 'string', default: '2' }, steps: { type: 'string', default: '20' }, rounds: { type: 'string', default: '5' } } });
const rounds = Number(values.rounds);
const threads = Number(values.threads);
const steps = Number(values.steps);
const BATCH = 64;
const work = mkdtempSync(join(tmpdir(), 'mars-bench-step-'));
const resnet18 = join(work, 'resnet18.pt');
execFileSync('/usr/bin/python3', [join(root, 'bench', 'step', 'export_resnet18.py'), resnet18]);

const CASES = [
  { name: 'embedded backbone, 1x28x28', backbone: join(root, 'assets', 'backbone.pt'), item: [1, 28, 28] },
  { name: 'torchvision ResNet-18, 3x64x64', backbone: resnet18, item: [3, 64, 64] },
];

setNumThreads(threads);
const results = [];
for (const c of CASES) {
  manualSeed(0);
  const backbone = await load(c.backbone);
  const head = await probeBackbone(backbone, c.item);
  const model = await composeClassifier(backbone, head, 5);
  const file = join(work, 'classifier.pt');
  await model.save(file);
  const x = tensor(Float32Array.from({ length: BATCH * c.item.reduce((a, b) => a * b) }, () => Math.random() * 2 - 1), [BATCH, ...c.item]);
  const y = tensor(Int32Array.from({ length: BATCH }, (_, i) => i % 5));
  const measure = async (regulariser) => {
    const trainer = await Trainer.create(await model.clone(), { regulariser, pool: head.pool });
    for (let i = 0; i < 3; i++) await trainer.step(x, y);
    const t = performance.now();
    for (let i = 0; i < steps; i++) await trainer.step(x, y);
    return (performance.now() - t) / 1000 / steps;
  };
  // Rounds alternate the contenders, so that the machine's noise (it is shared)
  // falls on both alike; medians are reported.
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const oursRuns = [];
  const noProjectionRuns = [];
  const pythonRuns = [];
  for (let round = 0; round < rounds; round++) {
    oursRuns.push(await measure({ method: 'mars-sp', extractor: 2, classifier: 10 }));
    noProjectionRuns.push(await measure({ method: 'none' }));
    const py = execFileSync('/usr/bin/python3', [join(root, 'bench', 'step', 'python_step.py'), file, String(BATCH), ...c.item.map(String), String(threads), String(steps)], { encoding: 'utf8' });
    pythonRuns.push(JSON.parse(py).secondsPerStep);
  }
  const ours = median(oursRuns);
  const noProjection = median(noProjectionRuns);
  const python = { imagesPerSecond: BATCH / median(pythonRuns), secondsPerStep: median(pythonRuns) };
  const row = {
    case: c.name,
    batch: BATCH,
    oursImagesPerSecond: BATCH / ours,
    pythonImagesPerSecond: python.imagesPerSecond,
    ratio: BATCH / ours / python.imagesPerSecond,
    oursSecondsPerStep: ours,
    pythonSecondsPerStep: python.secondsPerStep,
    projectionShareOfStep: Math.max(0, (ours - noProjection) / ours),
  };
  results.push(row);
  console.log(JSON.stringify(row));
}
const out = { benchmark: 'fine-tuning step', threads, steps, rounds, cores: cpus().length, libtorch: runtimeInfo().libtorchVersion, date: new Date().toISOString(), results };
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'step.json'), JSON.stringify(out, null, 2) + '\n');
