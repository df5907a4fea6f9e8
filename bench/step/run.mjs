#!/usr/bin/env node
// benchmarks.md B row 2: the whole fine-tuning step (forward, loss, backward,
// Adam, MARS-SP projection), images/s at batch 64, the Node package against
// the same step in Python with PyTorch on the same TorchScript classifier file
// and the same thread count, rounds alternating, and the share of our step the
// projection takes (timed inside each step, so in the same run).
//   npm run build && node bench/step/run.mjs [--threads 2] [--steps 20] [--rounds 5] [--quick] [--write]
// --write replaces bench/results/step.json; otherwise the result goes to the temporary folder.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { load, manualSeed, runtimeInfo, setNumThreads, tensor } from '../../dist/index.js';
import { composeClassifier, probeBackbone, Trainer } from '../../dist/train/index.js';
import { load as loadAverage, machine, root, saveResult, summary } from '../lib/report.mjs';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    steps: { type: 'string' },
    rounds: { type: 'string' },
    quick: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds ?? (values.quick ? 2 : 5));
const steps = Number(values.steps ?? (values.quick ? 5 : 20));
const threads = Number(values.threads);
const BATCH = 64;
const work = mkdtempSync(join(tmpdir(), 'mars-bench-step-'));

try {
  const resnet18 = join(work, 'resnet18.pt');
  execFileSync('/usr/bin/python3', [join(root, 'bench', 'step', 'export_resnet18.py'), resnet18]);
  const CASES = [
    { name: 'embedded backbone, 1x28x28', backbone: join(root, 'assets', 'backbone.pt'), item: [1, 28, 28] },
    { name: 'torchvision ResNet-18, 3x64x64', backbone: resnet18, item: [3, 64, 64] },
  ];
  const loadBefore = loadAverage();
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
    /** Seconds per step and the projection's share of them, over `steps` steps after 3 warm-up steps. */
    const ours = async () => {
      const trainer = await Trainer.create(await model.clone(), { regulariser: { method: 'mars-sp', extractor: 2, classifier: 10 }, pool: head.pool });
      for (let i = 0; i < 3; i++) await trainer.step(x, y);
      let projection = 0;
      const t = performance.now();
      for (let i = 0; i < steps; i++) projection += (await trainer.step(x, y)).projectionSeconds;
      const seconds = (performance.now() - t) / 1000;
      trainer.dispose();
      return { secondsPerStep: seconds / steps, projectionShare: projection / seconds };
    };
    const python = () => JSON.parse(execFileSync('/usr/bin/python3', [join(root, 'bench', 'step', 'python_step.py'), file, String(BATCH), ...c.item.map(String), String(threads), String(steps)], { encoding: 'utf8' })).secondsPerStep;
    // Warm both sides (the interpreter's imports and the page cache too), then alternate rounds, so that the
    // machine's noise (it is shared) falls on both alike.
    await ours();
    python();
    const oursRuns = [];
    const pythonRuns = [];
    const loads = [];
    for (let round = 0; round < rounds; round++) {
      oursRuns.push(await ours());
      pythonRuns.push(python());
      loads.push(loadAverage()[0]);
    }
    const oursSeconds = summary(oursRuns.map((r) => r.secondsPerStep));
    const pythonSeconds = summary(pythonRuns);
    const row = {
      case: c.name,
      batch: BATCH,
      oursImagesPerSecond: BATCH / oursSeconds.median,
      pythonImagesPerSecond: BATCH / pythonSeconds.median,
      ratio: summary(oursRuns.map((r, i) => pythonRuns[i] / r.secondsPerStep)),
      oursSecondsPerStep: oursSeconds,
      pythonSecondsPerStep: pythonSeconds,
      projectionShareOfStep: summary(oursRuns.map((r) => r.projectionShare)),
      loadAverage1m: summary(loads),
    };
    results.push(row);
    console.log(JSON.stringify({ case: row.case, ratio: +row.ratio.median.toFixed(3), ours: Math.round(row.oursImagesPerSecond), python: Math.round(row.pythonImagesPerSecond), projectionShare: +row.projectionShareOfStep.median.toFixed(4) }));
  }
  const out = {
    benchmark: 'fine-tuning step', threads, steps, rounds, date: new Date().toISOString(),
    machine: { ...machine(), libtorch: runtimeInfo().libtorchVersion, loadAverage: { before: loadBefore, after: loadAverage() } },
    results,
  };
  console.log(`wrote ${saveResult('step', out, values.write)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
