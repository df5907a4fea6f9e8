// Issue 13's source and backbone. The generator is seeded: a run reproduces
// the SHA-256 its committed check record states byte for byte (silhouette
// classes, which need no fonts), and writes IDX files the package reads with
// the counts the record states. The backbone script exports the ResNet the
// docs describe: PyTorch, reading the same file, is the oracle for its
// parameters and forward; the count is checked against the closed form of
// the architecture; and the bound covers every node of it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeBound, DataLoader, fromArrays, load, openDataset, tensor } from '../lib/index.js';
import { composeClassifier, probeBackbone } from '../lib/train/head.js';
import { PYTHON, ROOT, SYSTEM_PYTHON } from './helpers/paths.js';

const MAKE = join(ROOT, 'scripts', 'source', 'make.py');
const RESNET = join(ROOT, 'scripts', 'backbone', 'resnet.py');
const CHECK = join(ROOT, 'experiments', 'sources', 'silhouettes-check.json');
const FILES = ['train-images.idx.gz', 'train-labels.idx.gz', 'test-images.idx.gz', 'test-labels.idx.gz'];
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

interface SourceRecord {
  arguments: { glyphs: number; silhouettes: number; train: number; test: number; textures: number; seed: number };
  counts: { classes: number; train: number; test: number; trainPerClass: number; testPerClass: number };
  pillow: string;
  numpy: string;
  sha256: Record<string, string>;
}
const readRecord = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as SourceRecord;

function make(args: SourceRecord['arguments']): string {
  const out = mkdtempSync(join(tmpdir(), 'mars-source-'));
  const flags = Object.entries(args).flatMap(([k, v]) => [`--${k}`, String(v)]);
  execFileSync(SYSTEM_PYTHON, [MAKE, out, ...flags, '--workers', '1'], { stdio: 'ignore' });
  return out;
}

describe('scripts/source/make.py', () => {
  const check = readRecord(CHECK);
  const a = make(check.arguments);
  const other = make({ ...check.arguments, seed: check.arguments.seed + 1 });
  const fresh = readRecord(join(a, 'record.json'));

  it('reproduces the committed check record byte for byte, and another seed draws other images', () => {
    // Different library versions may draw other pixels: say so rather than report a bare checksum mismatch.
    expect({ pillow: fresh.pillow, numpy: fresh.numpy }).toEqual({ pillow: check.pillow, numpy: check.numpy });
    for (const f of FILES) {
      expect(sha256(join(a, f)), f).toBe(check.sha256[f]);
      expect(fresh.sha256[f], f).toBe(check.sha256[f]);
    }
    expect(sha256(join(other, FILES[0]!))).not.toBe(check.sha256[FILES[0]!]);
    expect(sha256(join(other, FILES[1]!))).toBe(check.sha256[FILES[1]!]); // the labels depend only on the counts
  });

  it('writes IDX files the package reads: the recorded counts, balanced labels, bright shapes on black', async () => {
    const { counts } = check;
    const train = await openDataset(`idx:${join(a, FILES[0]!)},${join(a, FILES[1]!)}`);
    const test = await openDataset(`idx:${join(a, FILES[2]!)},${join(a, FILES[3]!)}`);
    expect([train.size, test.size]).toEqual([counts.train, counts.test]);
    expect(train.classCounts()).toEqual(Array(counts.classes).fill(counts.trainPerClass));
    expect(test.classCounts()).toEqual(Array(counts.classes).fill(counts.testPerClass));
    for (let i = 0; i < train.size; i++) {
      const ref = train.ref(i);
      if (ref.kind !== 'pixels') throw new Error('IDX items are pixels');
      const px = ref.pixels.data;
      expect(px.length).toBe(28 * 28);
      expect(Math.max(...px)).toBeGreaterThan(60); // ink
      expect([px[0], px[27], px[28 * 27], px[28 * 28 - 1]]).toEqual([0, 0, 0, 0]); // black corners
    }
  });
});

describe('scripts/backbone/resnet.py', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mars-resnet-'));
  const file = join(dir, 'resnet.pt');
  execFileSync(PYTHON, [RESNET, file, '0'], { stdio: 'ignore' });
  const ORACLE = `
import json, sys, torch
net = torch.jit.load(sys.argv[1]).eval()
x = torch.linspace(0, 1, 2 * 28 * 28).reshape(2, 1, 28, 28)
with torch.no_grad():
    y = net(x)
kinds = sorted({m.original_name for m in net.modules()})
print(json.dumps({"parameters": sum(p.numel() for p in net.parameters()), "kinds": kinds, "shape": list(y.shape), "output": y.flatten().tolist()}))
`;
  const want = JSON.parse(execFileSync(PYTHON, ['-c', ORACLE, file], { encoding: 'utf8' })) as { parameters: number; kinds: string[]; shape: number[]; output: number[] };

  it('is a ResNet with BatchNorm, no max pooling, and the 1 502 688 parameters of its closed form', () => {
    const conv = (i: number, o: number, k: number) => i * o * k * k;
    const bn = (c: number) => 2 * c; // weight and bias; running statistics are buffers
    const block = (i: number, o: number, stride: number) =>
      conv(i, o, 3) + bn(o) + conv(o, o, 3) + bn(o) + (stride !== 1 || i !== o ? conv(i, o, 1) + bn(o) : 0);
    const closedForm = conv(1, 32, 3) + bn(32) + block(32, 64, 2) + block(64, 128, 2) + block(128, 128, 1) + block(128, 256, 2);
    expect(want.parameters).toBe(closedForm);
    expect(closedForm).toBe(1_502_688); // the count docs/regime.md states
    expect(want.kinds).toContain('BatchNorm2d');
    expect(want.kinds).toContain('BasicBlock');
    expect(want.kinds.some((k) => /pool/i.test(k))).toBe(false);
    expect(want.shape).toEqual([2, 256, 4, 4]);
  });

  it('computes in the package what PyTorch computes from the same file', async () => {
    const net = await load(file);
    const x = tensor(Float32Array.from({ length: 2 * 28 * 28 }, (_, i) => i / (2 * 28 * 28 - 1)), [2, 1, 28, 28]);
    const y = await net.forward(x);
    expect(y.shape).toEqual(want.shape);
    const got = y.data() as Float32Array;
    const worst = want.output.reduce((m, v, i) => Math.max(m, Math.abs(v - got[i]!)), 0);
    expect(worst).toBeLessThan(1e-4);
    expect(net.parameters().reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0)).toBe(want.parameters);
  });

  it('is covered by the bound: every node has a rule, all 12 convolutions are measured', async () => {
    const backbone = await load(file);
    const model = await composeClassifier(backbone, await probeBackbone(backbone, [1, 28, 28]), 10);
    const pixels = Uint8Array.from({ length: 20 * 784 }, (_, i) => (i * 37) % 256);
    const data = fromArrays({ pixels, labels: Int32Array.from({ length: 20 }, (_, i) => i % 10), width: 28, height: 28, channels: 1 });
    const report = await computeBound({ model, init: backbone, data: new DataLoader(data, { batchSize: 10, shuffle: false }).epoch(0), spectral: false });
    expect(report.layers.filter((l) => l.kind === 'conv').length).toBe(12);
    expect(Number.isFinite(report.generalisation.total)).toBe(true);
  });
});
