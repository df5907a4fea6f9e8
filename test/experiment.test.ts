// `runExperiment` (mars-ft experiment) pointed at a backbone and a target the
// experiments never use: it runs to the end, its summaries agree with the
// runs and with Student's t in closed form, an interrupted run resumes to the
// same numbers, and a folder of another experiment is refused.
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runExperiment, type ExperimentResults } from '../lib/experiment/index.js';
import { readConfig } from '../lib/experiment/config.js';
import { fixturePath } from './helpers/fixtures.js';

const FMNIST = '/usr/share/datasets/fashion-mnist';
const spec = (split: string) => `idx:${FMNIST}/${split}-images-idx3-ubyte.gz,${FMNIST}/${split}-labels-idx1-ubyte.gz`;
const config = {
  name: 'unseen',
  backbone: fixturePath('bn_resnet'),
  target: { train: spec('train'), test: spec('t10k'), classes: [3, 7], testPerClass: 10 },
  recipes: { r: { optimizer: { name: 'adam', lr: 1e-3 }, schedule: { type: 'constant' }, batchSize: 4, epochs: 2 } },
  studies: [{ recipe: 'r', sizes: [4], rows: ['none', 'mars-sp', 'scratch', 'linear-probe'] }],
  seeds: 3,
  search: { trials: 2, folds: 2, sampler: { type: 'random' } },
  sensitivity: { recipe: 'r', n: 4, methods: ['mars-sp'], exponents: [-1, 0], seeds: 1 },
  threads: 1,
};
const dir = mkdtempSync(join(tmpdir(), 'mars-experiment-'));
const file = join(dir, 'config.json');
let results: ExperimentResults;

beforeAll(async () => {
  writeFileSync(file, JSON.stringify(config));
  results = await runExperiment({ config: file, out: join(dir, 'a') });
}, 600_000);

describe('runExperiment', () => {
  it('runs every cell and seed to the end, with both bounds for MARS-SP, and writes results.json', () => {
    expect(results.cells.map((c) => c.row)).toEqual(['none', 'mars-sp', 'scratch', 'linear-probe']);
    expect(results.runs).toHaveLength(4 * 3);
    for (const r of results.runs) {
      expect(r.testAccuracy).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(r.posthocBound)).toBe(true);
      expect(r.aprioriBound !== undefined).toBe(r.row === 'mars-sp');
    }
    // The searched setting is MARS-SP's radii, inside the reference's space [e^0.5, e^3.5].
    const mars = results.searches.find((s) => s.row === 'mars-sp')!;
    expect(mars.trials).toBe(2);
    expect(Number(mars.params.extractor)).toBeGreaterThanOrEqual(Math.exp(0.5));
    expect(JSON.parse(readFileSync(join(dir, 'a', 'results.json'), 'utf8')).cells).toHaveLength(4);
  });

  it("summaries: the mean of the seeds, Student's t interval (closed form for 2 degrees of freedom), the paired difference to 'none'", () => {
    const t2 = 0.95 / Math.sqrt(2 * 0.975 * 0.025);
    const none = results.runs.filter((r) => r.row === 'none').sort((a, b) => a.seed - b.seed);
    for (const c of results.cells) {
      const accs = results.runs.filter((r) => r.row === c.row).sort((a, b) => a.seed - b.seed).map((r) => r.testAccuracy);
      const mean = (accs[0]! + accs[1]! + accs[2]!) / 3;
      const sd = Math.sqrt(accs.reduce((s, a) => s + (a - mean) ** 2, 0) / 2);
      expect(c.testAccuracy.mean).toBeCloseTo(mean, 12);
      expect(c.testAccuracy.ci95).toBeCloseTo((t2 * sd) / Math.sqrt(3), 9);
      if (c.row !== 'none') {
        const diffs = accs.map((a, i) => a - none[i]!.testAccuracy);
        expect(c.differenceToNone!.mean).toBeCloseTo((diffs[0]! + diffs[1]! + diffs[2]!) / 3, 12);
      }
    }
  });

  it('sensitivity: k = 0 is the comparison\'s own run; k = -1 runs with a tenth of the searched radii', () => {
    const k0 = results.sensitivityRuns.find((r) => r.exponent === 0)!;
    const own = results.runs.find((r) => r.row === 'mars-sp' && r.seed === 0)!;
    expect(k0.testAccuracy).toBe(own.testAccuracy);
    const k1 = results.sensitivityRuns.find((r) => r.exponent === -1)!;
    const reg = (s: { regulariser: unknown }) => s.regulariser as { extractor: number; classifier: number };
    expect(reg(k1.setting).extractor).toBeCloseTo(reg(own.setting).extractor / 10, 12);
    expect(reg(k1.setting).classifier).toBeCloseTo(reg(own.setting).classifier / 10, 12);
  });

  it('an interrupted experiment resumes (a cut journal line included) to the numbers of an uninterrupted one', async () => {
    const out = join(dir, 'b');
    const controller = new AbortController();
    let events = 0;
    await expect(
      runExperiment({ config: file, out, signal: controller.signal, onProgress: () => ++events === 4 && controller.abort() }),
    ).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    appendFileSync(join(out, 'runs.jsonl'), '{"key":"r-bnupdate-n4-none/se');
    const resumed = await runExperiment({ config: file, out });
    const byKey = (rs: ExperimentResults['runs']) => Object.fromEntries(rs.map((r) => [r.key, r.testAccuracy]));
    expect(byKey(resumed.runs)).toEqual(byKey(results.runs));
  }, 600_000);

  it("a backbone the bound cannot measure (torchvision's ResNet-18, max pooling) runs to the end without bounds, and says why", async () => {
    const resnet = join(dir, 'resnet.json');
    writeFileSync(resnet, JSON.stringify({
      ...config, name: 'resnet18', backbone: fixturePath('resnet18_headless'), seeds: 2, search: { trials: 1, folds: 2, sampler: { type: 'random' } },
      recipes: { r: { ...config.recipes.r, epochs: 1 } }, studies: [{ recipe: 'r', sizes: [4], rows: ['none', 'mars-sp'] }], sensitivity: undefined,
    }));
    const r = await runExperiment({ config: resnet, out: join(dir, 'resnet') });
    expect(r.runs).toHaveLength(4);
    expect(r.runs.every((x) => x.posthocBound === undefined && x.aprioriBound === undefined)).toBe(true);
    expect(String(r.machine.boundRefused)).toMatch(/max_pool2d/);
  }, 600_000);

  it('a folder of another experiment, and a configuration naming an unknown recipe, are refused with ERR_INVALID_ARGUMENT', async () => {
    const other = join(dir, 'other.json');
    writeFileSync(other, JSON.stringify({ ...config, seeds: 2 }));
    await expect(runExperiment({ config: other, out: join(dir, 'a') })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/another experiment/) });
    writeFileSync(other, JSON.stringify({ ...config, studies: [{ ...config.studies[0], recipe: 'nope' }] }));
    expect(() => readConfig(other)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/recipe 'nope'/) }));
  });

  it("reads paths relative to the configuration file: the backbone, both files of an idx spec, a folder (commas and all)", () => {
    const relative = join(dir, 'relative.json');
    writeFileSync(relative, JSON.stringify({ ...config, backbone: 'nets/b.pt', target: { train: 'idx:a/images.gz,a/labels.gz', test: 'photos, 2024' } }));
    const c = readConfig(relative);
    expect(c.backbone).toBe(join(dir, 'nets', 'b.pt'));
    expect(c.target.train).toBe(`idx:${join(dir, 'a', 'images.gz')},${join(dir, 'a', 'labels.gz')}`);
    expect(c.target.test).toBe(join(dir, 'photos, 2024'));
  });
});
