// mars-ft search as a user runs it (dist/), on a folder of PNGs and a
// backbone exported here by PyTorch that the repository has never seen.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, PYTHON } from '../helpers/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'mars-search-cli-'));
const backbone = join(dir, 'tiny.pt');
const data = join(dir, 'images');
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'search', ...args], { encoding: 'utf8' });
const trials = (out: string) => readFileSync(join(out, 'trials.jsonl'), 'utf8').trim().split('\n');

// A conv, BatchNorm and linear layer giving 6 features; random weights from seed 0.
const EXPORT = `
import sys, torch, torch.nn as nn
torch.manual_seed(0)
class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 6)
    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).mean((2, 3)))
torch.jit.script(Tiny().eval()).save(sys.argv[1])
`;

beforeAll(async () => {
  // torch.jit.script reads the class's source, so the script goes to a file.
  writeFileSync(join(dir, 'tiny.py'), EXPORT);
  execFileSync(PYTHON, [join(dir, 'tiny.py'), backbone]);
  // 3 classes of 6 noisy 8×8 images, each class around its own colour.
  const colours = { red: [200, 40, 40], green: [40, 200, 40], blue: [40, 40, 200] };
  let state = 1;
  const noise = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) % 61) - 30;
  for (const [name, rgb] of Object.entries(colours)) {
    mkdirSync(join(data, name), { recursive: true });
    for (let i = 0; i < 6; i++) {
      const pixels = Buffer.from(Array.from({ length: 8 * 8 * 3 }, (_, k) => Math.max(0, Math.min(255, rgb[k % 3]! + noise()))));
      writeFileSync(join(data, name, `${i}.png`), await sharp(pixels, { raw: { width: 8, height: 8, channels: 3 } }).png().toBuffer());
    }
  }
});

const common = ['--backbone', backbone, '--train', data, '--method', 'mars-sp', '--folds', '2', '--epochs', '1', '--batch-size', '4', '--lr', '0.01'];

describe('mars-ft search', () => {
  it('writes 4 trials; rerun with --trials 6 adds exactly 2 and leaves the 4 unchanged; every value inside the space', () => {
    const out = join(dir, 'resume');
    const first = run(...common, '--trials', '4', '--threads', '1', '--out', out);
    expect(first.stderr).not.toMatch(/error/);
    expect(first.status).toBe(0);
    const four = trials(out);
    expect(four.map((l) => JSON.parse(l).id)).toEqual([1, 2, 3, 4]);
    const again = run(...common, '--trials', '6', '--threads', '1', '--out', out, '--json');
    expect(again.status).toBe(0);
    const six = trials(out);
    expect(six).toHaveLength(6);
    expect(six.slice(0, 4)).toEqual(four);
    expect(six.map((l) => JSON.parse(l).id)).toEqual([1, 2, 3, 4, 5, 6]);
    // The reference's radii: log-uniform on [e^0.5, e^3.5], for both radii.
    for (const line of six) {
      const t = JSON.parse(line) as { params: Record<string, number>; folds: unknown[]; seconds: number; score: number };
      expect(Object.keys(t.params).sort()).toEqual(['classifier', 'extractor']);
      for (const v of Object.values(t.params)) {
        expect(v).toBeGreaterThanOrEqual(Math.exp(0.5));
        expect(v).toBeLessThanOrEqual(Math.exp(3.5));
      }
      expect(t.folds).toHaveLength(2);
      expect(t.seconds).toBeGreaterThan(0);
      expect(t.score).toBeGreaterThanOrEqual(0);
    }
    const best = JSON.parse(readFileSync(join(out, 'best.json'), 'utf8')) as { method: string; params: unknown; score: number };
    const summary = JSON.parse(again.stdout) as { params: unknown; score: number; trials: number };
    expect(best).toMatchObject({ method: 'mars-sp', params: summary.params, score: summary.score });
    expect(summary.trials).toBe(6);
    const scores = six.map((l) => JSON.parse(l).score as number);
    expect(best.score).toBe(Math.max(...scores));
  });

  it('gives the same trials serially and with 2 jobs for the same seed', () => {
    const [serial, parallel] = [join(dir, 'serial'), join(dir, 'parallel')];
    const a = run(...common, '--trials', '4', '--sampler', 'random', '--jobs', '1', '--threads', '1', '--out', serial);
    const b = run(...common, '--trials', '4', '--sampler', 'random', '--jobs', '2', '--threads', '2', '--out', parallel);
    expect([a.status, b.status]).toEqual([0, 0]);
    const strip = (out: string) => trials(out).map((l) => ({ ...JSON.parse(l), seconds: 0 })).sort((x, y) => x.id - y.id);
    expect(strip(parallel)).toEqual(strip(serial));
  });

  it('refuses another search in the same folder; --refit writes a model predict reads', () => {
    const out = join(dir, 'refit');
    const r = run(...common, '--trials', '2', '--threads', '1', '--refit', '--test', data, '--out', out, '--json');
    expect(r.status).toBe(0);
    expect(existsSync(join(out, 'model.pt'))).toBe(true);
    expect(JSON.parse(r.stdout).testAccuracy).toBeGreaterThanOrEqual(0);
    const p = spawnSync(process.execPath, [CLI, 'predict', '--model', join(out, 'model.pt'), join(data, 'red', '0.png'), '--json'], { encoding: 'utf8' });
    expect(p.status).toBe(0);
    expect(JSON.parse(p.stdout)[0].predictions.map((x: { className: string }) => x.className).sort()).toEqual(['blue', 'green', 'red']);
    const other = run(...common.map((a) => (a === 'mars-sp' ? 'l2-sp' : a)), '--trials', '2', '--out', out);
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(/other settings \(regulariser, space differ\)/);
  });

  it('a trial failing in a child process stops the search with its error code, without hanging', () => {
    // Validation data of 2 classes against training data of 3: every trial's fineTune refuses it.
    const two = join(dir, 'two-classes');
    for (const name of ['red', 'green']) {
      mkdirSync(join(two, name), { recursive: true });
      writeFileSync(join(two, name, '0.png'), readFileSync(join(data, name, '0.png')));
    }
    const r = spawnSync(process.execPath, [CLI, 'search', ...common.filter((a, i) => a !== '--folds' && common[i - 1] !== '--folds'),
      '--val', two, '--trials', '2', '--jobs', '2', '--threads', '2', '--out', join(dir, 'failing')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\[ERR_DATA_LABEL\].*validation has 2 classes but train has 3/);
  });
});
