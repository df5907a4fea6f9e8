// mars-ft bound: the JSON against the Python reference reading the same data
// itself (IDX files; a folder of greyscale PNGs with a network made at test
// time), a priori refusals, --from-run on a real run, the readable table, and
// usage errors.
import { spawn } from 'node:child_process';
import { mkdtempSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixturePath } from '../helpers/fixtures.js';
import { CLI, PYTHON, ROOT } from '../helpers/paths.js';
import { boundFixtures, reference, relativeError } from './helpers.js';

const dir = boundFixtures();
const images = join(dir, 'digits-images-idx3-ubyte.gz');
const labels = join(dir, 'digits-labels-idx1-ubyte.gz');
const idx = ['--data', `idx:${images},${labels}`, '--classes', '0,1,2,3'];
const base = ['bound', '--model', join(dir, 'digits.model.pt'), '--init', join(dir, 'digits.init.pt'), ...idx];

/** Runs a command without blocking the test worker (a blocked worker misses vitest's heartbeats). */
function spawned(command: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { timeout: 300_000 });
    let [stdout, stderr] = ['', ''];
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const cli = (args: string[]) => spawned(process.execPath, [CLI, ...args]);

interface Report {
  mode: string;
  m: number;
  d: number;
  X: number;
  rademacher: number;
  layers: { name: string; head: boolean; distance: number; radius: number }[];
  generalisation: { total: number };
  measured: { layer: string }[];
}

async function json(args: string[]): Promise<Report> {
  const r = await cli([...args, '--json']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as Report;
}

it.each([
  ['posthoc', 'digits.model.pt', 'digits.init.pt', [], undefined],
  ['apriori', 'digits.mars.pt', 'digits.centre.pt', ['--mode', 'apriori', '--radius', '0.4', '--head-radius', '1.5', '--bn-radius', '0.05'], { backbone: 0.4, head: 1.5, batchnorm: 0.05 }],
] as const)('--json %s agrees with the reference reading the IDX files', async (mode, model, init, extra, radii) => {
  const got = await json(['bound', '--model', join(dir, model), '--init', join(dir, init), ...idx, '--margin', '2', ...extra]);
  const [want] = reference([{ case: 'digits', mode, radii, margin: 2, model, init, idx: { images, labels, classes: 4, perClass: 10 } }]);
  expect([got.m, got.d, got.X]).toEqual([want?.m, want?.d, want?.X]);
  expect(got.m).toBe(40);
  expect(relativeError(got.rademacher, want?.rademacher as number)).toBeLessThan(1e-9);
  expect(relativeError(got.generalisation.total, want?.generalisation.total as number)).toBeLessThan(1e-6);
  expect(got.layers.map((l) => l.name)).toEqual(want?.layers.map((l) => l.name));
});

describe('a network the fixtures never had, on a folder of greyscale PNGs', () => {
  const out = mkdtempSync(join(tmpdir(), 'mars-bound-unseen-'));
  const script = join(ROOT, 'test', 'bound', 'unseen.py');
  beforeAll(async () => {
    expect((await spawned(PYTHON, [script, out])).status).toBe(0);
  });

  it('channels follow its first convolution; rademacher equals the reference to 1e-6', async () => {
    const got = await json(['bound', '--model', join(out, 'model.pt'), '--init', join(out, 'init.pt'), '--data', join(out, 'images')]);
    const [want] = reference([
      { case: 'unseen', mode: 'posthoc', model: join(out, 'model.pt'), init: join(out, 'init.pt'), folder: join(out, 'images'), network: { file: script, class: 'Unseen', init: 'full' } },
    ]);
    expect([got.m, got.d]).toEqual([21, 144]);
    expect([got.m, got.d, got.X]).toEqual([want?.m, want?.d, want?.X]);
    expect(got.layers.map((l) => l.name)).toEqual(['conv1', 'conv2', 'conv3', 'bn3', 'fc1', 'fc2']);
    expect(relativeError(got.rademacher, want?.rademacher as number)).toBeLessThan(1e-6);
    expect(relativeError(got.generalisation.total, want?.generalisation.total as number)).toBeLessThan(1e-6);
  });

  it('--mode apriori with radii below its distances exits non-zero with ERR_BOUND_OUTSIDE_CLASS', async () => {
    const r = await cli(['bound', '--model', join(out, 'model.pt'), '--init', join(out, 'init.pt'), '--data', join(out, 'images'), '--mode', 'apriori', '--radius', '0.1', '--head-radius', '0.1']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\[ERR_BOUND_OUTSIDE_CLASS\].*layer conv1 \(conv1\.weight\), row \d+, is [\d.]+ from its centre, outside its radius 0\.1/);
  });
});

describe('--from-run', () => {
  const FMNIST = '/usr/share/datasets/fashion-mnist';
  const data = (split: string) => `idx:${FMNIST}/${split}-images-idx3-ubyte.gz,${FMNIST}/${split}-labels-idx1-ubyte.gz`;
  const run = mkdtempSync(join(tmpdir(), 'mars-bound-run-'));
  const flags = ['--init', fixturePath('bn_resnet'), '--data', data('train'), '--classes', '7,8', '--per-class', '6', '--no-spectral'];
  beforeAll(async () => {
    const r = await cli(['finetune', '--backbone', fixturePath('bn_resnet'), '--train', data('train'), '--test', data('t10k'), '--classes', '7,8', '--per-class', '6',
      '--method', 'mars-sp', '--extractor', '0.7', '--classifier', '2', '--epochs', '1', '--batch-size', '6', '--lr', '0.01', '--out', run]);
    expect(r.status).toBe(0);
  });

  it('reads the radii the run was trained with: the same as giving them by hand', async () => {
    const fromRun = await json(['bound', '--from-run', run, ...flags]);
    const byHand = await json(['bound', '--model', join(run, 'model.pt'), ...flags, '--mode', 'apriori', '--radius', '0.7', '--head-radius', '2']);
    expect(fromRun.mode).toBe('apriori');
    expect(fromRun.layers.find((l) => l.head)?.radius).toBe(2);
    expect(fromRun.rademacher).toBeGreaterThan(0);
    expect(fromRun.rademacher).toBe(byHand.rademacher);
    // Without summary.json, from the settings model.pt carries.
    renameSync(join(run, 'summary.json'), join(run, 'summary.moved'));
    expect((await json(['bound', '--from-run', run, ...flags])).rademacher).toBe(fromRun.rademacher);
    renameSync(join(run, 'summary.moved'), join(run, 'summary.json'));
  });

  it('radii of a smaller class than the run was trained in are refused', async () => {
    const r = await cli(['bound', '--model', join(run, 'model.pt'), ...flags, '--mode', 'apriori', '--radius', '0.01', '--head-radius', '2']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ERR_BOUND_OUTSIDE_CLASS/);
  });
});

it('prints a readable table by default, labelling which figures carry constants', async () => {
  const r = await cli(base);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/bound \(post hoc\): m = 40, d = 784/);
  expect(r.stdout).toMatch(/conv1 \(\+bn1\)\s+conv\s+8/);
  expect(r.stdout).toMatch(/Rademacher complexity of one output, Q\/m: /);
  expect(r.stdout).toMatch(/MARS \(4K\/ρ\) R_S\(Π1\) = \S+, with all its constants;\s+spectral .* without their Theorem 1\.1's constants and log factors/);
  expect(r.stdout).toMatch(/note: post hoc/);
});

it('--no-spectral leaves the comparison out', async () => {
  const r = await cli([...base, '--no-spectral']);
  expect(r.status).toBe(0);
  expect(r.stdout).not.toMatch(/spectral \(Bartlett/);
});

it.each([
  ['a missing --init', base.filter((_, i) => i !== 3 && i !== 4), /--init and --data are required/],
  ['both --model and --from-run', [...base, '--from-run', dir], /--model or --from-run/],
  ['--from-run with radii', ['bound', '--from-run', dir, '--init', 'x.pt', ...idx, '--radius', '1', '--head-radius', '1'], /--from-run reads the radii/],
  ['a radius without the head radius', [...base, '--mode', 'apriori', '--radius', '1'], /--radius and --head-radius together/],
  ['data that does not exist', [...base.slice(0, 5), '--data', '/no/such/folder'], /ERR_DATA/],
  ['a missing IDX file', [...base.slice(0, 5), '--data', `idx:${images}.nope,${labels}`], /ERR_DATA_FILE/],
])('%s fails with a message', async (_label, args, message) => {
  const r = await cli(args);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(message);
});
