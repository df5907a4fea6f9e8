import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DataLoader, openDataset } from '../../lib/data/index.js';
import { collect, toBytes } from './helpers/collect.js';
import { python } from './helpers/python.js';

const DIR = '/usr/share/datasets/fashion-mnist';
const spec = (split: string) => `idx:${DIR}/${split}-images-idx3-ubyte.gz,${DIR}/${split}-labels-idx1-ubyte.gz`;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

interface Truth {
  n: number;
  counts: number[];
  pixels: string;
  labels: string;
}
// numpy reads the files at the format's fixed offsets (16-byte image header, 8-byte label header).
const truth = python<Record<'train' | 't10k', Truth>>(`
import gzip, hashlib, json, numpy as np
out = {}
for split in ('train', 't10k'):
    with gzip.open(f'${DIR}/{split}-images-idx3-ubyte.gz') as f: images = np.frombuffer(f.read(), np.uint8, offset=16)
    with gzip.open(f'${DIR}/{split}-labels-idx1-ubyte.gz') as f: labels = np.frombuffer(f.read(), np.uint8, offset=8)
    out[split] = dict(n=int(labels.size), counts=np.bincount(labels, minlength=10).tolist(),
                      pixels=hashlib.sha256(images.tobytes()).hexdigest(),
                      labels=hashlib.sha256(labels.astype('<i4').tobytes()).hexdigest())
print(json.dumps(out))
`);

describe.each(['train', 't10k'] as const)('Fashion-MNIST %s', (split) => {
  it('has the items and per-class counts numpy reads', async () => {
    const ds = await openDataset(spec(split));
    expect(ds.size).toBe(split === 'train' ? 60000 : 10000);
    expect(ds.size).toBe(truth[split].n);
    expect(ds.classCounts()).toEqual(truth[split].counts);
    expect(ds.channels).toBe(1);
  });

  it('streams the pixels and labels numpy reads, in order and shuffled', async () => {
    const ds = await openDataset(spec(split));
    for (const shuffle of [false, true]) {
      const pixels = new Uint8Array(ds.size * 784);
      const labels = new Int32Array(ds.size);
      for await (const b of new DataLoader(ds, { batchSize: 1000, shuffle, seed: 3 }).epoch(0)) {
        expect(b.shape.slice(1)).toEqual([1, 28, 28]);
        const bytes = toBytes(b.inputs);
        b.indices.forEach((index, k) => {
          pixels.set(bytes.subarray(k * 784, (k + 1) * 784), index * 784);
          labels[index] = b.labels[k]!;
        });
      }
      expect(sha256(pixels)).toBe(truth[split].pixels);
      expect(sha256(new Uint8Array(labels.buffer))).toBe(truth[split].labels);
    }
  });
});

describe('Fashion-MNIST class selection', () => {
  it('relabels classes 5..9 to 0..4 and keeps n per class of the right items', async () => {
    const ds = await openDataset(spec('t10k'), { classes: [5, 6, 7, 8, 9], perClass: 20, seed: 7 });
    expect(ds.classCounts()).toEqual([20, 20, 20, 20, 20]);
    expect(ds.classNames).toEqual(['5', '6', '7', '8', '9']);
    const rows = Array.from({ length: ds.size }, (_, i) => Number(ds.key(i).split('#')[1]));
    const batches = await collect(new DataLoader(ds, { batchSize: 100, shuffle: false }).epoch(0));
    const ours = batches.flatMap((b) => [...toBytes(b.inputs)]);
    const oursLabels = batches.flatMap((b) => [...b.labels]);
    const theirs = python<{ pixels: number[]; labels: number[] }>(
      `
import gzip, json, sys, numpy as np
rows = json.load(sys.stdin)
with gzip.open('${DIR}/t10k-images-idx3-ubyte.gz') as f: images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
with gzip.open('${DIR}/t10k-labels-idx1-ubyte.gz') as f: labels = np.frombuffer(f.read(), np.uint8, offset=8)
print(json.dumps(dict(pixels=images[rows].reshape(-1).tolist(), labels=labels[rows].tolist())))
`,
      rows,
    );
    expect(oursLabels).toEqual(theirs.labels.map((l) => l - 5));
    expect(ours).toEqual(theirs.pixels);
    // Another seed picks other items.
    const other = await openDataset(spec('t10k'), { classes: [5, 6, 7, 8, 9], perClass: 20, seed: 8 });
    expect(Array.from({ length: other.size }, (_, i) => other.key(i))).not.toEqual(Array.from({ length: ds.size }, (_, i) => ds.key(i)));
  });
});
