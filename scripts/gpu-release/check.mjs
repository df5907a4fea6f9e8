// The CUDA variant, installed from its tarball beside the main package's into
// an empty project (run.sh copies this file there and runs it): which binary
// loaded; fine-tuning the embedded backbone on cuda against the same run on
// the CPU; the projection on cuda against the CPU kernel (1e-6 relative);
// mixed precision (bf16, fp16 with the loss scale) against PyTorch's own
// autocast and GradScaler steps on the same GPU; the step's throughput
// against the same step in Python on the same GPU, rounds interleaved;
// and a short `mars-ft finetune --device cuda`. Every figure goes to
// OUT/gpu-release.json as soon as it is measured.
//   node check.mjs REPO VARIANT OUT
// GPU_RELEASE_DEVICE=cpu GPU_RELEASE_QUICK=1 runs the same flow on a CPU
// machine with fewer steps (fp16 and the CUDA-only checks left out): the
// rehearsal of the GPU run. PYTHON names the python3 that has torch.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultBackbone, fineTune, load, manualSeed, openDataset, projectMars, runtimeInfo, targetSet, tensor } from 'mars-finetune';

const [repo, variant, out] = process.argv.slice(2);
const DEVICE = process.env.GPU_RELEASE_DEVICE ?? 'cuda';
const QUICK = process.env.GPU_RELEASE_QUICK === '1';
const AMP = DEVICE === 'cuda' ? ['bf16', 'fp16'] : ['bf16'];
const EPOCHS = QUICK ? 2 : 10;
const packageDir = dirname(dirname(createRequire(import.meta.url).resolve('mars-finetune')));
// Internals the public API does not export: the trainer and head composition, for step-level comparisons.
const { Trainer, composeClassifier, probeBackbone } = await import(pathToFileURL(join(packageDir, 'dist', 'train', 'index.js')).href);
const work = mkdtempSync(join(tmpdir(), 'gpu-release-'));
const results = { date: new Date().toISOString(), checks: {} };
const save = () => writeFileSync(join(out, 'gpu-release.json'), JSON.stringify(results, null, 2) + '\n');
const check = (name, ok, detail) => {
  results.checks[name] = { ok, ...detail };
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name} ${JSON.stringify(detail)}`);
  save();
};
const maxAbsDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const maxAbs = (a) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
let seed = 1;
const rand = (n) => Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1);
const python = (args) => execFileSync(process.env.PYTHON ?? 'python3', args, { encoding: 'utf8', maxBuffer: 1 << 28 });

// 1. The binary.
const info = runtimeInfo();
results.runtime = info;
const cudaOk = DEVICE !== 'cuda' || (info.builtWithCuda && info.cudaAvailable);
check(`the variant package ${variant} loaded${DEVICE === 'cuda' ? ', on a CUDA LibTorch with a GPU' : ''}`, info.binary.origin === `@mars-finetune/${variant}` && cudaOk, {
  origin: info.binary.origin, libtorch: info.binary.libtorch, builtWithCuda: info.builtWithCuda, cudaAvailable: info.cudaAvailable,
});

// 2. Fine-tuning the embedded backbone: cuda against cpu, and in mixed precision.
const train = await openDataset(targetSet.train, { seed: 1 });
const test = await openDataset(targetSet.test);
const runs = {};
for (const [name, device, precision] of [['cpu', 'cpu', 'fp32'], [DEVICE, DEVICE, 'fp32'], ...AMP.map((p) => [`${DEVICE}-${p}`, DEVICE, p])]) {
  const started = performance.now();
  const r = await fineTune({ backbone: defaultBackbone, train, test, device, precision, epochs: EPOCHS, batchSize: 32, seed: 0, optimizer: { name: 'adam', lr: 1e-3 }, regulariser: { method: 'mars-sp' } });
  const backbone = r.history.at(-1).distances.filter((d) => d.radius !== undefined);
  runs[name] = { testAccuracy: r.test.accuracy, seconds: (performance.now() - started) / 1000, withinRadius: backbone.every((d) => d.mars <= d.radius * (1 + 1e-5)) };
}
results.fineTune = { epochs: EPOCHS, trainItems: train.size, testItems: test.size, runs };
check(`fine-tuning on ${DEVICE} reaches the accuracy of the CPU run (within 5 points), every run inside its balls`, Object.values(runs).every((r) => Math.abs(r.testAccuracy - runs.cpu.testAccuracy) <= 0.05 && r.withinRadius), runs);

// 3. Five MARS-SP steps on cuda against the same steps on the CPU.
manualSeed(0);
const cpuBackbone = await load(defaultBackbone);
const head = await probeBackbone(cpuBackbone, [1, 28, 28]);
const classifierCpu = await composeClassifier(cpuBackbone, head, 5);
const classifierFile = join(work, 'classifier.pt');
await classifierCpu.save(classifierFile);
{
  const modelCpu = await load(classifierFile);
  const modelGpu = await load(classifierFile, { device: DEVICE });
  const options = { regulariser: { method: 'mars-sp', extractor: 0.5, classifier: 1 }, optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9 }, pool: head.pool };
  const trainers = [await Trainer.create(modelCpu, options), await Trainer.create(modelGpu, options)];
  for (let i = 0; i < 5; i++) {
    const x = tensor(rand(32 * 784), [32, 1, 28, 28]);
    const y = tensor(Int32Array.from({ length: 32 }, (_, k) => (k + i) % 5));
    for (const t of trainers) await t.step(x, y);
  }
  const [a, b] = [modelCpu.stateDict(), modelGpu.stateDict()];
  const worst = Math.max(...Object.keys(a).map((k) => maxAbsDiff(b[k].toArray(), a[k].toArray())));
  const d = trainers[1].distances().filter((t) => t.radius !== undefined);
  // cuDNN convolutions use TF32 by default (as in PyTorch): about 1e-3 relative.
  check(`five MARS-SP steps on ${DEVICE} match the CPU steps (1e-3), constraint kept`, worst < 1e-3 && d.every((t) => t.mars <= t.radius * (1 + 1e-5)), {
    maxAbsDiff: worst, rowsOnBoundary: d.filter((t) => t.mars >= t.radius * (1 - 1e-4)).length,
  });
}

// 4. The projection kernel on cuda against the CPU kernel.
{
  let worst = 0;
  const shapes = [[512, 2304], [64, 27], [256, 1152], [10, 512], [1000, 2048]];
  for (const [rows, cols] of shapes) {
    const w0 = rand(rows * cols);
    const w = Float32Array.from(w0, (v, i) => v + 0.05 * Math.sin(i * 0.37));
    const radius = 0.02 * cols;
    const onCpu = tensor(w, [rows, cols]);
    const onGpu = await tensor(w, [rows, cols]).to({ device: DEVICE });
    await projectMars(onCpu, tensor(w0, [rows, cols]), radius);
    await projectMars(onGpu, await tensor(w0, [rows, cols]).to({ device: DEVICE }), radius);
    const [c, g] = [onCpu.toArray(), onGpu.toArray()];
    worst = Math.max(worst, maxAbsDiff(c, g) / maxAbs(c));
  }
  check(`the projection on ${DEVICE} equals the CPU kernel (1e-6 relative)`, worst <= 1e-6, { maxRelDiff: worst, shapes });
}

// 5. Mixed precision against PyTorch's autocast (+ GradScaler) on the same GPU.
{
  const batches = Array.from({ length: 6 }, (_, b) => {
    const files = [join(work, `x${b}.bin`), join(work, `y${b}.bin`)];
    const x = rand(32 * 784);
    const y = Int32Array.from({ length: 32 }, (_, k) => (k * 7 + b) % 5);
    writeFileSync(files[0], x);
    writeFileSync(files[1], y);
    return { x, y, files };
  });
  const optimizer = { name: 'sgd', lr: 0.05, momentum: 0.9, nesterov: false, weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, amsgrad: false };
  const regulariser = { method: 'mars-sp', extractor: 0.5, classifier: 1 };
  const scaler = { initScale: 65536, growthFactor: 2, backoffFactor: 0.5, growthInterval: 2 };
  const oracle = (precision) => {
    const job = join(work, `job-${precision}.json`);
    writeFileSync(job, JSON.stringify({
      model: classifierFile, batches: batches.map((b) => b.files), xshape: [32, 1, 28, 28], method: 'mars-sp',
      hyper: { extractor: 0.5, classifier: 1 }, optimizer, pool: head.pool, device: DEVICE, precision,
      ...(precision === 'fp16' ? { gradScaler: scaler } : {}),
    }));
    return JSON.parse(python([join(repo, 'scripts', 'fixtures', 'oracle_train.py'), job]));
  };
  const fp32 = oracle('fp32');
  const amp = {};
  for (const precision of AMP) {
    const model = await load(classifierFile, { device: DEVICE });
    const trainer = await Trainer.create(model, { regulariser, optimizer, pool: head.pool, precision, ...(precision === 'fp16' ? { gradScaler: scaler } : {}) });
    const scales = [];
    for (const b of batches) scales.push((await trainer.step(tensor(b.x, [32, 1, 28, 28]), tensor(b.y))).lossScale);
    const theirs = oracle(precision);
    const ours = model.stateDict();
    const names = Object.keys(ours);
    const error = Math.max(...names.map((k) => maxAbsDiff(ours[k].toArray(), theirs[k])));
    const gap = Math.max(...names.map((k) => maxAbsDiff(fp32[k], theirs[k])));
    const dtypes = [...new Set(model.parameters().map((p) => p.dtype))];
    amp[precision] = { maxAbsDiffVsPyTorch: error, pytorchFp32VsAmp: gap, lossScales: scales, pytorchLossScales: theirs._lossScales ?? null, parameterDtypes: dtypes };
  }
  results.amp = amp;
  const scalesAgree = !amp.fp16 || JSON.stringify(amp.fp16.lossScales) === JSON.stringify(amp.fp16.pytorchLossScales);
  check(`${AMP.join(' and ')} steps match PyTorch autocast (+GradScaler) far closer than fp32 does; weights stay fp32; same loss scales`,
    AMP.every((p) => amp[p].maxAbsDiffVsPyTorch < amp[p].pytorchFp32VsAmp / 3 && amp[p].parameterDtypes.join() === 'float32') && scalesAgree, amp);
}

// 6. Throughput: our step against the same step in Python on the same GPU, rounds interleaved.
{
  const resnet18 = join(work, 'resnet18.pt');
  if (!QUICK) python([join(repo, 'bench', 'step', 'export_resnet18.py'), resnet18]);
  const cases = [
    { name: 'embedded backbone, 1x28x28', backbone: defaultBackbone, item: [1, 28, 28], batch: 64 },
    ...(QUICK ? [] : [{ name: 'torchvision ResNet-18, 3x64x64', backbone: resnet18, item: [3, 64, 64], batch: 128 }]),
  ];
  const precisions = ['fp32', ...AMP];
  const STEPS = QUICK ? 3 : 50;
  const ROUNDS = QUICK ? 1 : 3;
  const throughput = [];
  for (const c of cases) {
    manualSeed(0);
    const backbone = await load(c.backbone);
    const h = await probeBackbone(backbone, c.item);
    const file = join(work, `step-${throughput.length}.pt`);
    await (await composeClassifier(backbone, h, 5)).save(file);
    const size = c.item.reduce((a, b) => a * b, 1);
    const x = await tensor(rand(c.batch * size), [c.batch, ...c.item]).to({ device: DEVICE });
    const y = await tensor(Int32Array.from({ length: c.batch }, (_, i) => i % 5)).to({ device: DEVICE });
    const samples = Object.fromEntries(precisions.map((p) => [p, { ours: [], python: [] }]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const precision of precisions) {
        const trainer = await Trainer.create(await load(file, { device: DEVICE }), { regulariser: { method: 'mars-sp', extractor: 2, classifier: 10 }, pool: h.pool, precision });
        for (let i = 0; i < 5; i++) await trainer.step(x, y);
        const t0 = performance.now();
        for (let i = 0; i < STEPS; i++) await trainer.step(x, y);
        samples[precision].ours.push((c.batch * STEPS) / ((performance.now() - t0) / 1000));
      }
      const lines = python([join(repo, 'bench', 'step', 'python_step.py'), file, String(c.batch), ...c.item.map(String), String(QUICK ? 2 : 16), String(STEPS), DEVICE, precisions.join(',')]);
      for (const line of lines.trim().split('\n')) {
        const r = JSON.parse(line);
        samples[r.precision].python.push(r.imagesPerSecond);
      }
    }
    for (const precision of precisions) {
      const s = samples[precision];
      throughput.push({
        case: c.name, batch: c.batch, precision, oursImagesPerSecond: median(s.ours), pythonImagesPerSecond: median(s.python),
        ratio: median(s.ours) / median(s.python), oursSamples: s.ours, pythonSamples: s.python,
      });
    }
    results.throughput = { steps: STEPS, rounds: ROUNDS, loadAverage: loadavg(), rows: throughput };
    save();
  }
  console.log(JSON.stringify(throughput.map(({ oursSamples, pythonSamples, ...r }) => r)));
}

// 7. The command line on cuda.
{
  const runDir = join(work, 'cli-run');
  const target = (split) => `idx:${join(packageDir, 'assets', 'target', `${split}-images.idx.gz`)},${join(packageDir, 'assets', 'target', `${split}-labels.idx.gz`)}`;
  const summary = JSON.parse(execFileSync(join(process.cwd(), 'node_modules', '.bin', 'mars-ft'), [
    'finetune', '--backbone', defaultBackbone, '--train', target('train'), '--test', target('test'),
    '--device', DEVICE, '--precision', 'bf16', '--epochs', String(QUICK ? 1 : 3), '--batch-size', '32', '--lr', '0.001', '--out', runDir, '--json',
  ], { encoding: 'utf8' }));
  check(`mars-ft finetune --device ${DEVICE} --precision bf16 runs`, summary.testAccuracy > (QUICK ? 0 : 0.2), { testAccuracy: summary.testAccuracy, seconds: summary.seconds });
}
results.passed = Object.values(results.checks).every((c) => c.ok);
save();
process.exit(results.passed ? 0 : 1);
