#!/usr/bin/env node
// The long fuzz run of docs/faults.md: thousands of damaged TorchScript files,
// every family of scripts/fuzz/damage.py, loaded (and, when they load, run
// forward) through the public API in one long-lived process, as a service
// that loads user files would. A crash, a hang or an uncoded error is a
// failure; so is a record-size or bomb family file that loads. The parent
// restarts the worker after a crash (and names the file), so one bad case
// does not hide the others. Prints a summary; with --write it replaces
// bench/results/fuzz.json (the committed last result).
//   node bench/fuzz/run.mjs [--per-family N] [--bomb-bytes B] [--big-bombs K] [--write]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: {
    'per-family': { type: 'string', default: '300' },
    'bomb-bytes': { type: 'string', default: String(256 << 20) },
    'big-bombs': { type: 'string', default: '4' },
    write: { type: 'boolean', default: false },
    worker: { type: 'string' },
  },
});

const EXPECT_REFUSED = new Set(['short-record', 'long-record', 'numel', 'view', 'bomb-record', 'bomb-extra', 'bomb-lying', 'overlap']);
const CODED = /^ERR_[A-Z_]+$/;

if (values.worker) {
  // The worker: one process, every case in order; the parent reads its progress file.
  const { load, tensor } = await import(join(root, 'dist', 'index.js'));
  const { cases, progress, from } = JSON.parse(readFileSync(values.worker, 'utf8'));
  for (let i = from; i < cases.length; i++) {
    writeFileSync(progress, JSON.stringify({ at: i }));
    const started = performance.now();
    let outcome;
    try {
      const m = await load(cases[i].file);
      await m.forward(tensor(new Float32Array(cases[i].input.reduce((a, b) => a * b, 1)), cases[i].input));
      m.dispose();
      outcome = 'ok';
    } catch (e) {
      outcome = e?.code ?? `uncoded: ${String(e?.message ?? e).slice(0, 120)}`;
    }
    process.stdout.write(JSON.stringify({ i, outcome, ms: performance.now() - started, rss: process.memoryUsage().rss }) + '\n');
  }
  process.exit(0);
}

const perFamily = Number(values['per-family']);
const work = mkdtempSync(join(tmpdir(), 'mars-fuzz-'));
const started = performance.now();
const load0 = loadavg();

// Good sources: two fixtures and a checkpoint as fineTune writes it (extra files and all).
const sources = [
  { file: join(root, 'test', 'fixtures', 'generated', 'small_cnn.pt'), input: [1, 1, 28, 28] },
  { file: join(root, 'test', 'fixtures', 'generated', 'bn_resnet.pt'), input: [1, 1, 28, 28] },
];
{
  const { fineTune, fromArrays } = await import(join(root, 'dist', 'index.js'));
  const pixels = new Uint8Array(16 * 28 * 28).map((_, i) => (i * 37) % 251);
  const train = fromArrays({ pixels, labels: Array.from({ length: 16 }, (_, i) => i % 2), width: 28, height: 28, channels: 1 });
  const checkpointDir = join(work, 'run');
  await fineTune({ backbone: sources[1].file, train, epochs: 1, batchSize: 8, checkpointDir });
  sources.push({ file: join(checkpointDir, 'last.pt'), input: [1, 1, 28, 28] });
}

const families = ['intact', 'mutate', 'short-record', 'long-record', 'numel', 'view', 'bomb-record', 'bomb-extra', 'bomb-lying', 'overlap'];
const cases = [];
for (const family of families) {
  const bomb = family.startsWith('bomb');
  const count = bomb ? Math.max(1, Math.round(perFamily / 10)) : perFamily;
  sources.forEach((source, s) => {
    const n = Math.ceil(count / sources.length);
    const made = JSON.parse(execFileSync('/usr/bin/python3', [join(root, 'scripts', 'fuzz', 'damage.py'), source.file, join(work, family), family, String(n), String(s),
      '--bomb-bytes', values['bomb-bytes']], { encoding: 'utf8', maxBuffer: 256 << 20 }));
    for (const m of made) cases.push({ ...m, input: source.input });
  });
}
// A few bombs of 3 GiB, as in the issue (3.5 MB files that inflate to 3 GiB).
for (const family of ['bomb-record', 'bomb-extra']) {
  const made = JSON.parse(execFileSync('/usr/bin/python3', [join(root, 'scripts', 'fuzz', 'damage.py'), sources[2].file, join(work, `${family}-big`), family,
    values['big-bombs'], '9', '--bomb-bytes', String(3 * 2 ** 30)], { encoding: 'utf8' }));
  for (const m of made) cases.push({ ...m, family: `${family} (3 GiB)`, input: sources[2].input });
}
const generated = (performance.now() - started) / 1000;

const results = new Array(cases.length);
const crashes = [];
let rssFirst;
let rssLast;
let rssMax = 0;
let workers = 0;
const progress = join(work, 'progress.json');
for (let from = 0; from < cases.length; ) {
  const job = join(work, 'job.json');
  writeFileSync(job, JSON.stringify({ cases, progress, from }));
  workers++;
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--worker', job], { stdio: ['ignore', 'pipe', 'inherit'] });
  let buffered = '';
  child.stdout.on('data', (d) => {
    buffered += d;
    const lines = buffered.split('\n');
    buffered = lines.pop();
    for (const line of lines) {
      const r = JSON.parse(line);
      results[r.i] = r;
      rssFirst ??= r.rss;
      rssLast = r.rss;
      rssMax = Math.max(rssMax, r.rss);
    }
  });
  const { code, signal } = await new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  if (code === 0) break;
  const at = JSON.parse(readFileSync(progress, 'utf8')).at;
  crashes.push({ ...cases[at], code, signal });
  results[at] = { i: at, outcome: `crash: ${signal ?? code}`, ms: NaN };
  from = at + 1;
}

const byFamily = {};
for (const [i, c] of cases.entries()) {
  const r = results[i];
  const f = (byFamily[c.family] ??= { cases: 0, outcomes: {}, maxMs: 0, failures: [] });
  f.cases++;
  f.outcomes[r.outcome] = (f.outcomes[r.outcome] ?? 0) + 1;
  f.maxMs = Math.max(f.maxMs, r.ms || 0);
  const family = c.family.replace(' (3 GiB)', '');
  const bad = !(r.outcome === 'ok' || CODED.test(r.outcome)) || (EXPECT_REFUSED.has(family) && r.outcome === 'ok') || (family === 'intact' && r.outcome !== 'ok');
  if (bad) f.failures.push({ file: c.file, detail: c.detail, outcome: r.outcome });
}
for (const f of Object.values(byFamily)) f.maxMs = Math.round(f.maxMs);
const failures = Object.values(byFamily).reduce((n, f) => n + f.failures.length, 0);
const summary = {
  date: new Date().toISOString().slice(0, 10),
  cases: cases.length,
  failures,
  crashes: crashes.length,
  workers,
  seconds: { generate: Math.round(generated), run: Math.round((performance.now() - started) / 1000 - generated) },
  rssMb: { first: Math.round(rssFirst / 2 ** 20), last: Math.round(rssLast / 2 ** 20), max: Math.round(rssMax / 2 ** 20) },
  loadAverage: { start: load0.map((x) => +x.toFixed(2)), end: loadavg().map((x) => +x.toFixed(2)) },
  options: { perFamily, bombBytes: Number(values['bomb-bytes']), bigBombs: Number(values['big-bombs']) },
  families: byFamily,
};
console.log(JSON.stringify(summary, null, 2));
if (values.write) writeFileSync(join(root, 'bench', 'results', 'fuzz.json'), JSON.stringify(summary, null, 2) + '\n');
rmSync(work, { recursive: true, force: true });
process.exitCode = failures === 0 ? 0 : 1;
