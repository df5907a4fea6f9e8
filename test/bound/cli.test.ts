// mars-ft bound on IDX files: the JSON against the Python reference reading
// the same IDX files itself, the readable table, and usage errors.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { CLI } from '../helpers/paths.js';
import { boundFixtures, reference, relativeError } from './helpers.js';

const dir = boundFixtures();
const images = join(dir, 'digits-images-idx3-ubyte.gz');
const labels = join(dir, 'digits-labels-idx1-ubyte.gz');
const base = ['bound', '--model', join(dir, 'digits.model.pt'), '--init', join(dir, 'digits.init.pt'), '--data', `idx:${images},${labels}`, '--classes', '0,1,2,3'];

function cli(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
}

it.each([
  ['posthoc', [], undefined],
  ['apriori', ['--mode', 'apriori', '--radius', '0.3', '--head-radius', '1.2', '--bn-radius', '0.02'], { backbone: 0.3, head: 1.2, batchnorm: 0.02 }],
] as const)('--json %s agrees with the reference reading the IDX files', (mode, extra, radii) => {
  const r = cli([...base, '--margin', '2', '--json', ...extra]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const got = JSON.parse(r.stdout) as { m: number; d: number; X: number; rademacher: number; layers: { name: string; distance: number }[]; generalisation: { total: number } };
  const [want] = reference([{ case: 'digits', mode, radii, margin: 2, idx: { images, labels, classes: 4, perClass: 10 } }]);
  expect([got.m, got.d, got.X]).toEqual([want?.m, want?.d, want?.X]);
  expect(got.m).toBe(40);
  expect(relativeError(got.rademacher, want?.rademacher as number)).toBeLessThan(1e-9);
  expect(relativeError(got.generalisation.total, want?.generalisation.total as number)).toBeLessThan(1e-6);
  expect(got.layers.map((l) => l.name)).toEqual(want?.layers.map((l) => l.name));
});

it('prints a readable table by default', () => {
  const r = cli([...base, '--no-spectral']);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/bound \(post hoc\): m = 40, d = 784/);
  expect(r.stdout).toMatch(/conv1 \(\+bn1\)\s+conv\s+8/);
  expect(r.stdout).toMatch(/Rademacher complexity of one output, Q\/m: /);
  expect(r.stdout).toMatch(/note: post hoc/);
  expect(r.stdout).not.toMatch(/Spectral comparison/);
});

it.each([
  ['a missing --init', base.filter((_, i) => i !== 3 && i !== 4), /--model, --init and --data are required/],
  ['a radius without the head radius', [...base, '--mode', 'apriori', '--radius', '1'], /--radius and --head-radius together/],
  ['data that does not exist', [...base.slice(0, 5), '--data', '/no/such/folder'], /ERR_DATA/],
  ['a missing IDX file', [...base.slice(0, 5), '--data', `idx:${images}.nope,${labels}`], /ERR_DATA_FILE/],
])('%s fails with a message', (_label, args, message) => {
  const r = cli(args);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(message);
});
