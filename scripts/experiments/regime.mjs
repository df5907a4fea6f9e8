#!/usr/bin/env node
// Issue 13, item 3: is this a regime where pre-training pays? On Fashion-MNIST
// (all 10 classes) with n training images per class, fine-tune the
// pre-trained backbone (plain fine-tuning, method 'none') and train the same
// architecture from random weights ('scratch'), with one recipe for both; only
// the initialisation differs. Seed s draws the same n images per class for
// both rows (paired), scratch's initial weights come from seed 1000 + s; every
// run is scored on the full test split (10000 images). Reports per row the
// mean, std and 95% interval of the test accuracy over the seeds, and the
// paired difference fine-tune − scratch with its interval.
// Every finished run is appended to a journal (--journal) and skipped when the
// same command runs again, so an interruption costs one run. Writes --out at
// the end. Needs `npm run build`.
//   node scripts/experiments/regime.mjs [--backbone experiments/backbones/source-resnet.pt]
//     [--architecture scripts/backbone/resnet.py] [--n 10,50,250] [--seeds 10,5,3] [--lr 1e-3]
//     [--extra-lrs 3e-4,3e-3 --extra-n 10] [--threads 2] [--out bench/results/regime.json] [--rows fine-tune,scratch]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fineTune, openDataset, runtimeInfo, select } from '../../dist/index.js';
import { summarise } from '../../dist/experiment/stats.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: {
    backbone: { type: 'string', default: 'experiments/backbones/source-resnet.pt' },
    architecture: { type: 'string', default: 'scripts/backbone/resnet.py' },
    n: { type: 'string', default: '10,50,250' },
    /** One count for every n, or one per n. */
    seeds: { type: 'string', default: '10,5,3' },
    lr: { type: 'string', default: '1e-3' },
    'extra-lrs': { type: 'string', default: '' },
    'extra-n': { type: 'string', default: '10' },
    threads: { type: 'string', default: '2' },
    out: { type: 'string', default: 'bench/results/regime.json' },
    journal: { type: 'string' },
    /** Only these rows now (e.g. scratch while the backbone is still pre-training); --out is written when all are done. */
    rows: { type: 'string', default: 'fine-tune,scratch' },
  },
});
const list = (s) => s.split(',').filter(Boolean).map(Number);
const SIZES = list(values.n);
const SEED_COUNTS = list(values.seeds);
const seedsFor = (n) => SEED_COUNTS[SEED_COUNTS.length === 1 ? 0 : SIZES.indexOf(n)];
const LR = Number(values.lr);
const EXTRA_LRS = list(values['extra-lrs']);
const EXTRA_N = list(values['extra-n']);
const BACKBONE = resolve(root, values.backbone);
const OUT = resolve(root, values.out);
const JOURNAL = resolve(root, values.journal ?? join('data', `regime-${basename(OUT, '.json')}.jsonl`));

// One recipe for both rows. Epochs fall as n grows so that every size gets a few hundred steps or more
// (n = 10: 100 images, 4 steps an epoch, 240 steps; n = 50: 480; n = 250: 790).
const EPOCHS = { 10: 60, 50: 30, 250: 10 };
const recipe = (n, lr) => ({
  regulariser: { method: 'none' },
  optimizer: { name: 'adam', lr, amsgrad: true },
  schedule: { type: 'cosine', floor: 0 },
  epochs: EPOCHS[n] ?? Math.max(10, Math.round(600 / n)),
  batchSize: 32,
});

const FMNIST = '/usr/share/datasets/fashion-mnist';
const idx = (s) => `idx:${FMNIST}/${s}-images-idx3-ubyte.gz,${FMNIST}/${s}-labels-idx1-ubyte.gz`;
const pool = await openDataset(idx('train'));
const test = await openDataset(idx('t10k'));

const scratchDir = join(root, 'data', 'regime-scratch');
mkdirSync(scratchDir, { recursive: true });
/** The architecture with random weights, seeded: the scratch row's starting point. */
function scratchBackbone(seed) {
  const file = join(scratchDir, `${basename(values.architecture, '.py')}-${seed}.pt`);
  if (!existsSync(file)) execFileSync('/usr/bin/python3', [join(root, values.architecture), file, String(seed)]);
  return file;
}

const key = (r) => `${r.n}/${r.lr}/${r.row}/${r.seed}`;
// Fine-tuning runs of another backbone file (re-pre-trained since) are not reused.
const backboneSha256 = existsSync(BACKBONE) ? createHash('sha256').update(readFileSync(BACKBONE)).digest('hex') : null;
mkdirSync(dirname(JOURNAL), { recursive: true });
const journal = existsSync(JOURNAL) ? readFileSync(JOURNAL, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
const done = new Map(journal.filter((r) => r.row === 'scratch' || r.backboneSha256 === backboneSha256).map((r) => [key(r), r]));

const plan = [];
for (const n of SIZES) {
  for (const lr of [LR, ...(EXTRA_N.includes(n) ? EXTRA_LRS : [])]) {
    for (let seed = 0; seed < seedsFor(n); seed++) for (const row of ['fine-tune', 'scratch']) plan.push({ n, lr, row, seed });
  }
}
const ROWS = values.rows.split(',');
const started = Date.now();
for (const p of plan) {
  if (done.has(key(p)) || !ROWS.includes(p.row)) continue;
  const train = select(pool, { perClass: p.n, seed: 100 + p.seed });
  const t0 = Date.now();
  const res = await fineTune({
    backbone: p.row === 'scratch' ? scratchBackbone(1000 + p.seed) : BACKBONE,
    train, test, ...recipe(p.n, p.lr), seed: p.seed, threads: Number(values.threads),
  });
  const r = {
    ...p, ...(p.row === 'fine-tune' ? { backboneSha256 } : {}), testAccuracy: res.test.accuracy, testLoss: res.test.loss, trainAccuracy: res.history.at(-1).train.accuracy,
    seconds: (Date.now() - t0) / 1000, loadAverage: loadavg()[0],
  };
  appendFileSync(JOURNAL, JSON.stringify(r) + '\n');
  done.set(key(p), r);
  console.log(`n ${p.n} lr ${p.lr} ${p.row.padEnd(9)} seed ${p.seed}: test ${(100 * r.testAccuracy).toFixed(2)}% (train ${(100 * r.trainAccuracy).toFixed(1)}%) ${r.seconds.toFixed(0)} s`);
}

if (!plan.every((p) => done.has(key(p)))) {
  console.log(`${plan.filter((p) => done.has(key(p))).length} of ${plan.length} runs done; run again with all rows to finish`);
  process.exit(0);
}
const runs = plan.map((p) => done.get(key(p)));
const groups = [];
for (const n of SIZES) {
  for (const lr of [LR, ...(EXTRA_N.includes(n) ? EXTRA_LRS : [])]) {
    const of = (row) => runs.filter((r) => r.n === n && r.lr === lr && r.row === row).sort((a, b) => a.seed - b.seed);
    const ft = of('fine-tune');
    const sc = of('scratch');
    groups.push({
      n, lr, recipe: recipe(n, lr), headline: lr === LR,
      fineTune: { scores: ft.map((r) => r.testAccuracy), ...summarise(ft.map((r) => r.testAccuracy)) },
      scratch: { scores: sc.map((r) => r.testAccuracy), ...summarise(sc.map((r) => r.testAccuracy)) },
      gap: summarise(ft.map((r, i) => r.testAccuracy - sc[i].testAccuracy)),
      seconds: { fineTune: ft.reduce((s, r) => s + r.seconds, 0), scratch: sc.reduce((s, r) => s + r.seconds, 0) },
    });
  }
}
const backboneRecord = BACKBONE.replace(/\.pt$/, '.json');
const out = {
  experiment: 'issue 13 item 3: the regime (fine-tuning vs scratch)',
  target: 'Fashion-MNIST, all 10 classes; n training images per class drawn from the training split with seed 100 + s; scored on all 10000 test images',
  backbone: values.backbone,
  backboneSha256,
  backboneRecord: existsSync(backboneRecord) ? (({ history, ...r }) => r)(JSON.parse(readFileSync(backboneRecord, 'utf8'))) : null,
  scratch: `${values.architecture} with PyTorch's default initialisation, seed 1000 + s`,
  seeds: Object.fromEntries(SIZES.map((n) => [n, seedsFor(n)])),
  date: new Date().toISOString(),
  cores: cpus().length,
  cpu: cpus()[0]?.model,
  threads: Number(values.threads),
  libtorch: runtimeInfo().libtorchVersion,
  secondsThisInvocation: (Date.now() - started) / 1000,
  secondsAllRuns: runs.reduce((s, r) => s + r.seconds, 0),
  loadAverage: summarise(runs.map((r) => r.loadAverage)),
  groups,
  runs,
};
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(`${OUT}.tmp`, JSON.stringify(out, null, 2) + '\n');
renameSync(`${OUT}.tmp`, OUT);
for (const g of groups) {
  const f = (s) => `${(100 * s.mean).toFixed(2)} ± ${(100 * (s.ci95 ?? 0)).toFixed(2)}`;
  console.log(`n ${String(g.n).padStart(3)} lr ${g.lr}: fine-tune ${f(g.fineTune)}  scratch ${f(g.scratch)}  gap ${f(g.gap)}`);
}
