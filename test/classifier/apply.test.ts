// classify() and evaluate() against PyTorch: the same model file and the same
// images, read by Python (torch.jit.load, PIL, numpy) without this package.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { Classifier, classify, evaluate, fineTune, openDataset, type Dataset, type FineTuneResult } from '../../lib/index.js';
import { fixturePath, python } from '../helpers/fixtures.js';

const FMNIST = '/usr/share/datasets/fashion-mnist';
const images = `${FMNIST}/t10k-images-idx3-ubyte.gz`;
const spec = (split: string) => `idx:${FMNIST}/${split}-images-idx3-ubyte.gz,${FMNIST}/${split}-labels-idx1-ubyte.gz`;
const dir = mkdtempSync(join(tmpdir(), 'mars-apply-'));
const modelPath = join(dir, 'model.pt');
let model: Classifier;
let test: Dataset;
let tuned: FineTuneResult;

beforeAll(async () => {
  const train = await openDataset(spec('train'), { classes: [7, 8, 9], classNames: ['sneaker', 'bag', 'boot'], perClass: 10, seed: 1 });
  test = await openDataset(spec('t10k'), { classes: [7, 8, 9], classNames: ['sneaker', 'bag', 'boot'], perClass: 15, seed: 2 });
  tuned = await fineTune({ backbone: fixturePath('bn_resnet'), train, test, epochs: 2, batchSize: 10, optimizer: { name: 'adam', lr: 3e-3 } });
  await tuned.model.save(modelPath);
  model = await Classifier.load(modelPath);
});

/** Logits of PyTorch's model on Fashion-MNIST test rows (x / 255, as ToTensor). */
const TORCH_ROWS = `
import gzip, json, sys, numpy as np, torch
rows = json.loads(sys.argv[1])
raw = np.frombuffer(gzip.open(${JSON.stringify(images)}).read()[16:], dtype=np.uint8).reshape(-1, 1, 28, 28)
x = torch.from_numpy(raw[rows].astype(np.float32) / 255)
m = torch.jit.load(${JSON.stringify(modelPath)}).eval()
with torch.no_grad():
    print(json.dumps(m(x).tolist()))
`;

/** PyTorch's summed cross-entropy and confusion matrix of the model on the test items. */
function torchScores(): { loss: number; confusion: number[][] } {
  const rows = Array.from({ length: test.size }, (_, i) => Number(test.key(i).split('#')[1]));
  const logits = python<number[][]>(TORCH_ROWS, [JSON.stringify(rows)]);
  const confusion = [0, 1, 2].map(() => [0, 0, 0]);
  let loss = 0;
  logits.forEach((l, i) => {
    const label = test.label(i);
    const max = Math.max(...l);
    loss += max + Math.log(l.reduce((a, v) => a + Math.exp(v - max), 0)) - l[label]!;
    confusion[label]![l.indexOf(max)]!++;
  });
  return { loss, confusion };
}

describe("fineTune's test pass", () => {
  // Five batches: from the second on, the session evaluates a frozen copy optimised for inference (BatchNorm folded).
  it("gives PyTorch's loss and accuracy on the same items", () => {
    const { loss, confusion } = torchScores();
    expect(tuned.test?.count).toBe(45);
    expect(tuned.test?.accuracy).toBe(confusion.reduce((a, r, i) => a + r[i]!, 0) / 45);
    expect(Math.abs(tuned.test!.loss - loss / 45)).toBeLessThan(1e-5);
  });
});

describe('evaluate', () => {
  it("gives PyTorch's loss, accuracy and confusion matrix on the same items", async () => {
    const ours = await evaluate(model, test, { batchSize: 16 });
    const { loss, confusion } = torchScores();
    expect(ours.count).toBe(45);
    expect(ours.confusion).toEqual(confusion);
    expect(ours.accuracy).toBe(confusion.reduce((a, r, i) => a + r[i]!, 0) / 45);
    expect(Math.abs(ours.loss - loss / 45)).toBeLessThan(1e-5);
    expect(ours.perClass.map((c) => [c.className, c.count])).toEqual([['sneaker', 15], ['bag', 15], ['boot', 15]]);
  });

  it('refuses data with another number of classes', async () => {
    const two = await openDataset(spec('t10k'), { classes: [7, 8], perClass: 2 });
    await expect(evaluate(model, two)).rejects.toMatchObject({ code: 'ERR_DATA_LABEL' });
  });
});

describe('classify', () => {
  it("files and folders: PyTorch's softmax on the same PNGs, top-k by name", async () => {
    const files: string[] = [];
    for (let i = 0; i < 4; i++) {
      const ref = test.ref(i);
      if (ref.kind !== 'pixels') throw new Error('IDX items are pixels');
      const file = join(dir, `item${i}.png`);
      writeFileSync(file, await sharp(Buffer.from(ref.pixels.data), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer());
      files.push(file);
    }
    const ours = await classify(model, [dir], { topK: 2 });
    expect(ours.map((r) => r.key)).toEqual(files);
    const theirs = python<number[][]>(`
import json, sys, numpy as np, torch
from PIL import Image
x = torch.stack([torch.from_numpy(np.asarray(Image.open(f).convert('L'), dtype=np.float32) / 255)[None] for f in json.loads(sys.argv[1])])
m = torch.jit.load(${JSON.stringify(modelPath)}).eval()
with torch.no_grad():
    print(json.dumps(torch.softmax(m(x), 1).tolist()))
`, [JSON.stringify(files)]);
    ours.forEach((r, i) => {
      const ranked = theirs[i]!.map((p, label) => ({ p, label })).sort((a, b) => b.p - a.p).slice(0, 2);
      expect(r.predictions.map((p) => p.className)).toEqual(ranked.map((x) => model.classNames[x.label]));
      r.predictions.forEach((p, k) => expect(Math.abs(p.probability - ranked[k]!.p)).toBeLessThan(1e-5));
    });
    const fromDataset = await classify(model, test.subset([0, 1, 2, 3]), { topK: 1 });
    expect(fromDataset.map((r) => r.predictions[0]!.className)).toEqual(ours.map((r) => r.predictions[0]!.className));
  });
});
