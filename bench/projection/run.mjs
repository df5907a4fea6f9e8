#!/usr/bin/env node
// Benchmark B row 1 (docs/performance.md): the fused in-place MARS projection
// over every conv/linear weight of ResNet-18 and ResNet-50, against
//   - the same formula as a chain of LibTorch ops called from C++ (opchain),
//   - the same formula in PyTorch from Python, same LibTorch (python),
//   - a plain parallel memcpy W0 -> W (copy) and W.add_(W0) (add), which move
//     the same bytes as the kernel: read W0, read W (write-allocate / operand),
//     write W.
// Every contender runs at the same thread count (1 and 2), on the same data
// (seeded), with every W restored and 64 MB of other memory read before each
// sweep so that a sweep starts from DRAM, not from cache.
//
//   npm run build && npm run build:bench && node bench/projection/run.mjs [--rounds 3] [--reps 3] [--threads 1,2] [--models resnet18,resnet50] [--write]
//   node bench/projection/run.mjs --from-json [--write]   (tables again from the committed results, no measuring)
//
// Prints the tables; with --write replaces bench/results/projection.json and
// the table in docs/performance.md (between the projection markers), else
// writes the results to the temporary folder. Never part of `npm test`.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, saveResult } from '../lib/report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const benchBinary = join(root, 'build-bench', 'Release', 'mars_bench.node');
if (!existsSync(join(root, 'dist', 'index.js')) || !existsSync(benchBinary)) {
  console.error('run `npm run build && npm run build:bench` first (the package and the benchmark addon)');
  process.exit(1);
}
const { runtimeInfo, setNumThreads } = await import(join(root, 'dist', 'index.js'));

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const reps = Number(opt('reps', '3'));
const rounds = Number(opt('rounds', '3'));
const threadCounts = opt('threads', '1,2').split(',').map(Number);
const models = opt('models', 'resnet18,resnet50').split(',');
// Committed results and the docs' table are replaced only with --write (and --from-json re-renders those).
const write = args.includes('--write');
const fromJson = args.includes('--from-json'); // re-render the tables from bench/results/projection.json
const PYTHON = process.env.MARS_FT_BENCH_PYTHON ?? '/usr/bin/python3';
const SEED = 0;

const shapesFile = JSON.parse(readFileSync(join(here, 'shapes.json'), 'utf8'));
// The benchmark addon shares the package's LibTorch (and so its thread pool) in this process.
const addon = createRequire(import.meta.url)(benchBinary);
const info = runtimeInfo();

const CONTENDERS = [
  { name: 'fused', method: 'fused', relRadius: 0.5 },
  { name: 'fused-many', method: 'fused-many', relRadius: 0.5 },
  { name: 'opchain', method: 'opchain', relRadius: 0.5 },
  { name: 'copy', method: 'copy' },
  { name: 'add', method: 'add' },
  { name: 'fused-noclip', method: 'fused', relRadius: 1e9 },
  { name: 'frobenius', method: 'frobenius', relRadius: 0.5 },
  { name: 'frobenius-opchain', method: 'frobenius-opchain', relRadius: 0.5 },
];

function runNative(shapes, contenders, repsHere) {
  const r = addon.benchProjection({ shapes, contenders, reps: repsHere, seed: SEED });
  return r.contenders;
}

function runPython(model, threads, method, repsHere) {
  const out = execFileSync(
    PYTHON,
    [join(here, 'torch_bench.py'), '--model', model, '--threads', String(threads), '--reps', String(repsHere), '--seed', String(SEED), '--method', method],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, OMP_NUM_THREADS: String(threads) } },
  );
  return JSON.parse(out);
}

const committed = join(root, 'bench', 'results', 'projection.json');
let report;
if (fromJson) {
  report = JSON.parse(readFileSync(committed, 'utf8'));
} else {
  const results = [];
  let pythonTorch = null;
  const loadBefore = loadavg();
  for (const threads of threadCounts) {
    setNumThreads(threads);
    for (const model of models) {
      const entries = shapesFile[model];
      const shapes = entries.map((e) => e.shape);
      const elements = shapes.reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
      const bytes = elements * 4 * 3; // read W, read W0, write W (float32)
      const samples = {};
      const add = (name, r) => {
        const k = (samples[name] ??= { totals: [], perTensor: [], checksum: r.checksum, clippedRows: r.clippedRows, rows: r.rows });
        k.totals.push(...r.totalSeconds);
        k.perTensor.push(r.perTensorSeconds);
        k.checksum = r.checksum;
      };
      // Rounds alternate the native contenders (interleaved inside each rep)
      // with the Python ones, so that load from other processes on this shared
      // machine hits every contender alike.
      for (let round = 0; round < rounds; round++) {
        const native = runNative(shapes, CONTENDERS, reps);
        for (const [name, r] of Object.entries(native)) add(name, r);
        for (const [name, method] of [['python', 'mars'], ['frobenius-python', 'frobenius']]) {
          const r = runPython(model, threads, method, reps);
          pythonTorch = r.torch;
          add(name, r);
        }
      }
      add('fused-exact-l1', runNative(shapes, [{ name: 'fused-exact-l1', method: 'fused-exact-l1', relRadius: 0.5 }], 3)['fused-exact-l1']);
      const row = { model, threads, tensors: shapes.length, elements, bytesMoved: bytes, methods: {} };
      for (const [name, k] of Object.entries(samples)) {
        const perTensor = k.perTensor[0].map((_, i) => median(k.perTensor.map((p) => p[i])));
        row.methods[name] = { seconds: median(k.totals), min: Math.min(...k.totals), totals: k.totals, perTensor, checksum: k.checksum, clippedRows: k.clippedRows, rows: k.rows };
        console.error(`${model} threads=${threads} ${name.padEnd(18)} ${(median(k.totals) * 1e3).toFixed(2).padStart(8)} ms (min ${(Math.min(...k.totals) * 1e3).toFixed(2)})  ${(bytes / median(k.totals) / 1e9).toFixed(1).padStart(6)} GB/s (3 x bytes)`);
      }
      const m = row.methods;
      row.ratios = {
        opchainOverFused: m.opchain.seconds / m.fused.seconds,
        pythonOverFused: m.python.seconds / m.fused.seconds,
        fractionOfCopy: m.copy.seconds / m.fused.seconds,
        fractionOfAdd: m.add.seconds / m.fused.seconds,
        opchainOverFusedMany: m.opchain.seconds / m['fused-many'].seconds,
        fractionOfCopyMany: m.copy.seconds / m['fused-many'].seconds,
        // The same ratios from each contender's fastest sweep (least disturbed by other processes).
        opchainOverFusedMin: m.opchain.min / m.fused.min,
        pythonOverFusedMin: m.python.min / m.fused.min,
        fractionOfCopyMin: m.copy.min / m.fused.min,
        frobeniusOpchainOverFused: m['frobenius-opchain'].seconds / m.frobenius.seconds,
        frobeniusPythonOverFused: m['frobenius-python'].seconds / m.frobenius.seconds,
      };
      row.fusedGBps = bytes / m.fused.seconds / 1e9;
      row.copyGBps = bytes / m.copy.seconds / 1e9;
      // The same data and formula: the checksums must agree to rounding.
      row.checksums = { fused: m.fused.checksum, opchain: m.opchain.checksum, python: m.python.checksum };
      row.checksumsAgree = Math.abs(m.fused.checksum - m.opchain.checksum) < 1e-3 && Math.abs(m.fused.checksum - m.python.checksum) < 1e-3;
      row.clippedRows = `${m.fused.clippedRows}/${m.fused.rows}`;
      results.push(row);
    }
  }
  const loadAfter = loadavg();

  const machine = {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    libtorch: info.libtorchVersion,
    pythonTorch,
    parallel: info.parallelInfo.split('\n').find((l) => l.includes('backend')) ?? '',
    node: process.version,
    loadAverage1mBefore: loadBefore[0],
    loadAverage1mAfter: loadAfter[0],
  };
  report = {
    benchmark: 'projection (benchmarks.md B row 1)',
    date: new Date().toISOString(),
    machine,
    settings: {
      reps,
      rounds,
      seed: SEED,
      dtype: 'float32',
      data: 'W0 = 0.05 randn, W = W0 + 0.01 randn; radius = 0.5 x expected row distance (every row clipped) unless noted',
      timing: 'median over rounds x reps of the summed per-tensor times of one sweep; W restored and 64 MB of other memory read before each sweep; native contenders interleaved per rep, Python rounds between native rounds',
      bytesMoved: 'elements x 4 bytes x 3 (read W, read W0, write W)',
    },
    results,
  };
  const file = saveResult('projection', report, write);
  console.error(`wrote ${file}`);
}
const { results, machine } = report;
const { reps: repsUsed, rounds: roundsUsed } = report.settings;

// ---------------------------------------------------------------------------
// The table for docs/performance.md
// ---------------------------------------------------------------------------
const ms = (s) => (s * 1e3).toFixed(2);
const x = (r) => `${r.toFixed(2)}×`;
const lines = [];
lines.push(`Measured ${report.date.slice(0, 10)} by \`node bench/projection/run.mjs\` (${roundsUsed} rounds × ${repsUsed} reps, median; 1-min load average ${machine.loadAverage1mBefore.toFixed(1)} before, ${machine.loadAverage1mAfter.toFixed(1)} after): ${machine.cores} cores (${machine.cpu}), LibTorch ${machine.libtorch} (Python torch ${machine.pythonTorch}), float32, every row outside the ball unless noted. Times are one sweep over all conv/linear weights of the model.`);
lines.push('');
lines.push('| model | threads | fused | fused, batched | op chain (C++) | PyTorch (Python) | memcpy W0→W | W.add_(W0) | fused, no row clipped | op chain / fused | Python / fused | fused vs copy | fused GB/s |');
lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) {
  const m = r.methods;
  lines.push(
    `| ${r.model} (${r.tensors} tensors, ${(r.elements / 1e6).toFixed(1)} M) | ${r.threads} | ${ms(m.fused.seconds)} ms | ${ms(m['fused-many'].seconds)} ms | ${ms(m.opchain.seconds)} ms | ${ms(m.python.seconds)} ms | ${ms(m.copy.seconds)} ms | ${ms(m.add.seconds)} ms | ${ms(m['fused-noclip'].seconds)} ms | **${x(r.ratios.opchainOverFused)}** | ${x(r.ratios.pythonOverFused)} | **${(100 * r.ratios.fractionOfCopy).toFixed(0)}%** | ${r.fusedGBps.toFixed(1)} |`,
  );
}
lines.push('');
lines.push('The same runs, fastest sweep of each contender (least disturbed by other processes on this shared machine):');
lines.push('');
lines.push('| model | threads | fused | fused, batched | op chain (C++) | PyTorch (Python) | memcpy W0→W | W.add_(W0) | op chain / fused | Python / fused | fused vs copy |');
lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) {
  const m = r.methods;
  lines.push(
    `| ${r.model} | ${r.threads} | ${ms(m.fused.min)} ms | ${ms(m['fused-many'].min)} ms | ${ms(m.opchain.min)} ms | ${ms(m.python.min)} ms | ${ms(m.copy.min)} ms | ${ms(m.add.min)} ms | ${x(m.opchain.min / m.fused.min)} | ${x(m.python.min / m.fused.min)} | ${(100 * m.copy.min / m.fused.min).toFixed(0)}% |`,
  );
}
lines.push('');
lines.push('Exact l1 projection (option), same data: ' + results.map((r) => `${r.model} ${r.threads} thread${r.threads > 1 ? 's' : ''}: ${ms(r.methods['fused-exact-l1'].seconds)} ms (${x(r.methods['fused-exact-l1'].seconds / r.methods.fused.seconds)} the rescale)`).join('; ') + '.');
lines.push('');
lines.push('Frobenius (per tensor, two passes: the norm is global):');
lines.push('');
lines.push('| model | threads | fused | op chain (C++) | PyTorch (Python) | op chain / fused | Python / fused |');
lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) {
  const m = r.methods;
  lines.push(`| ${r.model} | ${r.threads} | ${ms(m.frobenius.seconds)} ms | ${ms(m['frobenius-opchain'].seconds)} ms | ${ms(m['frobenius-python'].seconds)} ms | ${x(r.ratios.frobeniusOpchainOverFused)} | ${x(r.ratios.frobeniusPythonOverFused)} |`);
}
const table = lines.join('\n');
console.log(table);
for (const r of results) if (!r.checksumsAgree) console.error(`WARNING: checksums differ for ${r.model} threads=${r.threads}: ${JSON.stringify(r.checksums)}`);

if (write) {
  const docFile = join(root, 'docs', 'performance.md');
  const begin = '<!-- projection-results:begin -->';
  const end = '<!-- projection-results:end -->';
  if (existsSync(docFile)) {
    const doc = readFileSync(docFile, 'utf8');
    const a = doc.indexOf(begin);
    const b = doc.indexOf(end);
    if (a >= 0 && b > a) {
      writeFileSync(docFile, doc.slice(0, a + begin.length) + '\n' + table + '\n' + doc.slice(b));
      console.error(`updated ${docFile}`);
    } else {
      console.error(`${docFile} has no projection-results markers; table not written there`);
    }
  }
}
