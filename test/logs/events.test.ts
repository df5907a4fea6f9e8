// fineTune({ logDir }) leaves TensorBoard event files and metrics.csv that
// independent readers accept: test/logs/read_events.py (TFRecord framing,
// CRC-32C from crcmod, protobuf wire format decoded from the published field
// numbers) and Python's csv module; their numbers are the run's history.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fineTune, openDataset, type EpochEnd } from '../../lib/index.js';
import { fixturePath, python, readEventFiles } from '../helpers/fixtures.js';

interface Histo { min: number; max: number; num: number; sum: number; sum_squares: number; bucket_limit: number[]; bucket: number[] }
interface Event { wall_time: number; step: number; file_version?: string; values: { tag: string; simple_value?: number; histo?: Histo }[] }

const FMNIST = '/usr/share/datasets/fashion-mnist';
const spec = (split: string) => `idx:${FMNIST}/${split}-images-idx3-ubyte.gz,${FMNIST}/${split}-labels-idx1-ubyte.gz`;
const logDir = join(mkdtempSync(join(tmpdir(), 'mars-logs-')), 'logs');
let history: EpochEnd[];
let events: Event[];

const readEvents = (files: string[]) => readEventFiles<{ file: string; events: Event[] }[]>(files);

beforeAll(async () => {
  const train = await openDataset(spec('train'), { classes: [7, 8], perClass: 12, seed: 1 });
  const validation = await openDataset(spec('t10k'), { classes: [7, 8], perClass: 10, seed: 2 });
  const result = await fineTune({
    backbone: fixturePath('bn_resnet'), train, validation, epochs: 3, batchSize: 8, seed: 1, logDir,
    optimizer: { name: 'adam', lr: 1e-3 }, regulariser: { method: 'mars-sp', extractor: 0.5, classifier: 3 }, bound: {},
  });
  history = result.history;
  const files = readdirSync(logDir).filter((f) => f.includes('tfevents')).map((f) => join(logDir, f));
  expect(files).toHaveLength(1);
  events = readEvents(files)[0]!.events;
});

const scalar = (e: Event, tag: string) => e.values.find((v) => v.tag === tag)?.simple_value;
const histo = (e: Event, tag: string) => e.values.find((v) => v.tag === tag)?.histo;
/** float32 holds about 7 significant digits. */
const close = (a: number | undefined, b: number) => expect(Math.abs((a ?? NaN) - b)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(b)));

describe('TensorBoard event file', () => {
  it('opens with the brain.Event:2 version record, then one event per epoch at steps 1..E', () => {
    expect(events[0]!.file_version).toBe('brain.Event:2');
    expect(events.slice(1).map((e) => e.step)).toEqual([1, 2, 3]);
    for (const e of events) expect(Math.abs(e.wall_time - Date.now() / 1000)).toBeLessThan(3600);
  });

  it("holds each epoch's losses, accuracies, learning rate and bound terms", () => {
    history.forEach((h, i) => {
      const e = events[i + 1]!;
      close(scalar(e, 'loss/train'), h.train.loss);
      close(scalar(e, 'accuracy/train'), h.train.accuracy);
      close(scalar(e, 'loss/validation'), h.validation!.loss);
      close(scalar(e, 'accuracy/validation'), h.validation!.accuracy);
      close(scalar(e, 'learning_rate'), h.learningRate);
      close(scalar(e, 'bound/total'), h.bound!.total);
      close(scalar(e, 'bound/complexity'), h.bound!.complexity);
      close(scalar(e, 'bound/margin_loss'), h.bound!.marginLoss);
    });
  });

  it('holds per group the largest and mean MARS distance beside the radius, and a histogram of the per-layer distances', () => {
    history.forEach((h, i) => {
      const e = events[i + 1]!;
      for (const [group, radius] of [['backbone', 0.5], ['head', 3]] as const) {
        const d = h.distances.filter((x) => x.name.startsWith('head.') === (group === 'head')).map((x) => x.mars);
        close(scalar(e, `distance/${group}_mars_max`), Math.max(...d));
        close(scalar(e, `distance/${group}_mars_mean`), d.reduce((a, b) => a + b, 0) / d.length);
        close(scalar(e, `distance/${group}_radius`), radius);
        const hist = histo(e, `layer_distance/${group}_mars`)!;
        expect(hist.num).toBe(d.length);
        expect(hist.sum).toBeCloseTo(d.reduce((a, b) => a + b, 0), 12);
        expect(hist.sum_squares).toBeCloseTo(d.reduce((a, b) => a + b * b, 0), 12);
        expect([hist.min, hist.max]).toEqual([Math.min(...d), Math.max(...d)]);
        expect(hist.bucket.reduce((a, b) => a + b, 0)).toBe(d.length);
        expect(hist.bucket_limit).toEqual([...hist.bucket_limit].sort((a, b) => a - b));
        // summary.proto: bucket 0 covers (-DBL_MAX, limit[0]], bucket k covers (limit[k-1], limit[k]].
        hist.bucket.forEach((count, k) => {
          const lo = k === 0 ? -Infinity : hist.bucket_limit[k - 1]!;
          expect(count).toBe(d.filter((v) => v > lo && v <= hist.bucket_limit[k]!).length);
        });
      }
    });
    const d = history[0]!.distances.filter((x) => !x.name.startsWith('head.')).map((x) => x.mars);
    expect(d.length).toBeGreaterThan(1);
  });
});

describe('metrics.csv', () => {
  it("Python's csv module reads one row per epoch with the history's numbers", () => {
    const rows = python<Record<string, string>[]>(`import csv, json; print(json.dumps(list(csv.DictReader(open(${JSON.stringify(join(logDir, 'metrics.csv'))}, newline='')))))`);
    expect(rows.map((r) => Number(r.epoch))).toEqual([1, 2, 3]);
    rows.forEach((r, i) => {
      const h = history[i]!;
      expect(Number(r.loss_train)).toBe(h.train.loss);
      expect(Number(r.accuracy_validation)).toBe(h.validation!.accuracy);
      expect(Number(r.learning_rate)).toBe(h.learningRate);
      expect(Number(r.bound_total)).toBe(h.bound!.total);
      expect(Number(r.distance_head_radius)).toBe(3);
      expect(Number(r.seconds)).toBe(h.seconds);
    });
  });
});
